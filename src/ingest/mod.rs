//! Ingest: read a story file into a [`Book`].
//!
//! A story comes as plain text, an EPUB, a single HTML file or Markdown.
//! Whatever the format, the result is the same plain data: one decoded
//! text, its chapters and paragraphs as byte ranges into it, metadata, and
//! the ranges of front/back matter and notes that are not read by default
//! ([`Matter`]). Everything downstream refers to the text by byte ranges,
//! so plain text is never copied or normalised: offsets stay valid for
//! `script`. Marked-up formats are flattened into a text of our own making
//! (headings and paragraphs separated by blank lines), and offsets refer
//! to that text.
//!
//! Matter stays in the text (so script offsets cover everything) and is
//! left out when utterances are made; see [`Reading`].

mod assemble;
mod chapters;
mod decode;
pub mod epub;
mod html;
mod markdown;
mod matter;
mod xml;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use chapters::split_chapters;
pub use decode::{Decoded, decode};
pub use epub::EpubError;

/// A decoded story with its chapter and paragraph structure.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub title: String,
    pub source: PathBuf,
    /// Name of the encoding the bytes were decoded from (`UTF-8`, `windows-1252`, ...).
    pub encoding: &'static str,
    pub text: String,
    pub chapters: Vec<Chapter>,
    pub meta: Metadata,
    /// Front/back matter and notes in `text`: sorted, disjoint byte ranges.
    pub matter: Vec<Matter>,
    /// Problems that did not stop the reading (malformed XHTML, ...), one
    /// line each, naming the file.
    pub warnings: Vec<String>,
}

/// What a book says about itself, carried to the output (tags, cover art).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub author: Option<String>,
    /// BCP 47 tag as the book gives it (`en-GB`).
    pub language: Option<String>,
    pub cover: Option<Cover>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Cover {
    /// `image/jpeg`, `image/png`, ...
    pub media_type: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Cover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cover({}, {} bytes)", self.media_type, self.data.len())
    }
}

impl Cover {
    /// File extension for the image (`jpg`, `png`, `gif`, `webp`).
    pub fn extension(&self) -> &'static str {
        match self.media_type.as_str() {
            "image/png" => "png",
            "image/gif" => "gif",
            "image/webp" => "webp",
            _ => "jpg",
        }
    }
}

/// A stretch of the text that is not story: a title page, a summary, a
/// site footer. Its range covers whole paragraphs (and the blank lines
/// after them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    pub range: Range<usize>,
    pub kind: MatterKind,
    /// What it is, for people: `copyright page`, `summary`, `site footer`.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatterKind {
    /// Front and back matter: cover, title page, copyright, contents,
    /// about the author, licences, tags, site footers.
    Matter,
    /// What the author says about the story rather than the story:
    /// summaries, author's notes, footnotes.
    Notes,
}

/// Which matter is read aloud (`--matter`, `--notes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub keep_matter: bool,
    pub read_notes: bool,
}

impl Reading {
    pub fn reads(&self, kind: MatterKind) -> bool {
        match kind {
            MatterKind::Matter => self.keep_matter,
            MatterKind::Notes => self.read_notes,
        }
    }
}

/// One chapter: an optional heading line followed by paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// 1-based position in the book.
    pub index: usize,
    pub title: String,
    /// Byte range of the heading line in `Book::text`, when the chapter has one.
    pub heading: Option<Range<usize>>,
    /// Byte range of the whole chapter, heading included. Chapters tile the text.
    pub span: Range<usize>,
    /// Byte ranges of the paragraphs (trimmed of surrounding blank lines).
    pub paragraphs: Vec<Range<usize>>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: cannot read story")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: is a directory; expected a story text file")]
    Directory { path: PathBuf },
    #[error("{path}: the story is empty; expected text")]
    Empty { path: PathBuf },
    #[error(
        "{path}: looks like a binary file (byte {offset} is {byte:#04x}); expected a text story"
    )]
    Binary {
        path: PathBuf,
        offset: usize,
        byte: u8,
    },
    /// Shown as `PATH: CAUSE` by error chains (the cause is `source`).
    #[error("{path}")]
    Epub {
        path: PathBuf,
        #[source]
        source: EpubError,
    },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: no story text found; expected paragraphs in the {format}")]
    NoText { path: PathBuf, format: &'static str },
}

/// The kinds of story file castbook reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Epub,
    Html,
    Markdown,
}

impl Format {
    /// From the file name, then the first bytes: a zip is an EPUB, markup
    /// is HTML, anything else text.
    pub fn detect(path: &Path, bytes: &[u8]) -> Format {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("epub") => return Format::Epub,
            Some("html" | "htm" | "xhtml") => return Format::Html,
            Some("md" | "markdown") => return Format::Markdown,
            _ => {}
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return Format::Epub;
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let head = head.trim_start_matches('\u{feff}').trim_start();
        if head.starts_with("<!doctype html") || head.starts_with("<html") {
            return Format::Html;
        }
        if head.starts_with("<?xml") && head.contains("<html") {
            return Format::Html;
        }
        Format::Text
    }
}

/// Reads and decodes `path` and finds its chapters and paragraphs.
pub fn read_book(path: &Path) -> Result<Book, IngestError> {
    if path.is_dir() {
        return Err(IngestError::Directory {
            path: path.to_owned(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| IngestError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    read_bytes(path, &bytes)
}

/// [`read_book`] on bytes already read; `path` names the story in messages
/// and picks the format by its extension.
pub fn read_bytes(path: &Path, bytes: &[u8]) -> Result<Book, IngestError> {
    match Format::detect(path, bytes) {
        Format::Epub => epub::read_epub(path, bytes),
        Format::Html => {
            let decoded = decode(bytes).map_err(|err| err.at(path))?;
            html::read_html(path, &decoded.text)
        }
        Format::Markdown => {
            let decoded = decode(bytes).map_err(|err| err.at(path))?;
            markdown::read_markdown(path, &decoded.text)
        }
        Format::Text => {
            let decoded = decode(bytes).map_err(|err| err.at(path))?;
            Ok(book_from_text(path, decoded.encoding, decoded.text))
        }
    }
}

/// Builds a book from already-decoded text (used by `read_book` and by tests).
pub fn book_from_text(path: &Path, encoding: &'static str, text: String) -> Book {
    let mut book = plain_book(path, encoding, text);
    book.matter = matter::text_export_matter(&book.text, &book.chapters);
    book
}

/// A book from text with no matter detection: an edited script is read as
/// the user left it.
pub fn plain_book(path: &Path, encoding: &'static str, text: String) -> Book {
    let (title, chapters) = split_chapters(&text, &file_stem(path));
    Book {
        title,
        source: path.to_owned(),
        encoding,
        text,
        chapters,
        ..Book::default()
    }
}

/// A book whose chapters are known: each starts at its offset in `text`
/// (the first at 0) with its title; a chapter's heading is the `headings`
/// range it opens with; paragraphs are separated by blank lines.
pub fn book_with_chapters(
    path: &Path,
    text: String,
    starts: &[(usize, String)],
    headings: &[Range<usize>],
) -> Book {
    let mut chapters: Vec<Chapter> = Vec::new();
    for (n, (start, title)) in starts.iter().enumerate() {
        let start = if n == 0 { 0 } else { (*start).min(text.len()) };
        let end = starts
            .get(n + 1)
            .map_or(text.len(), |(next, _)| (*next).clamp(start, text.len()));
        let mut body = start;
        while let Some(h) = headings
            .iter()
            .find(|h| h.start == body && h.end <= end && !h.is_empty())
        {
            body = h.end;
        }
        let heading = (body > start).then_some(start..body);
        chapters.push(Chapter {
            index: n + 1,
            title: title.clone(),
            heading,
            span: start..end,
            paragraphs: chapters::paragraphs(&text, body..end, false),
        });
    }
    let mut book = plain_book(path, "UTF-8", String::new());
    book.chapters = chapters;
    book.text = text;
    book
}

/// Matter from an edited script's `# [LABEL]` lines: ranges in `text`
/// with their labels; the kind follows from the label.
pub fn matter_from_labels(labelled: &[(Range<usize>, String)]) -> Vec<Matter> {
    let mut out: Vec<Matter> = Vec::new();
    for (range, label) in labelled {
        match out.last_mut() {
            Some(last) if last.label == *label && last.range.end == range.start => {
                last.range.end = range.end;
            }
            _ => out.push(Matter {
                range: range.clone(),
                kind: matter::kind_of_label(label),
                label: label.clone(),
            }),
        }
    }
    out
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "story".to_owned())
}

impl Book {
    /// The matter `reading` leaves out, in text order.
    pub fn skipped(&self, reading: Reading) -> impl Iterator<Item = &Matter> {
        self.matter.iter().filter(move |m| !reading.reads(m.kind))
    }

    /// The skipped matter that `range` falls in: judged by its first
    /// character that is not whitespace (a segment or paragraph carries
    /// the blank lines after it).
    pub fn skipped_at(&self, range: Range<usize>, reading: Reading) -> Option<&Matter> {
        let text = self.text.get(range.clone())?;
        let lead = text.len() - text.trim_start().len();
        let at = range.start + lead;
        if lead == text.len() {
            return None;
        }
        let index = self.matter.partition_point(|m| m.range.end <= at);
        self.matter
            .get(index)
            .filter(|m| m.range.contains(&at) && !reading.reads(m.kind))
    }

    /// Whether everything in chapter `index` (position in `chapters`) is
    /// skipped: such a chapter (a copyright page, a table of contents) is
    /// not rendered at all. A chapter with nothing in it is kept.
    pub fn chapter_skipped(&self, index: usize, reading: Reading) -> bool {
        let Some(chapter) = self.chapters.get(index) else {
            return false;
        };
        let mut parts = chapter.heading.iter().chain(&chapter.paragraphs).peekable();
        parts.peek().is_some()
            && parts.all(|range| self.skipped_at(range.clone(), reading).is_some())
    }

    /// One line per kind of skipped matter: `summary (1 paragraph)`.
    pub fn skipped_summary(&self, reading: Reading) -> Vec<String> {
        let mut labels: Vec<(String, MatterKind, usize)> = Vec::new();
        for matter in self.skipped(reading) {
            match labels.iter_mut().find(|(l, _, _)| *l == matter.label) {
                Some(entry) => entry.2 += 1,
                None => labels.push((matter.label.clone(), matter.kind, 1)),
            }
        }
        labels
            .into_iter()
            .map(|(label, kind, _)| {
                let what = match kind {
                    MatterKind::Matter => "--matter keep",
                    MatterKind::Notes => "--notes read",
                };
                format!("{label} (read with {what})")
            })
            .collect()
    }
}

/// Lower-case slug for file names: `"Chapter 3: The Storm"` → `chapter-3-the-storm`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(60);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "untitled".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("Chapter 3: The Storm"), "chapter-3-the-storm");
        assert_eq!(slug("  Épilogue!! "), "épilogue");
        assert_eq!(slug("???"), "untitled");
    }
}
