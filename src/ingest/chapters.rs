//! Chapter and paragraph structure.
//!
//! A heading is a line that stands alone and reads like one: "Chapter 1",
//! "CHAPTER TWELVE", "Chapter 3: The Storm", "Part II", "Prologue",
//! "Epilogue", or a Markdown "# Title". A short title line directly under a
//! bare "CHAPTER I." (the Gutenberg layout) joins the heading.
//!
//! Paragraphs come in two styles: blank-line separated (often hard-wrapped
//! at ~70 columns) and one paragraph per line. The style is decided once per
//! book from line lengths, because a single block can't tell a wrapped
//! paragraph from a run of short one-line paragraphs.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::Chapter;

const NUMBER_WORDS: &str = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final";

static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    let number = format!(r"(?:\d+|[ivxlcdm]+|(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*)");
    Regex::new(&format!(
        r"(?i)^(?:chapter|chap\.|part|book|volume|act)\s+{number}\.?(?:\s*(?:[:.\-–—]\s*)?(?P<title>.*))?$"
    ))
    .expect("heading pattern")
});
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:prologue|epilogue|interlude|afterword|foreword|preface|introduction)\b(?:\s*[:.\-–—]\s*(?P<title>.*))?\.?$").expect("named heading pattern")
});
static MARKDOWN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#{1,3}\s+(?P<title>\S.*)$").expect("markdown heading pattern"));

const MAX_HEADING_CHARS: usize = 80;
const MAX_HEADING_TITLE_CHARS: usize = 60;

/// Splits `text` into chapters. Returns the story title and the chapters,
/// which tile the text exactly. `fallback_title` names a story without a
/// title line.
pub fn split_chapters(text: &str, fallback_title: &str) -> (String, Vec<Chapter>) {
    let lines = line_ranges(text);
    let one_paragraph_per_line = is_one_paragraph_per_line(text, &lines);
    let title = title_line(text, &lines).unwrap_or_else(|| fallback_title.to_owned());

    let mut headings: Vec<(Range<usize>, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = text[lines[i].clone()].trim();
        let isolated_before =
            i == 0 || one_paragraph_per_line || is_blank(&text[lines[i - 1].clone()]);
        if isolated_before && let Some(own_title) = parse_heading(line) {
            let mut range = lines[i].clone();
            let name = if let Some(caps) = MARKDOWN.captures(line) {
                tidy_heading(&caps["title"])
            } else if own_title.is_empty()
                && let Some(next) = lines.get(i + 1)
                && let Some(sub) = subtitle(&text[next.clone()])
            {
                range.end = next.end;
                i += 1;
                format!("{}: {sub}", tidy_heading(line))
            } else {
                tidy_heading(line)
            };
            headings.push((range, name));
        }
        i += 1;
    }

    let first_heading = headings
        .first()
        .map_or(text.len(), |(range, _)| range.start);
    let preamble = paragraphs(text, 0..first_heading, one_paragraph_per_line);
    // A preamble that is only the title line is read as part of the first heading.
    let title_only = preamble.len() == 1 && text[preamble[0].clone()].trim() == title;
    let mut chapters = Vec::new();
    if !preamble.is_empty() && (headings.is_empty() || !title_only) {
        chapters.push(Chapter {
            index: 0,
            title: title.clone(),
            heading: None,
            span: 0..first_heading,
            paragraphs: preamble,
        });
    }
    for (n, (heading, name)) in headings.iter().enumerate() {
        let start = if chapters.is_empty() {
            0
        } else {
            heading.start
        };
        let end = headings
            .get(n + 1)
            .map_or(text.len(), |(next, _)| next.start);
        chapters.push(Chapter {
            index: 0,
            title: name.clone(),
            heading: Some(start..heading.end),
            span: start..end,
            paragraphs: paragraphs(text, heading.end..end, one_paragraph_per_line),
        });
    }
    if chapters.is_empty() {
        chapters.push(Chapter {
            index: 0,
            title: title.clone(),
            heading: None,
            span: 0..text.len(),
            paragraphs: Vec::new(),
        });
    }
    if let Some(last) = chapters.last_mut() {
        last.span.end = text.len();
    }
    for (n, chapter) in chapters.iter_mut().enumerate() {
        chapter.index = n + 1;
    }
    (title, chapters)
}

/// Returns the title part of a heading line ("" when it has none), or None
/// when the line is not a heading.
fn parse_heading(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.chars().count() > MAX_HEADING_CHARS {
        return None;
    }
    for pattern in [&*NUMBERED, &*NAMED, &*MARKDOWN] {
        if let Some(caps) = pattern.captures(line) {
            let title = caps.name("title").map_or("", |m| m.as_str().trim());
            if title.chars().count() > MAX_HEADING_TITLE_CHARS || looks_like_sentence(title) {
                return None;
            }
            return Some(title.trim_end_matches('.').to_owned());
        }
    }
    None
}

/// "Chapter one was the worst, he said." is prose, not a heading.
fn looks_like_sentence(title: &str) -> bool {
    title.contains(['"', '“', '”'])
        || title.ends_with([',', ';', '!', '?'])
        || title.split_whitespace().count() > 10
        || title.chars().next().is_some_and(|c| c.is_lowercase())
}

/// A short title line directly under a bare chapter number.
fn subtitle(line: &str) -> Option<String> {
    let line = line.trim();
    let ok = !line.is_empty()
        && line.chars().count() <= MAX_HEADING_TITLE_CHARS
        && !looks_like_sentence(line)
        && parse_heading(line).is_none()
        && line
            .chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_numeric());
    ok.then(|| line.trim_end_matches('.').to_owned())
}

fn tidy_heading(line: &str) -> String {
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches('.')
        .to_owned()
}

fn clean_markdown(line: &str) -> String {
    MARKDOWN
        .captures(line)
        .map_or_else(|| line.to_owned(), |caps| caps["title"].to_owned())
}

/// The first non-blank line names the story when it is short and not prose.
fn title_line(text: &str, lines: &[Range<usize>]) -> Option<String> {
    let first = lines
        .iter()
        .map(|r| text[r.clone()].trim())
        .find(|l| !l.is_empty())?;
    let ok = first.chars().count() <= MAX_HEADING_CHARS
        && !first.contains(['"', '“', '”'])
        && !first.ends_with([',', ';', '!', '?', ':'])
        && !first.ends_with(|c: char| c == '.' && !first.ends_with(".."));
    ok.then(|| clean_markdown(first).trim().to_owned())
}

/// Line ranges without their line terminators.
fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (pos, _) in text.match_indices('\n') {
        let end = if text[..pos].ends_with('\r') {
            pos - 1
        } else {
            pos
        };
        out.push(start..end);
        start = pos + 1;
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Hard-wrapped books keep almost every line under ~80 columns; books with a
/// paragraph per line have many long lines.
fn is_one_paragraph_per_line(text: &str, lines: &[Range<usize>]) -> bool {
    let lengths: Vec<usize> = lines
        .iter()
        .map(|r| text[r.clone()].trim().chars().count())
        .filter(|&n| n > 0)
        .collect();
    if lengths.is_empty() {
        return false;
    }
    let long = lengths.iter().filter(|&&n| n > 100).count();
    long * 10 > lengths.len()
}

/// Paragraph ranges within `body`, trimmed of surrounding whitespace.
pub(super) fn paragraphs(text: &str, body: Range<usize>, one_per_line: bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for line in line_ranges(&text[body.clone()]) {
        let line = (line.start + body.start)..(line.end + body.start);
        let content = &text[line.clone()];
        if is_blank(content) {
            out.extend(current.take());
            continue;
        }
        let lead = content.len() - content.trim_start().len();
        let trail = content.len() - content.trim_end().len();
        let trimmed = (line.start + lead)..(line.end - trail);
        match current.as_mut() {
            Some(range) if !one_per_line => range.end = trimmed.end,
            _ => {
                out.extend(current.take());
                current = Some(trimmed);
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(text: &str) -> Vec<String> {
        split_chapters(text, "fallback")
            .1
            .into_iter()
            .map(|c| c.title)
            .collect()
    }

    #[test]
    fn heading_styles() {
        let text = "My Story\n\nChapter 1\n\nIt began.\n\nCHAPTER TWELVE\n\nLater.\n\nChapter 3: The Storm\n\nRain.\n\nPart II\n\nMore.\n\nPrologue\n\nBefore.\n\nEpilogue\n\nAfter.\n\n# A Markdown Title\n\nEnd.\n";
        assert_eq!(
            titles(text),
            [
                "Chapter 1",
                "CHAPTER TWELVE",
                "Chapter 3: The Storm",
                "Part II",
                "Prologue",
                "Epilogue",
                "A Markdown Title"
            ]
        );
    }

    #[test]
    fn gutenberg_subtitle_joins_bare_number() {
        let text = "CHAPTER I.\nDown the Rabbit-Hole\n\nAlice was beginning to get very tired.\n\nCHAPTER II.\nThe Pool of Tears\n\n\"Curiouser!\" cried Alice.\n";
        assert_eq!(
            titles(text),
            [
                "CHAPTER I: Down the Rabbit-Hole",
                "CHAPTER II: The Pool of Tears"
            ]
        );
    }

    #[test]
    fn prose_that_starts_like_a_heading_is_not_one() {
        let text = "Title\n\nChapter one was the worst, she thought, and she said so.\n\nPart of me, he said.\n";
        assert_eq!(titles(text), ["Title"]);
    }

    #[test]
    fn no_headings_gives_one_chapter_named_after_title_line() {
        let (title, chapters) = split_chapters(
            "The Long Night\n\nIt was dark.\n\n\"Hello,\" said Ann.\n",
            "file",
        );
        assert_eq!(title, "The Long Night");
        assert_eq!(chapters.len(), 1);
        assert_eq!(chapters[0].title, "The Long Night");
        assert_eq!(chapters[0].paragraphs.len(), 3);
    }

    #[test]
    fn untitled_story_uses_fallback() {
        let (title, _) = split_chapters(
            "It was a dark and stormy night; the rain fell.\n",
            "my-file",
        );
        assert_eq!(title, "my-file");
    }

    #[test]
    fn chapters_tile_the_text() {
        let text = "Front matter.\n\nChapter 1\n\nOne.\n\nChapter 2\n\nTwo.\n";
        let (_, chapters) = split_chapters(text, "f");
        assert_eq!(chapters.first().unwrap().span.start, 0);
        assert_eq!(chapters.last().unwrap().span.end, text.len());
        for pair in chapters.windows(2) {
            assert_eq!(pair[0].span.end, pair[1].span.start);
        }
    }

    #[test]
    fn wrapped_paragraphs_join_lines() {
        let text = "Title\n\nThis line is wrapped\nand continues here.\n\nSecond paragraph.\n";
        let (_, chapters) = split_chapters(text, "f");
        let paras: Vec<&str> = chapters[0]
            .paragraphs
            .iter()
            .map(|r| &text[r.clone()])
            .collect();
        assert_eq!(
            paras,
            [
                "Title",
                "This line is wrapped\nand continues here.",
                "Second paragraph."
            ]
        );
    }

    #[test]
    fn one_paragraph_per_line_style() {
        let long = "x ".repeat(70);
        let text = format!("Title\n{long}\n\"Short,\" she said.\n{long}\n");
        let (_, chapters) = split_chapters(&text, "f");
        assert_eq!(chapters[0].paragraphs.len(), 4);
    }

    #[test]
    fn crlf_lines() {
        let text = "Title\r\n\r\nChapter 1\r\n\r\nHello there.\r\n";
        let (_, chapters) = split_chapters(text, "f");
        assert_eq!(chapters.len(), 1);
        assert_eq!(&text[chapters[0].paragraphs[0].clone()], "Hello there.");
    }
}
