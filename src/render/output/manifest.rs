//! `manifest.json`: who says what, and when, in each chapter's WAV.
//!
//! A long book's entries are megabytes, so the manifest is streamed out a
//! chapter at a time ([`ManifestWriter`]), yet reads exactly as
//! [`Manifest`] would serialise whole (a test checks it). Players,
//! reviewers and the encoders to come read it back as a [`Manifest`].

use std::io::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The cover image's file name in the output folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
    pub sample_rate: u32,
    /// How many chapters the book has, and which of them this render made.
    pub chapters_in_book: usize,
    pub chapters_present: Vec<usize>,
    pub chapters: Vec<ChapterEntry>,
    /// What this run did (the only part that differs between a fresh and a
    /// resumed render of the same book).
    pub stats: RunStats,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunStats {
    /// Utterances in the rendered chapters.
    pub segments: usize,
    /// Of those, synthesised by an engine in this run.
    pub synthesised: usize,
    /// Of those, taken from the cache.
    pub reused: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChapterEntry {
    pub index: usize,
    pub title: String,
    pub file: String,
    pub duration_s: f64,
    pub segments: Vec<SegmentEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentEntry {
    pub start_s: f64,
    pub end_s: f64,
    // Shared, not copied: a long book's entries are held until the
    // manifest is written, next to the utterances they came from.
    pub kind: std::borrow::Cow<'static, str>,
    pub speaker: Option<Arc<str>>,
    pub voice: Arc<str>,
    pub text: Arc<str>,
}

/// Writes `manifest.json` as [`Manifest`] would serialise (pretty-printed,
/// fields in its order), one chapter entry at a time.
pub struct ManifestWriter<W: Write> {
    out: W,
    chapters: usize,
}

impl<W: Write> ManifestWriter<W> {
    /// Writes everything before the first chapter.
    pub fn start(
        mut out: W,
        title: &str,
        meta: &crate::render::BookMeta,
        sample_rate: u32,
        chapters_in_book: usize,
        chapters_present: &[usize],
    ) -> std::io::Result<ManifestWriter<W>> {
        write!(out, "{{\n  \"title\": ")?;
        serde_json::to_writer(&mut out, title)?;
        for (key, value) in [
            ("author", &meta.author),
            ("language", &meta.language),
            ("cover", &meta.cover),
        ] {
            if let Some(value) = value {
                write!(out, ",\n  \"{key}\": ")?;
                serde_json::to_writer(&mut out, value)?;
            }
        }
        write!(
            out,
            ",\n  \"sample_rate\": {sample_rate},\n  \"chapters_in_book\": {chapters_in_book},\n  \"chapters_present\": "
        )?;
        serde_json::to_writer_pretty(Indented::new(&mut out, 2), chapters_present)?;
        write!(out, ",\n  \"chapters\": [")?;
        Ok(ManifestWriter { out, chapters: 0 })
    }

    /// Appends one chapter's entry.
    pub fn chapter(&mut self, entry: &ChapterEntry) -> std::io::Result<()> {
        let separator = if self.chapters == 0 { "" } else { "," };
        write!(self.out, "{separator}\n    ")?;
        serde_json::to_writer_pretty(Indented::new(&mut self.out, 4), entry)?;
        self.chapters += 1;
        Ok(())
    }

    /// Closes the chapter list with the run's stats; returns the writer, flushed.
    pub fn finish(mut self, stats: &RunStats) -> std::io::Result<W> {
        let close = if self.chapters == 0 { "]" } else { "\n  ]" };
        write!(self.out, "{close},\n  \"stats\": ")?;
        serde_json::to_writer_pretty(Indented::new(&mut self.out, 2), stats)?;
        write!(self.out, "\n}}")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Indents every line after the first by `width` spaces (so a value
/// pretty-printed on its own sits nested inside the manifest).
struct Indented<W: Write> {
    out: W,
    width: usize,
}

impl<W: Write> Indented<W> {
    fn new(out: W, width: usize) -> Indented<W> {
        Indented { out, width }
    }
}

impl<W: Write> Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        const SPACES: [u8; 8] = [b' '; 8];
        let mut rest = buf;
        while let Some(n) = rest.iter().position(|&b| b == b'\n') {
            self.out.write_all(&rest[..=n])?;
            self.out.write_all(&SPACES[..self.width.min(8)])?;
            rest = &rest[n + 1..];
        }
        self.out.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
