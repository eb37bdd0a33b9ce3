//! Mix: get each chapter's utterances as audio, join them with silences,
//! and write one 16-bit mono WAV per chapter plus `manifest.json`.
//!
//! Audio comes from the segment cache ([`crate::cache`]): a render first
//! groups every chapter's utterances into chunks and works out their cache
//! keys (`chunk_chapter`), then synthesises only the missing chunks,
//! either in this process or in worker processes ([`crate::worker`]) that
//! fill the cache while this process assembles. Workers store each clip's
//! loudness gain with it, so assembling a clip at the book's rate is a
//! read, a multiply and a write. A chapter whose inputs (keys, pauses,
//! volumes, texts) are unchanged and whose WAV is still the one we wrote is
//! not touched at all.
//!
//! Memory stays flat however long the book: each chapter streams into a
//! temporary file in the output folder one clip at a time, and its
//! manifest entry streams into the temporary manifest once the chapter is
//! done; only a few numbers per chapter are kept. Temporary files are
//! renamed into place only when complete, so an interrupted render never
//! leaves a truncated WAV or manifest under its final name; leftovers of
//! killed renders are swept at the start of the next one (which holds a
//! lock on the folder).

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audio::{AudioError, Conformer};
use crate::cache::{self, CacheError, ChapterRecord, Key, KeyBuilder, Segment, SegmentCache};
use crate::ingest::slug;
use crate::segment::SegmentKind;
use crate::synth::{EngineKind, Engines, SynthError, Voice};
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
    chunks: Vec<Chunk>,
    /// Per utterance: (index into `chunks`, member index in that chunk).
    slots: Vec<(u32, u32)>,
    digest: Key,
    /// Set when the chapter's WAV is already the one these inputs make.
    /// Its manifest entry is then read again when its turn comes: a
    /// long book's entries are not all held at once.
    finished: bool,
}

/// Renders `chapters` into `options.out_dir` and writes the manifest.
pub fn render_book(
    title: &str,
    chapters: &[ChapterScript],
    engines: &mut Engines,
    options: &RenderOptions,
    progress: &dyn Progress,
) -> Result<Rendered, MixError> {
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
    let mut synthesised = 0;
    for planned in plans.iter().filter(|p| !p.finished) {
        let utterances = &planned.chapter.utterances;
        for chunk in &planned.chunks {
            if seen.insert(chunk.key) && !cache.contains(&chunk.key) {
                synthesised += chunk.members.len();
                jobs.push(Job {
                    key: chunk.key,
                    voice: &utterances[chunk.members[0] as usize].voice,
                    texts: chunk
                        .members
                        .iter()
                        .map(|&m| &*utterances[m as usize].text)
                        .collect(),
                });
            }
        }
    }
    drop(seen);
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
    let manifest_io = |source| MixError::Io {
        path: manifest_path.clone(),
        source,
    };
    let manifest_file = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(out_dir)
        .map_err(manifest_io)?;
    let mut manifest = ManifestWriter::start(
        BufWriter::new(manifest_file.reopen().map_err(manifest_io)?),
        title,
        book_rate,
        options.chapters_in_book,
        &plans.iter().map(|p| p.chapter.index).collect::<Vec<_>>(),
    )
    .map_err(manifest_io)?;

    let chapters = std::thread::scope(|scope| -> Result<_, MixError> {
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
            // Read again, under the cache lock: planning saw it.
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
                    return Err(MixError::Io {
                        path: out_dir.join(&planned.file_name),
                        source: std::io::Error::other("finished chapter changed during the render"),
                    });
                }
                None => {
                    let mut fetch = |key: &Key, member: u32| {
                        let job = job_index.get(key).map(|&n| (n, &jobs[n]));
                        source.fetch(key, member, job, &cache)
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
            manifest.chapter(&entry).map_err(manifest_io)?;
            chapters.push(ChapterSummary {
                index: entry.index,
                file: entry.file.clone(),
                duration_s: entry.duration_s,
            });
        }
        Ok(chapters)
    })?;
    drop(plans);

    let file = manifest.finish(&stats).map_err(manifest_io)?;
    drop(file);
    manifest_file.as_file().sync_all().map_err(manifest_io)?;
    make_readable(manifest_file.as_file()).map_err(manifest_io)?;
    manifest_file
        .persist(&manifest_path)
        .map_err(|err| manifest_io(err.error))?;
    Ok(Rendered {
        sample_rate: book_rate,
        chapters,
        stats,
    })
}

/// What a render made; the full record is `manifest.json` ([`Manifest`]).
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

/// Writes `manifest.json` as [`Manifest`] would serialise (pretty-printed,
/// fields in its order), one chapter entry at a time.
struct ManifestWriter<W: Write> {
    out: W,
    chapters: usize,
}

impl<W: Write> ManifestWriter<W> {
    fn start(
        mut out: W,
        title: &str,
        sample_rate: u32,
        chapters_in_book: usize,
        chapters_present: &[usize],
    ) -> std::io::Result<ManifestWriter<W>> {
        write!(out, "{{\n  \"title\": ")?;
        serde_json::to_writer(&mut out, title)?;
        write!(
            out,
            ",\n  \"sample_rate\": {sample_rate},\n  \"chapters_in_book\": {chapters_in_book},\n  \"chapters_present\": "
        )?;
        serde_json::to_writer_pretty(Indented::new(&mut out, 2), chapters_present)?;
        write!(out, ",\n  \"chapters\": [")?;
        Ok(ManifestWriter { out, chapters: 0 })
    }

    fn chapter(&mut self, entry: &ChapterEntry) -> std::io::Result<()> {
        let separator = if self.chapters == 0 { "" } else { "," };
        write!(self.out, "{separator}\n    ")?;
        serde_json::to_writer_pretty(Indented::new(&mut self.out, 4), entry)?;
        self.chapters += 1;
        Ok(())
    }

    fn finish(mut self, stats: &RunStats) -> std::io::Result<W> {
        let close = if self.chapters == 0 { "]" } else { "\n  ]" };
        write!(self.out, "{close},\n  \"stats\": ")?;
        serde_json::to_writer_pretty(Indented::new(&mut self.out, 2), stats)?;
        write!(self.out, "\n}}")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Indents every line after the first by `width` spaces (so a value
/// pretty-printed on its own sits nested inside the manifest).
struct Indented<W: Write> {
    out: W,
    width: usize,
}

impl<W: Write> Indented<W> {
    fn new(out: W, width: usize) -> Indented<W> {
        Indented { out, width }
    }
}

impl<W: Write> Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        const SPACES: [u8; 8] = [b' '; 8];
        let mut rest = buf;
        while let Some(n) = rest.iter().position(|&b| b == b'\n') {
            self.out.write_all(&rest[..=n])?;
            self.out.write_all(&SPACES[..self.width.min(8)])?;
            rest = &rest[n + 1..];
        }
        self.out.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
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

/// Chunks, digests, and which chapters are already finished.
fn plan<'a>(
    chapters: &'a [ChapterScript],
    engines: &mut Engines,
    cache: &SegmentCache,
    out_dir: &Path,
    book_rate: u32,
) -> Result<Vec<Planned<'a>>, MixError> {
    // Per voice: the engine's identity plus the voice's own (a model's
    // contents), and whether the engine keeps history.
    let mut voice_facts: HashMap<EngineKind, HashMap<String, (String, bool)>> = HashMap::new();
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
        let mut facts = |voice: &Voice| -> Result<(String, bool), SynthError> {
            let known = voice_facts.entry(voice.engine).or_default();
            if let Some(facts) = known.get(voice.id.as_str()) {
                return Ok(facts.clone());
            }
            let facts = (
                engines.identity_of(voice)?,
                engines.keeps_history(voice.engine),
            );
            known.insert(voice.id.clone(), facts.clone());
            Ok(facts)
        };
        let ChapterChunks {
            chunks,
            keys,
            slots,
        } = chunk_chapter(&chapter.utterances, &mut facts)?;
        for (key, utterance) in keys.iter().zip(&chapter.utterances) {
            digest
                .key(key)
                .bytes(&utterance.pause_ms.to_le_bytes())
                .bytes(&utterance.voice.volume.to_bits().to_le_bytes())
                .bytes(kind_name(utterance.kind).as_bytes())
                .bytes(utterance.speaker.as_deref().unwrap_or("\0").as_bytes())
                .bytes(utterance.voice.label().as_bytes())
                .bytes(utterance.text.as_bytes());
        }
        let digest = digest.finish();
        let finished = finished_record(cache, &digest, &out_dir.join(&file_name)).is_some();
        plans.push(Planned {
            chapter,
            file_name,
            chunks,
            slots,
            digest,
            finished,
        });
    }
    Ok(plans)
}

/// The record of a finished chapter whose WAV is still the one we wrote.
fn finished_record(cache: &SegmentCache, digest: &Key, wav: &Path) -> Option<ChapterRecord> {
    cache.read_chapter(digest).filter(|record| {
        std::fs::metadata(wav).is_ok_and(|m| {
            m.is_file() && m.len() == record.wav_len && mtime_ns(&m) == record.wav_mtime_ns
        })
    })
}

/// Utterances synthesised together, in order, by one engine process.
#[derive(Debug, Clone, PartialEq)]
struct Chunk {
    /// Its last member's (chained) key: names the cache entry.
    key: Key,
    /// Indices of its utterances in the chapter, ascending.
    members: Vec<u32>,
}

/// A chunk ends after an utterance whose text hashes to 0 modulo this
/// (so about this many members on average)... Each chunk costs a fork and
/// a cache file (about a millisecond) against a few milliseconds of
/// synthesis per sentence, so sixteen keep that overhead small, while the
/// largest chunk is still a fraction of a second of work: small enough to
/// share between workers and to stream chapters out in order, and all an
/// edit re-synthesises.
const CHUNK_SPREAD: u64 = 16;
/// ...or when it reaches this many members or characters of text.
const CHUNK_MAX_MEMBERS: usize = 48;
const CHUNK_MAX_CHARS: usize = 6000;

/// A voice's identity for cache keys, and whether its engine keeps history.
type VoiceFacts<'f> = dyn FnMut(&Voice) -> Result<(String, bool), SynthError> + 'f;

/// A chapter's chunks, each utterance's key, and each utterance's (chunk,
/// member) slot.
struct ChapterChunks {
    chunks: Vec<Chunk>,
    keys: Vec<Key>,
    slots: Vec<(u32, u32)>,
}

/// Groups a chapter's utterances into chunks and gives each its cache key.
///
/// For an engine that keeps history (see [`crate::worker`]) a chunk holds
/// consecutive utterances of one speaker in one voice (narration is the
/// narrator's), so changing one character's voice touches only that
/// character's chunks, and each member's key is chained to the one before
/// it. Chunk ends are content-defined: a chunk ends after an utterance
/// whose text hash is 0 modulo [`CHUNK_SPREAD`] (or at a size limit), so an
/// inserted or edited line changes only the chunk it falls in, not every
/// later one. Chunks stay within the chapter, so a chapter's audio never
/// depends on another chapter. An engine without history gets one chunk
/// per utterance, keyed by the plain segment key.
///
/// Chunks are ordered by their first member. `facts` gives a voice's
/// identity (see [`Engines::identity_of`]) and whether its engine keeps
/// history.
fn chunk_chapter(
    utterances: &[Utterance],
    facts: &mut VoiceFacts,
) -> Result<ChapterChunks, SynthError> {
    struct Open {
        chunk: usize,
        chars: usize,
    }
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut keys = Vec::with_capacity(utterances.len());
    let mut slots = Vec::with_capacity(utterances.len());
    // (speaker, voice as synthesised) → the chunk it is filling.
    let mut open: HashMap<(Option<&str>, Key), Open> = HashMap::new();
    for (index, utterance) in utterances.iter().enumerate() {
        let (engine, history) = facts(&utterance.voice)?;
        let voice = &utterance.voice;
        let text = &*utterance.text;
        if !history {
            let key = cache::segment_key(&engine, voice, text);
            slots.push((chunks.len() as u32, 0));
            chunks.push(Chunk {
                key,
                members: vec![index as u32],
            });
            keys.push(key);
            continue;
        }
        let group = (
            utterance.speaker.as_deref(),
            cache::segment_key(&engine, voice, ""),
        );
        let (key, state) = match open.get_mut(&group) {
            Some(state) => {
                let chunk = &mut chunks[state.chunk];
                let key = cache::chained_key(&chunk.key, &engine, voice, text);
                chunk.key = key;
                chunk.members.push(index as u32);
                state.chars += text.chars().count();
                (key, state)
            }
            None => {
                let key = cache::segment_key(&engine, voice, text);
                chunks.push(Chunk {
                    key,
                    members: vec![index as u32],
                });
                let state = open.entry(group).or_insert(Open {
                    chunk: chunks.len() - 1,
                    chars: text.chars().count(),
                });
                (key, state)
            }
        };
        let chunk = state.chunk;
        let members = chunks[chunk].members.len();
        slots.push((chunk as u32, (members - 1) as u32));
        keys.push(key);
        if ends_chunk(text) || members >= CHUNK_MAX_MEMBERS || state.chars >= CHUNK_MAX_CHARS {
            open.remove(&group);
        }
    }
    Ok(ChapterChunks {
        chunks,
        keys,
        slots,
    })
}

/// Whether a chunk ends after this text (see [`chunk_chapter`]).
fn ends_chunk(text: &str) -> bool {
    let hash = blake3::hash(text.as_bytes());
    let low = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
    low % CHUNK_SPREAD == 0
}

/// Where clips come from during assembly.
enum Source<'e> {
    /// Synthesise missing chunks here, one at a time, as they are needed.
    InProcess {
        engines: &'e mut Engines,
        done: Vec<bool>,
    },
    /// Workers are filling the cache; wait for them.
    Workers(Pool),
}

impl Source<'_> {
    /// Member `member` of chunk `key` and its loudness gain; `job` is the
    /// chunk's index in the to-synthesise list, and the job.
    fn fetch(
        &mut self,
        key: &Key,
        member: u32,
        job: Option<(usize, &Job)>,
        cache: &SegmentCache,
    ) -> Result<(Segment, f32), MixError> {
        match (self, job) {
            (Source::InProcess { engines, done }, Some((n, job))) if !done[n] => {
                crate::worker::synthesize_chunk(engines, cache, key, job.voice, &job.texts)?;
                done[n] = true;
            }
            (Source::Workers(pool), Some((n, _))) => pool.wait(n)?,
            _ => {}
        }
        Ok(cache.read_member(key, member as usize)?)
    }
}

fn kind_name(kind: SegmentKind) -> &'static str {
    if kind == SegmentKind::Dialogue {
        "dialogue"
    } else {
        "narration"
    }
}

/// Member `.1` of chunk `.0` and its loudness gain, once it is in the cache.
type Fetch<'f> = dyn FnMut(&Key, u32) -> Result<(Segment, f32), MixError> + 'f;

/// Streams one chapter into a temporary WAV and renames it into place,
/// unless the bytes equal the WAV already there (then it is left alone).
fn render_chapter(
    planned: &Planned,
    fetch: &mut Fetch,
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
    for (&(chunk, member), utterance) in planned.slots.iter().zip(&chapter.utterances) {
        let (segment, gain) = fetch(&planned.chunks[chunk as usize].key, member)?;
        let segment = conformer.conform_segment(segment, Some(gain))?;
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
            text: text.into(),
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
        let rendered =
            render_book("Book", &[chapter], &mut engines, &options(dir.path()), &()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        let manifest: Manifest = serde_json::from_str(&text).unwrap();
        // Streamed chapter by chapter, it reads as if serialised whole.
        assert_eq!(text, serde_json::to_string_pretty(&manifest).unwrap());
        let entry = &manifest.chapters[0];
        assert_eq!(
            rendered.chapters,
            [ChapterSummary {
                index: 1,
                file: entry.file.clone(),
                duration_s: entry.duration_s
            }]
        );
        assert_eq!(manifest.title, "Book");
        assert_eq!(manifest.chapters_present, [1]);
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
        assert_eq!(rendered.stats, manifest.stats);
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

        let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        let manifest: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&manifest).unwrap());
        assert_eq!(manifest.chapters.len(), 2);

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

    /// `n` narrator lines interleaved with Ann's, in two voices.
    fn dialogue(lines: &[(&str, &str)]) -> Vec<Utterance> {
        lines
            .iter()
            .map(|&(speaker, text)| {
                let mut u = utterance(text, if speaker == "Ann" { "b" } else { "a" }, 0);
                u.speaker = (speaker == "Ann").then(|| "Ann".into());
                u
            })
            .collect()
    }

    fn history(voice: &Voice) -> Result<(String, bool), SynthError> {
        Ok((format!("{} test", voice.engine), true))
    }

    #[test]
    fn chunks_hold_one_speaker_in_one_voice_with_chained_keys() {
        let lines: Vec<String> = (0..200).map(|n| format!("Line {n}.")).collect();
        let speakers = ["-", "Ann", "-", "-", "Ann"];
        let script: Vec<(&str, &str)> = lines
            .iter()
            .enumerate()
            .map(|(n, l)| (speakers[n % speakers.len()], l.as_str()))
            .collect();
        let utterances = dialogue(&script);
        let ChapterChunks {
            chunks,
            keys,
            slots,
        } = chunk_chapter(&utterances, &mut history).unwrap();
        assert!(chunks.len() > 10 && chunks.len() < 100, "{}", chunks.len());
        let mut seen = vec![false; utterances.len()];
        for (c, chunk) in chunks.iter().enumerate() {
            let first = &utterances[chunk.members[0] as usize];
            assert!(chunk.members.windows(2).all(|w| w[0] < w[1]));
            assert!(chunk.members.len() <= CHUNK_MAX_MEMBERS);
            for (m, &index) in chunk.members.iter().enumerate() {
                let u = &utterances[index as usize];
                assert_eq!((&u.speaker, &u.voice), (&first.speaker, &first.voice));
                assert_eq!(slots[index as usize], (c as u32, m as u32));
                assert!(!std::mem::replace(&mut seen[index as usize], true));
                // Each key covers the history it was spoken after.
                let (engine, _) = history(&u.voice).unwrap();
                let expected = match m {
                    0 => cache::segment_key(&engine, &u.voice, &u.text),
                    _ => cache::chained_key(
                        &keys[chunk.members[m - 1] as usize],
                        &engine,
                        &u.voice,
                        &u.text,
                    ),
                };
                assert_eq!(keys[index as usize], expected);
                // Only the last member may end a chunk early.
                if m + 1 < chunk.members.len() {
                    assert!(!ends_chunk(&u.text));
                }
            }
            assert_eq!(chunk.key, keys[*chunk.members.last().unwrap() as usize]);
        }
        assert!(seen.iter().all(|&s| s));
        assert!(
            chunks.windows(2).all(|w| w[0].members[0] < w[1].members[0]),
            "in book order"
        );
    }

    #[test]
    fn chunk_ends_are_content_defined() {
        let lines: Vec<String> = (0..300)
            .map(|n| format!("The narrator says {n}."))
            .collect();
        let script: Vec<(&str, &str)> = lines.iter().map(|l| ("-", l.as_str())).collect();
        let before = chunk_chapter(&dialogue(&script), &mut history).unwrap();
        let mut edited = script.clone();
        edited.insert(20, ("-", "A line the author added."));
        let after = chunk_chapter(&dialogue(&edited), &mut history).unwrap();
        let keys = |chunks: &[Chunk]| -> HashSet<Key> { chunks.iter().map(|c| c.key).collect() };
        let (old, new) = (keys(&before.chunks), keys(&after.chunks));
        // Only the chunk the new line falls in changes.
        assert_eq!(old.difference(&new).count(), 1, "{} chunks", old.len());
        assert_eq!(new.difference(&old).count(), 1);
        // The same text in another history is another segment.
        assert_ne!(before.keys[21], after.keys[22]);
        assert_eq!(before.keys[299], after.keys[300]);
    }

    #[test]
    fn engines_without_history_get_a_chunk_per_utterance() {
        let utterances = dialogue(&[("-", "One."), ("-", "Two."), ("-", "One.")]);
        let split =
            chunk_chapter(&utterances, &mut |v| Ok((format!("{}", v.engine), false))).unwrap();
        assert_eq!(split.chunks.len(), 3);
        assert_eq!(
            split.keys[0], split.keys[2],
            "no history: the same line is the same audio"
        );
    }

    #[test]
    fn chunked_renders_reuse_all_but_the_edited_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let engines = || {
            Engines::new().with(Box::new(
                ToneEngine::new(EngineKind::Espeak, 16000, &["a", "b"]).with_history(),
            ))
        };
        let lines: Vec<String> = (0..60).map(|n| format!("Sentence number {n}.")).collect();
        let speakers = ["-", "Ann", "-"];
        let mut script: Vec<(&str, &str)> = lines
            .iter()
            .enumerate()
            .map(|(n, l)| (speakers[n % 3], l.as_str()))
            .collect();
        let opts = options(dir.path());
        let first = render_book(
            "Book",
            &[chapter(1, dialogue(&script))],
            &mut engines(),
            &opts,
            &(),
        )
        .unwrap();
        assert_eq!(first.stats.synthesised, 60);
        let old: HashSet<Key> = chunk_chapter(&dialogue(&script), &mut history)
            .unwrap()
            .chunks
            .iter()
            .map(|c| c.key)
            .collect();
        script[30].1 = "An edited sentence.";
        // The edited line's chunk, and the next one if the edit moved its end.
        let edited: usize = chunk_chapter(&dialogue(&script), &mut history)
            .unwrap()
            .chunks
            .iter()
            .filter(|c| !old.contains(&c.key))
            .map(|c| c.members.len())
            .sum();
        let second = render_book(
            "Book",
            &[chapter(1, dialogue(&script))],
            &mut engines(),
            &opts,
            &(),
        )
        .unwrap();
        assert_eq!(second.stats.synthesised, edited);
        assert!(edited < 30, "{edited}");
        assert_eq!(second.stats.reused, 60 - edited);
    }

    #[test]
    fn volume_scales_without_touching_unity() {
        assert_eq!(scale(1000, 1.0), 1000);
        assert_eq!(scale(1000, 0.5), 500);
        assert_eq!(scale(30000, 2.0), 32767);
        assert_eq!(scale(-30000, 2.0), -32768);
    }
}
