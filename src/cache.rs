//! Cache: synthesised clips and finished-chapter records, on disk.
//!
//! A segment (one utterance's raw engine output) is stored under a blake3
//! hash of everything that changes its audio: the engine's identity (its
//! library/model version and sample rate), the voice id, rate and pitch, and
//! the text as spoken. Volume is not in the key: the mixer applies it, so a
//! volume change re-uses the audio. A render asks the cache first and only
//! synthesises what is missing, which is what makes re-renders after a small
//! edit cheap and lets a killed render resume.
//!
//! Segments are stored in *chunks*: a few consecutive utterances of one
//! speaker in one voice, synthesised in order by one engine process (the
//! renderer's workers). An engine that keeps history (espeak) makes a
//! segment's audio depend on what the chunk said before it, so a chunk
//! member's key is chained: the first member's key is its plain
//! [`segment_key`], each later one is [`chained_key`] of the one before and
//! its own, and so covers the whole history it was spoken after. A chunk
//! is one file, named by its last member's key (which covers all of it):
//! written whole or not at all, so a killed render never leaves half a
//! chunk, whose missing tail would need the head spoken again.
//!
//! Each member is stored as 16-bit samples ([`CachedClip`]) with the
//! loudness gain measured when it was synthesised, so the mixer only
//! applies it. Engines know nothing of this: they return float [`Clip`]s,
//! and [`CachedClip::from_clip`] quantises them.
//!
//! Layout (by default `<out>/.cache/`):
//!
//! ```text
//! segments/ab/abcdef….seg   a chunk: "CBSEG2" magic, u32 LE sample rate, u32 LE member
//!                           count, per member (u32 LE sample count, f32 LE gain),
//!                           then every member's i16 LE samples in order
//! chapters/ab/abcdef….json  a finished chapter's record (the renderer's JSON: its
//!                           manifest entry and the WAV's size/mtime)
//! tmp/                      entries being written (renamed into place when complete)
//! lock                      held (flock) by the render using this cache
//! ```
//!
//! Every entry is written to `tmp/` and renamed, so a crash can never leave
//! a truncated entry under its final name; leftovers in `tmp/` are swept at
//! the start of the next render that takes the lock.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::{Clip, Samples, Voice};
use crate::fsio::{self, FileError};

const SEGMENT_MAGIC: &[u8; 6] = b"CBSEG2";
/// Magic, sample rate, member count.
const CHUNK_HEADER: u64 = 14;
/// Bumped whenever the key recipe or the entry format changes.
const KEY_VERSION: &str = "castbook-segment-v2";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: corrupt cache entry ({reason}); run `castbook cache clear`")]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    File(#[from] FileError),
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A content hash naming one cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    pub fn from_hex(hex: &str) -> Option<Key> {
        blake3::Hash::from_hex(hex).ok().map(|h| Key(*h.as_bytes()))
    }
}

/// Feeds length-prefixed fields to a hasher, so ("ab","c") ≠ ("a","bc").
pub struct KeyBuilder(blake3::Hasher);

impl KeyBuilder {
    pub fn new(domain: &str) -> KeyBuilder {
        let mut builder = KeyBuilder(blake3::Hasher::new());
        builder
            .bytes(KEY_VERSION.as_bytes())
            .bytes(domain.as_bytes());
        builder
    }

    pub fn bytes(&mut self, field: &[u8]) -> &mut KeyBuilder {
        self.0.update(&(field.len() as u64).to_le_bytes());
        self.0.update(field);
        self
    }

    pub fn key(&mut self, key: &Key) -> &mut KeyBuilder {
        self.bytes(&key.0)
    }

    pub fn finish(&self) -> Key {
        Key(*self.0.finalize().as_bytes())
    }
}

/// The key of one segment: `engine` is the engine's identity (its version,
/// sample rate and the voice's own data; see `synth::Engines::identity_of`).
pub fn segment_key(engine: &str, voice: &Voice, text: &str) -> Key {
    KeyBuilder::new("segment")
        .bytes(engine.as_bytes())
        .bytes(voice.engine.name().as_bytes())
        .bytes(voice.id.as_bytes())
        .bytes(&voice.rate.to_bits().to_le_bytes())
        .bytes(&voice.pitch.to_bits().to_le_bytes())
        .bytes(text.as_bytes())
        .finish()
}

/// The key of a chunk member spoken after the member whose key is
/// `previous`, by an engine that keeps history: it covers everything said
/// before it in its chunk.
pub fn chained_key(previous: &Key, engine: &str, voice: &Voice, text: &str) -> Key {
    KeyBuilder::new("chained")
        .key(previous)
        .key(&segment_key(engine, voice, text))
        .finish()
}

/// One cached clip: 16-bit samples exactly as the mixer will read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedClip {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

impl CachedClip {
    /// Engine output in the stored 16-bit form: float samples (in [-1, 1])
    /// are quantised; 16-bit ones (espeak's) are taken as they are.
    pub fn from_clip(clip: Clip) -> CachedClip {
        CachedClip {
            sample_rate: clip.sample_rate,
            samples: match clip.samples {
                Samples::F32(samples) => samples.iter().map(|&s| quantise(s)).collect(),
                Samples::I16(samples) => samples,
            },
        }
    }
}

/// A float sample in [-1, 1] as 16-bit: `(sample * 32768).round()`, clamped.
///
/// Rounds half away from zero by hand, without branches: `f32::round` is
/// a libm call on baseline x86-64, and this runs for every sample in
/// workers and in the mix, where loops over it are then vectorised.
/// Clamping first changes nothing (the bounds are whole numbers) and makes
/// the truncating cast exact.
#[inline]
pub(crate) fn quantise(sample: f32) -> i16 {
    let x = (sample * 32768.0).clamp(-32768.0, 32767.0);
    // NaN stays NaN through clamp and casts to 0, as `round` did; its
    // fraction is NaN and moves it neither way.
    let whole = x as i32;
    let fraction = x - whole as f32;
    (whole + i32::from(fraction >= 0.5) - i32::from(fraction <= -0.5)) as i16
}

/// What `castbook cache stats` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: u64,
    pub segment_bytes: u64,
    pub chapters: u64,
    pub temporary: u64,
}

impl Stats {
    /// `castbook cache stats` output.
    pub fn describe(&self, root: &Path) -> String {
        format!(
            "cache: {}\nsegments: {} ({:.1} MB)\nfinished chapters: {}\ntemporary files: {}\n",
            root.display(),
            self.segments,
            self.segment_bytes as f64 / 1e6,
            self.chapters,
            self.temporary
        )
    }

    /// "12 segments (3.4 MB) and 2 chapter records".
    pub fn summary(&self) -> String {
        format!(
            "{} segments ({:.1} MB) and {} chapter records",
            self.segments,
            self.segment_bytes as f64 / 1e6,
            self.chapters
        )
    }
}

/// A chunk being written; see [`SegmentCache::chunk_writer`].
pub struct ChunkWriter {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    sample_rate: u32,
    /// (sample count, gain) of each member written so far.
    table: Vec<(u32, f32)>,
    count: usize,
}

impl ChunkWriter {
    /// Appends the next member.
    pub fn push(&mut self, segment: &CachedClip, gain: f32) -> Result<(), CacheError> {
        let path = self.file.get_ref().path().to_owned();
        if segment.sample_rate != self.sample_rate || self.table.len() >= self.count {
            return Err(CacheError::Corrupt {
                path,
                reason: "a chunk member does not fit the chunk".to_owned(),
            });
        }
        let mut bytes = [0u8; 8 * 1024];
        for part in segment.samples.chunks(bytes.len() / 2) {
            for (out, sample) in bytes.chunks_exact_mut(2).zip(part) {
                out.copy_from_slice(&sample.to_le_bytes());
            }
            self.file
                .write_all(&bytes[..part.len() * 2])
                .map_err(io_error(&path))?;
        }
        self.table.push((segment.samples.len() as u32, gain));
        Ok(())
    }
}

pub struct SegmentCache {
    root: PathBuf,
}

impl SegmentCache {
    /// Opens (creating if needed) the cache at `root`.
    pub fn open(root: &Path) -> Result<SegmentCache, CacheError> {
        for sub in ["segments", "chapters", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        Ok(SegmentCache {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry_path(&self, kind: &str, key: &Key, ext: &str) -> PathBuf {
        let hex = key.hex();
        self.root
            .join(kind)
            .join(&hex[..2])
            .join(format!("{hex}.{ext}"))
    }

    /// The file of the chunk whose last member's key is `key`.
    pub fn chunk_path(&self, key: &Key) -> PathBuf {
        self.entry_path("segments", key, "seg")
    }

    /// Whether a plausible chunk exists. Entries are not fsynced (one per
    /// chunk would be slow), so after a power cut one may be empty; such
    /// an entry counts as missing and is synthesised again.
    pub fn contains(&self, key: &Key) -> bool {
        std::fs::metadata(self.chunk_path(key))
            .is_ok_and(|m| m.is_file() && m.len() >= CHUNK_HEADER && m.len() % 2 == 0)
    }

    /// Member `index` of the chunk `key`, and its stored loudness gain.
    pub fn read_member(&self, key: &Key, index: usize) -> Result<(CachedClip, f32), CacheError> {
        use std::io::{BufReader, Seek, SeekFrom};
        let path = self.chunk_path(key);
        let corrupt = |reason: &str| CacheError::Corrupt {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let file = File::open(&path).map_err(io_error(&path))?;
        let len = file.metadata().map_err(io_error(&path))?.len();
        let mut file = BufReader::with_capacity(64 * 1024, file);
        let mut header = [0u8; CHUNK_HEADER as usize];
        if len < CHUNK_HEADER {
            return Err(corrupt("bad header"));
        }
        file.read_exact(&mut header).map_err(io_error(&path))?;
        if &header[..6] != SEGMENT_MAGIC {
            return Err(corrupt("bad header"));
        }
        let sample_rate = u32::from_le_bytes(header[6..10].try_into().expect("4 bytes"));
        let count = u32::from_le_bytes(header[10..14].try_into().expect("4 bytes")) as usize;
        if index >= count || len < CHUNK_HEADER + 8 * count as u64 {
            return Err(corrupt("missing member"));
        }
        let (mut before, mut own, mut gain, mut total) = (0u64, 0u64, 1f32, 0u64);
        for n in 0..count {
            let mut entry = [0u8; 8];
            file.read_exact(&mut entry).map_err(io_error(&path))?;
            let samples = u64::from(u32::from_le_bytes(entry[..4].try_into().expect("4 bytes")));
            if n < index {
                before += samples;
            } else if n == index {
                own = samples;
                gain = f32::from_le_bytes(entry[4..].try_into().expect("4 bytes"));
            }
            total += samples;
        }
        if len != CHUNK_HEADER + 8 * count as u64 + 2 * total {
            return Err(corrupt("wrong length"));
        }
        if !gain.is_finite() || gain < 0.0 {
            return Err(corrupt("bad gain"));
        }
        file.seek(SeekFrom::Current(2 * before as i64))
            .map_err(io_error(&path))?;
        // Decoded through the reader's buffer straight into the samples: no
        // copy of the whole member is held next to them.
        let count = own as usize;
        let mut samples = Vec::with_capacity(count);
        let mut buffer = [0u8; 16 * 1024];
        while samples.len() < count {
            let want = ((count - samples.len()) * 2).min(buffer.len());
            file.read_exact(&mut buffer[..want])
                .map_err(io_error(&path))?;
            samples.extend(
                buffer[..want]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
        }
        Ok((
            CachedClip {
                sample_rate,
                samples,
            },
            gain,
        ))
    }

    /// Starts writing a chunk of `count` members at `sample_rate`; members
    /// stream to a temporary file, so only one is held at a time.
    pub fn chunk_writer(&self, sample_rate: u32, count: usize) -> Result<ChunkWriter, CacheError> {
        let tmp_dir = self.root.join("tmp");
        let temp = tempfile::Builder::new()
            .prefix("entry-")
            .tempfile_in(&tmp_dir)
            .map_err(io_error(&tmp_dir))?;
        let mut writer = ChunkWriter {
            file: std::io::BufWriter::with_capacity(64 * 1024, temp),
            sample_rate,
            table: Vec::with_capacity(count),
            count,
        };
        let mut header = Vec::with_capacity(CHUNK_HEADER as usize + 8 * count);
        header.extend_from_slice(SEGMENT_MAGIC);
        header.extend_from_slice(&sample_rate.to_le_bytes());
        header.extend_from_slice(&(count as u32).to_le_bytes());
        header.resize(CHUNK_HEADER as usize + 8 * count, 0);
        writer.file.write_all(&header).map_err(io_error(&tmp_dir))?;
        Ok(writer)
    }

    /// Moves a complete chunk into place under `key` (its last member's key).
    pub fn finish_chunk(&self, key: &Key, writer: ChunkWriter) -> Result<(), CacheError> {
        use std::io::{Seek, SeekFrom};
        let path = self.chunk_path(key);
        if writer.table.len() != writer.count {
            return Err(CacheError::Corrupt {
                path,
                reason: format!(
                    "chunk has {} of {} members",
                    writer.table.len(),
                    writer.count
                ),
            });
        }
        let mut temp = writer.file.into_inner().map_err(|e| CacheError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        let mut table = Vec::with_capacity(8 * writer.table.len());
        for (samples, gain) in &writer.table {
            table.extend_from_slice(&samples.to_le_bytes());
            table.extend_from_slice(&gain.to_le_bytes());
        }
        temp.seek(SeekFrom::Start(CHUNK_HEADER))
            .and_then(|_| temp.write_all(&table))
            .map_err(io_error(&path))?;
        let dir = path.parent().expect("entries live in a shard folder");
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        temp.persist(&path).map_err(|e| CacheError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// The chapter record stored under `digest`, if there is a readable one.
    pub fn read_chapter<R: DeserializeOwned>(&self, digest: &Key) -> Option<R> {
        let bytes = std::fs::read(self.entry_path("chapters", digest, "json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a finished chapter's record (whatever the renderer keeps) under `digest`.
    pub fn write_chapter<R: Serialize>(&self, digest: &Key, record: &R) -> Result<(), CacheError> {
        let json = serde_json::to_vec(record).expect("chapter record serialises");
        self.write_entry(&self.entry_path("chapters", digest, "json"), &json)
    }

    /// temp file in `tmp/` + rename: readers see the whole entry or none.
    fn write_entry(&self, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
        let dir = path.parent().expect("entries live in a shard folder");
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let tmp_dir = self.root.join("tmp");
        let mut temp = tempfile::Builder::new()
            .prefix("entry-")
            .tempfile_in(&tmp_dir)
            .map_err(io_error(&tmp_dir))?;
        // Named by its final path: the temporary name means nothing to users.
        temp.write_all(bytes).map_err(io_error(path))?;
        temp.persist(path).map_err(|e| CacheError::Io {
            path: path.to_owned(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Removes leftovers of killed runs; only call while holding [`lock`].
    pub fn sweep_temporary(&self) -> Result<(), CacheError> {
        let tmp_dir = self.root.join("tmp");
        for entry in std::fs::read_dir(&tmp_dir).map_err(io_error(&tmp_dir))? {
            let path = entry.map_err(io_error(&tmp_dir))?.path();
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
        Ok(())
    }
}

/// Counts what a cache folder holds (it need not exist).
pub fn stats(root: &Path) -> Result<Stats, CacheError> {
    let mut stats = Stats::default();
    for (sub, ext) in [("segments", "seg"), ("chapters", "json")] {
        let dir = root.join(sub);
        let Ok(shards) = std::fs::read_dir(&dir) else {
            continue;
        };
        for shard in shards {
            let shard = shard.map_err(io_error(&dir))?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&shard).map_err(io_error(&shard))? {
                let entry = entry.map_err(io_error(&shard))?;
                if entry.path().extension().is_some_and(|e| e == ext) {
                    if sub == "segments" {
                        stats.segments += chunk_members(&entry.path());
                        stats.segment_bytes +=
                            entry.metadata().map_err(io_error(&entry.path()))?.len();
                    } else {
                        stats.chapters += 1;
                    }
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join("tmp")) {
        stats.temporary = entries.count() as u64;
    }
    Ok(stats)
}

/// How many segments a chunk file holds, from its header (an older or
/// damaged entry counts as one).
fn chunk_members(path: &Path) -> u64 {
    let mut header = [0u8; CHUNK_HEADER as usize];
    match File::open(path).and_then(|mut f| f.read_exact(&mut header)) {
        Ok(()) if &header[..6] == SEGMENT_MAGIC => u64::from(u32::from_le_bytes(
            header[10..14].try_into().expect("4 bytes"),
        )),
        _ => 1,
    }
}

/// Deletes everything castbook keeps in `root` (only its own sub-folders).
pub fn clear(root: &Path) -> Result<Stats, CacheError> {
    let before = stats(root)?;
    if !root.is_dir() {
        return Ok(before);
    }
    let _lock = lock(root)?;
    for sub in ["segments", "chapters", "tmp"] {
        let dir = root.join(sub);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
        }
    }
    Ok(before)
}

/// The exclusive lock on the cache at `dir` (`<dir>/lock`), held by the
/// render using it; see [`fsio::lock_file`].
pub fn lock(dir: &Path) -> Result<fsio::Lock, CacheError> {
    Ok(fsio::lock_file(&dir.join("lock"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn quantise_matches_libm_rounding(sample in -1.5f32..1.5, half in -65536i32..65536) {
            let reference = |x: f32| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            proptest::prop_assert_eq!(quantise(sample), reference(sample));
            // Exact halves are where rounding rules differ.
            let at_half = (half as f32 + 0.5) / 32768.0;
            proptest::prop_assert_eq!(quantise(at_half), reference(at_half));
        }
    }

    #[test]
    fn sixteen_bit_samples_survive_the_float_round_trip() {
        // Why an engine with 16-bit output may skip the float clip.
        for s in i16::MIN..=i16::MAX {
            assert_eq!(quantise(f32::from(s) / 32768.0), s);
        }
    }

    #[test]
    fn quantise_handles_the_edges() {
        for x in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -1.0,
            0.0,
            -0.0,
        ] {
            assert_eq!(
                quantise(x),
                (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
            );
        }
    }
    use crate::core::EngineKind;

    #[test]
    fn keys_change_with_everything_that_changes_audio() {
        let voice = Voice::new(EngineKind::Espeak, "en-us");
        let base = segment_key("espeak-ng 1.51 22050Hz", &voice, "Hello.");
        assert_eq!(
            base,
            segment_key("espeak-ng 1.51 22050Hz", &voice, "Hello.")
        );
        let mut changed = vec![
            segment_key("espeak-ng 1.52 22050Hz", &voice, "Hello."),
            segment_key("espeak-ng 1.51 22050Hz", &voice, "Hello!"),
        ];
        for edit in [
            |v: &mut Voice| v.id = "en-gb".to_owned(),
            |v: &mut Voice| v.rate = 1.1,
            |v: &mut Voice| v.pitch = 40.0,
            |v: &mut Voice| v.engine = EngineKind::Piper,
        ] {
            let mut other = voice.clone();
            edit(&mut other);
            changed.push(segment_key("espeak-ng 1.51 22050Hz", &other, "Hello."));
        }
        for key in &changed {
            assert_ne!(*key, base);
        }
        let mut louder = voice.clone();
        louder.volume = 2.0;
        assert_eq!(
            segment_key("espeak-ng 1.51 22050Hz", &louder, "Hello."),
            base,
            "volume is applied by the mixer"
        );
        assert_eq!(Key::from_hex(&base.hex()), Some(base));
    }

    #[test]
    fn chained_keys_cover_the_history_they_were_spoken_after() {
        let voice = Voice::new(EngineKind::Espeak, "en-us");
        let engine = "espeak-ng 1.51 22050Hz";
        let chain = |texts: &[&str]| {
            let mut keys: Vec<Key> = Vec::new();
            for text in texts {
                keys.push(match keys.last() {
                    None => segment_key(engine, &voice, text),
                    Some(previous) => chained_key(previous, engine, &voice, text),
                });
            }
            keys
        };
        let abc = chain(&["A.", "B.", "C."]);
        // The same line after a different history is a different segment.
        let xbc = chain(&["X.", "B.", "C."]);
        assert_ne!(abc[1], xbc[1]);
        assert_ne!(abc[2], xbc[2]);
        assert_ne!(abc[2], chain(&["B.", "C."])[1]);
        // The same history is the same segment, and a prefix shares keys.
        assert_eq!(abc[..2], chain(&["A.", "B."])[..]);
        assert_ne!(abc[1], segment_key(engine, &voice, "B."));
        let mut other = voice.clone();
        other.id = "en-gb".to_owned();
        assert_ne!(
            chained_key(&abc[0], engine, &other, "B."),
            abc[1],
            "the voice is covered"
        );
    }

    #[test]
    fn chunks_round_trip_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let key = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Hi.");
        assert!(!cache.contains(&key));
        let segment = CachedClip::from_clip(Clip::from_f32(vec![0.0, 0.5, -1.0, 1.0], 16000));
        assert_eq!(segment.samples, vec![0, 16384, -32768, 32767]);
        let native = Clip {
            samples: Samples::I16(vec![7, -3, i16::MIN]),
            sample_rate: 22050,
        };
        assert_eq!(
            CachedClip::from_clip(native).samples,
            [7, -3, i16::MIN],
            "16-bit engine output is stored as it is"
        );
        let second = CachedClip {
            sample_rate: 16000,
            samples: vec![7; 3],
        };
        let empty = CachedClip {
            sample_rate: 16000,
            samples: Vec::new(),
        };
        let mut writer = cache.chunk_writer(16000, 3).unwrap();
        writer.push(&segment, 0.5).unwrap();
        writer.push(&empty, 1.0).unwrap();
        writer.push(&second, 2.0).unwrap();
        assert!(writer.push(&second, 2.0).is_err(), "only 3 members");
        cache.finish_chunk(&key, writer).unwrap();
        assert!(cache.contains(&key));
        assert_eq!(cache.read_member(&key, 0).unwrap(), (segment, 0.5));
        assert_eq!(cache.read_member(&key, 1).unwrap(), (empty, 1.0));
        assert_eq!(cache.read_member(&key, 2).unwrap(), (second.clone(), 2.0));
        assert!(cache.read_member(&key, 3).is_err());
        let mut writer = cache.chunk_writer(16000, 1).unwrap();
        writer.push(&second, f32::NAN).unwrap();
        let damaged = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Hm.");
        cache.finish_chunk(&damaged, writer).unwrap();
        let err = cache.read_member(&damaged, 0).unwrap_err().to_string();
        assert!(err.contains("bad gain"), "{err}");
        // A gain of zero mutes a member; a negative one is damage.
        for (gain, good) in [(0.0, true), (-0.5, false)] {
            let mut writer = cache.chunk_writer(16000, 1).unwrap();
            writer.push(&second, gain).unwrap();
            cache.finish_chunk(&damaged, writer).unwrap();
            let read = cache.read_member(&damaged, 0);
            assert_eq!(read.is_ok(), good, "gain {gain}: {read:?}");
        }
        std::fs::remove_file(cache.chunk_path(&damaged)).unwrap();
        // A chunk of one silent member: its header and table are all of it.
        let silent = CachedClip {
            sample_rate: 16000,
            samples: Vec::new(),
        };
        let mut writer = cache.chunk_writer(16000, 1).unwrap();
        writer.push(&silent, 1.0).unwrap();
        let quiet = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Sh.");
        cache.finish_chunk(&quiet, writer).unwrap();
        assert_eq!(cache.read_member(&quiet, 0).unwrap(), (silent, 1.0));
        std::fs::remove_file(cache.chunk_path(&quiet)).unwrap();

        // An unfinished chunk is never put in place.
        let other = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Ho.");
        let mut writer = cache.chunk_writer(16000, 2).unwrap();
        writer.push(&second, 1.0).unwrap();
        assert!(cache.finish_chunk(&other, writer).is_err());
        assert!(!cache.contains(&other));
        let stats = stats(dir.path()).unwrap();
        assert_eq!((stats.segments, stats.temporary), (3, 0));
        assert_eq!(stats.segment_bytes, 14 + 3 * 8 + 2 * 7);
        clear(dir.path()).unwrap();
        assert_eq!(super::stats(dir.path()).unwrap(), Stats::default());
    }

    #[test]
    fn corrupt_entries_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let key = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Hi.");
        let path = cache.chunk_path(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"").unwrap();
        assert!(
            !cache.contains(&key),
            "an empty entry (power cut) is missing"
        );
        std::fs::write(&path, b"junk").unwrap();
        let err = cache.read_member(&key, 0).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("corrupt"), "{err}");
        // A whole header and nothing after it: a good header, a missing member.
        let mut cut = SEGMENT_MAGIC.to_vec();
        cut.extend(16000u32.to_le_bytes());
        cut.extend(3u32.to_le_bytes());
        std::fs::write(&path, &cut).unwrap();
        let err = cache.read_member(&key, 0).unwrap_err().to_string();
        assert!(err.contains("(missing member)"), "{err}");
        // A header for three members, cut off inside their table.
        cut.extend([0u8; 16]);
        std::fs::write(&path, &cut).unwrap();
        let err = cache.read_member(&key, 0).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: corrupt cache entry (missing member); run `castbook cache clear`",
                path.display()
            )
        );
    }

    #[test]
    fn chapter_records_round_trip_and_garbled_ones_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let digest = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Ch. 1");
        assert_eq!(cache.read_chapter::<Vec<u32>>(&digest), None);
        cache.write_chapter(&digest, &vec![3u32, 1, 4]).unwrap();
        assert_eq!(cache.read_chapter::<Vec<u32>>(&digest), Some(vec![3, 1, 4]));
        assert_eq!(stats(dir.path()).unwrap().chapters, 1);
        std::fs::write(cache.entry_path("chapters", &digest, "json"), b"[3, 1").unwrap();
        assert_eq!(cache.read_chapter::<Vec<u32>>(&digest), None);
    }

    #[test]
    fn a_damaged_chunk_counts_as_one_segment() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let key = segment_key("tone", &Voice::new(EngineKind::Espeak, "a"), "Hi.");
        let path = cache.chunk_path(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A header's length of junk whose member count would read as huge.
        std::fs::write(&path, [0xffu8; CHUNK_HEADER as usize]).unwrap();
        assert_eq!(stats(dir.path()).unwrap().segments, 1);
    }

    #[test]
    fn stats_are_reported_in_megabytes() {
        let stats = Stats {
            segments: 12,
            segment_bytes: 3_449_000,
            chapters: 2,
            temporary: 1,
        };
        assert_eq!(
            stats.describe(Path::new("/c")),
            "cache: /c\nsegments: 12 (3.4 MB)\nfinished chapters: 2\ntemporary files: 1\n"
        );
        assert_eq!(
            stats.summary(),
            "12 segments (3.4 MB) and 2 chapter records"
        );
    }

    #[test]
    fn a_held_lock_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let err = lock(dir.path()).err().unwrap();
        assert!(matches!(err, CacheError::File(FileError::Busy { .. })));
        drop(first);
        assert!(lock(dir.path()).is_ok());
    }
}
