//! A pool of inference threads for the ONNX engines (Piper, Kokoro).
//!
//! Each thread owns its own sessions (an ONNX Runtime session is not shared
//! between threads that run it at once, and one single-threaded session per
//! core uses the cores better than one session with several intra-op
//! threads), and all take jobs from one queue. An engine prepares each
//! utterance's model inputs on the caller's thread (phonemes need the
//! espeak-ng lock anyway) as an [`Inference`], and [`SessionPool::speak`]
//! runs a batch of them longest first, so no thread is left with a long
//! utterance at the end while the others idle, and returns the clips in
//! input order.
//!
//! A session of a medium model holds about 0.5 GB, so the pool is bounded
//! (one per core, at most [`MAX_DEFAULT_SESSIONS`], and no more than
//! available memory allows) unless the settings fix it.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use super::environment;
use crate::core::{Clip, EngineKind, Voice};
use crate::synth::SynthError;

/// Default upper bound on parallel sessions.
pub const MAX_DEFAULT_SESSIONS: usize = 4;

/// One utterance's model inputs, ready for a pool thread.
pub trait Inference: Send + 'static {
    /// What each pool thread keeps from job to job: its sessions.
    type Sessions: Default;

    /// Runs the model; mono samples at [`Inference::sample_rate`].
    fn infer(&self, sessions: &mut Self::Sessions) -> Result<Vec<f32>, String>;

    /// Relative amount of work (phonemes, say), to start long jobs first.
    fn cost(&self) -> usize;

    fn sample_rate(&self) -> u32;
}

struct Job<I> {
    index: usize,
    input: I,
    reply: mpsc::Sender<(usize, Result<Vec<f32>, String>)>,
}

/// Threads that each own their sessions, fed from one queue.
pub struct SessionPool<I: Inference> {
    queue: Option<mpsc::Sender<Job<I>>>,
    workers: Vec<JoinHandle<()>>,
}

impl<I: Inference> SessionPool<I> {
    pub fn new(size: usize) -> SessionPool<I> {
        let (queue, jobs) = mpsc::channel::<Job<I>>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..size.max(1))
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                std::thread::spawn(move || work(&jobs))
            })
            .collect();
        SessionPool {
            queue: Some(queue),
            workers,
        }
    }

    /// Speaks `items`: each is prepared on this thread by `prepare`, then
    /// run on the pool; results in input order. Model output is scaled
    /// below full scale when it would clip (neural vocoders are not
    /// bounded; the mixer sets the final level anyway).
    pub fn speak(
        &self,
        engine: EngineKind,
        items: &[(&str, &Voice)],
        mut prepare: impl FnMut(&str, &Voice) -> Result<I, SynthError>,
    ) -> Vec<Result<Clip, SynthError>> {
        let failed = |index: usize, reason: String| SynthError::Failed {
            engine,
            text: items[index].0.chars().take(60).collect(),
            reason,
        };
        let mut results: Vec<Option<Result<Clip, SynthError>>> =
            (0..items.len()).map(|_| None).collect();
        let queue = self.queue.clone().expect("queue open while the pool lives");
        let (reply, replies) = mpsc::channel();
        let mut rates = vec![0u32; items.len()];
        let mut jobs = Vec::new();
        for (index, (text, voice)) in items.iter().enumerate() {
            match prepare(text, voice) {
                Ok(input) => {
                    rates[index] = input.sample_rate();
                    jobs.push(Job {
                        index,
                        input,
                        reply: reply.clone(),
                    });
                }
                Err(err) => results[index] = Some(Err(err)),
            }
        }
        jobs.sort_by_key(|job| std::cmp::Reverse(job.input.cost()));
        let mut pending = 0;
        for job in jobs {
            let index = job.index;
            if queue.send(job).is_ok() {
                pending += 1;
            } else {
                results[index] = Some(Err(failed(
                    index,
                    format!("the {engine} worker pool stopped"),
                )));
            }
        }
        drop(reply);
        for (index, result) in replies.iter().take(pending) {
            results[index] = Some(
                result
                    .map(|samples| Clip::from_f32(below_full_scale(samples), rates[index]))
                    .map_err(|reason| failed(index, reason)),
            );
        }
        results
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                r.unwrap_or_else(|| {
                    Err(failed(
                        index,
                        format!("a {engine} worker stopped without an answer"),
                    ))
                })
            })
            .collect()
    }
}

impl<I: Inference> Drop for SessionPool<I> {
    fn drop(&mut self) {
        // Closing the queue ends each worker's loop.
        self.queue.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work<I: Inference>(jobs: &Mutex<mpsc::Receiver<Job<I>>>) {
    let mut sessions = I::Sessions::default();
    loop {
        let job = {
            let Ok(receiver) = jobs.lock() else { return };
            match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let result = job.input.infer(&mut sessions);
        let _ = job.reply.send((job.index, result));
    }
}

/// Every item failed the same way (ONNX Runtime could not be loaded).
pub fn all_unavailable(
    engine: EngineKind,
    count: usize,
    reason: &str,
) -> Vec<Result<Clip, SynthError>> {
    (0..count)
        .map(|_| {
            Err(SynthError::Unavailable {
                engine,
                reason: reason.to_owned(),
            })
        })
        .collect()
}

/// A session for the model in `model` (ONNX bytes) with `threads` intra-op
/// threads, optimised at level `All` (which includes the NCHWc layout that
/// makes 2-D convolutions fast); with `flush_to_zero`, denormal floats are
/// computed as zeros (much faster on x86 where a model produces them).
pub fn session_from_bytes(
    model: &[u8],
    threads: usize,
    flush_to_zero: bool,
) -> Result<Session, String> {
    let environment = environment(None)?;
    let mut builder = Session::builder(environment)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?
        .with_intra_threads(threads.max(1))
        .map_err(|e| e.to_string())?
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?;
    if flush_to_zero {
        builder = builder.with_flush_to_zero().map_err(|e| e.to_string())?;
    }
    builder.commit_from_memory(model).map_err(|e| e.to_string())
}

/// Scales a clip down if it would clip when stored as 16-bit.
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
/// [`MAX_DEFAULT_SESSIONS`] and what available memory allows for sessions
/// of `session_bytes` each.
pub fn pool_size(requested: Option<usize>, session_bytes: u64) -> usize {
    if let Some(n) = requested {
        return n.max(1);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let memory = available_memory().map_or(usize::MAX, |bytes| (bytes / session_bytes) as usize);
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

    /// A fake model: "speaks" `len` samples of `value`, or fails.
    struct Fake {
        len: usize,
        value: f32,
    }

    #[derive(Default)]
    struct Count(usize);

    impl Inference for Fake {
        type Sessions = Count;

        fn infer(&self, runs: &mut Count) -> Result<Vec<f32>, String> {
            runs.0 += 1;
            if self.len == 0 {
                return Err("nothing to say".to_owned());
            }
            Ok(vec![self.value; self.len])
        }

        fn cost(&self) -> usize {
            self.len
        }

        fn sample_rate(&self) -> u32 {
            8000
        }
    }

    #[test]
    fn results_keep_input_order_and_errors_stay_with_their_item() {
        let pool = SessionPool::<Fake>::new(3);
        let voice = Voice::new(EngineKind::Piper, "x");
        let items: Vec<(&str, &Voice)> = ["3", "1", "bad", "0", "7"]
            .into_iter()
            .map(|t| (t, &voice))
            .collect();
        let results = pool.speak(EngineKind::Piper, &items, |text, _| {
            let len: usize = text.parse().map_err(|_| SynthError::Failed {
                engine: EngineKind::Piper,
                text: text.to_owned(),
                reason: "not a number".to_owned(),
            })?;
            Ok(Fake { len, value: 2.0 })
        });
        let lengths: Vec<Option<usize>> = results
            .iter()
            .map(|r| r.as_ref().ok().map(Clip::len))
            .collect();
        assert_eq!(lengths, [Some(3), Some(1), None, None, Some(7)]);
        let clip = results[4].as_ref().unwrap();
        assert_eq!(clip.sample_rate, 8000);
        // 2.0 would clip: scaled to just below full scale.
        assert!(clip.to_f32().iter().all(|&s| (s - 0.99).abs() < 1e-6));
        assert!(
            results[2]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(
            results[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("nothing to say")
        );
    }

    #[test]
    fn pool_size_honours_a_request() {
        assert_eq!(pool_size(Some(3), 1), 3);
        assert_eq!(pool_size(Some(0), 1), 1);
        let automatic = pool_size(None, 1);
        assert!((1..=MAX_DEFAULT_SESSIONS).contains(&automatic));
        // Not enough memory for even one: still one.
        assert_eq!(pool_size(None, u64::MAX), 1);
    }
}
