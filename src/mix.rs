//! Mix: get each chapter's utterances as audio, join them with silences,
//! and write one 16-bit mono WAV per chapter plus `manifest.json`.
//!
//! Audio comes from the segment cache ([`crate::cache`]): a render first
//! works out every utterance's cache key, then synthesises only the
//! missing ones, either in this process or in worker processes
//! ([`crate::worker`]) that fill the cache while this process assembles.
//! A chapter whose inputs (keys, pauses, volumes, texts) are unchanged and
//! whose WAV is still the one we wrote is not touched at all.
//!
//! Memory stays flat however long the book: each chapter streams into a
//! temporary file in the output folder one clip at a time, and only the
//! small manifest entries are kept. The temporary file is renamed into
//! place only when complete, so an interrupted render never leaves a
//! truncated WAV under its final name; leftovers of killed renders are
//! swept at the start of the next one (which holds a lock on the folder).

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audio::{AudioError, Conformer};
use crate::cache::{self, CacheError, ChapterRecord, Key, KeyBuilder, Segment, SegmentCache};
use crate::ingest::slug;
use crate::segment::SegmentKind;
use crate::synth::{EngineKind, Engines, SynthError};
use crate::utter::{ChapterScript, Utterance};
use crate::worker::{Job, Pool, WorkerError, WorkerSpec};

/// Changes whenever the mixing below changes the bytes it writes, so that
/// finished-chapter records made by an older castbook are not trusted.
const MIX_VERSION: &str = "mix-v2";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub title: String,
    pub sample_rate: u32,
    /// How many chapters the book has, and which of them this render made.
    pub chapters_in_book: usize,
    pub chapters_present: Vec<usize>,
    pub chapters: Vec<ChapterEntry>,
    /// What this run did (the only part that differs between a fresh and a
    /// resumed render of the same book).
    pub stats: RunStats,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunStats {
    /// Utterances in the rendered chapters.
    pub segments: usize,
    /// Of those, synthesised by an engine in this run.
    pub synthesised: usize,
    /// Of those, taken from the cache.
    pub reused: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChapterEntry {
    pub index: usize,
    pub title: String,
    pub file: String,
    pub duration_s: f64,
    pub segments: Vec<SegmentEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentEntry {
    pub start_s: f64,
    pub end_s: f64,
    // Shared, not copied: a long book's entries are held until the
    // manifest is written, next to the utterances they came from.
    pub kind: std::borrow::Cow<'static, str>,
    pub speaker: Option<Arc<str>>,
    pub voice: Arc<str>,
    pub text: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum MixError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write WAV: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// Called as utterances are placed in their chapter (drives the progress bar).
pub trait Progress {
    fn advance(&self, n: u64);
}

impl Progress for indicatif::ProgressBar {
    fn advance(&self, n: u64) {
        self.inc(n);
    }
}

impl Progress for () {
    fn advance(&self, _: u64) {}
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
    /// see [`crate::worker`]).
    pub worker: Option<WorkerSpec>,
    /// Chapters in the whole book (the manifest records it).
    pub chapters_in_book: usize,
}

/// The default cache folder for an output folder.
pub fn default_cache_dir(out_dir: &Path) -> PathBuf {
    out_dir.join(".cache")
}

/// One chapter's render plan.
struct Planned<'a> {
    chapter: &'a ChapterScript,
    file_name: String,
    keys: Vec<Key>,
    digest: Key,
    /// Set when the chapter's WAV is already the one these inputs make.
    finished: Option<ChapterRecord>,
}

/// Renders `chapters` into `options.out_dir` and writes the manifest.
pub fn render_book(
    title: &str,
    chapters: &[ChapterScript],
    engines: &mut Engines,
    options: &RenderOptions,
    progress: &dyn Progress,
) -> Result<Manifest, MixError> {
    let out_dir = &options.out_dir;
    std::fs::create_dir_all(out_dir).map_err(|source| MixError::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    let _out_lock = cache::lock_file(&out_dir.join(".castbook.lock"))?;
    sweep_partials(out_dir)?;
    let cache = SegmentCache::open(&options.cache_dir)?;
    let _cache_lock = cache::lock(cache.root())?;
    cache.sweep_temporary()?;

    let book_rate = book_rate(chapters, engines)?;
    let plans = plan(chapters, engines, &cache, out_dir, book_rate)?;
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for planned in plans.iter().filter(|p| p.finished.is_none()) {
        for (key, utterance) in planned.keys.iter().zip(&planned.chapter.utterances) {
            if seen.insert(*key) && !cache.contains(key) {
                jobs.push(Job {
                    key: *key,
                    voice: &utterance.voice,
                    text: &utterance.text,
                });
            }
        }
    }
    drop(seen);
    let job_index: HashMap<Key, usize> = jobs.iter().enumerate().map(|(n, j)| (j.key, n)).collect();
    let workers = options.jobs.min(jobs.len());

    let entries = std::thread::scope(|scope| -> Result<_, MixError> {
        let mut source = match &options.worker {
            Some(spec) if workers > 0 => {
                Source::Workers(Pool::start(scope, spec, cache.root(), workers, &jobs)?)
            }
            _ => Source::InProcess {
                engines: &mut *engines,
                done: vec![false; jobs.len()],
            },
        };
        let mut entries = Vec::new();
        let mut conformer = Conformer::new(book_rate);
        for planned in &plans {
            let entry = match &planned.finished {
                // The book rate is part of the chapter digest: a finished
                // chapter is at this rate.
                Some(record) => {
                    progress.advance(planned.chapter.utterances.len() as u64);
                    record.entry.clone()
                }
                None => {
                    let mut fetch = |key: &Key, utterance: &Utterance| {
                        source.fetch(key, utterance, job_index.get(key).copied(), &cache)
                    };
                    let (entry, rate) =
                        render_chapter(planned, &mut fetch, out_dir, &mut conformer, progress)?;
                    let metadata =
                        std::fs::metadata(out_dir.join(&entry.file)).map_err(|source| {
                            MixError::Io {
                                path: out_dir.join(&entry.file),
                                source,
                            }
                        })?;
                    cache.write_chapter(
                        &planned.digest,
                        &ChapterRecord {
                            entry: entry.clone(),
                            sample_rate: rate,
                            wav_len: metadata.len(),
                            wav_mtime_ns: mtime_ns(&metadata),
                        },
                    )?;
                    entry
                }
            };
            entries.push(entry);
        }
        Ok(entries)
    })?;

    let segments: usize = plans.iter().map(|p| p.chapter.utterances.len()).sum();
    let manifest = Manifest {
        title: title.to_owned(),
        sample_rate: book_rate,
        chapters_in_book: options.chapters_in_book,
        chapters_present: entries.iter().map(|e| e.index).collect(),
        chapters: entries,
        stats: RunStats {
            segments,
            synthesised: jobs.len(),
            reused: segments - jobs.len(),
        },
    };
    // Streamed: a long book's manifest is megabytes; no need to hold it twice.
    write_atomically(&out_dir.join("manifest.json"), |file| {
        let mut writer = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut writer, &manifest).map_err(std::io::Error::from)?;
        writer.flush()
    })?;
    Ok(manifest)
}

/// The highest sample rate among the voices the book uses (22050 Hz when it
/// has none), decided before rendering: every chapter is written at it, and
/// clips at other rates are resampled up, never down.
fn book_rate(chapters: &[ChapterScript], engines: &mut Engines) -> Result<u32, SynthError> {
    let mut rate = None;
    let mut seen = HashSet::new();
    for utterance in chapters.iter().flat_map(|c| &c.utterances) {
        if seen.insert(utterance.voice.label()) {
            let voice_rate = engines.sample_rate(&utterance.voice)?;
            rate = Some(rate.map_or(voice_rate, |r: u32| r.max(voice_rate)));
        }
    }
    Ok(rate.unwrap_or(22050))
}

/// Keys, digests, and which chapters are already finished.
fn plan<'a>(
    chapters: &'a [ChapterScript],
    engines: &mut Engines,
    cache: &SegmentCache,
    out_dir: &Path,
    book_rate: u32,
) -> Result<Vec<Planned<'a>>, MixError> {
    // Per voice: the engine's identity plus the voice's own (a model's contents).
    let mut identities: HashMap<(EngineKind, &str), String> = HashMap::new();
    let mut plans = Vec::with_capacity(chapters.len());
    for chapter in chapters {
        let file_name = format!("{:02}-{}.wav", chapter.index, slug(&chapter.title));
        let mut digest = KeyBuilder::new("chapter");
        digest
            .bytes(MIX_VERSION.as_bytes())
            .bytes(file_name.as_bytes())
            .bytes(chapter.title.as_bytes())
            .bytes(&(chapter.index as u64).to_le_bytes())
            .bytes(&chapter.lead_out_ms.to_le_bytes())
            .bytes(&book_rate.to_le_bytes());
        let mut keys = Vec::with_capacity(chapter.utterances.len());
        for utterance in &chapter.utterances {
            let voice = (utterance.voice.engine, utterance.voice.id.as_str());
            let engine = match identities.get(&voice) {
                Some(identity) => identity,
                None => {
                    let identity = engines.identity_of(&utterance.voice)?;
                    identities.entry(voice).or_insert(identity)
                }
            };
            let key = cache::segment_key(engine, &utterance.voice, &utterance.text);
            digest
                .key(&key)
                .bytes(&utterance.pause_ms.to_le_bytes())
                .bytes(&utterance.voice.volume.to_bits().to_le_bytes())
                .bytes(kind_name(utterance.kind).as_bytes())
                .bytes(utterance.speaker.as_deref().unwrap_or("\0").as_bytes())
                .bytes(utterance.voice.label().as_bytes())
                .bytes(utterance.text.as_bytes());
            keys.push(key);
        }
        let digest = digest.finish();
        let finished = cache.read_chapter(&digest).filter(|record| {
            std::fs::metadata(out_dir.join(&file_name)).is_ok_and(|m| {
                m.is_file() && m.len() == record.wav_len && mtime_ns(&m) == record.wav_mtime_ns
            })
        });
        plans.push(Planned {
            chapter,
            file_name,
            keys,
            digest,
            finished,
        });
    }
    Ok(plans)
}

/// Where clips come from during assembly.
enum Source<'e> {
    /// Synthesise missing segments here, one at a time, as they are needed.
    InProcess {
        engines: &'e mut Engines,
        done: Vec<bool>,
    },
    /// Workers are filling the cache; wait for them.
    Workers(Pool),
}

impl Source<'_> {
    /// The clip for `key`; `job` is its index in the to-synthesise list.
    fn fetch(
        &mut self,
        key: &Key,
        utterance: &Utterance,
        job: Option<usize>,
        cache: &SegmentCache,
    ) -> Result<Segment, MixError> {
        match (self, job) {
            (Source::InProcess { engines, done }, Some(job)) if !done[job] => {
                let clip = engines.synthesize(&utterance.text, &utterance.voice)?;
                let segment = Segment::from_clip(&clip);
                cache.write_segment(key, &segment)?;
                done[job] = true;
                Ok(segment)
            }
            (Source::Workers(pool), Some(job)) => {
                pool.wait(job)?;
                Ok(cache.read_segment(key)?)
            }
            _ => Ok(cache.read_segment(key)?),
        }
    }
}

fn kind_name(kind: SegmentKind) -> &'static str {
    if kind == SegmentKind::Dialogue {
        "dialogue"
    } else {
        "narration"
    }
}

/// Streams one chapter into a temporary WAV and renames it into place,
/// unless the bytes equal the WAV already there (then it is left alone).
fn render_chapter(
    planned: &Planned,
    fetch: &mut dyn FnMut(&Key, &Utterance) -> Result<Segment, MixError>,
    out_dir: &Path,
    conformer: &mut Conformer,
    progress: &dyn Progress,
) -> Result<(ChapterEntry, u32), MixError> {
    let chapter = planned.chapter;
    let path = out_dir.join(&planned.file_name);
    let io = |source| MixError::Io {
        path: path.clone(),
        source,
    };
    let wav_err = |source| MixError::Wav {
        path: path.clone(),
        source,
    };
    let mut segments = Vec::with_capacity(chapter.utterances.len());
    let mut labels: HashMap<*const crate::synth::Voice, Arc<str>> = HashMap::new();
    let mut written: u64 = 0;
    let sample_rate = conformer.rate();
    let temp = tempfile::Builder::new()
        .prefix(".partial-")
        .suffix(".wav")
        .tempfile_in(out_dir)
        .map_err(io)?;
    let mut writer: Option<hound::WavWriter<BufWriter<std::fs::File>>> = None;
    for (key, utterance) in planned.keys.iter().zip(&chapter.utterances) {
        let segment = conformer.conform_segment(fetch(key, utterance)?)?;
        progress.advance(1);
        let writer = match &mut writer {
            Some(w) => w,
            None => writer.insert(
                hound::WavWriter::new(
                    BufWriter::new(temp.reopen().map_err(io)?),
                    wav_spec(sample_rate),
                )
                .map_err(wav_err)?,
            ),
        };
        let samples = trim_silence(&segment);
        let silence = u64::from(utterance.pause_ms) * u64::from(sample_rate) / 1000;
        write_bulk(writer, silence, |_| 0).map_err(wav_err)?;
        written += silence;
        let start_s = written as f64 / f64::from(sample_rate);
        let volume = utterance.voice.volume;
        write_bulk(writer, samples.len() as u64, |n| scale(samples[n], volume)).map_err(wav_err)?;
        written += samples.len() as u64;
        let voice = labels
            .entry(Arc::as_ptr(&utterance.voice))
            .or_insert_with(|| Arc::from(utterance.voice.label()))
            .clone();
        segments.push(SegmentEntry {
            start_s: round_ms(start_s),
            end_s: round_ms(written as f64 / f64::from(sample_rate)),
            kind: kind_name(utterance.kind).into(),
            speaker: utterance.speaker.clone(),
            voice,
            text: utterance.shown.clone(),
        });
    }
    let mut writer = match writer {
        Some(w) => w,
        None => hound::WavWriter::new(
            BufWriter::new(temp.reopen().map_err(io)?),
            wav_spec(sample_rate),
        )
        .map_err(wav_err)?,
    };
    let tail = u64::from(chapter.lead_out_ms) * u64::from(sample_rate) / 1000;
    write_bulk(&mut writer, tail, |_| 0).map_err(wav_err)?;
    written += tail;
    writer.finalize().map_err(wav_err)?;
    temp.as_file().sync_all().map_err(io)?;
    if same_contents(temp.path(), &path).map_err(io)? {
        // Keep the old file (and its mtime): nothing about it changed.
        drop(temp);
    } else {
        make_readable(temp.as_file()).map_err(io)?;
        temp.persist(&path).map_err(|err| io(err.error))?;
    }
    Ok((
        ChapterEntry {
            index: chapter.index,
            title: chapter.title.clone(),
            file: planned.file_name.clone(),
            duration_s: round_ms(written as f64 / f64::from(sample_rate)),
            segments,
        },
        sample_rate,
    ))
}

/// Writes `count` samples, `sample(n)` each, through hound's 16-bit bulk
/// writer (far cheaper than a checked call per sample), in bounded chunks
/// so that its buffer does not grow to the longest clip.
fn write_bulk<W: std::io::Write + std::io::Seek>(
    writer: &mut hound::WavWriter<W>,
    count: u64,
    mut sample: impl FnMut(usize) -> i16,
) -> Result<(), hound::Error> {
    const CHUNK: u64 = 16 * 1024;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(CHUNK);
        let mut chunk = writer.get_i16_writer(n as u32);
        for index in done..done + n {
            chunk.write_sample(sample(index as usize));
        }
        chunk.flush()?;
        done += n;
    }
    Ok(())
}

/// Whether `new` and `old` hold the same bytes (false if `old` is missing).
fn same_contents(new: &Path, old: &Path) -> std::io::Result<bool> {
    let Ok(old_meta) = std::fs::metadata(old) else {
        return Ok(false);
    };
    if !old_meta.is_file() || old_meta.len() != std::fs::metadata(new)?.len() {
        return Ok(false);
    }
    let hash = |path: &Path| -> std::io::Result<blake3::Hash> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(path)?)?;
        Ok(hasher.finalize())
    };
    Ok(hash(new)? == hash(old)?)
}

fn mtime_ns(metadata: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec())
}

/// Removes `.partial-*` files a killed render left behind; the caller holds
/// the folder's lock, so none of them belongs to a live render.
fn sweep_partials(out_dir: &Path) -> Result<(), MixError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| MixError::Io { path, source }
    };
    for entry in std::fs::read_dir(out_dir).map_err(io(out_dir))? {
        let entry = entry.map_err(io(out_dir))?;
        if entry.file_name().to_string_lossy().starts_with(".partial-") {
            std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
        }
    }
    Ok(())
}

fn wav_spec(sample_rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// Applies a voice's volume; 1.0 passes samples through unchanged.
fn scale(sample: i16, volume: f32) -> i16 {
    if volume == 1.0 {
        sample
    } else {
        (f32::from(sample) * volume)
            .round()
            .clamp(-32768.0, 32767.0) as i16
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Engines pad clips with their own silence; our pauses replace it.
fn trim_silence(clip: &Segment) -> &[i16] {
    // 0.004 of full scale.
    const THRESHOLD: u16 = 131;
    let margin = (clip.sample_rate / 100) as usize;
    let first = clip
        .samples
        .iter()
        .position(|s| s.unsigned_abs() > THRESHOLD);
    let last = clip
        .samples
        .iter()
        .rposition(|s| s.unsigned_abs() > THRESHOLD);
    match (first, last) {
        (Some(first), Some(last)) => {
            &clip.samples[first.saturating_sub(margin)..(last + margin + 1).min(clip.samples.len())]
        }
        _ => &[],
    }
}

/// Writes one clip as a 16-bit mono WAV (for `castbook say`), trimmed of the
/// engine's padding and scaled by `volume`.
pub fn write_clip(path: &Path, clip: &crate::synth::Clip, volume: f32) -> Result<(), MixError> {
    let segment = Segment::from_clip(clip);
    let mut bytes = std::io::Cursor::new(Vec::new());
    let wav_err = |source| MixError::Wav {
        path: path.to_owned(),
        source,
    };
    let mut writer =
        hound::WavWriter::new(&mut bytes, wav_spec(clip.sample_rate)).map_err(wav_err)?;
    for &sample in trim_silence(&segment) {
        writer
            .write_sample(scale(sample, volume))
            .map_err(wav_err)?;
    }
    writer.finalize().map_err(wav_err)?;
    write_atomically(path, |file| file.write_all(bytes.get_ref()))
}

/// Writes `path` through a temporary file in the same folder and renames it.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), MixError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |source| MixError::Io {
        path: path.to_owned(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(io)?;
    write(temp.as_file_mut()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    make_readable(temp.as_file()).map_err(io)?;
    temp.persist(path).map_err(|err| io(err.error))?;
    Ok(())
}

/// Temporary files are private (0600); finished output is an ordinary file.
fn make_readable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Voice;
    use crate::synth::test_engine::ToneEngine;

    fn utterance(text: &str, voice: &str, pause_ms: u32) -> Utterance {
        Utterance {
            text: text.to_owned(),
            shown: text.into(),
            kind: SegmentKind::Dialogue,
            speaker: Some("Ann".into()),
            voice: Arc::new(Voice::new(EngineKind::Espeak, voice)),
            pause_ms,
        }
    }

    fn tone(voices: &[&str]) -> Engines {
        Engines::new().with(Box::new(ToneEngine::new(EngineKind::Espeak, 16000, voices)))
    }

    fn options(dir: &Path) -> RenderOptions {
        RenderOptions {
            out_dir: dir.to_owned(),
            cache_dir: default_cache_dir(dir),
            jobs: 1,
            worker: None,
            chapters_in_book: 1,
        }
    }

    fn visible_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".cache" && n != ".castbook.lock")
            .collect();
        names.sort();
        names
    }

    fn chapter(index: usize, utterances: Vec<Utterance>) -> ChapterScript {
        ChapterScript {
            index,
            title: format!("Chapter {index}: Start"),
            utterances,
            lead_out_ms: 1000,
        }
    }

    #[test]
    fn chapters_are_written_with_pauses_and_timings() {
        let dir = tempfile::tempdir().unwrap();
        let mut engines = tone(&["a", "b"]);
        let chapter = chapter(
            1,
            vec![
                utterance("Hello.", "a", 500),
                utterance("Hi there.", "b", 250),
            ],
        );
        let manifest =
            render_book("Book", &[chapter], &mut engines, &options(dir.path()), &()).unwrap();
        let entry = &manifest.chapters[0];
        assert_eq!(entry.file, "01-chapter-1-start.wav");
        let segs = &entry.segments;
        assert_eq!(segs[0].start_s, 0.5);
        assert!((segs[1].start_s - segs[0].end_s - 0.25).abs() < 0.002);
        assert!((entry.duration_s - segs[1].end_s - 1.0).abs() < 0.002);
        let reader = hound::WavReader::open(dir.path().join(&entry.file)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16000);
        assert_eq!(reader.duration() as f64 / 16000.0, entry.duration_s);
        assert_eq!(
            visible_files(dir.path()),
            ["01-chapter-1-start.wav", "manifest.json"]
        );
        let written: Manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(written, manifest);
        assert_eq!(
            manifest.stats,
            RunStats {
                segments: 2,
                synthesised: 2,
                reused: 0
            }
        );
    }

    #[test]
    fn rerenders_reuse_segments_and_leave_unchanged_chapters_alone() {
        let dir = tempfile::tempdir().unwrap();
        let book = |b_voice: &str| {
            vec![
                chapter(
                    1,
                    vec![utterance("One.", "a", 0), utterance("Two.", "a", 100)],
                ),
                chapter(
                    2,
                    vec![
                        utterance("Three.", "a", 0),
                        utterance("Four.", b_voice, 100),
                    ],
                ),
            ]
        };
        let render = |chapters: &[ChapterScript]| {
            render_book(
                "Book",
                chapters,
                &mut tone(&["a", "b", "c"]),
                &options(dir.path()),
                &(),
            )
            .unwrap()
        };
        let first = render(&book("b"));
        let wav1 = dir.path().join(&first.chapters[0].file);
        let wav2 = dir.path().join(&first.chapters[1].file);
        let mtime1 = std::fs::metadata(&wav1).unwrap().modified().unwrap();
        let bytes2 = std::fs::read(&wav2).unwrap();

        let again = render(&book("b"));
        assert_eq!((again.stats.synthesised, again.stats.reused), (0, 4));
        assert_eq!(again.chapters, first.chapters);

        let changed = render(&book("c"));
        assert_eq!((changed.stats.synthesised, changed.stats.reused), (1, 3));
        assert_eq!(
            std::fs::metadata(&wav1).unwrap().modified().unwrap(),
            mtime1
        );
        assert_ne!(std::fs::read(&wav2).unwrap(), bytes2);

        // Back to the first cast: nothing to synthesise, same bytes as at first.
        let back = render(&book("b"));
        assert_eq!(back.stats.synthesised, 0);
        assert_eq!(std::fs::read(&wav2).unwrap(), bytes2);
    }

    #[test]
    fn a_lost_chapter_record_still_keeps_identical_bytes_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let chapters = [chapter(1, vec![utterance("One.", "a", 0)])];
        let opts = options(dir.path());
        let first = render_book("Book", &chapters, &mut tone(&["a"]), &opts, &()).unwrap();
        let wav = dir.path().join(&first.chapters[0].file);
        let mtime = std::fs::metadata(&wav).unwrap().modified().unwrap();
        std::fs::remove_dir_all(dir.path().join(".cache/chapters")).unwrap();
        render_book("Book", &chapters, &mut tone(&["a"]), &opts, &()).unwrap();
        assert_eq!(std::fs::metadata(&wav).unwrap().modified().unwrap(), mtime);
    }

    #[test]
    fn leftovers_of_a_killed_render_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".partial-abc.wav"), b"RIFF").unwrap();
        let opts = options(dir.path());
        std::fs::create_dir_all(opts.cache_dir.join("tmp")).unwrap();
        std::fs::write(opts.cache_dir.join("tmp/entry-x"), b"half").unwrap();
        let chapters = [chapter(1, vec![utterance("One.", "a", 0)])];
        render_book("Book", &chapters, &mut tone(&["a"]), &opts, &()).unwrap();
        assert_eq!(
            visible_files(dir.path()),
            ["01-chapter-1-start.wav", "manifest.json"]
        );
        assert_eq!(cache::stats(&opts.cache_dir).unwrap().temporary, 0);
    }

    #[test]
    fn a_failing_voice_leaves_no_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let chapters = [chapter(
            1,
            vec![
                utterance("Hello.", "a", 0),
                utterance("Oops.", "missing", 0),
            ],
        )];
        let result = render_book(
            "Book",
            &chapters,
            &mut tone(&["a"]),
            &options(dir.path()),
            &(),
        );
        assert!(result.is_err());
        assert!(visible_files(dir.path()).is_empty());
        assert_eq!(
            cache::stats(&default_cache_dir(dir.path()))
                .unwrap()
                .temporary,
            0
        );
    }

    #[test]
    fn volume_scales_without_touching_unity() {
        assert_eq!(scale(1000, 1.0), 1000);
        assert_eq!(scale(1000, 0.5), 500);
        assert_eq!(scale(30000, 2.0), 32767);
        assert_eq!(scale(-30000, 2.0), -32768);
    }
}
