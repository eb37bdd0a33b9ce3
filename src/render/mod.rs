//! Render: a book's utterances → one 16-bit mono WAV per chapter plus
//! `manifest.json`. The last stage; [`render_book`] is its entry.
//!
//! A render runs in four steps, one file each:
//!
//! 1. `plan`: group every chapter's utterances into chunks, work out
//!    their cache keys and each chapter's digest, and find the chapters
//!    that are already finished.
//! 2. `schedule`: synthesise the chunks the cache lacks, in worker
//!    processes ([`worker`]) that fill the cache while this process
//!    assembles, or in this process for tests.
//! 3. `assemble`: join each chapter's clips, levelled and with our
//!    pauses, into a WAV, and time its manifest entry.
//! 4. [`output`]: the WAV and manifest writers.
//!
//! Audio comes from the segment cache ([`crate::cache`]). Workers store
//! each clip's loudness gain with it, so assembling a clip at the book's
//! rate is a read, a multiply and a write. A chapter whose inputs (keys,
//! pauses, volumes, texts) are unchanged and whose WAV is still the one we
//! wrote is not touched at all.
//!
//! Memory stays flat however long the book: each chapter streams into a
//! temporary file one clip at a time, and its manifest entry streams into
//! the temporary manifest once the chapter is done; only a few numbers per
//! chapter are kept. Temporary files are renamed into place only when
//! complete, so an interrupted render never leaves a truncated WAV or
//! manifest under its final name; leftovers of killed renders are swept at
//! the start of the next one (which holds a lock on the folder).

mod assemble;
pub mod output;
mod plan;
pub mod preview;
mod schedule;
pub mod worker;

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use self::output::manifest::{ChapterEntry, ManifestWriter, RunStats};
use self::plan::{ChapterRecord, finished_record, mtime_ns};
pub use self::schedule::Progress;
use self::schedule::Source;
use self::worker::{Pool, WorkerError, WorkerSpec};
use crate::audio::{AudioError, Conformer};
use crate::cache::{self, CacheError, Key, SegmentCache};
use crate::fsio::{self, FileError, PARTIAL_PREFIX, make_readable};
use crate::synth::{Engines, SynthError};
use crate::utter::ChapterScript;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write WAV")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Encode(#[from] output::encode::EncodeError),
}

/// Where and how to render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub out_dir: PathBuf,
    /// The segment cache; by convention `<out_dir>/.cache`.
    pub cache_dir: PathBuf,
    /// Synthesis processes to run at once.
    pub jobs: usize,
    /// How to start a worker process; None synthesises in this process
    /// (only for tests: espeak output then depends on the order of calls,
    /// see [`worker`]).
    pub worker: Option<WorkerSpec>,
    /// Chapters in the whole book (the manifest records it).
    pub chapters_in_book: usize,
    /// Master each chapter WAV to the ACX standard ([`output::master`]).
    pub master: bool,
    /// Author, language and cover file, for the manifest.
    pub meta: BookMeta,
}

/// What the manifest says about the book besides its title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookMeta {
    pub author: Option<String>,
    pub language: Option<String>,
    /// The cover image's file name in the output folder.
    pub cover: Option<String>,
}

/// The default cache folder for an output folder.
pub fn default_cache_dir(out_dir: &Path) -> PathBuf {
    out_dir.join(".cache")
}

/// Renders `chapters` into `options.out_dir` and writes the manifest.
pub fn render_book(
    title: &str,
    chapters: &[ChapterScript],
    engines: &mut Engines,
    options: &RenderOptions,
    progress: &dyn Progress,
) -> Result<Rendered, RenderError> {
    render_book_with(title, chapters, engines, options, progress, &mut |_| Ok(()))
}

/// Called with each chapter's manifest entry as soon as its WAV is final,
/// in book order (the encoders start on it while later chapters render).
pub type ChapterDone<'a> = dyn FnMut(&ChapterEntry) -> Result<(), RenderError> + 'a;

/// [`render_book`], telling `done` about each chapter as it is finished.
pub fn render_book_with(
    title: &str,
    chapters: &[ChapterScript],
    engines: &mut Engines,
    options: &RenderOptions,
    progress: &dyn Progress,
    done: &mut ChapterDone,
) -> Result<Rendered, RenderError> {
    let out_dir = &options.out_dir;
    std::fs::create_dir_all(out_dir).map_err(fsio::io_error(out_dir))?;
    let _out_lock = fsio::lock_file(&out_dir.join(".castbook.lock"))?;
    fsio::sweep_partials(out_dir)?;
    let cache = SegmentCache::open(&options.cache_dir)?;
    let _cache_lock = cache::lock(cache.root())?;
    cache.sweep_temporary()?;

    let book_rate = plan::book_rate(chapters, engines)?;
    let plans = plan::plan(
        chapters,
        engines,
        &cache,
        out_dir,
        book_rate,
        options.master,
    )?;
    let (jobs, synthesised) = schedule::missing_chunks(&plans, &cache);
    let job_index: HashMap<Key, usize> = jobs.iter().enumerate().map(|(n, j)| (j.key, n)).collect();
    let workers = options.jobs.min(jobs.len());

    let segments: usize = plans.iter().map(|p| p.chapter.utterances.len()).sum();
    let stats = RunStats {
        segments,
        synthesised,
        reused: segments - synthesised,
    };
    // The manifest streams out chapter by chapter, like the audio: a long
    // book's entries are megabytes, and none of them is needed again.
    let manifest_path = out_dir.join("manifest.json");
    let manifest_io = fsio::io_error(&manifest_path);
    let manifest_file = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(out_dir)
        .map_err(&manifest_io)?;
    let mut manifest = ManifestWriter::start(
        BufWriter::new(manifest_file.reopen().map_err(&manifest_io)?),
        title,
        &options.meta,
        book_rate,
        options.chapters_in_book,
        &plans.iter().map(|p| p.chapter.index).collect::<Vec<_>>(),
    )
    .map_err(&manifest_io)?;

    let chapters = std::thread::scope(|scope| -> Result<_, RenderError> {
        let mut source = match &options.worker {
            Some(spec) if workers > 0 => {
                Source::Workers(Pool::start(scope, spec, cache.root(), workers, &jobs)?)
            }
            _ => Source::InProcess {
                engines: &mut *engines,
                done: vec![false; jobs.len()],
            },
        };
        let mut chapters = Vec::with_capacity(plans.len());
        let mut conformer = Conformer::new(book_rate);
        for planned in &plans {
            // Planning found this chapter finished; look again now that we
            // hold the cache lock and its turn has come.
            let record = planned
                .finished
                .then(|| {
                    finished_record(&cache, &planned.digest, &out_dir.join(&planned.file_name))
                })
                .flatten();
            let entry = match record {
                // The book rate is part of the chapter digest: a finished
                // chapter is at this rate.
                Some(record) => {
                    progress.advance(planned.chapter.utterances.len() as u64);
                    record.entry
                }
                None if planned.finished => {
                    return Err(RenderError::Io {
                        path: out_dir.join(&planned.file_name),
                        source: std::io::Error::other("finished chapter changed during the render"),
                    });
                }
                None => {
                    let mut fetch = |key: &Key, member: u32| {
                        let job = job_index.get(key).map(|&n| (n, &jobs[n]));
                        source.fetch(key, member, job, &cache)
                    };
                    let (entry, rate) = assemble::render_chapter(
                        planned,
                        &mut fetch,
                        out_dir,
                        &mut conformer,
                        progress,
                        options.master,
                    )?;
                    let wav = out_dir.join(&entry.file);
                    let metadata = std::fs::metadata(&wav).map_err(fsio::io_error(&wav))?;
                    let record = ChapterRecord {
                        entry,
                        sample_rate: rate,
                        wav_len: metadata.len(),
                        wav_mtime_ns: mtime_ns(&metadata),
                    };
                    cache.write_chapter(&planned.digest, &record)?;
                    record.entry
                }
            };
            manifest.chapter(&entry).map_err(&manifest_io)?;
            done(&entry)?;
            chapters.push(ChapterSummary {
                index: entry.index,
                file: entry.file.clone(),
                duration_s: entry.duration_s,
            });
        }
        Ok(chapters)
    })?;
    drop(plans);

    let file = manifest.finish(&stats).map_err(&manifest_io)?;
    drop(file);
    manifest_file.as_file().sync_all().map_err(&manifest_io)?;
    make_readable(manifest_file.as_file()).map_err(&manifest_io)?;
    manifest_file
        .persist(&manifest_path)
        .map_err(|err| manifest_io(err.error))?;
    Ok(Rendered {
        sample_rate: book_rate,
        chapters,
        stats,
    })
}

/// What a render made; the full record is `manifest.json`
/// ([`output::manifest::Manifest`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub sample_rate: u32,
    pub chapters: Vec<ChapterSummary>,
    pub stats: RunStats,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChapterSummary {
    pub index: usize,
    pub file: String,
    pub duration_s: f64,
}

#[cfg(test)]
mod tests;
