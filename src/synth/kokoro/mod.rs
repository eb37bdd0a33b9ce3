//! Kokoro-82M neural voices through ONNX Runtime: 28 English voices of one
//! model, and blends of them.
//!
//! A voice id is a voice name (`af_heart`) or a blend
//! (`af_bella*0.6+af_sky*0.4`); see `install` for the files, names and
//! style vectors. castbook's `rate` is the model's `speed` input; Kokoro
//! has no pitch control, so a voice with a pitch is refused when the cast
//! is checked (see [`Engine::takes_pitch`]).
//!
//! Text → phonemes: espeak-ng's tied IPA, clause by clause (`en-us` for
//! American voices, `en` for British), translated into misaki's symbols
//! ([`phonemes`]) and joined into runs as for Piper ([`crate::synth::runs`]):
//! a sentence per run, longer sentences split at clause punctuation into
//! runs of about [`MAX_RUN_TOKENS`], and any run still over the model's
//! limit of [`MAX_TOKENS`] cut between words. Each run's tokens go to the
//! model between two 0 pads, with the style row for its length. Symbols
//! outside Kokoro's English set are counted and reported through
//! [`Engine::take_notes`], never dropped silently.
//!
//! Inference runs on the shared session pool (`sessions`), one
//! single-threaded session per pool thread, as for Piper; `castbook render`
//! parallelises across worker processes with a pool of one session each.

mod install;
pub mod phonemes;
mod sessions;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

pub use self::install::{ENGLISH_VOICES, SAMPLE_RATE, install_dir, is_installed, voice_traits};
use self::install::{Install, StyleTable, leading, parse_blend};
use self::phonemes::{Accent, translate};
use self::sessions::{Model, Prepared, Run};
use super::onnx::environment;
use super::onnx::pool::{SessionPool, all_unavailable, pool_size};
use super::{Engine, SynthError, VoiceInfo, espeak, runs};
use crate::core::{Clip, EngineKind, EngineSettings, Gender, Voice, nearest};

/// The model's input limit in phoneme tokens (512 with the two pads).
pub const MAX_TOKENS: usize = 510;
/// Longest run castbook builds from a sentence's clauses (see
/// [`crate::synth::runs`]): inference costs more per second of speech as
/// inputs grow.
pub const MAX_RUN_TOKENS: usize = 150;
/// Memory one session needs, for bounding the pool.
const SESSION_BYTES: u64 = 700 * 1024 * 1024;

/// A voice id resolved: its accent and its (blended) style table.
struct Resolved {
    accent: Accent,
    styles: Arc<StyleTable>,
    /// blake3 of each voice file, in the id's order: part of cache keys.
    fingerprint: String,
}

/// Phonemes outside Kokoro's English set: how often, and whether the model
/// had an id for them (kept) or not (left out).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Unusual {
    kept: usize,
    left_out: usize,
}

/// The installed files and the model, once read.
type Loaded = (Arc<Install>, Arc<Model>);

/// The Kokoro engine: its files, resolved voices and a lazily started
/// session pool.
pub struct Kokoro {
    onnxruntime: Option<PathBuf>,
    sessions: Option<usize>,
    install: Option<Result<Loaded, String>>,
    voice_files: HashMap<String, (Arc<StyleTable>, String)>,
    voices: HashMap<String, Arc<Resolved>>,
    pool: Option<SessionPool<Prepared>>,
    unusual: BTreeMap<char, Unusual>,
}

impl Kokoro {
    /// Cheap: files are read by the first voice check or synthesis.
    pub fn new(settings: &EngineSettings) -> Kokoro {
        Kokoro {
            onnxruntime: settings.onnxruntime.clone(),
            sessions: settings.sessions,
            install: None,
            voice_files: HashMap::new(),
            voices: HashMap::new(),
            pool: None,
            unusual: BTreeMap::new(),
        }
    }

    fn unavailable(reason: String) -> SynthError {
        SynthError::Unavailable {
            engine: EngineKind::Kokoro,
            reason,
        }
    }

    fn install(&mut self) -> Result<Loaded, SynthError> {
        let loaded = self.install.get_or_insert_with(|| {
            let install = Install::open(&install_dir())?;
            let model = Model::open(install.model.clone())?;
            Ok((Arc::new(install), Arc::new(model)))
        });
        loaded.clone().map_err(Kokoro::unavailable)
    }

    fn runtime(&self) -> Result<(), SynthError> {
        environment(self.onnxruntime.as_deref())
            .map(|_| ())
            .map_err(Kokoro::unavailable)
    }

    /// A voice file's styles and fingerprint, read once.
    fn voice_file(
        &mut self,
        install: &Install,
        name: &str,
    ) -> Result<(Arc<StyleTable>, String), String> {
        if let Some(found) = self.voice_files.get(name) {
            return Ok(found.clone());
        }
        let path = install.voice_path(name);
        let bytes = std::fs::read(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        let table =
            StyleTable::from_bytes(&bytes).map_err(|err| format!("{}: {err}", path.display()))?;
        let found = (Arc::new(table), blake3::hash(&bytes).to_hex().to_string());
        self.voice_files.insert(name.to_owned(), found.clone());
        Ok(found)
    }

    fn voice(&mut self, id: &str) -> Result<Arc<Resolved>, SynthError> {
        if let Some(found) = self.voices.get(id) {
            return Ok(Arc::clone(found));
        }
        let (install, _) = self.install()?;
        let unknown = |hint: String| SynthError::UnknownVoice {
            engine: EngineKind::Kokoro,
            label: format!("kokoro:{id}"),
            hint,
        };
        let parts = parse_blend(id).map_err(|reason| unknown(format!(" ({reason})")))?;
        let mut tables = Vec::new();
        let mut fingerprints = Vec::new();
        for part in &parts {
            if !install.voice_path(&part.name).is_file() {
                let names = install.voice_names();
                let hint = match nearest(&part.name, names.iter().map(String::as_str)) {
                    Some(near) => format!("; did you mean {near}?"),
                    None if names.is_empty() => format!(
                        " (no voices in {}; {})",
                        install.dir.join("voices").display(),
                        install::INSTALL_HINT
                    ),
                    None => "; run `castbook voices --engine kokoro` to list them".to_owned(),
                };
                return Err(unknown(hint));
            }
            let (table, fingerprint) = self
                .voice_file(&install, &part.name)
                .map_err(|reason| unknown(format!(" ({reason})")))?;
            tables.push((table, part.weight));
            fingerprints.push(fingerprint);
        }
        let styles = if tables.len() == 1 {
            Arc::clone(&tables[0].0)
        } else {
            let weighted: Vec<(&StyleTable, f32)> =
                tables.iter().map(|(t, w)| (t.as_ref(), *w)).collect();
            Arc::new(StyleTable::blend(&weighted))
        };
        let (accent, _) =
            voice_traits(&leading(&parts).name).map_err(|r| unknown(format!(" ({r})")))?;
        let resolved = Arc::new(Resolved {
            accent,
            styles,
            fingerprint: fingerprints.join(" "),
        });
        self.voices.insert(id.to_owned(), Arc::clone(&resolved));
        Ok(resolved)
    }

    /// Phonemes, tokens and styles for one utterance.
    fn prepare(&mut self, text: &str, voice: &Voice) -> Result<Prepared, SynthError> {
        let (install, model) = self.install()?;
        let resolved = self.voice(&voice.id)?;
        let failed = |reason: String| SynthError::Failed {
            engine: EngineKind::Kokoro,
            text: text.chars().take(60).collect(),
            reason,
        };
        let clauses = espeak::lock()
            .map_err(|err| failed(err.to_string()))?
            .text_to_phonemes(resolved.accent.espeak_voice(), text, espeak::Ipa::Tied)
            .map_err(failed)?;
        let mut unusual: BTreeMap<char, usize> = BTreeMap::new();
        let phoneme_runs = runs::runs(&clauses, MAX_RUN_TOKENS, |ipa| {
            let translated = translate(ipa, resolved.accent);
            for (symbol, count) in translated.unusual {
                *unusual.entry(symbol).or_default() += count;
            }
            translated.phonemes
        });
        for (symbol, count) in unusual {
            let entry = self.unusual.entry(symbol).or_default();
            if install.vocab.contains_key(&symbol) {
                entry.kept += count;
            } else {
                entry.left_out += count;
            }
        }
        let mut model_runs = Vec::new();
        for run in phoneme_runs {
            let pieces = if run.chars().count() > MAX_TOKENS {
                runs::split_words(&run, MAX_TOKENS)
            } else {
                vec![run]
            };
            for piece in pieces {
                let mut tokens = vec![0i64];
                tokens.extend(piece.chars().filter_map(|c| install.vocab.get(&c).copied()));
                if tokens.len() == 1 {
                    continue;
                }
                let style = resolved.styles.row(tokens.len() - 1).to_vec();
                tokens.push(0);
                model_runs.push(Run { tokens, style });
            }
        }
        Ok(Prepared {
            model,
            runs: model_runs,
            speed: voice.rate.clamp(0.25, 4.0),
        })
    }
}

impl Engine for Kokoro {
    fn kind(&self) -> EngineKind {
        EngineKind::Kokoro
    }

    fn check_voice(&mut self, id: &str) -> Result<(), SynthError> {
        self.voice(id)?;
        self.runtime()
    }

    fn sample_rate(&mut self, _id: &str) -> Result<u32, SynthError> {
        Ok(SAMPLE_RATE)
    }

    /// Phonemes come from espeak-ng and castbook's translation, so both are
    /// part of the voice's sound.
    fn identity(&self) -> String {
        let espeak = espeak::lock().map_or_else(|_| "none".to_owned(), |l| l.version.clone());
        format!("kokoro castbook-phonemes-v1 espeak-ng {espeak} {SAMPLE_RATE} Hz")
    }

    /// The model's and the voice files' contents.
    fn voice_identity(&mut self, id: &str) -> Result<String, SynthError> {
        let (_, model) = self.install()?;
        let voice = self.voice(id)?;
        Ok(format!(
            "model {} voices {}",
            model.fingerprint, voice.fingerprint
        ))
    }

    fn takes_pitch(&self) -> bool {
        false
    }

    fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        self.synthesize_batch(&[(text, voice)])
            .pop()
            .expect("one result per item")
    }

    fn synthesize_batch(&mut self, items: &[(&str, &Voice)]) -> Vec<Result<Clip, SynthError>> {
        if let Err(err) = self.runtime().and_then(|()| self.install().map(|_| ())) {
            return all_unavailable(EngineKind::Kokoro, items.len(), &err.to_string());
        }
        let size = pool_size(self.sessions, SESSION_BYTES);
        let pool = self.pool.take().unwrap_or_else(|| SessionPool::new(size));
        let results = pool.speak(EngineKind::Kokoro, items, |text, voice| {
            self.prepare(text, voice)
        });
        self.pool = Some(pool);
        results
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError> {
        let (install, _) = self.install()?;
        Ok(install
            .voice_names()
            .into_iter()
            .filter_map(|name| {
                let (accent, gender) = voice_traits(&name).ok()?;
                let accent = match accent {
                    Accent::American => "American",
                    Accent::British => "British",
                };
                Some(VoiceInfo {
                    description: format!("Kokoro-82M {accent} English, {SAMPLE_RATE} Hz"),
                    id: name,
                    gender: Some(gender),
                })
            })
            .collect())
    }

    fn take_notes(&mut self) -> Vec<String> {
        if self.unusual.is_empty() {
            return Vec::new();
        }
        let describe = |pick: fn(&Unusual) -> usize| {
            self.unusual
                .iter()
                .filter(|(_, u)| pick(u) > 0)
                .map(|(symbol, u)| format!("{symbol} ×{}", pick(u)))
                .collect::<Vec<_>>()
        };
        let mut notes = Vec::new();
        let kept = describe(|u| u.kept);
        if !kept.is_empty() {
            notes.push(format!(
                "kokoro: phonemes outside Kokoro's English set, spoken as the model knows them: {}",
                kept.join(", ")
            ));
        }
        let left_out = describe(|u| u.left_out);
        if !left_out.is_empty() {
            notes.push(format!(
                "kokoro: phonemes Kokoro has no symbol for, left out: {}",
                left_out.join(", ")
            ));
        }
        self.unusual.clear();
        notes
    }
}

/// The narrator auto-casting gives a book when Kokoro is the default
/// engine: af_heart, the steadiest of the voices (and Kokoro's best rated).
pub const NARRATOR: &str = "af_heart";

/// The auto-cast voices when Kokoro is the default engine: the narrator's
/// label, and every English voice as `kokoro:NAME` with its gender.
pub fn auto_cast_voices() -> (String, Vec<(String, Gender)>) {
    let pool = ENGLISH_VOICES
        .iter()
        .filter_map(|name| {
            let (_, gender) = voice_traits(name).ok()?;
            Some((format!("kokoro:{name}"), gender))
        })
        .collect();
    (format!("kokoro:{NARRATOR}"), pool)
}

/// The Kokoro install for tests: the model, vocabulary and voices, or a
/// panic that says how to install them.
#[cfg(test)]
fn test_install() -> PathBuf {
    let dir = install_dir();
    assert!(
        is_installed() && dir.join("voices/af_heart.bin").is_file(),
        "Kokoro is missing from {}: run scripts/setup --kokoro (or set CASTBOOK_KOKORO_DIR)",
        dir.display()
    );
    dir
}

#[cfg(test)]
mod tests;
