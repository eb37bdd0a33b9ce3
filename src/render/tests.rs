//! Whole renders with the tone engine: files, timings, reuse, and what a
//! failed or killed render leaves behind.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::output::manifest::Manifest;
use super::plan::chunk_chapter;
use super::*;
use crate::core::{EngineKind, Voice};
use crate::segment::SegmentKind;
use crate::synth::test_engine::ToneEngine;
use crate::utter::Utterance;

pub(super) fn utterance(text: &str, voice: &str, pause_ms: u32) -> Utterance {
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
        master: false,
        meta: Default::default(),
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
pub(super) fn dialogue(lines: &[(&str, &str)]) -> Vec<Utterance> {
    lines
        .iter()
        .map(|&(speaker, text)| {
            let mut u = utterance(text, if speaker == "Ann" { "b" } else { "a" }, 0);
            u.speaker = (speaker == "Ann").then(|| "Ann".into());
            u
        })
        .collect()
}

pub(super) fn history(voice: &Voice) -> Result<(String, bool), SynthError> {
    Ok((format!("{} test", voice.engine), true))
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
