//! Front/back matter and notes: the parts of a book or an export that
//! are about the story rather than the story.
//!
//! Recognised by general cues, never by a particular book: in EPUBs by
//! landmark/guide types and `epub:type`s, file names and heading words; in
//! AO3 exports by their markup classes; in text exports by labelled
//! paragraphs (`Summary:`, `Disclaimer:`, `Author's Note:`) at the head,
//! `A/N:` paragraphs anywhere, and site footers ("You have reached the end
//! of ...") at the tail. Each cue gives a kind ([`MatterKind`]) and a label
//! that `script`, `cast` and `render` show.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{Chapter, Matter, MatterKind};

/// A kind and a label: what one cue says a stretch of text is.
pub type Cue = (MatterKind, &'static str);

const NOTES: MatterKind = MatterKind::Notes;
const MATTER: MatterKind = MatterKind::Matter;

/// Labelled paragraphs that open a text export. The label must be
/// followed by a colon (or be alone on its line) to count.
static HEAD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(summary|disclaimers?|author'?s'? ?notes?|author’s notes?|a/n|notes?|warnings?|archive warnings?|rating|pairings?|relationships?|category|categories|fandoms?|characters|tags|additional tags|spoilers|feedback|dedication|beta(?:'d|’d)?(?: by| reader)?|word ?count|words|status|series|published|updated|completed|language|stats|chapters|timeline|crossover|genre)\s*(?::|$)",
    )
    .expect("head label pattern")
});

/// Author's notes, wherever they are: `A/N:`, `(A/N ...)`, `Author's Note:`.
static AUTHOR_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*[(\[]?\s*(?:A/N|AN:|Author['’]?s?['’]? ?Notes?\s*[:\-–—)]|Authors? Notes?\s*:)",
    )
    .expect("author note pattern")
});

/// Lines a fan-fiction site adds at the end of an export.
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:you have reached the end of|posted originally on|please drop by the archive|please (?:leave a |drop a |)(?:review|comment|kudos)|this story (?:is|was) (?:archived|posted|published) (?:at|on)|story (?:url|link)\s*:|disclaimer\s*:)",
    )
    .expect("footer pattern")
});

/// `Title:` and `Author:` lines of an export: read, as the title and author.
static TITLE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:title|author|by)\s*:").expect("title line pattern"));

/// How many opening paragraphs may be front matter in a text export.
const HEAD_LIMIT: usize = 40;

/// Matter in a plain-text export: head labels, author's notes anywhere,
/// site footers at the tail.
pub fn text_export_matter(text: &str, chapters: &[Chapter]) -> Vec<Matter> {
    let paragraphs: Vec<Range<usize>> = chapters
        .iter()
        .flat_map(|c| c.paragraphs.iter().cloned())
        .collect();
    let mut cues: Vec<Option<Cue>> = vec![None; paragraphs.len()];
    let head_text = |n: usize| text[paragraphs[n].clone()].trim();

    // Head: labelled paragraphs after the title, until the story starts.
    let mut n = 0;
    let mut carried: Option<Cue> = None;
    while n < paragraphs.len().min(HEAD_LIMIT) {
        let paragraph = head_text(n);
        if let Some(cue) = carried.take() {
            cues[n] = Some(cue);
        } else if let Some(caps) = HEAD_LABEL.captures(paragraph) {
            let cue = head_cue(&caps[1]);
            cues[n] = Some(cue);
            // A label alone on its line labels the paragraph after it.
            if paragraph.trim_end_matches(':').trim().len() == caps[1].trim().len() {
                carried = Some(cue);
            }
        } else if TITLE_LINE.is_match(paragraph) {
            // `Title: ...`, `Author: ...`: the title and author are read.
        } else if n > 0 || !is_title_like(paragraph) {
            break;
        }
        n += 1;
    }
    // Author's notes anywhere.
    for (n, range) in paragraphs.iter().enumerate() {
        if cues[n].is_none() && AUTHOR_NOTE.is_match(&text[range.clone()]) {
            cues[n] = Some((NOTES, "author's note"));
        }
    }
    // Tail: the site's footer lines, and end notes just before them.
    for n in (0..paragraphs.len()).rev() {
        let paragraph = text[paragraphs[n].clone()].trim();
        if FOOTER.is_match(paragraph) {
            cues[n] = Some((MATTER, "site footer"));
        } else if cues[n].is_none() {
            break;
        }
    }
    to_matter(text, &paragraphs, &cues)
}

/// A short first line that names the story (not a labelled paragraph).
fn is_title_like(paragraph: &str) -> bool {
    paragraph.chars().count() <= 120 && !paragraph.contains(['“', '"'])
}

fn head_cue(label: &str) -> Cue {
    let label = label.to_lowercase();
    let label = label.trim();
    match label {
        "summary" => (NOTES, "summary"),
        "note" | "notes" | "a/n" | "dedication" => (NOTES, "author's note"),
        l if l.starts_with("author") => (NOTES, "author's note"),
        l if l.starts_with("disclaimer") => (MATTER, "disclaimer"),
        _ => (MATTER, "story details"),
    }
}

/// The kind of matter a label names (as `script` writes it back).
pub fn kind_of_label(label: &str) -> MatterKind {
    match label {
        "summary" | "author's note" | "notes" | "chapter notes" | "end notes" => NOTES,
        _ => MATTER,
    }
}

/// Turns per-paragraph cues into matter ranges: each covers its paragraphs
/// and the blank lines after them; neighbours with the same cue merge.
pub fn to_matter(text: &str, paragraphs: &[Range<usize>], cues: &[Option<Cue>]) -> Vec<Matter> {
    let mut out: Vec<Matter> = Vec::new();
    for (range, cue) in paragraphs.iter().zip(cues) {
        let Some((kind, label)) = *cue else {
            continue;
        };
        let end = range.end + (text[range.end..].len() - text[range.end..].trim_start().len());
        match out.last_mut() {
            Some(last)
                if last.kind == kind && last.label == label && last.range.end >= range.start =>
            {
                last.range.end = end;
            }
            _ => out.push(Matter {
                range: range.start..end,
                kind,
                label: label.to_owned(),
            }),
        }
    }
    out
}

/// A heading or title that names a matter page: `Contents`, `Copyright`,
/// `About the Author`, `Notes`.
pub fn heading_cue(heading: &str) -> Option<Cue> {
    static HEADING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^\s*(?:(table of contents|contents)|(copyright(?: page)?|imprint|legal notice)|(about the authors?|about the creators?|a note about the author|meet the author)|(also by|other (?:books|works|titles) by|books by|more from|by the same author)|(the full project gutenberg licen[cs]e|licen[cs]e|creative commons)|(colophon)|(acknowledge?ments?)|(title page|half title)|(cover)|(dedication)|(transcriber'?s? notes?)|(footnotes|endnotes|notes)|(author'?s? notes?|a note from the author|a note on the text)|(praise for))\b",
        )
        .expect("matter heading pattern")
    });
    let heading = heading.trim();
    if heading.split_whitespace().count() > 6 {
        return None;
    }
    let caps = HEADING.captures(heading)?;
    let labels: [Cue; 14] = [
        (MATTER, "table of contents"),
        (MATTER, "copyright page"),
        (MATTER, "about the author"),
        (MATTER, "also by the author"),
        (MATTER, "license"),
        (MATTER, "colophon"),
        (MATTER, "acknowledgements"),
        (MATTER, "title page"),
        (MATTER, "cover"),
        (MATTER, "dedication"),
        (MATTER, "transcriber's note"),
        (NOTES, "notes"),
        (NOTES, "author's note"),
        (MATTER, "praise"),
    ];
    let group = (1..=labels.len()).find(|&g| caps.get(g).is_some())?;
    let rest = heading[caps.get(0).map_or(0, |m| m.end())..].trim_start_matches([':', '.', ' ']);
    // "About the Author" may go on with a name and "Copyright" with a year,
    // but "Contents of a Dead Man's Pocket", "Cover Story" and "Notes from
    // Underground" are story titles.
    let whole_phrase_only = matches!(group, 1 | 8 | 9 | 10 | 12 | 13);
    if whole_phrase_only && !rest.trim().is_empty() {
        return None;
    }
    Some(labels[group - 1])
}

/// A content document's file name that names a matter page
/// (`title_page.xhtml`, `copyright.html`, `toc.xhtml`, `about-the-author.xhtml`).
pub fn file_cue(path: &str) -> Option<Cue> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name).to_lowercase();
    let words: Vec<&str> = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let joined: String = words.concat();
    let has = |w: &str| words.contains(&w);
    let cue = if joined.starts_with("cover") {
        (MATTER, "cover")
    } else if joined.starts_with("titlepage")
        || joined == "title"
        || joined.starts_with("halftitle")
    {
        (MATTER, "title page")
    } else if joined.starts_with("copyright") || joined.starts_with("imprint") {
        (MATTER, "copyright page")
    } else if matches!(
        joined.as_str(),
        "toc" | "nav" | "contents" | "tableofcontents"
    ) {
        (MATTER, "table of contents")
    } else if joined.contains("abouttheauthor")
        || joined.starts_with("aboutauthor")
        || joined == "author"
    {
        (MATTER, "about the author")
    } else if joined.starts_with("alsoby") || joined.starts_with("otherbooks") {
        (MATTER, "also by the author")
    } else if has("license")
        || has("licence")
        || joined.starts_with("pgfooter")
        || joined == "pglicense"
    {
        (MATTER, "license")
    } else if joined.starts_with("pgheader") {
        (MATTER, "title page")
    } else if joined.starts_with("colophon") {
        (MATTER, "colophon")
    } else if joined.starts_with("acknowledg") {
        (MATTER, "acknowledgements")
    } else if joined.starts_with("dedication") {
        (MATTER, "dedication")
    } else if matches!(joined.as_str(), "preface" | "afterword") && has("ao3") {
        (MATTER, "preface")
    } else if matches!(joined.as_str(), "footnotes" | "endnotes" | "notes") {
        (NOTES, "notes")
    } else {
        return None;
    };
    Some(cue)
}

/// An EPUB 3 structural type (`epub:type`, landmarks) or an EPUB 2 guide
/// type that names matter. Story types (`bodymatter`, `chapter`,
/// `prologue`, `foreword`) give None.
pub fn type_cue(types: &str) -> Option<Cue> {
    types.split_whitespace().find_map(|t| {
        let t = t.rsplit(':').next().unwrap_or(t).to_lowercase();
        Some(match t.as_str() {
            "cover" => (MATTER, "cover"),
            "titlepage" | "title-page" | "halftitlepage" | "fulltitle" => (MATTER, "title page"),
            "copyright-page" | "copyright" | "imprint" | "imprimatur" | "colophon" => {
                (MATTER, "copyright page")
            }
            "toc" | "landmarks" | "loi" | "lot" | "page-list" => (MATTER, "table of contents"),
            "acknowledgments" | "acknowledgements" => (MATTER, "acknowledgements"),
            "dedication" => (MATTER, "dedication"),
            "seriespage" | "other-credits" | "contributors" | "errata" | "index" => {
                (MATTER, "back matter")
            }
            "footnotes" | "endnotes" | "rearnotes" | "footnote" | "endnote" | "rearnote"
            | "notes" => (NOTES, "notes"),
            _ => return None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::book_from_text;
    use std::path::Path;

    fn labels(text: &str) -> Vec<(String, String)> {
        let book = book_from_text(Path::new("s.txt"), "UTF-8", text.to_owned());
        book.matter
            .iter()
            .map(|m| {
                (
                    m.label.clone(),
                    book.text[m.range.clone()].trim().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn text_export_head_and_footer() {
        let text = "My Story\n\nSummary: Things happen.\n\nDisclaimer: Not mine.\n\nAuthor's Note: Thanks, Dezi.\n\n\"Hi,\" said Ann.\n\nShe left.\n\nThe End?\n\nYou have reached the end of \"My Story\" - so far.\n";
        assert_eq!(
            labels(text),
            [
                ("summary".to_owned(), "Summary: Things happen.".to_owned()),
                ("disclaimer".to_owned(), "Disclaimer: Not mine.".to_owned()),
                (
                    "author's note".to_owned(),
                    "Author's Note: Thanks, Dezi.".to_owned()
                ),
                (
                    "site footer".to_owned(),
                    "You have reached the end of \"My Story\" - so far.".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_label_alone_takes_the_next_paragraph() {
        let text = "Title\n\nSummary:\n\nA long summary.\n\nStory starts here.\n";
        let found = labels(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, "Summary:\n\nA long summary.");
    }

    #[test]
    fn story_paragraphs_that_mention_notes_are_read() {
        let text = "Title\n\nShe read the notes: nothing.\n\nSummary: late in the story is prose.\n\nA/N: thanks for reading!\n";
        let found = labels(text);
        assert_eq!(
            found,
            [(
                "author's note".to_owned(),
                "A/N: thanks for reading!".to_owned()
            )]
        );
    }

    #[test]
    fn plain_novels_have_no_matter() {
        let text = "Title: Hard Times\n\nAuthor: Charles Dickens\n\nCHAPTER I\n\n\"Now, what I want is, Facts.\"\n\nTHE END\n";
        assert!(labels(text).is_empty(), "{:?}", labels(text));
    }

    #[test]
    fn headings_and_files_and_types() {
        assert_eq!(
            heading_cue("Table of Contents"),
            Some((MATTER, "table of contents"))
        );
        assert_eq!(
            heading_cue("About the Author"),
            Some((MATTER, "about the author"))
        );
        assert_eq!(heading_cue("Cover"), Some((MATTER, "cover")));
        assert_eq!(heading_cue("Cover of Night"), None);
        assert_eq!(heading_cue("Notes from Underground"), None);
        assert_eq!(
            heading_cue("Chapter 1: Contents of a Dead Man's Pocket"),
            None
        );
        assert_eq!(
            file_cue("OEBPS/text/title_page.xhtml"),
            Some((MATTER, "title page"))
        );
        assert_eq!(file_cue("copyright.html"), Some((MATTER, "copyright page")));
        assert_eq!(file_cue("ch001.xhtml"), None);
        assert_eq!(file_cue("chapter-cover-story.xhtml"), None);
        assert_eq!(
            type_cue("frontmatter titlepage"),
            Some((MATTER, "title page"))
        );
        assert_eq!(type_cue("bodymatter chapter"), None);
        assert_eq!(type_cue("epub:footnotes"), Some((NOTES, "notes")));
    }
}
