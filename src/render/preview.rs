//! Preview: a few utterances (one line of a story, a voice sample) made
//! and mixed exactly as a render makes and mixes them, into a WAV held in
//! memory, for a listener who wants to hear a line now.
//!
//! The utterances are chunked and keyed by the render's own planner, so
//! what a preview synthesises is a valid segment-cache entry: hearing a
//! line again reads it from the cache, and a render that meets the same
//! chunk reuses it. Synthesis goes through a caller-given function (the
//! studio's long-lived worker process), never this process's engines:
//! espeak's output depends on what it said before (see [`super::worker`]),
//! and a cache entry must be what a fresh engine would say.

use std::io::Cursor;

use super::RenderError;
use super::assemble::{scale, trim_silence};
use super::output::wav::{wav_spec, write_bulk};
use super::plan::{ChapterChunks, book_rate, chunk_chapter};
use super::worker::{Job, WorkerError};
use crate::audio::Conformer;
use crate::cache::SegmentCache;
use crate::synth::Engines;
use crate::utter::{ChapterScript, Utterance};

/// Silence before the first utterance and after the last, in milliseconds.
const LEAD_IN_MS: u32 = 120;
const LEAD_OUT_MS: u32 = 250;

/// `utterances` as one 16-bit mono WAV at the highest rate among their
/// voices; their own pauses separate them, except the first's. Chunks the
/// cache lacks go to `synthesize` first, in order.
pub fn preview(
    utterances: &[Utterance],
    engines: &mut Engines,
    cache: &SegmentCache,
    synthesize: &mut dyn FnMut(&Job) -> Result<(), WorkerError>,
) -> Result<Vec<u8>, RenderError> {
    let script = [ChapterScript {
        index: 1,
        title: String::new(),
        utterances: utterances.to_vec(),
        lead_out_ms: LEAD_OUT_MS,
    }];
    let rate = book_rate(&script, engines)?;
    let mut facts = |voice: &crate::core::Voice| {
        Ok((
            engines.identity_of(voice)?,
            engines.keeps_history(voice.engine),
        ))
    };
    let ChapterChunks { chunks, slots, .. } = chunk_chapter(utterances, &mut facts)?;
    for chunk in &chunks {
        if !cache.contains(&chunk.key) {
            let members = &chunk.members;
            synthesize(&Job {
                key: chunk.key,
                voice: &utterances[members[0] as usize].voice,
                texts: members
                    .iter()
                    .map(|&m| &*utterances[m as usize].text)
                    .collect(),
            })?;
        }
    }
    let wav_err = |source| RenderError::Wav {
        path: "preview".into(),
        source,
    };
    let mut conformer = Conformer::new(rate);
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, wav_spec(rate)).map_err(wav_err)?;
    let silence = |ms: u32| u64::from(ms) * u64::from(rate) / 1000;
    for (n, (&(chunk, member), utterance)) in slots.iter().zip(utterances).enumerate() {
        let (segment, gain) = cache.read_member(&chunks[chunk as usize].key, member as usize)?;
        let segment = conformer.conform_segment(segment, Some(gain))?;
        let pause = if n == 0 {
            LEAD_IN_MS
        } else {
            utterance.pause_ms
        };
        write_bulk(&mut writer, silence(pause), |_| 0).map_err(wav_err)?;
        let samples = trim_silence(&segment);
        let volume = utterance.voice.volume;
        write_bulk(&mut writer, samples.len() as u64, |i| {
            scale(samples[i], volume)
        })
        .map_err(wav_err)?;
    }
    write_bulk(&mut writer, silence(LEAD_OUT_MS), |_| 0).map_err(wav_err)?;
    writer.finalize().map_err(wav_err)?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EngineKind, Voice};
    use crate::render::worker::synthesize_chunk;
    use crate::segment::SegmentKind;
    use crate::synth::test_engine::ToneEngine;
    use std::sync::Arc;

    fn utterance(text: &str, pause_ms: u32) -> Utterance {
        Utterance {
            text: Arc::from(text),
            shown: Arc::from(text),
            kind: SegmentKind::Dialogue,
            speaker: Some(Arc::from("Ann")),
            voice: Arc::new(Voice::new(EngineKind::Espeak, "a")),
            pause_ms,
        }
    }

    #[test]
    fn a_preview_fills_the_cache_once_and_then_only_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SegmentCache::open(dir.path()).unwrap();
        let mut engines = Engines::new().with(Box::new(
            ToneEngine::new(EngineKind::Espeak, 8000, &["a"]).with_history(),
        ));
        let mut worker_engines =
            Engines::new().with(Box::new(ToneEngine::new(EngineKind::Espeak, 8000, &["a"])));
        let line = [utterance("Hello there.", 0), utterance("Who is it?", 280)];
        let mut asked: Vec<String> = Vec::new();
        let mut synthesize = |job: &Job| {
            asked.extend(job.texts.iter().map(|t| (*t).to_owned()));
            synthesize_chunk(&mut worker_engines, &cache, &job.key, job.voice, &job.texts)
        };
        let first = preview(&line, &mut engines, &cache, &mut synthesize).unwrap();
        let second = preview(&line, &mut engines, &cache, &mut synthesize).unwrap();
        assert_eq!(
            asked,
            ["Hello there.", "Who is it?"],
            "each made once, in order"
        );
        assert_eq!(first, second);
        let reader = hound::WavReader::new(Cursor::new(first)).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        // Lead-in, both clips (trimmed to their tone), the pause between, the tail.
        let seconds = f64::from(reader.duration()) / 8000.0;
        assert!(seconds > 0.5 && seconds < 3.0, "{seconds}");
    }
}
