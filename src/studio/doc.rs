//! The studio's two files: the script being edited (as text, and as the
//! book and speakers it stands for) and voices.toml.
//!
//! Each file is held as the exact text on disk, with a version (a hash of
//! that text) and the file's size and mtime when it was read. A change from
//! the page names the version it was made against; before writing, the
//! file is looked at again, and if it is not that version (another window,
//! or an editor, changed it) the change is refused, never merged or
//! overwritten. A script change rewrites only the line of the segment it
//! changes, so whatever else the file holds (comments, a hand-edited
//! title) is kept; a plain story's script is first made exactly as
//! `castbook script --format text` makes it, and written at the first
//! change.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::attribute::{self, Attributed, KnownCharacter};
use crate::cast::{self, VoicesFile};
use crate::ingest::{self, Book};
use crate::script::{self, ParsedScript};
use crate::segment::{self, SegmentKind};
use crate::{fsio, studio::confidence};

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error(transparent)]
    Script(#[from] script::ScriptError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Config(#[from] cast::ConfigError),
    #[error(transparent)]
    File(#[from] fsio::FileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} exists and is not a castbook script (its first line is not `{}`); expected a script, or pass --script FILE",
        script::HEADER
    )]
    NotAScript { path: PathBuf },
    #[error(
        "{file} changed since this page read it (another window or an editor wrote it); nothing was saved: reload to see it as it is now"
    )]
    Stale { file: String },
    #[error("{0}")]
    Refused(String),
}

/// What identifies a file's contents cheaply: size and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ns: i128,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some(Stamp {
        len: meta.len(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    })
}

/// The version the page sees: a short hash of the text.
pub fn version_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_owned()
}

/// The text of `path`, or None when there is no such file.
fn read_text(path: &Path) -> Result<Option<String>, DocError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = bytes
                .strip_prefix(b"\xef\xbb\xbf")
                .unwrap_or(&bytes)
                .to_vec();
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| DocError::Refused(format!("{}: not UTF-8 text", path.display())))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// One chapter of the document: its segments and what needs review.
#[derive(Debug, Clone, PartialEq)]
pub struct ChapterView {
    pub index: usize,
    pub title: String,
    /// Indices into the document's segments.
    pub segments: Range<usize>,
    /// Dialogue lines, lines with no speaker, lines below [`confidence::LOW`].
    pub lines: usize,
    pub unknown: usize,
    pub low: usize,
}

/// The script being edited.
pub struct Script {
    /// Where the script is (or will be, before the first change) on disk.
    pub path: PathBuf,
    /// The file as last read or written; None before it exists.
    stamp: Option<Stamp>,
    source: String,
    pub version: String,
    /// Source line of each segment.
    lines: Vec<usize>,
    pub book: Book,
    pub attributed: Attributed,
    pub confidence: Vec<Option<f32>>,
    pub chapters: Vec<ChapterView>,
}

impl Script {
    /// Opens the script for `story`: the story itself when it is a script;
    /// else `script` (default `STORY.script`) if it exists; else a new
    /// script made by attributing the story, written at the first change.
    pub fn open(
        story: &Path,
        script: Option<&Path>,
        known: &[KnownCharacter],
    ) -> Result<Script, DocError> {
        if script::read_if_script(story)?.is_some() {
            return Script::from_disk(story, known);
        }
        let path = match script {
            Some(path) => path.to_owned(),
            None => {
                let mut name = story.as_os_str().to_owned();
                name.push(".script");
                PathBuf::from(name)
            }
        };
        if path.exists() {
            if script::read_if_script(&path)?.is_none() {
                return Err(DocError::NotAScript { path });
            }
            return Script::from_disk(&path, known);
        }
        let book = ingest::read_book(story)?;
        let attributed = attribute::attribute(&book, segment::segment_book(&book), known);
        let mut text = Vec::new();
        script::write_text(&book, &attributed, super::job::READING, &mut text)
            .expect("writing to memory");
        let source = String::from_utf8(text).expect("scripts are UTF-8");
        Script::from_source(path, None, source, known)
    }

    fn from_disk(path: &Path, known: &[KnownCharacter]) -> Result<Script, DocError> {
        let stamp = stamp(path);
        let source = read_text(path)?.ok_or_else(|| DocError::Io {
            path: path.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        Script::from_source(path.to_owned(), stamp, source, known)
    }

    fn from_source(
        path: PathBuf,
        stamp: Option<Stamp>,
        source: String,
        known: &[KnownCharacter],
    ) -> Result<Script, DocError> {
        let parsed: ParsedScript = script::parse_text(&path, &source)?;
        let lines = parsed.lines.clone();
        let (book, attributed) = parsed.into_book(&path, known);
        let confidence = confidence::line_confidence(&book, &attributed);
        let chapters = chapter_views(&book, &attributed, &confidence);
        Ok(Script {
            version: version_of(&source),
            path,
            stamp,
            source,
            lines,
            book,
            attributed,
            confidence,
            chapters,
        })
    }

    /// Whether the file exists yet.
    pub fn exists(&self) -> bool {
        self.stamp.is_some()
    }

    /// Reads the file again if it changed on disk since we read it (a
    /// cheap stat when it did not). Returns whether it changed.
    pub fn refresh(&mut self, known: &[KnownCharacter]) -> Result<bool, DocError> {
        let now = stamp(&self.path);
        if now == self.stamp {
            return Ok(false);
        }
        match now {
            // Deleted: keep what we have; the next change writes it again.
            None => self.stamp = None,
            Some(_) => *self = Script::from_disk(&self.path.clone(), known)?,
        }
        Ok(true)
    }

    /// Rebuilds speakers' aliases and genders after voices.toml changed.
    pub fn recast(&mut self, known: &[KnownCharacter]) -> Result<(), DocError> {
        let fresh = Script::from_source(
            self.path.clone(),
            self.stamp,
            std::mem::take(&mut self.source),
            known,
        )?;
        *self = fresh;
        Ok(())
    }

    /// Gives segment `index` (a dialogue line) the speaker `speaker` (None:
    /// nobody, `@?`), if the script is still at `version`; writes the file.
    pub fn set_speaker(
        &mut self,
        index: usize,
        speaker: Option<&str>,
        version: &str,
        known: &[KnownCharacter],
    ) -> Result<(), DocError> {
        self.refresh(known)?;
        if version != self.version {
            return Err(DocError::Stale {
                file: self.path.display().to_string(),
            });
        }
        let segment = self
            .attributed
            .segments
            .get(index)
            .ok_or_else(|| DocError::Refused(format!("there is no line {index}")))?;
        if segment.kind != SegmentKind::Dialogue {
            return Err(DocError::Refused(format!(
                "line {index} is narration; only dialogue has a speaker"
            )));
        }
        if let Some(name) = speaker {
            script::check_speaker_name(name).map_err(DocError::Refused)?;
        }
        let target = self.lines[index];
        let mut out = String::with_capacity(self.source.len() + 32);
        for (n, line) in self.source.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            if n == target {
                let changed = script::with_speaker(line, speaker).ok_or_else(|| {
                    DocError::Refused(format!(
                        "{}:{}: expected a dialogue line (`@NAME: text`)",
                        self.path.display(),
                        n + 1
                    ))
                })?;
                out.push_str(&changed);
            } else {
                out.push_str(line);
            }
        }
        fsio::write_atomically(&self.path, |f| std::io::Write::write_all(f, out.as_bytes()))?;
        let stamp = stamp(&self.path);
        *self = Script::from_source(self.path.clone(), stamp, out, known)?;
        Ok(())
    }
}

fn chapter_views(
    book: &Book,
    attributed: &Attributed,
    confidence: &[Option<f32>],
) -> Vec<ChapterView> {
    let mut views: Vec<ChapterView> = book
        .chapters
        .iter()
        .map(|c| ChapterView {
            index: c.index,
            title: c.title.clone(),
            segments: 0..0,
            lines: 0,
            unknown: 0,
            low: 0,
        })
        .collect();
    for (i, segment) in attributed.segments.iter().enumerate() {
        let Some(view) = views.get_mut(segment.chapter) else {
            continue;
        };
        if view.segments.is_empty() {
            view.segments = i..i;
        }
        view.segments.end = i + 1;
        if segment.kind == SegmentKind::Dialogue {
            view.lines += 1;
            if segment.speaker.is_none() {
                view.unknown += 1;
            } else if confidence[i].is_some_and(|c| c < confidence::LOW) {
                view.low += 1;
            }
        }
    }
    views
}

/// voices.toml: where it is (or would be created), its text and parse.
pub struct Voices {
    pub path: PathBuf,
    stamp: Option<Stamp>,
    pub source: Option<String>,
    pub version: String,
    pub file: VoicesFile,
}

impl Voices {
    pub fn open(path: &Path) -> Result<Voices, DocError> {
        let stamp = stamp(path);
        let source = read_text(path)?;
        let file = match &source {
            Some(text) => cast::parse_voices_file(path, text)?,
            None => VoicesFile::default(),
        };
        Ok(Voices {
            path: path.to_owned(),
            stamp,
            version: version_of(source.as_deref().unwrap_or_default()),
            source,
            file,
        })
    }

    pub fn exists(&self) -> bool {
        self.stamp.is_some()
    }

    pub fn known(&self) -> Vec<KnownCharacter> {
        cast::known_characters(&self.file)
    }

    /// Reads the file again if it changed on disk; returns whether it did.
    pub fn refresh(&mut self) -> Result<bool, DocError> {
        if stamp(&self.path) == self.stamp {
            return Ok(false);
        }
        *self = Voices::open(&self.path.clone())?;
        Ok(true)
    }

    /// Writes `text` (already checked by the caller) if the file is still
    /// at `version`.
    pub fn write(&mut self, text: &str, version: &str) -> Result<(), DocError> {
        self.refresh()?;
        if version != self.version {
            return Err(DocError::Stale {
                file: self.path.display().to_string(),
            });
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fsio::io_error(dir))?;
        }
        fsio::write_atomically(&self.path, |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })?;
        *self = Voices::open(&self.path.clone())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The Keepers\n\nChapter 1\n\n\"You're late,\" Tobias said.\n\n\"The boat never came.\"\n\nChapter 2\n\n\"Then we wait,\" said Maren.\n";

    fn last_dialogue(doc: &Script) -> usize {
        doc.attributed
            .segments
            .iter()
            .rposition(|s| s.kind == SegmentKind::Dialogue)
            .unwrap()
    }

    #[test]
    fn a_plain_story_gets_its_script_at_the_first_change() {
        let dir = tempfile::tempdir().unwrap();
        let story = dir.path().join("story.txt");
        std::fs::write(&story, STORY).unwrap();
        let mut doc = Script::open(&story, None, &[]).unwrap();
        assert_eq!(doc.path, dir.path().join("story.txt.script"));
        assert!(!doc.exists());
        assert_eq!(doc.chapters.len(), 2);
        let line = doc
            .attributed
            .segments
            .iter()
            .position(|s| s.kind == SegmentKind::Dialogue)
            .unwrap();
        let old = doc.version.clone();
        doc.set_speaker(line, Some("Maren"), &old, &[]).unwrap();
        let written = std::fs::read_to_string(&doc.path).unwrap();
        assert!(written.starts_with(script::HEADER));
        assert!(written.contains("@Maren: \"You're late,\""), "{written}");
        assert_ne!(doc.version, old);
        assert_eq!(doc.version, version_of(&written));
        // The script is the same as `castbook script --format text` makes,
        // with that one line changed.
        let book = ingest::read_book(&story).unwrap();
        let attributed = attribute::attribute(&book, segment::segment_book(&book), &[]);
        let mut fresh = Vec::new();
        script::write_text(&book, &attributed, super::super::job::READING, &mut fresh).unwrap();
        let fresh = String::from_utf8(fresh).unwrap();
        let differing: Vec<(&str, &str)> = fresh
            .lines()
            .zip(written.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(differing.len(), 1, "{differing:?}");
        // A later open reads that script.
        let again = Script::open(&story, None, &[]).unwrap();
        assert!(again.exists());
        assert_eq!(again.version, doc.version);
    }

    #[test]
    fn a_stale_change_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let story = dir.path().join("story.txt");
        std::fs::write(&story, STORY).unwrap();
        let mut doc = Script::open(&story, None, &[]).unwrap();
        let version = doc.version.clone();
        let line = last_dialogue(&doc);
        doc.set_speaker(line, Some("Ann"), &version, &[]).unwrap();
        let on_disk = std::fs::read(&doc.path).unwrap();
        let err = doc
            .set_speaker(line, Some("Bob"), &version, &[])
            .unwrap_err();
        assert!(matches!(err, DocError::Stale { .. }), "{err}");
        assert_eq!(std::fs::read(&doc.path).unwrap(), on_disk);
        // An editor changes the file: the page's version is stale too.
        let current = doc.version.clone();
        let edited = String::from_utf8(on_disk)
            .unwrap()
            .replace("@Ann:", "@Carl:");
        std::fs::write(&doc.path, &edited).unwrap();
        let err = doc
            .set_speaker(line, Some("Bob"), &current, &[])
            .unwrap_err();
        assert!(matches!(err, DocError::Stale { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&doc.path).unwrap(), edited);
        assert_eq!(
            doc.attributed.segments[line].speaker.as_deref(),
            Some("Carl")
        );
    }

    #[test]
    fn only_dialogue_takes_a_speaker_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let story = dir.path().join("story.txt");
        std::fs::write(&story, STORY).unwrap();
        let mut doc = Script::open(&story, None, &[]).unwrap();
        let version = doc.version.clone();
        let narration = doc
            .attributed
            .segments
            .iter()
            .position(|s| s.kind != SegmentKind::Dialogue)
            .unwrap();
        assert!(
            doc.set_speaker(narration, Some("Ann"), &version, &[])
                .is_err()
        );
        assert!(doc.set_speaker(99_999, Some("Ann"), &version, &[]).is_err());
        let line = last_dialogue(&doc);
        assert!(doc.set_speaker(line, Some("A: B"), &version, &[]).is_err());
        assert!(!doc.exists(), "nothing written");
    }

    #[test]
    fn a_file_that_is_not_a_script_is_never_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let story = dir.path().join("story.txt");
        std::fs::write(&story, STORY).unwrap();
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, "my notes\n").unwrap();
        let err = Script::open(&story, Some(&other), &[]).err().unwrap();
        assert!(matches!(err, DocError::NotAScript { .. }), "{err}");
    }
}
