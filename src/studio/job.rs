//! The studio's render: the same pipeline as `castbook render` with its
//! defaults (cast, the utterances of what is read aloud, WAVs through
//! [`crate::render::render_book_with`] and worker processes), run on a
//! thread of its own from a snapshot of the script and voices.toml, with
//! its progress and finished chapters kept for the page to poll. A browser
//! test checks that it makes the files `castbook render STORY.script`
//! makes, byte for byte.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::service::{Failure, Studio};
use crate::attribute::Attributed;
use crate::cast::Cast;
use crate::ingest::{Book, Reading};
use crate::render::worker::WorkerSpec;
use crate::render::{self, BookMeta, Progress, RenderOptions};
use crate::synth::Engines;
use crate::utter::{self, ChapterScript, Pauses};

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
    /// Chapters finished so far in this render.
    finished: Vec<FinishedChapter>,
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

/// What `castbook render` reads aloud by default: no front or back
/// matter, no author's notes.
pub const READING: Reading = Reading {
    keep_matter: false,
    read_notes: false,
};

/// The utterances of what [`READING`] reads, as `castbook render` lays
/// them out (its `read_aloud`): segments in skipped matter left out, and
/// chapters that are nothing but skipped matter; the chapters left are
/// numbered from 1 as read.
fn read_aloud(book: &Book, mut attributed: Attributed, cast: &Cast) -> Vec<ChapterScript> {
    attributed
        .segments
        .retain(|segment| book.skipped_at(segment.range.clone(), READING).is_none());
    let mut chapters = utter::utterances(book, &attributed, cast, &Pauses::default());
    chapters.retain(|c| !book.chapter_skipped(c.index - 1, READING));
    for (n, chapter) in chapters.iter_mut().enumerate() {
        chapter.index = n + 1;
    }
    chapters
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
            // Mid-render the manifest is the previous one's: link only
            // the chapters this render has finished.
            chapters: if running {
                job.finished.clone()
            } else {
                finished_chapters(&self.out_dir)
            },
        }
    }

    /// Whether output file `name` is a chapter the running render has
    /// finished (its manifest comes at the end).
    pub(super) fn just_rendered(&self, name: &str) -> bool {
        let job = self.job.lock().unwrap_or_else(|p| p.into_inner());
        job.state == JobState::Running && job.finished.iter().any(|c| c.file == name)
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
                let read_chapters = book
                    .chapters
                    .iter()
                    .filter(|c| !book.chapter_skipped(c.index - 1, READING))
                    .count();
                let chapters = read_aloud(&book, attributed, &cast);
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
                    chapters_in_book: read_chapters,
                    master: false,
                    // A script has no cover; its author and language come along.
                    meta: BookMeta {
                        author: book.meta.author.clone(),
                        language: book.meta.language.clone(),
                        cover: None,
                    },
                };
                let counter = Counter {
                    done,
                    gate: RefCell::new(Some(
                        studio.cache_gate.lock().unwrap_or_else(|p| p.into_inner()),
                    )),
                };
                let mut finished = |entry: &render::output::manifest::ChapterEntry| {
                    let mut job = studio.job.lock().unwrap_or_else(|p| p.into_inner());
                    job.finished.push(FinishedChapter {
                        index: entry.index,
                        title: entry.title.clone(),
                        file: entry.file.clone(),
                        duration_s: entry.duration_s,
                    });
                    Ok(())
                };
                let rendered = render::render_book_with(
                    &book.title,
                    &chapters,
                    &mut engines,
                    &options,
                    &counter,
                    &mut finished,
                )
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
