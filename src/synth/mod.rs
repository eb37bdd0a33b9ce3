//! Synth: turn one utterance's text into a [`Clip`] with a speech engine.
//!
//! Every engine sits behind [`Engine`]; [`Engines`] owns one of each kind in
//! use and routes a [`Voice`] to the engine its `ENGINE:ID` names. An
//! engine turns text and a voice into raw audio at its own sample rate, and
//! that is all: chunking, cache keys and the stored 16-bit format belong to
//! the cache and the renderer, and loudness, resampling and volume to the
//! mixer, so engines stay simple.
//!
//! The engine registry is [`EngineKind`] (the list, in `core`) and
//! `create_engine` below: adding an engine means a variant there, an arm
//! here, and the engine's own file.

pub mod espeak;
pub mod kokoro;
pub mod onnx;
pub mod piper;
pub mod runs;
#[cfg(test)]
pub mod test_engine;

use std::collections::BTreeMap;

use crate::core::{Clip, EngineKind, EngineSettings, Gender, Voice};

/// What `castbook voices` shows for one usable voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceInfo {
    pub id: String,
    pub gender: Option<Gender>,
    pub description: String,
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
    #[error("{label}: {reason}")]
    Unsupported { label: String, reason: String },
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

    /// Whether the engine can change a voice's pitch. Voices of engines
    /// that can't are refused with a pitch other than 50 (see
    /// [`Engines::check_voice`]) rather than spoken at their own pitch.
    fn takes_pitch(&self) -> bool {
        true
    }

    /// Warnings gathered while speaking (phonemes an engine could not say
    /// as asked), each one line, cleared by the call.
    fn take_notes(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// The engines one render uses, created on first use.
#[derive(Default)]
pub struct Engines {
    engines: BTreeMap<EngineKind, Box<dyn Engine>>,
    settings: EngineSettings,
}

impl Engines {
    /// Real engines, created lazily the first time a voice needs them.
    pub fn new() -> Engines {
        Engines::default()
    }

    /// What the cast file says about the engines, for when they are created.
    pub fn with_settings(mut self, settings: EngineSettings) -> Engines {
        self.settings = settings;
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
                entry.insert(create_engine(kind, &self.settings)?)
            }
        };
        Ok(engine.as_mut())
    }

    /// Errors when the voice's engine does not have it, or cannot speak
    /// it with the voice's settings (a pitch it has no control of).
    pub fn check_voice(&mut self, voice: &Voice) -> Result<(), SynthError> {
        let engine = self.get(voice.engine)?;
        engine.check_voice(&voice.id)?;
        if voice.pitch != 50.0 && !engine.takes_pitch() {
            return Err(SynthError::Unsupported {
                label: voice.label(),
                reason: format!(
                    "{} voices have no pitch control; leave out pitch (it is {})",
                    voice.engine, voice.pitch
                ),
            });
        }
        Ok(())
    }

    /// Every engine's [`Engine::take_notes`].
    pub fn take_notes(&mut self) -> Vec<String> {
        self.engines
            .values_mut()
            .flat_map(|engine| engine.take_notes())
            .collect()
    }

    pub fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        self.get(voice.engine)?.synthesize(text, voice)
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

/// The auto-cast voices of the best engine installed, where that is not
/// the built-in espeak-ng: the narrator's `ENGINE:ID`, and the pool
/// (`ENGINE:ID`, gender). Kokoro's, when it is installed; None otherwise.
pub fn preferred_auto_cast() -> Option<(String, Vec<(String, Gender)>)> {
    kokoro::is_installed().then(kokoro::auto_cast_voices)
}

/// The engine registry: how each [`EngineKind`] is created.
fn create_engine(
    kind: EngineKind,
    settings: &EngineSettings,
) -> Result<Box<dyn Engine>, SynthError> {
    match kind {
        EngineKind::Espeak => Ok(Box::new(espeak::Espeak::new()?)),
        EngineKind::Piper => Ok(Box::new(piper::Piper::new(settings))),
        EngineKind::Kokoro => Ok(Box::new(kokoro::Kokoro::new(settings))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_engine::ToneEngine;

    #[test]
    fn voices_go_to_the_engine_their_label_names() {
        let mut engines = Engines::new()
            .with(Box::new(ToneEngine::new(EngineKind::Espeak, 8000, &["a"])))
            .with(Box::new(ToneEngine::new(EngineKind::Piper, 16000, &["m"])));
        let clip = engines
            .synthesize("Hi.", &Voice::new(EngineKind::Piper, "m"))
            .unwrap();
        assert_eq!(clip.sample_rate, 16000);
        assert!(
            engines
                .check_voice(&Voice::new(EngineKind::Piper, "a"))
                .is_err()
        );
    }
}
