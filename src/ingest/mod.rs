//! Ingest: read a story file into a [`Book`].
//!
//! Decoding, chapter detection and paragraph splitting live in submodules.
//! Everything downstream refers to the decoded text by byte ranges, so the
//! text is never copied or normalised: offsets stay valid for `script`.

mod chapters;
mod decode;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use chapters::split_chapters;
pub use decode::{Decoded, decode};

/// A decoded story with its chapter and paragraph structure.
#[derive(Debug, Clone)]
pub struct Book {
    pub title: String,
    pub source: PathBuf,
    /// Name of the encoding the bytes were decoded from (`UTF-8`, `windows-1252`, ...).
    pub encoding: &'static str,
    pub text: String,
    pub chapters: Vec<Chapter>,
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
    let decoded = decode(&bytes).map_err(|err| err.at(path))?;
    Ok(book_from_text(path, decoded.encoding, decoded.text))
}

/// Builds a book from already-decoded text (used by `read_book` and by tests).
pub fn book_from_text(path: &Path, encoding: &'static str, text: String) -> Book {
    let fallback = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "story".to_owned());
    let (title, chapters) = split_chapters(&text, &fallback);
    Book {
        title,
        source: path.to_owned(),
        encoding,
        text,
        chapters,
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
