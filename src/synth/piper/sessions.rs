//! Piper inference: a pool of threads, each owning one ONNX Runtime
//! session per model with a single intra-op thread, fed from one queue.
//!
//! A session of a medium model holds about 0.5 GB, so the pool is bounded
//! (one per core, at most [`MAX_DEFAULT_SESSIONS`], and no more than
//! available memory allows) unless the settings fix it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

use super::graph;
use super::model::Model;
use crate::core::error_chain;
use crate::synth::onnx::environment;

/// Default upper bound on parallel sessions (each about 0.5 GB).
pub const MAX_DEFAULT_SESSIONS: usize = 4;
/// Memory one session of a medium model needs, for bounding the pool.
const SESSION_BYTES: u64 = 512 * 1024 * 1024;

/// One utterance's model inputs, prepared on the caller's thread.
pub(super) struct Prepared {
    pub(super) sample_rate: u32,
    pub(super) model: Arc<Model>,
    pub(super) sentences: Vec<Vec<i64>>,
    pub(super) scales: [f32; 3],
    pub(super) speaker: Option<i64>,
}

/// One utterance for the pool.
pub(super) struct InferJob {
    pub(super) index: usize,
    pub(super) input: Prepared,
    pub(super) reply: mpsc::Sender<(usize, Result<Vec<f32>, String>)>,
}

/// Threads that each own a session per model, fed from one queue.
pub(super) struct SessionPool {
    pub(super) queue: Option<mpsc::Sender<InferJob>>,
    workers: Vec<JoinHandle<()>>,
}

impl SessionPool {
    pub(super) fn new(size: usize) -> SessionPool {
        let (queue, jobs) = mpsc::channel::<InferJob>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..size)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                std::thread::spawn(move || worker(&jobs))
            })
            .collect();
        SessionPool {
            queue: Some(queue),
            workers,
        }
    }
}

impl Drop for SessionPool {
    fn drop(&mut self) {
        // Closing the queue ends each worker's loop.
        self.queue.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<InferJob>>) {
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

fn run_job(sessions: &mut HashMap<PathBuf, Session>, job: &InferJob) -> Result<Vec<f32>, String> {
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
/// (see [`graph`]: same audio, less CPU).
fn open_session(path: &Path) -> Result<Session, String> {
    let fail = |err: String| format!("{}: cannot load the model: {err}", path.display());
    let original = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let rewritten = graph::convolutions_as_2d(&original).map_err(|e| fail(error_chain(&e)))?;
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

/// How many sessions to run: the user's choice, else one per core, at most
/// [`MAX_DEFAULT_SESSIONS`] and what available memory allows.
pub(super) fn pool_size(requested: Option<usize>) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::piper::joe;

    #[test]
    fn two_d_convolutions_give_the_same_audio() {
        let path = joe();
        environment(None).unwrap();
        let original = std::fs::read(&path).unwrap();
        let rewritten = graph::convolutions_as_2d(&original).unwrap().unwrap();
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
}
