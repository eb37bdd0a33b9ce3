//! Mix: synthesise each chapter's utterances, join them with silences, and
//! write one 16-bit mono WAV per chapter plus `manifest.json`.
//!
//! Each chapter streams straight into a temporary file in the output folder
//! and is renamed into place only when complete, so an interrupted render
//! never leaves a truncated WAV under its final name.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audio::{AudioError, Conformer};
use crate::ingest::slug;
use crate::segment::SegmentKind;
use crate::synth::{Clip, Engines, SynthError};
use crate::utter::ChapterScript;

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Manifest {
    pub title: String,
    pub sample_rate: u32,
    pub chapters: Vec<ChapterEntry>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ChapterEntry {
    pub index: usize,
    pub title: String,
    pub file: String,
    pub duration_s: f64,
    pub segments: Vec<SegmentEntry>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct SegmentEntry {
    pub start_s: f64,
    pub end_s: f64,
    pub kind: String,
    pub speaker: Option<String>,
    pub voice: String,
    pub text: String,
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
    Audio(#[from] AudioError),
}

/// Utterances handed to the engines at once: enough to keep a Piper session
/// pool busy, few enough that a chapter is never held in memory whole.
const BATCH: usize = 64;

/// Called after each utterance is synthesised (drives the progress bar).
pub trait Progress {
    fn advance(&self);
}

impl Progress for indicatif::ProgressBar {
    fn advance(&self) {
        self.inc(1);
    }
}

impl Progress for () {
    fn advance(&self) {}
}

/// Renders every chapter into `out_dir` and writes the manifest.
pub fn render_book(
    title: &str,
    chapters: &[ChapterScript],
    engines: &mut Engines,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<Manifest, MixError> {
    std::fs::create_dir_all(out_dir).map_err(|source| MixError::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    let mut conformer = Conformer::new(book_rate(chapters, engines)?);
    let mut entries = Vec::new();
    for chapter in chapters {
        let entry = render_chapter(chapter, engines, out_dir, &mut conformer, progress)?;
        entries.push(entry);
    }
    let manifest = Manifest {
        title: title.to_owned(),
        sample_rate: conformer.rate(),
        chapters: entries,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    write_atomically(&out_dir.join("manifest.json"), |file| file.write_all(&json))?;
    Ok(manifest)
}

/// The highest sample rate among the voices the book uses (22050 Hz for an
/// empty book), decided before rendering so every chapter shares it and no
/// voice is downsampled.
fn book_rate(chapters: &[ChapterScript], engines: &mut Engines) -> Result<u32, SynthError> {
    let mut rate = None;
    let mut seen = std::collections::BTreeSet::new();
    for utterance in chapters.iter().flat_map(|c| &c.utterances) {
        if seen.insert(utterance.voice.label()) {
            let voice_rate = engines.sample_rate(&utterance.voice)?;
            rate = Some(rate.map_or(voice_rate, |r: u32| r.max(voice_rate)));
        }
    }
    Ok(rate.unwrap_or(22050))
}

fn render_chapter(
    chapter: &ChapterScript,
    engines: &mut Engines,
    out_dir: &Path,
    conformer: &mut Conformer,
    progress: &dyn Progress,
) -> Result<ChapterEntry, MixError> {
    let file_name = format!("{:02}-{}.wav", chapter.index, slug(&chapter.title));
    let path = out_dir.join(&file_name);
    let mut segments = Vec::new();
    let mut written: u64 = 0;
    let sample_rate = conformer.rate();
    let temp = tempfile::Builder::new()
        .prefix(".partial-")
        .suffix(".wav")
        .tempfile_in(out_dir)
        .map_err(|source| MixError::Io {
            path: path.clone(),
            source,
        })?;
    let mut writer: Option<hound::WavWriter<BufWriter<std::fs::File>>> = None;
    let wav_err = |source| MixError::Wav {
        path: path.clone(),
        source,
    };
    let batches = chapter.utterances.chunks(BATCH).flat_map(|batch| {
        let items: Vec<(&str, &crate::synth::Voice)> =
            batch.iter().map(|u| (u.text.as_str(), &u.voice)).collect();
        batch.iter().zip(engines.synthesize_batch(&items))
    });
    for (utterance, clip) in batches {
        let clip = conformer.conform(clip?, &utterance.voice.label())?;
        progress.advance();
        let writer = match &mut writer {
            Some(w) => w,
            None => {
                let file = temp.reopen().map_err(|source| MixError::Io {
                    path: path.clone(),
                    source,
                })?;
                writer.insert(
                    hound::WavWriter::new(BufWriter::new(file), wav_spec(sample_rate))
                        .map_err(wav_err)?,
                )
            }
        };
        let samples = trim_silence(&clip);
        let silence = u64::from(utterance.pause_ms) * u64::from(sample_rate) / 1000;
        for _ in 0..silence {
            writer.write_sample(0i16).map_err(wav_err)?;
        }
        written += silence;
        let start_s = written as f64 / f64::from(sample_rate);
        for &sample in samples {
            writer
                .write_sample(to_i16(sample * utterance.voice.volume))
                .map_err(wav_err)?;
        }
        written += samples.len() as u64;
        segments.push(SegmentEntry {
            start_s: round_ms(start_s),
            end_s: round_ms(written as f64 / f64::from(sample_rate)),
            kind: if utterance.kind == SegmentKind::Dialogue {
                "dialogue"
            } else {
                "narration"
            }
            .to_owned(),
            speaker: utterance.speaker.clone(),
            voice: utterance.voice.label(),
            text: utterance.text.clone(),
        });
    }
    let writer = match writer {
        Some(w) => Some(w),
        None => {
            let file = temp.reopen().map_err(|source| MixError::Io {
                path: path.clone(),
                source,
            })?;
            Some(
                hound::WavWriter::new(BufWriter::new(file), wav_spec(sample_rate))
                    .map_err(wav_err)?,
            )
        }
    };
    let mut writer = writer.expect("writer created above");
    let tail = u64::from(chapter.lead_out_ms) * u64::from(sample_rate) / 1000;
    for _ in 0..tail {
        writer.write_sample(0i16).map_err(wav_err)?;
    }
    written += tail;
    writer.finalize().map_err(wav_err)?;
    make_readable(temp.as_file()).map_err(|source| MixError::Io {
        path: path.clone(),
        source,
    })?;
    temp.persist(&path).map_err(|err| MixError::Io {
        path: path.clone(),
        source: err.error,
    })?;
    Ok(ChapterEntry {
        index: chapter.index,
        title: chapter.title.clone(),
        file: file_name,
        duration_s: round_ms(written as f64 / f64::from(sample_rate)),
        segments,
    })
}

fn wav_spec(sample_rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Engines pad clips with their own silence; our pauses replace it.
fn trim_silence(clip: &Clip) -> &[f32] {
    const THRESHOLD: f32 = 0.004;
    let margin = (clip.sample_rate / 100) as usize;
    let first = clip.samples.iter().position(|s| s.abs() > THRESHOLD);
    let last = clip.samples.iter().rposition(|s| s.abs() > THRESHOLD);
    match (first, last) {
        (Some(first), Some(last)) => {
            &clip.samples[first.saturating_sub(margin)..(last + margin + 1).min(clip.samples.len())]
        }
        _ => &[],
    }
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
    use crate::synth::test_engine::ToneEngine;
    use crate::synth::{EngineKind, Voice};
    use crate::utter::Utterance;

    fn utterance(text: &str, voice: &str, pause_ms: u32) -> Utterance {
        Utterance {
            text: text.to_owned(),
            kind: SegmentKind::Dialogue,
            speaker: Some("Ann".to_owned()),
            voice: Voice::new(EngineKind::Espeak, voice),
            pause_ms,
        }
    }

    #[test]
    fn chapters_are_written_with_pauses_and_timings() {
        let dir = tempfile::tempdir().unwrap();
        let mut engines = Engines::new().with(Box::new(ToneEngine::new(
            EngineKind::Espeak,
            16000,
            &["a", "b"],
        )));
        let chapter = ChapterScript {
            index: 1,
            title: "Chapter 1: Start".to_owned(),
            utterances: vec![
                utterance("Hello.", "a", 500),
                utterance("Hi there.", "b", 250),
            ],
            lead_out_ms: 1000,
        };
        let manifest = render_book("Book", &[chapter], &mut engines, dir.path(), &()).unwrap();
        let entry = &manifest.chapters[0];
        assert_eq!(entry.file, "01-chapter-1-start.wav");
        let segs = &entry.segments;
        assert_eq!(segs[0].start_s, 0.5);
        assert!((segs[1].start_s - segs[0].end_s - 0.25).abs() < 0.002);
        assert!((entry.duration_s - segs[1].end_s - 1.0).abs() < 0.002);
        let reader = hound::WavReader::open(dir.path().join(&entry.file)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16000);
        assert_eq!(reader.duration() as f64 / 16000.0, entry.duration_s);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".partial")),
            "{names:?}"
        );
        let written: Manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(written, manifest);
    }

    #[test]
    fn mixed_rates_are_resampled_to_the_highest_and_levelled() {
        let dir = tempfile::tempdir().unwrap();
        let mut engines = Engines::new()
            .with(Box::new(ToneEngine::new(EngineKind::Espeak, 16000, &["a"])))
            .with(Box::new(ToneEngine::new(EngineKind::Piper, 24000, &["b"])));
        let mut quiet = utterance("Hi there, how are you doing today?", "b", 300);
        quiet.voice = Voice::new(EngineKind::Piper, "b");
        quiet.voice.volume = 0.25;
        let chapter = ChapterScript {
            index: 1,
            title: "One".to_owned(),
            utterances: vec![
                utterance("Hello there, nice to see you again.", "a", 0),
                quiet,
            ],
            lead_out_ms: 0,
        };
        let manifest = render_book("Book", &[chapter], &mut engines, dir.path(), &()).unwrap();
        assert_eq!(manifest.sample_rate, 24000);
        let entry = &manifest.chapters[0];
        let reader = hound::WavReader::open(dir.path().join(&entry.file)).unwrap();
        assert_eq!(reader.spec().sample_rate, 24000);
        let samples: Vec<f32> = reader
            .into_samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect();
        let part = |seg: &SegmentEntry| {
            &samples[(seg.start_s * 24000.0) as usize..(seg.end_s * 24000.0) as usize]
        };
        let a = crate::audio::loudness(part(&entry.segments[0]), 24000).unwrap();
        let b = crate::audio::loudness(part(&entry.segments[1]), 24000).unwrap();
        // Both reach the target; `volume` then applies on top (0.25 = -12 dB).
        assert!((a - crate::audio::TARGET_LUFS).abs() < 1.5, "{a}");
        assert!((a - b - 12.0).abs() < 1.5, "{a} vs {b}");
        // Duration of the resampled voice is kept: 0.06 s per character.
        let seconds = entry.segments[0].end_s - entry.segments[0].start_s;
        assert!((seconds - 35.0 * 0.06).abs() < 0.05, "{seconds}");
    }

    #[test]
    fn a_failing_voice_leaves_no_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut engines =
            Engines::new().with(Box::new(ToneEngine::new(EngineKind::Espeak, 16000, &["a"])));
        let chapter = ChapterScript {
            index: 1,
            title: "One".to_owned(),
            utterances: vec![
                utterance("Hello.", "a", 0),
                utterance("Oops.", "missing", 0),
            ],
            lead_out_ms: 0,
        };
        assert!(render_book("Book", &[chapter], &mut engines, dir.path(), &()).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
