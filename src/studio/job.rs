//! The studio's render: the same pipeline as `castbook render` (cast,
//! utterances, [`crate::render::render_book`] with worker processes), run
//! on a thread of its own from a snapshot of the script and voices.toml,
//! with its progress kept for the page to poll.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::service::{Failure, Studio};
use crate::render::worker::WorkerSpec;
use crate::render::{self, Progress, RenderOptions};
use crate::synth::Engines;
use crate::utter::{self, Pauses};

#[derive(Debug, Default)]
pub struct RenderJob {
    state: JobState,
    progress: Arc<AtomicU64>,
    total: u64,
    started: Option<Instant>,
    seconds: f64,
    error: Option<String>,
    /// The script version it rendered.
    version: Option<String>,
    summary: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum JobState {
    #[default]
    Idle,
    Running,
    Done,
    Failed,
}

/// What the page shows of the render.
#[derive(Debug, Serialize)]
pub struct RenderView {
    state: JobState,
    done: u64,
    total: u64,
    seconds: f64,
    error: Option<String>,
    summary: Option<String>,
    /// The script version the last render was made from.
    version: Option<String>,
    out: String,
    /// What the output folder's manifest lists (the last finished render).
    chapters: Vec<FinishedChapter>,
}

/// A chapter of the output folder's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinishedChapter {
    pub index: usize,
    pub title: String,
    pub file: String,
    pub duration_s: f64,
}

#[derive(Deserialize)]
struct ManifestChapters {
    chapters: Vec<FinishedChapter>,
}

/// The chapters `out_dir/manifest.json` lists (none if it has none).
pub fn finished_chapters(out_dir: &Path) -> Vec<FinishedChapter> {
    std::fs::read(out_dir.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<ManifestChapters>(&bytes).ok())
        .map(|m| m.chapters)
        .unwrap_or_default()
}

/// Counts placed utterances for the page; the cache gate is held from the
/// start of the render until its first utterance, so no preview is
/// writing to the cache while the render sweeps its temporary files.
struct Counter<'a> {
    done: Arc<AtomicU64>,
    gate: RefCell<Option<MutexGuard<'a, ()>>>,
}

impl Progress for Counter<'_> {
    fn advance(&self, n: u64) {
        self.gate.borrow_mut().take();
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

impl Studio {
    pub fn render_status(&self) -> RenderView {
        let job = self.job.lock().unwrap_or_else(|p| p.into_inner());
        let running = job.state == JobState::Running;
        RenderView {
            state: job.state,
            done: job.progress.load(Ordering::Relaxed),
            total: job.total,
            seconds: match (running, job.started) {
                (true, Some(started)) => started.elapsed().as_secs_f64(),
                _ => job.seconds,
            },
            error: job.error.clone(),
            summary: job.summary.clone(),
            version: job.version.clone(),
            out: self.out_dir.display().to_string(),
            // Mid-render the manifest is the previous one's: links would
            // point at files being replaced.
            chapters: if running {
                Vec::new()
            } else {
                finished_chapters(&self.out_dir)
            },
        }
    }

    /// Starts rendering the script as it is now, unless a render is running.
    pub fn start_render(self: &Arc<Studio>) -> Result<RenderView, Failure> {
        let (book, attributed, voices, cast, version) = {
            let state = self.snapshot();
            state?
        };
        {
            let mut job = self.job.lock().unwrap_or_else(|p| p.into_inner());
            if job.state == JobState::Running {
                return Err(Failure::Bad("a render is already running".into()));
            }
            *job = RenderJob {
                state: JobState::Running,
                started: Some(Instant::now()),
                version: Some(version),
                ..RenderJob::default()
            };
        }
        let studio = self.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let result = (|| -> Result<String, String> {
                let mut engines = Engines::new().with_settings(voices.engine_settings());
                voices
                    .check_voices(|voice| engines.check_voice(voice))
                    .map_err(|e| e.to_string())?;
                let chapters = utter::utterances(&book, &attributed, &cast, &Pauses::default());
                let total: usize = chapters.iter().map(|c| c.utterances.len()).sum();
                let done = {
                    let mut job = studio.job.lock().unwrap_or_else(|p| p.into_inner());
                    job.total = total as u64;
                    job.progress.clone()
                };
                let options = RenderOptions {
                    out_dir: studio.out_dir.clone(),
                    cache_dir: studio.cache_dir.clone(),
                    jobs: studio.jobs,
                    worker: Some(WorkerSpec::castbook(studio.program.clone())),
                    chapters_in_book: book.chapters.len(),
                };
                let counter = Counter {
                    done,
                    gate: RefCell::new(Some(
                        studio.cache_gate.lock().unwrap_or_else(|p| p.into_inner()),
                    )),
                };
                let rendered =
                    render::render_book(&book.title, &chapters, &mut engines, &options, &counter)
                        .map_err(|e| e.to_string())?;
                let minutes: f64 =
                    rendered.chapters.iter().map(|c| c.duration_s).sum::<f64>() / 60.0;
                let stats = rendered.stats;
                Ok(format!(
                    "{} chapter(s), {minutes:.1} min of audio; {} segments: {} synthesised, {} reused",
                    rendered.chapters.len(),
                    stats.segments,
                    stats.synthesised,
                    stats.reused
                ))
            })();
            let mut job = studio.job.lock().unwrap_or_else(|p| p.into_inner());
            job.seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(summary) => {
                    job.state = JobState::Done;
                    job.summary = Some(summary);
                }
                Err(error) => {
                    job.state = JobState::Failed;
                    job.error = Some(error);
                }
            }
        });
        Ok(self.render_status())
    }
}
