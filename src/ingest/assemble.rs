//! Blocks → [`Book`]: lays marked-up chapters out as one plain text.
//!
//! The text is what a person would type to copy the book: each heading and
//! paragraph on its own, separated by blank lines. A book opens with its
//! title and author (read even when the title page is skipped), as the
//! heading of its first story chapter, the way a plain-text story's title
//! line joins its first chapter heading. A chapter whose page has no
//! heading gets its table-of-contents title as one, so that the listener
//! hears where chapters start.

use std::ops::Range;
use std::path::Path;

use super::html::{Block, Page};
use super::matter::{self, Cue};
use super::{Book, Chapter, IngestError, Metadata};

/// One chapter to be: blocks and what is known about them.
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// From the table of contents.
    pub title: Option<String>,
    /// The whole part is matter (a title page, a copyright page).
    pub cue: Option<Cue>,
    pub blocks: Vec<Block>,
    /// The page's `<title>`, a last resort for naming the chapter.
    pub page_title: Option<String>,
}

/// Everything needed to lay a book out.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub meta: Metadata,
    pub parts: Vec<Part>,
}

const MAX_TITLE_CHARS: usize = 120;

/// Lays out `draft`; `what` names the format in the error for a book with
/// no text (`EPUB`, `HTML file`).
pub fn build(path: &Path, mut draft: Draft, what: &'static str) -> Result<Book, IngestError> {
    draft.parts.retain(|part| !part.blocks.is_empty());
    if draft.parts.is_empty() {
        return Err(IngestError::NoText {
            path: path.to_owned(),
            format: what,
        });
    }
    let opening = match &draft.meta.author {
        Some(author) if !draft.title.is_empty() => format!("{}\nby {author}", draft.title),
        _ => draft.title.clone(),
    };
    let first_story = draft
        .parts
        .iter()
        .position(|p| p.cue.is_none() && p.blocks.iter().any(|b| b.cue.is_none()))
        .unwrap_or(0);
    let mut text = String::new();
    let mut chapters = Vec::new();
    let mut units: Vec<Range<usize>> = Vec::new();
    let mut cues: Vec<Option<Cue>> = Vec::new();
    for (n, part) in draft.parts.iter().enumerate() {
        let start = text.len();
        let mut blocks = part.blocks.as_slice();
        let leading = blocks
            .iter()
            .take_while(|b| b.heading.is_some() && (b.cue.is_none() || part.cue.is_some()))
            .count();
        let mut heading_lines: Vec<&str> =
            blocks[..leading].iter().map(|b| b.text.as_str()).collect();
        blocks = &blocks[leading..];
        let heading_title = (!heading_lines.is_empty()).then(|| heading_lines.join(": "));
        let title = part
            .title
            .clone()
            .or(heading_title)
            .or_else(|| part.cue.map(|(_, label)| capitalise(label)))
            .or_else(|| part.page_title.clone())
            .unwrap_or_else(|| format!("Part {}", n + 1));
        let title = tidy_title(&title);
        if heading_lines.is_empty() && part.cue.is_none() && part.title.is_some() {
            heading_lines.push(&title);
        }
        if n == first_story && !opening.is_empty() {
            heading_lines.insert(0, &opening);
        }
        let heading = if heading_lines.is_empty() {
            None
        } else {
            for (k, line) in heading_lines.iter().enumerate() {
                if k > 0 {
                    text.push_str("\n\n");
                }
                text.push_str(line);
            }
            let end = text.len();
            text.push_str("\n\n");
            units.push(start..end);
            cues.push(part.cue);
            Some(start..end)
        };
        let mut paragraphs = Vec::new();
        for block in blocks {
            let begin = text.len();
            text.push_str(&block.text);
            let range = begin..text.len();
            text.push_str("\n\n");
            paragraphs.push(range.clone());
            units.push(range);
            cues.push(block.cue.or(part.cue));
        }
        chapters.push(Chapter {
            index: chapters.len() + 1,
            title,
            heading,
            span: start..text.len(),
            paragraphs,
        });
    }
    // One newline at the end, like a text file.
    text.pop();
    if let Some(last) = chapters.last_mut() {
        last.span.end = text.len();
    }
    let matter = matter::to_matter(&text, &units, &cues);
    Ok(Book {
        title: draft.title,
        source: path.to_owned(),
        encoding: "UTF-8",
        text,
        chapters,
        meta: draft.meta,
        matter,
        warnings: Vec::new(),
    })
}

fn tidy_title(title: &str) -> String {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    match title.char_indices().nth(MAX_TITLE_CHARS) {
        Some((cut, _)) => format!("{}…", title[..cut].trim_end()),
        None => title,
    }
}

fn capitalise(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A single page (an HTML file, converted Markdown) split into chapters
/// at its chapter headings: the highest heading level used more than once
/// outside matter. Headings before the first chapter that only repeat the
/// title and byline are the title page.
pub fn single_page(path: &Path, page: Page, what: &'static str) -> Result<Book, IngestError> {
    let story_heading = |b: &Block| b.heading.is_some() && b.cue.is_none();
    let mut counts = [0usize; 7];
    for block in page.blocks.iter().filter(|b| story_heading(b)) {
        counts[usize::from(block.heading.unwrap_or(6))] += 1;
    }
    let chapter_level = (1..=6).find(|&level| counts[level] >= 2).map(|l| l as u8);
    let first_h1 = page
        .blocks
        .iter()
        .find(|b| b.heading == Some(1))
        .map(|b| b.text.replace('\n', " "));
    let title = match (&first_h1, counts[1]) {
        (Some(h1), _) if chapter_level != Some(1) => h1.clone(),
        _ => page.title.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "story".to_owned())
        }),
    };
    let mut parts: Vec<Part> = vec![Part::default()];
    for mut block in page.blocks {
        let starts_chapter = match chapter_level {
            Some(level) => story_heading(&block) && block.heading == Some(level),
            None => false,
        };
        if starts_chapter && !parts.last().is_some_and(|p| p.blocks.is_empty()) {
            parts.push(Part::default());
        }
        // The title (and byline) above the first chapter: the opening
        // reads them.
        let before_chapters = parts.len() == 1 && chapter_level.is_some() && !starts_chapter;
        let repeats_title = block.text.replace('\n', " ") == title
            || block.text.starts_with("by ") && block.text.len() < 100;
        if before_chapters && block.cue.is_none() && repeats_title {
            block.cue = Some((super::MatterKind::Matter, "title page"));
        }
        if chapter_level.is_none()
            && block.heading.is_some()
            && block.text.replace('\n', " ") == title
        {
            block.cue = block
                .cue
                .or(Some((super::MatterKind::Matter, "title page")));
        }
        parts.last_mut().expect("one part").blocks.push(block);
    }
    for part in &mut parts {
        if !part.blocks.is_empty() && part.blocks.iter().all(|b| b.cue.is_some()) {
            part.cue = part.blocks[0].cue;
        }
    }
    let meta = Metadata {
        author: page.author,
        language: page.language,
        cover: None,
    };
    build(path, Draft { title, meta, parts }, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::MatterKind;

    fn block(text: &str, heading: Option<u8>, cue: Option<Cue>) -> Block {
        Block {
            text: text.to_owned(),
            heading,
            cue,
            anchors: Vec::new(),
            in_meta: false,
        }
    }

    #[test]
    fn layout_tiles_the_text_and_opens_with_title_and_author() {
        let draft = Draft {
            title: "Orchard".to_owned(),
            meta: Metadata {
                author: Some("Mara".to_owned()),
                ..Metadata::default()
            },
            parts: vec![
                Part {
                    cue: Some((MatterKind::Matter, "title page")),
                    blocks: vec![block("Orchard", Some(1), None)],
                    ..Part::default()
                },
                Part {
                    title: Some("The Letter".to_owned()),
                    blocks: vec![
                        block("Wren read.", None, None),
                        block("Note 1", None, Some((MatterKind::Notes, "notes"))),
                    ],
                    ..Part::default()
                },
                Part {
                    title: Some("The Return".to_owned()),
                    blocks: vec![
                        block("Chapter 2", Some(2), None),
                        block("Home.", None, None),
                    ],
                    ..Part::default()
                },
            ],
        };
        let book = build(Path::new("b.epub"), draft, "EPUB").unwrap();
        assert_eq!(
            book.text,
            "Orchard\n\nOrchard\nby Mara\n\nThe Letter\n\nWren read.\n\nNote 1\n\nChapter 2\n\nHome.\n"
        );
        let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Orchard", "The Letter", "The Return"]);
        assert_eq!(book.chapters[0].span.start, 0);
        for pair in book.chapters.windows(2) {
            assert_eq!(pair[0].span.end, pair[1].span.start);
        }
        assert_eq!(book.chapters.last().unwrap().span.end, book.text.len());
        let heading = book.chapters[1].heading.clone().unwrap();
        assert_eq!(&book.text[heading], "Orchard\nby Mara\n\nThe Letter");
        let labels: Vec<&str> = book.matter.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["title page", "notes"]);
        let reading = crate::ingest::Reading::default();
        assert!(book.chapter_skipped(0, reading));
        assert!(!book.chapter_skipped(1, reading));
    }

    #[test]
    fn single_page_splits_at_repeated_heading_level() {
        let page = Page {
            blocks: vec![
                block("My Tale", Some(1), None),
                block("Chapter 1", Some(2), None),
                block("One.", None, None),
                block("Chapter 2", Some(2), None),
                block("Two.", None, None),
            ],
            ..Page::default()
        };
        let book = single_page(Path::new("t.html"), page, "HTML file").unwrap();
        assert_eq!(book.title, "My Tale");
        let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["My Tale", "Chapter 1", "Chapter 2"]);
        assert!(book.chapter_skipped(0, crate::ingest::Reading::default()));
    }
}
