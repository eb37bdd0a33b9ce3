//! Synth: turn one utterance's text into mono PCM with a speech engine.
//!
//! Every engine sits behind [`Engine`]; [`Engines`] owns one of each kind in
//! use and routes a [`Voice`] to the engine its `ENGINE:ID` names. Engines
//! return raw audio at their own sample rate; loudness, resampling and
//! volume are the mixer's job, so engines stay simple.

pub mod espeak;
pub mod piper;
pub mod piper_graph;
pub mod test_engine;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Speech engines castbook knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Espeak,
    Piper,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Espeak, EngineKind::Piper];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Espeak => "espeak",
            EngineKind::Piper => "piper",
        }
    }

    pub fn parse(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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

/// Mono PCM in [-1, 1].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clip {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Clip {
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// What `castbook voices` shows for one usable voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceInfo {
    pub id: String,
    pub gender: Option<Gender>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{engine} engine is not available: {reason}")]
    Unavailable { engine: EngineKind, reason: String },
    #[error("{label} is not an installed {engine} voice{hint}")]
    UnknownVoice {
        engine: EngineKind,
        label: String,
        hint: String,
    },
    #[error("{engine} failed to speak {text:?}: {reason}")]
    Failed {
        engine: EngineKind,
        text: String,
        reason: String,
    },
}

pub trait Engine: Send {
    fn kind(&self) -> EngineKind;

    /// Errors when `id` is not a voice this engine can speak with.
    fn check_voice(&mut self, id: &str) -> Result<(), SynthError>;

    /// The sample rate of `id`'s clips, known before synthesis so the mixer
    /// can pick the book's rate up front.
    fn sample_rate(&mut self, id: &str) -> Result<u32, SynthError>;

    fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError>;

    /// [`Engine::synthesize`] as 16-bit samples, exactly as
    /// [`crate::cache::Segment::from_clip`] quantises them. Engines whose
    /// own output is 16-bit override it to skip the float round trip.
    fn synthesize_pcm16(
        &mut self,
        text: &str,
        voice: &Voice,
    ) -> Result<crate::cache::Segment, SynthError> {
        Ok(crate::cache::Segment::from_clip(
            &self.synthesize(text, voice)?,
        ))
    }

    /// Several utterances at once, results in the same order. The default
    /// speaks them one by one; engines that can work in parallel (piper's
    /// session pool) override it.
    fn synthesize_batch(&mut self, items: &[(&str, &Voice)]) -> Vec<Result<Clip, SynthError>> {
        items
            .iter()
            .map(|(text, voice)| self.synthesize(text, voice))
            .collect()
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError>;

    /// Everything about the engine itself that changes its audio: library
    /// or model version, sample rate. Part of every segment cache key, so
    /// upgrading an engine invalidates its cached segments. Engines with a
    /// version should override this.
    fn identity(&self) -> String {
        self.kind().name().to_owned()
    }

    /// What about one voice's data changes its audio beyond its id (a
    /// model file's contents, which can change under the same path). Part
    /// of that voice's segment cache keys.
    fn voice_identity(&mut self, _id: &str) -> Result<String, SynthError> {
        Ok(String::new())
    }

    /// True when an utterance's audio depends on what the engine said
    /// before (hidden state in the library). Renders then group utterances
    /// into chunks that workers speak from a fresh copy of the initialised
    /// engine, with cache keys that cover each chunk's history, so renders
    /// stay byte-identical however they are split up or resumed.
    fn keeps_history(&self) -> bool {
        false
    }
}

/// The engines one render uses, created on first use.
#[derive(Default)]
pub struct Engines {
    engines: BTreeMap<EngineKind, Box<dyn Engine>>,
    piper: piper::PiperSettings,
}

impl Engines {
    /// Real engines, created lazily the first time a voice needs them.
    pub fn new() -> Engines {
        Engines::default()
    }

    /// Settings for the Piper engine when it is created.
    pub fn with_piper(mut self, settings: piper::PiperSettings) -> Engines {
        self.piper = settings;
        self
    }

    /// Uses `engine` for every voice of its kind (tests plug in the tone engine here).
    pub fn with(mut self, engine: Box<dyn Engine>) -> Engines {
        self.engines.insert(engine.kind(), engine);
        self
    }

    pub fn get(&mut self, kind: EngineKind) -> Result<&mut dyn Engine, SynthError> {
        let engine = match self.engines.entry(kind) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(create_engine(kind, &self.piper)?)
            }
        };
        Ok(engine.as_mut())
    }

    pub fn check_voice(&mut self, voice: &Voice) -> Result<(), SynthError> {
        self.get(voice.engine)?.check_voice(&voice.id)
    }

    pub fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        self.get(voice.engine)?.synthesize(text, voice)
    }

    /// See [`Engine::synthesize_pcm16`].
    pub fn synthesize_pcm16(
        &mut self,
        text: &str,
        voice: &Voice,
    ) -> Result<crate::cache::Segment, SynthError> {
        self.get(voice.engine)?.synthesize_pcm16(text, voice)
    }

    pub fn sample_rate(&mut self, voice: &Voice) -> Result<u32, SynthError> {
        self.get(voice.engine)?.sample_rate(&voice.id)
    }

    /// Synthesises `items` in order, each engine's share through its
    /// [`Engine::synthesize_batch`] (one call per engine).
    pub fn synthesize_batch(&mut self, items: &[(&str, &Voice)]) -> Vec<Result<Clip, SynthError>> {
        let mut results: Vec<Option<Result<Clip, SynthError>>> =
            (0..items.len()).map(|_| None).collect();
        for kind in EngineKind::ALL {
            let (indices, share): (Vec<usize>, Vec<(&str, &Voice)>) = items
                .iter()
                .enumerate()
                .filter(|(_, (_, voice))| voice.engine == kind)
                .map(|(i, item)| (i, *item))
                .unzip();
            if share.is_empty() {
                continue;
            }
            match self.get(kind) {
                Ok(engine) => {
                    for (i, result) in indices.into_iter().zip(engine.synthesize_batch(&share)) {
                        results[i] = Some(result);
                    }
                }
                Err(err) => {
                    let reason = err.to_string();
                    for i in indices {
                        results[i] = Some(Err(SynthError::Unavailable {
                            engine: kind,
                            reason: reason.clone(),
                        }));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every item belongs to an engine kind"))
            .collect()
    }

    /// [`Engine::keeps_history`] of the engine for `kind`.
    pub fn keeps_history(&mut self, kind: EngineKind) -> bool {
        self.get(kind).is_ok_and(|engine| engine.keeps_history())
    }

    /// [`Engine::identity`] of the engine for `kind`.
    pub fn identity(&mut self, kind: EngineKind) -> Result<String, SynthError> {
        Ok(self.get(kind)?.identity())
    }

    /// The engine's identity and the voice's own ([`Engine::voice_identity`]):
    /// what a segment cache key needs besides the voice settings and text.
    pub fn identity_of(&mut self, voice: &Voice) -> Result<String, SynthError> {
        let engine = self.get(voice.engine)?;
        let own = engine.voice_identity(&voice.id)?;
        Ok(format!("{} {own}", engine.identity()).trim_end().to_owned())
    }
}

fn create_engine(
    kind: EngineKind,
    piper: &piper::PiperSettings,
) -> Result<Box<dyn Engine>, SynthError> {
    match kind {
        EngineKind::Espeak => Ok(Box::new(espeak::Espeak::new()?)),
        EngineKind::Piper => Ok(Box::new(piper::Piper::new(piper.clone()))),
    }
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
    }
}
