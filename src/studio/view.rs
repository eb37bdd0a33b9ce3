//! What the page receives: the JSON shapes of the studio's answers, with
//! short keys where a long chapter repeats them thousands of times.

use serde::Serialize;

use super::service::State;
use crate::cast::Source;
use crate::core::Gender;

pub(super) fn gender_name(gender: Option<Gender>) -> &'static str {
    match gender {
        Some(Gender::Female) => "female",
        Some(Gender::Male) => "male",
        _ => "",
    }
}

pub(super) fn files(state: &State) -> FilesView {
    FilesView {
        script: FileView {
            path: state.script.path.display().to_string(),
            exists: state.script.exists(),
            version: state.script.version.clone(),
        },
        voices: FileView {
            path: state.voices.path.display().to_string(),
            exists: state.voices.exists(),
            version: state.voices.version.clone(),
        },
        problem: state.problem.clone(),
    }
}

/// The narrator, then characters in order of first appearance, then those
/// voices.toml lists who speak no line.
pub(super) fn cast_view(state: &State) -> Vec<CastEntry> {
    let Ok(cast) = &state.cast else {
        return Vec::new();
    };
    let from = |source: Source| match source {
        Source::VoicesFile => "voices.toml",
        Source::Auto => "auto",
    };
    let mut out = vec![CastEntry {
        name: None,
        gender: "",
        lines: 0,
        words: 0,
        voice: cast.narrator.label(),
        from: if state.voices.file.narrator.is_some() {
            "voices.toml"
        } else {
            "auto"
        },
    }];
    for character in &state.script.attributed.characters {
        let member = cast.characters.get(&character.name);
        out.push(CastEntry {
            name: Some(character.name.clone()),
            gender: gender_name(character.gender),
            lines: character.lines,
            words: character.words,
            voice: member.map_or_else(|| cast.narrator.label(), |m| m.reference.clone()),
            from: member.map_or("narrator", |m| from(m.source)),
        });
    }
    for (name, entry) in &state.voices.file.characters {
        if out.iter().any(|c| c.name.as_deref() == Some(name)) {
            continue;
        }
        let Some(member) = cast.characters.get(name) else {
            continue;
        };
        out.push(CastEntry {
            name: Some(name.clone()),
            gender: gender_name(entry.gender),
            lines: 0,
            words: 0,
            voice: member.reference.clone(),
            from: from(member.source),
        });
    }
    out
}

#[derive(Debug, Serialize)]
pub struct FileView {
    pub path: String,
    pub exists: bool,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct FilesView {
    pub script: FileView,
    pub voices: FileView,
    /// A file on disk that could not be read again, and why.
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChapterSummary {
    pub n: usize,
    pub title: String,
    pub lines: usize,
    pub unknown: usize,
    pub low: usize,
}

#[derive(Debug, Serialize)]
pub struct CastEntry {
    /// None: the narrator.
    pub name: Option<String>,
    pub gender: &'static str,
    pub lines: usize,
    pub words: usize,
    /// As voices.toml would name it.
    pub voice: String,
    pub from: &'static str,
}

#[derive(Debug, Serialize)]
pub struct BookView {
    pub title: String,
    pub story: String,
    pub files: FilesView,
    pub chapters: Vec<ChapterSummary>,
    pub cast: Vec<CastEntry>,
    /// Lines scoring below this are marked.
    pub low: f32,
    pub out: String,
}

/// One segment, with short keys: a long chapter has thousands.
#[derive(Debug, Serialize)]
pub struct SegmentView {
    /// Index in the whole script.
    pub i: usize,
    /// `h` heading, `n` narration, `d` dialogue.
    pub k: char,
    /// Paragraph in the chapter.
    pub p: Option<usize>,
    /// Speaker (dialogue).
    pub s: Option<String>,
    /// Confidence (dialogue).
    pub c: Option<f32>,
    /// What kind of skipped matter it is in (`summary`, `copyright`...),
    /// if it is not read aloud.
    pub m: Option<String>,
    pub t: String,
}

#[derive(Debug, Serialize)]
pub struct ChapterView {
    pub n: usize,
    pub title: String,
    pub segments: Vec<SegmentView>,
}

#[derive(Debug, Serialize)]
pub struct CastView {
    pub files: FilesView,
    pub cast: Vec<CastEntry>,
}

#[derive(Debug, Serialize)]
pub struct LineChange {
    pub segment: usize,
    pub speaker: Option<String>,
    pub c: Option<f32>,
    pub chapter: Option<ChapterSummary>,
    pub files: FilesView,
    pub cast: Vec<CastEntry>,
}

#[derive(Debug, Serialize)]
pub struct VoiceOption {
    pub id: String,
    pub gender: &'static str,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub files: FilesView,
    pub render: super::job::RenderView,
}
