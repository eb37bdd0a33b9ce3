//! Worker: synthesis in child processes, so a render can use every core.
//!
//! espeak-ng keeps global state, so one process can run only one espeak
//! synthesis at a time. A render therefore starts N copies of its own
//! binary as `castbook __worker --cache DIR`; each fills the segment cache
//! and the parent assembles chapters from it. Work comes in *chunks* (a few
//! consecutive utterances of one speaker in one voice; see
//! [`crate::cache`] and the renderer's `plan`). The protocol is one JSON object per
//! line in each direction:
//!
//! ```text
//! parent → worker  {"key":"<blake3 hex of the last member>","voice":{…},"texts":["…",…]}
//! worker → parent  {"ok":true}   or   {"error":"one-line message"}
//! ```
//!
//! The worker writes the whole chunk (atomically) before answering, so an
//! answer means "it is in the cache". It also measures each member's
//! loudness gain and stores it with the samples, so the parent, which
//! competes with the workers for the same cores, only applies it.
//!
//! espeak-ng's output depends on its history: its pitch-flutter phase and
//! glottal phase are static variables that run on from one call to the
//! next, so the same sentence comes out a few samples different depending
//! on what was said before. Renders must be byte-identical however work is
//! split and however often they are resumed, so a worker never speaks
//! with espeak itself: it initialises the library once and then forks a
//! child from that pristine state for each espeak *chunk*, which speaks
//! the chunk's utterances in order (the worker is single-threaded, so fork
//! is safe). A member's audio thus depends only on the chunk members before
//! it, which its chained cache key covers. One fork per chunk rather than
//! per sentence keeps the cost of forking (copy-on-write page faults of a
//! freshly initialised engine) and of one cache file per sentence small.
//! The parent feeds each worker its next chunk as soon as it answers, in
//! book order, so chapters complete roughly in order and the parent can
//! stream them out while workers run ahead. A worker exits when its stdin
//! closes, which also happens when the parent is killed.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use crate::audio::level_gain;
use crate::cache::{CacheError, CachedClip, Key, SegmentCache};
use crate::core::{EngineKind, EngineSettings, Voice, error_chain};
use crate::synth::{Engines, SynthError};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start worker {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("worker failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error("talking to the render")]
    Io(#[from] std::io::Error),
}

/// How to start a worker: the program and the arguments before `--cache DIR`.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl WorkerSpec {
    /// `PROGRAM __worker [--onnxruntime LIB]`: the castbook binary as a
    /// worker, loading the ONNX Runtime library this process found (if a
    /// Piper voice made it look).
    pub fn castbook(program: PathBuf) -> WorkerSpec {
        let mut args: Vec<OsString> = vec!["__worker".into()];
        if let Some(library) = crate::synth::onnx::loaded_onnxruntime() {
            args.extend(["--onnxruntime".into(), library.into_os_string()]);
        }
        WorkerSpec { program, args }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Request<'a> {
    key: String,
    voice: std::borrow::Cow<'a, Voice>,
    #[serde(borrow)]
    texts: Vec<std::borrow::Cow<'a, str>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The worker side: answers requests from `input` until it closes.
pub fn serve(
    input: impl BufRead,
    mut output: impl Write,
    engines: &mut Engines,
    cache: &SegmentCache,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let reply = match handle(&line, engines, cache) {
            Ok(()) => Reply {
                ok: Some(true),
                error: None,
            },
            Err(error) => Reply {
                ok: None,
                error: Some(error),
            },
        };
        serde_json::to_writer(&mut output, &reply)?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

fn handle(line: &str, engines: &mut Engines, cache: &SegmentCache) -> Result<(), String> {
    let request: Request =
        serde_json::from_str(line).map_err(|e| format!("bad request line: {e}"))?;
    let key = Key::from_hex(&request.key).ok_or("bad request line: key is not hex")?;
    let texts: Vec<&str> = request.texts.iter().map(|t| t.as_ref()).collect();
    let isolate = engines.keeps_history(request.voice.engine);
    let mut synthesize = || {
        synthesize_chunk(engines, cache, &key, &request.voice, &texts).map_err(|e| error_chain(&e))
    };
    if isolate {
        in_pristine_child(synthesize)
    } else {
        synthesize()
    }
}

/// Speaks `texts` in order in `voice` and stores them as the chunk `key`,
/// each with its loudness gain.
pub fn synthesize_chunk(
    engines: &mut Engines,
    cache: &SegmentCache,
    key: &Key,
    voice: &Voice,
    texts: &[&str],
) -> Result<(), WorkerError> {
    if texts.is_empty() {
        return Err(WorkerError::Failed("an empty chunk".to_owned()));
    }
    let mut writer = None;
    for text in texts {
        let segment = CachedClip::from_clip(engines.synthesize(text, voice)?);
        let gain = level_gain(&segment.samples, segment.sample_rate);
        let writer = match &mut writer {
            Some(writer) => writer,
            None => writer.insert(cache.chunk_writer(segment.sample_rate, texts.len())?),
        };
        writer.push(&segment, gain)?;
    }
    cache.finish_chunk(key, writer.expect("at least one member"))?;
    Ok(())
}

/// `castbook __worker --cache DIR`: serves requests on stdin/stdout.
///
/// Each worker is one of the render's parallel synthesis slots, so its Piper
/// engine runs a single ONNX Runtime session (one intra-op thread): `--jobs`
/// workers are the pool of sessions, fed in book order from the render.
pub fn run_on_stdio(cache_dir: &Path, onnxruntime: Option<PathBuf>) -> Result<(), WorkerError> {
    let cache = SegmentCache::open(cache_dir)?;
    let mut engines = Engines::new().with_settings(EngineSettings {
        onnxruntime,
        sessions: Some(1),
        models: Vec::new(),
    });
    prepare(&mut engines);
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let served = serve(stdin.lock(), stdout.lock(), &mut engines, &cache);
    // Warnings (phonemes an engine could not say) go to the render's
    // stderr, which workers share.
    for note in engines.take_notes() {
        eprintln!("castbook: {note}");
    }
    match served {
        // The render that started us has gone (killed): nobody to tell.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}

/// Prepares a worker: loads espeak now, so every forked child starts from
/// the same initialised-but-never-spoken state. If espeak cannot load, the
/// worker still serves other engines; espeak requests then fail with the
/// engine's own error.
fn prepare(engines: &mut Engines) {
    if engines.get(EngineKind::Espeak).is_ok() {
        // A voice every espeak-ng install has; loads the English dictionary.
        let _ = engines.check_voice(&Voice::new(EngineKind::Espeak, "en-us"));
    }
}

/// Runs `work` in a forked child and reports its outcome.
fn in_pristine_child(work: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let (mut report, child_end) =
        UnixStream::pair().map_err(|e| format!("cannot create a socket pair: {e}"))?;
    // SAFETY: workers are single-threaded (see the module doc), so the child
    // inherits consistent memory; it leaves with _exit, running no destructors
    // or atexit handlers of the parent's.
    match unsafe { libc::fork() } {
        -1 => Err(format!(
            "cannot fork a synthesis process: {}",
            std::io::Error::last_os_error()
        )),
        0 => {
            drop(report);
            let code = match work() {
                Ok(()) => 0,
                Err(message) => {
                    let _ = (&child_end).write_all(message.as_bytes());
                    1
                }
            };
            drop(child_end);
            // SAFETY: ends the child without touching the parent's state.
            unsafe { libc::_exit(code) }
        }
        pid => {
            drop(child_end);
            let mut message = String::new();
            let _ = report.read_to_string(&mut message);
            let mut status = 0;
            // SAFETY: waits for the child we just forked.
            if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
                return Err(format!(
                    "lost the synthesis process: {}",
                    std::io::Error::last_os_error()
                ));
            }
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else if !message.is_empty() {
                Err(message)
            } else {
                Err(format!("the synthesis process died (wait status {status})"))
            }
        }
    }
}

/// One chunk to synthesise: `key` is its last member's key.
pub struct Job<'a> {
    pub key: Key,
    pub voice: &'a Voice,
    pub texts: Vec<&'a str>,
}

/// Running workers working through a job list; [`Pool::wait`] blocks until
/// a given job is in the cache. Dropping the pool stops handing out jobs.
pub struct Pool {
    stop: std::sync::Arc<AtomicBool>,
    results: mpsc::Receiver<(usize, Result<(), String>)>,
    done: Vec<bool>,
}

impl Pool {
    /// Starts `workers` processes inside `scope`, working through `jobs`.
    pub fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        spec: &WorkerSpec,
        cache_root: &Path,
        workers: usize,
        jobs: &'env [Job<'env>],
    ) -> Result<Pool, WorkerError> {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let next = std::sync::Arc::new(AtomicUsize::new(0));
        let (sender, results) = mpsc::channel();
        for _ in 0..workers.max(1) {
            let (child, stdin, stdout) = spawn(spec, cache_root)?;
            let (stop, next, sender) = (stop.clone(), next.clone(), sender.clone());
            scope.spawn(move || feed(child, stdin, stdout, jobs, &next, &stop, &sender));
        }
        Ok(Pool {
            stop,
            results,
            done: vec![false; jobs.len()],
        })
    }

    /// Blocks until job `index` is in the cache; any worker's failure is an error.
    pub fn wait(&mut self, index: usize) -> Result<(), WorkerError> {
        while !self.done[index] {
            match self.results.recv() {
                Ok((n, Ok(()))) => self.done[n] = true,
                Ok((_, Err(message))) => return Err(WorkerError::Failed(message)),
                Err(_) => {
                    return Err(WorkerError::Failed(
                        "all workers exited before finishing".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One worker's driver thread: hands it jobs until none are left.
fn feed(
    mut child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    jobs: &[Job],
    next: &AtomicUsize,
    stop: &AtomicBool,
    sender: &mpsc::Sender<(usize, Result<(), String>)>,
) {
    let mut stdin = BufWriter::new(stdin);
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    while !stop.load(Ordering::SeqCst) {
        let index = next.fetch_add(1, Ordering::SeqCst);
        let Some(job) = jobs.get(index) else { break };
        let result = ask(&mut child, &mut stdin, &mut stdout, job, &mut line);
        let failed = result.is_err();
        if sender.send((index, result)).is_err() || failed {
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
}

/// Starts one worker process on the cache at `cache_root`.
fn spawn(
    spec: &WorkerSpec,
    cache_root: &Path,
) -> Result<(Child, ChildStdin, ChildStdout), WorkerError> {
    let mut child = Command::new(&spec.program)
        .args(&spec.args)
        .arg("--cache")
        .arg(cache_root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| WorkerError::Spawn {
            program: spec.program.clone(),
            source,
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    Ok((child, stdin, stdout))
}

/// Sends `job` to a worker and waits for its answer.
fn ask(
    child: &mut Child,
    stdin: &mut BufWriter<ChildStdin>,
    stdout: &mut BufReader<ChildStdout>,
    job: &Job,
    line: &mut String,
) -> Result<(), String> {
    let request = Request {
        key: job.key.hex(),
        voice: std::borrow::Cow::Borrowed(job.voice),
        texts: job
            .texts
            .iter()
            .map(|t| std::borrow::Cow::Borrowed(*t))
            .collect(),
    };
    let sent = serde_json::to_writer(&mut *stdin, &request)
        .map_err(std::io::Error::from)
        .and_then(|()| stdin.write_all(b"\n"))
        .and_then(|()| stdin.flush());
    line.clear();
    match sent.and_then(|()| stdout.read_line(line)) {
        Ok(0) | Err(_) => Err(format!(
            "worker {} exited unexpectedly{}",
            child.id(),
            exit_status(child)
        )),
        Ok(_) => match serde_json::from_str::<Reply>(line) {
            Ok(Reply { ok: Some(true), .. }) => Ok(()),
            Ok(Reply {
                error: Some(error), ..
            }) => Err(error),
            _ => Err(format!("worker sent a bad reply: {}", line.trim_end())),
        },
    }
}

/// One long-lived worker process that synthesises chunks on request, one
/// at a time: for callers that make a few clips now and then (the
/// studio's previews) rather than a render's job list. The process ends
/// when the client is dropped.
pub struct Client {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Client {
    pub fn start(spec: &WorkerSpec, cache_root: &Path) -> Result<Client, WorkerError> {
        let (child, stdin, stdout) = spawn(spec, cache_root)?;
        Ok(Client {
            child,
            stdin: Some(BufWriter::new(stdin)),
            stdout: BufReader::new(stdout),
            line: String::new(),
        })
    }

    /// Synthesises `job` into the cache; returns when it is there.
    pub fn synthesize(&mut self, job: &Job) -> Result<(), WorkerError> {
        let stdin = self.stdin.as_mut().expect("open until dropped");
        ask(
            &mut self.child,
            stdin,
            &mut self.stdout,
            job,
            &mut self.line,
        )
        .map_err(WorkerError::Failed)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A closed stdin is the worker's signal to exit.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn exit_status(child: &mut Child) -> String {
    match child.wait() {
        Ok(status) => format!(" ({status})"),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::segment_key;
    use crate::synth::test_engine::ToneEngine;

    #[test]
    fn serve_fills_the_cache_and_reports_errors_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let mut engines =
            Engines::new().with(Box::new(ToneEngine::new(EngineKind::Espeak, 8000, &["a"])));
        let good = Voice::new(EngineKind::Espeak, "a");
        let bad = Voice::new(EngineKind::Espeak, "zz");
        let key = segment_key("tone", &good, "Hi.");
        let line = |voice: &Voice| {
            serde_json::to_string(&Request {
                key: key.hex(),
                voice: std::borrow::Cow::Borrowed(voice),
                texts: vec!["Hi.".into(), "Ho ho.".into()],
            })
            .unwrap()
        };
        let input = format!("{}\n{}\nnot json\n", line(&good), line(&bad));
        let mut output = Vec::new();
        serve(input.as_bytes(), &mut output, &mut engines, &cache).unwrap();
        let replies: Vec<&str> = std::str::from_utf8(&output).unwrap().lines().collect();
        assert_eq!(replies[0], r#"{"ok":true}"#);
        assert!(
            replies[1].contains("espeak:zz is not an installed"),
            "{}",
            replies[1]
        );
        assert!(replies[2].contains("bad request line"), "{}", replies[2]);
        let (first, gain) = cache.read_member(&key, 0).unwrap();
        assert_eq!(first.samples.len(), 3 * 480);
        assert_eq!(gain, level_gain(&first.samples, 8000));
        assert_eq!(cache.read_member(&key, 1).unwrap().0.samples.len(), 6 * 480);
    }

    #[test]
    fn pristine_children_report_success_and_failure() {
        assert_eq!(in_pristine_child(|| Ok(())), Ok(()));
        assert_eq!(
            in_pristine_child(|| Err("no voice".to_owned())),
            Err("no voice".to_owned())
        );
    }
}
