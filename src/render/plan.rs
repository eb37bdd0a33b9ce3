//! Planning: a render's chapters → chunks, cache keys and digests, before
//! any audio is made.
//!
//! Every chapter's utterances are grouped into chunks ([`chunk_chapter`]),
//! each utterance gets its cache key, and each chapter a digest of
//! everything that goes into its WAV. A chapter whose digest has a record
//! in the cache, and whose WAV is still the one we wrote, is finished and
//! left alone. The book's sample rate is decided here too ([`book_rate`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::output::manifest::ChapterEntry;
use crate::cache::{self, Key, KeyBuilder, SegmentCache};
use crate::core::{EngineKind, Voice};
use crate::ingest::slug;
use crate::segment::SegmentKind;
use crate::synth::{Engines, SynthError};
use crate::utter::{ChapterScript, Utterance};

/// Changes whenever the mixing below changes the bytes it writes, so that
/// finished-chapter records made by an older castbook are not trusted.
const MIX_VERSION: &str = "mix-v2";

/// A finished chapter, as the cache keeps it: what to put in the manifest
/// without re-reading its audio, and how to recognise that its WAV is still
/// the one we wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChapterRecord {
    pub entry: ChapterEntry,
    pub sample_rate: u32,
    pub wav_len: u64,
    pub wav_mtime_ns: i128,
}

/// One chapter's render plan.
pub(super) struct Planned<'a> {
    pub(super) chapter: &'a ChapterScript,
    pub(super) file_name: String,
    pub(super) chunks: Vec<Chunk>,
    /// Per utterance: (index into `chunks`, member index in that chunk).
    pub(super) slots: Vec<(u32, u32)>,
    pub(super) digest: Key,
    /// Set when the chapter's WAV is already the one these inputs make.
    /// Its manifest entry is then read again when its turn comes: a
    /// long book's entries are not all held at once.
    pub(super) finished: bool,
}

/// The highest sample rate among the voices the book uses (22050 Hz when it
/// has none), decided before rendering: every chapter is written at it, and
/// clips at other rates are resampled up, never down.
pub(super) fn book_rate(
    chapters: &[ChapterScript],
    engines: &mut Engines,
) -> Result<u32, SynthError> {
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
pub(super) fn plan<'a>(
    chapters: &'a [ChapterScript],
    engines: &mut Engines,
    cache: &SegmentCache,
    out_dir: &Path,
    book_rate: u32,
    master: bool,
) -> Result<Vec<Planned<'a>>, SynthError> {
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
        if master {
            // Only when asked: unmastered chapters keep their old digests.
            digest.bytes(super::output::master::VERSION.as_bytes());
        }
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
pub(super) fn finished_record(
    cache: &SegmentCache,
    digest: &Key,
    wav: &Path,
) -> Option<ChapterRecord> {
    cache
        .read_chapter::<ChapterRecord>(digest)
        .filter(|record| {
            std::fs::metadata(wav).is_ok_and(|m| {
                m.is_file() && m.len() == record.wav_len && mtime_ns(&m) == record.wav_mtime_ns
            })
        })
}

/// Utterances synthesised together, in order, by one engine process.

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Chunk {
    /// Its last member's (chained) key: names the cache entry.
    pub(super) key: Key,
    /// Indices of its utterances in the chapter, ascending.
    pub(super) members: Vec<u32>,
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
pub(super) type VoiceFacts<'f> = dyn FnMut(&Voice) -> Result<(String, bool), SynthError> + 'f;

/// A chapter's chunks, each utterance's key, and each utterance's (chunk,
/// member) slot.
pub(super) struct ChapterChunks {
    pub(super) chunks: Vec<Chunk>,
    pub(super) keys: Vec<Key>,
    pub(super) slots: Vec<(u32, u32)>,
}

/// Groups a chapter's utterances into chunks and gives each its cache key.
///
/// For an engine that keeps history (see [`super::worker`]) a chunk holds
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
pub(super) fn chunk_chapter(
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

pub(super) fn kind_name(kind: SegmentKind) -> &'static str {
    if kind == SegmentKind::Dialogue {
        "dialogue"
    } else {
        "narration"
    }
}

pub(super) fn mtime_ns(metadata: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{dialogue, history};
    use super::*;

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
}
