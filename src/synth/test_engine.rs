//! A deterministic stand-in engine for tests: no audio library needed.
//!
//! Each character becomes a short tone whose pitch depends on the voice id,
//! so clips have text-proportional length, distinct voices sound distinct,
//! and the same input always gives the same samples. Never offered to users.

use super::{Clip, Engine, EngineKind, Gender, SynthError, Voice, VoiceInfo};

pub struct ToneEngine {
    kind: EngineKind,
    sample_rate: u32,
    known: Vec<String>,
    history: bool,
}

impl ToneEngine {
    /// Stands in for `kind`, accepting exactly the `known` voice ids.
    pub fn new(kind: EngineKind, sample_rate: u32, known: &[&str]) -> ToneEngine {
        ToneEngine {
            kind,
            sample_rate,
            known: known.iter().map(|s| (*s).to_owned()).collect(),
            history: false,
        }
    }

    /// Claims to keep history as espeak does (its audio still does not),
    /// so that renders chain keys and group utterances into chunks.
    pub fn with_history(mut self) -> ToneEngine {
        self.history = true;
        self
    }
}

impl Engine for ToneEngine {
    fn kind(&self) -> EngineKind {
        self.kind
    }

    fn check_voice(&mut self, id: &str) -> Result<(), SynthError> {
        if self.known.iter().any(|k| k == id) {
            Ok(())
        } else {
            Err(SynthError::UnknownVoice {
                engine: self.kind,
                label: format!("{}:{id}", self.kind),
                hint: String::new(),
            })
        }
    }

    fn sample_rate(&mut self, id: &str) -> Result<u32, SynthError> {
        self.check_voice(id)?;
        Ok(self.sample_rate)
    }

    fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        self.check_voice(&voice.id)?;
        let per_char =
            (f64::from(self.sample_rate) * 0.06 / f64::from(voice.rate.max(0.1))) as usize;
        let hash = voice
            .id
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let freq = 120.0 + f64::from(hash % 200) + f64::from(voice.pitch);
        let samples = (0..text.chars().count() * per_char)
            .map(|n| {
                let t = n as f64 / f64::from(self.sample_rate);
                (0.3 * (std::f64::consts::TAU * freq * t).sin()) as f32
            })
            .collect();
        Ok(Clip::from_f32(samples, self.sample_rate))
    }

    fn identity(&self) -> String {
        format!("tone {} Hz", self.sample_rate)
    }

    fn keeps_history(&self) -> bool {
        self.history
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError> {
        Ok(self
            .known
            .iter()
            .map(|id| VoiceInfo {
                id: id.clone(),
                gender: Some(Gender::Unknown),
                description: "test tone".to_owned(),
            })
            .collect())
    }
}
