//! Assembly: a chapter's clips → one WAV, with our pauses between them,
//! each clip levelled to the book's loudness and rate, trimmed of the
//! engine's own padding and scaled by its voice's volume; and the chapter's
//! manifest entry, timed to the sample.
//!
//! A chapter streams into a temporary file in the output folder one clip
//! at a time, so memory stays flat however long the chapter, and is renamed
//! into place only when complete, unless its bytes equal the WAV already
//! there, which is then left alone (mtime and all).

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use super::output::manifest::{ChapterEntry, SegmentEntry};
use super::output::wav::{same_contents, wav_spec, write_bulk};
use super::plan::{Planned, kind_name};
use super::schedule::{Fetch, Progress};
use super::{RenderError, output};
use crate::audio::Conformer;
use crate::cache::CachedClip;
use crate::core::Voice;
use crate::fsio::{PARTIAL_PREFIX, make_readable};

/// Streams one chapter into a temporary WAV and renames it into place,
/// unless the bytes equal the WAV already there (then it is left alone).
pub(super) fn render_chapter(
    planned: &Planned,
    fetch: &mut Fetch,
    out_dir: &Path,
    conformer: &mut Conformer,
    progress: &dyn Progress,
    master: bool,
) -> Result<(ChapterEntry, u32), RenderError> {
    let chapter = planned.chapter;
    let path = out_dir.join(&planned.file_name);
    let io = |source| RenderError::Io {
        path: path.clone(),
        source,
    };
    let wav_err = |source| RenderError::Wav {
        path: path.clone(),
        source,
    };
    let mut segments = Vec::with_capacity(chapter.utterances.len());
    let mut labels: HashMap<*const Voice, Arc<str>> = HashMap::new();
    let mut written: u64 = 0;
    let sample_rate = conformer.rate();
    let temp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
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
    let temp = if master {
        let mastered = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .suffix(".wav")
            .tempfile_in(out_dir)
            .map_err(io)?;
        output::master::master(temp.path(), mastered.path()).map_err(wav_err)?;
        mastered
    } else {
        temp
    };
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

/// Applies a voice's volume; 1.0 passes samples through unchanged.
pub(super) fn scale(sample: i16, volume: f32) -> i16 {
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
pub(super) fn trim_silence(clip: &CachedClip) -> &[i16] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_scales_without_touching_unity() {
        assert_eq!(scale(1000, 1.0), 1000);
        assert_eq!(scale(1000, 0.5), 500);
        assert_eq!(scale(30000, 2.0), 32767);
        assert_eq!(scale(-30000, 2.0), -32768);
    }
}
