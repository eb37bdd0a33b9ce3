//! Core: the plain types several stages share, at the bottom of the crate.
//!
//! Attribution guesses a [`Gender`], casting picks a [`Voice`] on an
//! [`EngineKind`], engines turn text into a [`Clip`], and the cache and the
//! mixer store and join clips. Each of those stages depends on this module
//! and on the stages below it, never on one above (see the layer list in
//! `lib.rs`), so these types live here, and this module imports nothing
//! from the crate.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
    Unknown,
}

/// Speech engines castbook knows how to drive: the list of the engine
/// registry (`synth` creates each kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Espeak,
    Piper,
    Kokoro,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [EngineKind::Espeak, EngineKind::Piper, EngineKind::Kokoro];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Espeak => "espeak",
            EngineKind::Piper => "piper",
            EngineKind::Kokoro => "kokoro",
        }
    }

    pub fn parse(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether this engine's voice ids name model files (`voices/joe.onnx#2`),
    /// which a cast file writes relative to itself, rather than voices
    /// built into the engine (`en-us+f3`).
    pub fn ids_are_model_files(self) -> bool {
        match self {
            EngineKind::Espeak | EngineKind::Kokoro => false,
            EngineKind::Piper => true,
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `en_US-joe-medium`, not `voices/joe.onnx`: a model reference without a
/// folder or an `.onnx` extension names an installed model, to be looked up
/// by name, rather than a file path.
pub fn is_model_name(reference: &str) -> bool {
    !reference.is_empty() && !reference.contains(['/', '\\']) && !reference.ends_with(".onnx")
}

/// A fully resolved voice: which engine, which of its voices, and prosody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    pub engine: EngineKind,
    /// Engine-specific id: `en-us+f3` for espeak, a model path for piper.
    pub id: String,
    /// Speaking-rate multiplier: 1.0 is the engine's normal pace (espeak: 175 words/min).
    pub rate: f32,
    /// 0–100, 50 is the voice's normal pitch.
    pub pitch: f32,
    /// Linear gain applied after loudness matching: 1.0 leaves it unchanged.
    pub volume: f32,
}

impl Voice {
    pub fn new(engine: EngineKind, id: impl Into<String>) -> Voice {
        Voice {
            engine,
            id: id.into(),
            rate: 1.0,
            pitch: 50.0,
            volume: 1.0,
        }
    }

    /// `ENGINE:ID`, as written in voices.toml and the manifest.
    pub fn label(&self) -> String {
        format!("{}:{}", self.engine, self.id)
    }
}

/// Mono PCM from an engine, at the engine's own sample rate and in its own
/// sample format.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub samples: Samples,
    pub sample_rate: u32,
}

/// A clip's samples as its engine made them. Neural engines make floats;
/// espeak-ng makes 16-bit integers, which are kept as they are: turning them
/// into floats for the cache to turn back (exactly, `s / 32768` quantises
/// to `s`) cost a render about 3% more CPU.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Floats in [-1, 1].
    F32(Vec<f32>),
    /// Full-scale 16-bit integers: `s / 32768` is the float sample.
    I16(Vec<i16>),
}

impl Clip {
    /// A clip of float samples in [-1, 1].
    pub fn from_f32(samples: Vec<f32>, sample_rate: u32) -> Clip {
        Clip {
            samples: Samples::F32(samples),
            sample_rate,
        }
    }

    /// Samples in the clip.
    pub fn len(&self) -> usize {
        match &self.samples {
            Samples::F32(samples) => samples.len(),
            Samples::I16(samples) => samples.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The samples as floats in [-1, 1].
    pub fn into_f32(self) -> Vec<f32> {
        match self.samples {
            Samples::F32(samples) => samples,
            Samples::I16(samples) => samples
                .into_iter()
                .map(|s| f32::from(s) / 32768.0)
                .collect(),
        }
    }

    /// A float copy of the samples (see [`Clip::into_f32`]).
    pub fn to_f32(&self) -> Vec<f32> {
        self.clone().into_f32()
    }
}

/// What a cast file says about the engines themselves rather than about one
/// voice: the cast stage reads it, the engines use it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSettings {
    /// The ONNX Runtime library (voices.toml `[piper] onnxruntime`), for
    /// engines that run ONNX models.
    pub onnxruntime: Option<PathBuf>,
    /// Inference sessions to run at once in this process; None: automatic.
    pub sessions: Option<usize>,
    /// Model files the cast file names, with their engine, so that
    /// `castbook voices` lists them beside the ones found installed.
    pub models: Vec<(EngineKind, PathBuf)>,
}

/// `err` and its causes on one line, `outer: inner: root`, for an error that
/// travels as text (a worker's reply, an engine's reason). Each layer's
/// message says only its own part and leaves the cause to `source()`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Levenshtein-nearest candidate, for "did you mean" hints.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(wanted, c), c))
        .filter(|&(d, c)| d <= (wanted.chars().count().max(c.chars().count()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_suggests_close_ids() {
        let ids = ["en-us+f4", "en-us+m3", "en-gb-x-rp"];
        assert_eq!(nearest("en-us+f9", ids), Some("en-us+f4"));
        assert_eq!(nearest("klingon", ids), None);
    }

    #[test]
    fn labels_round_trip() {
        let voice = Voice::new(EngineKind::Espeak, "en-us+f3");
        assert_eq!(voice.label(), "espeak:en-us+f3");
        assert_eq!(EngineKind::parse("piper"), Some(EngineKind::Piper));
        assert_eq!(EngineKind::parse("tts"), None);
        for kind in EngineKind::ALL {
            assert_eq!(EngineKind::parse(kind.name()), Some(kind));
        }
    }

    #[test]
    fn error_chains_say_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("story.txt")]
        struct Outer(#[source] std::io::Error);
        let err = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&err), "story.txt: disk on fire");
    }

    #[test]
    fn model_names_are_bare() {
        assert!(is_model_name("en_US-joe-medium"));
        for path in ["voices/joe.onnx", "joe.onnx", "a\\b", ""] {
            assert!(!is_model_name(path), "{path}");
        }
    }
}
