//! Whole renders with the tone engine: files, timings, reuse, and what a
//! failed or killed render leaves behind.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::output::manifest::Manifest;
use super::*;
use crate::core::{EngineKind, Voice, error_chain};
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

/// Checks the output folder each time a clip has been written into the
/// chapter being assembled (the progress callback runs right after): the
/// chapter is a `.partial-*` temporary, and its final name holds the old
/// WAV (`old`), or nothing, until the chapter is complete.
struct Watch<'a> {
    dir: &'a Path,
    file: &'a str,
    old: Option<Vec<u8>>,
    /// Clips seen written into a temporary chapter file.
    written: std::cell::Cell<usize>,
}

impl<'a> Watch<'a> {
    fn new(dir: &'a Path, file: &'a str) -> Watch<'a> {
        let old = std::fs::read(dir.join(file)).ok();
        Watch {
            dir,
            file,
            old,
            written: Default::default(),
        }
    }
}

impl Progress for Watch<'_> {
    fn advance(&self, _: u64) {
        let partial_wavs = std::fs::read_dir(self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".partial-") && n.ends_with(".wav"))
            .count();
        assert_eq!(partial_wavs, 1, "the chapter being written");
        assert_eq!(
            std::fs::read(self.dir.join(self.file)).ok(),
            self.old,
            "{} changed before it was complete",
            self.file
        );
        self.written.set(self.written.get() + 1);
    }
}

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = visible_files(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_chapter_is_renamed_into_place_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let file = "01-chapter-1-start.wav";
    let book = |last: &str| {
        [chapter(
            1,
            vec![
                utterance("One.", "a", 0),
                utterance("Two.", "a", 100),
                utterance(last, "a", 100),
            ],
        )]
    };
    let opts = options(dir.path());
    let watch = Watch::new(dir.path(), file);
    render_book("Book", &book("Three."), &mut tone(&["a"]), &opts, &watch).unwrap();
    assert_eq!(watch.written.get(), 3);
    let first = std::fs::read(dir.path().join(file)).unwrap();

    let watch = Watch::new(dir.path(), file);
    assert_eq!(watch.old.as_ref(), Some(&first));
    render_book("Book", &book("Four!"), &mut tone(&["a"]), &opts, &watch).unwrap();
    assert_eq!(watch.written.get(), 3);
    assert_ne!(std::fs::read(dir.path().join(file)).unwrap(), first);
}

#[test]
fn a_failure_partway_through_a_chapter_leaves_no_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = "01-chapter-1-start.wav";
    let failing = || {
        Engines::new().with(Box::new(
            ToneEngine::new(EngineKind::Espeak, 16000, &["a"]).failing_on("Oops."),
        ))
    };
    let lines = |last: &str| {
        [chapter(
            1,
            vec![
                utterance("Hello.", "a", 0),
                utterance("Still here.", "a", 100),
                utterance(last, "a", 0),
            ],
        )]
    };
    let opts = options(dir.path());

    // A fresh folder: the engine fails on the third clip, after two were
    // written into the chapter's temporary file.
    let watch = Watch::new(dir.path(), file);
    let err = render_book("Book", &lines("Oops."), &mut failing(), &opts, &watch).unwrap_err();
    assert!(
        error_chain(&err).contains("told to fail"),
        "{}",
        error_chain(&err)
    );
    assert_eq!(watch.written.get(), 2, "failed after the file was opened");
    assert!(
        visible_files(dir.path()).is_empty(),
        "{:?}",
        visible_files(dir.path())
    );
    assert_eq!(cache::stats(&opts.cache_dir).unwrap().temporary, 0);

    // Over a finished render: the old chapter and manifest stay as they were.
    render_book("Book", &lines("Fine."), &mut failing(), &opts, &()).unwrap();
    let before = all_files(dir.path());
    assert_eq!(before.len(), 2);
    let watch = Watch::new(dir.path(), file);
    render_book("Book", &lines("Oops."), &mut failing(), &opts, &watch).unwrap_err();
    assert_eq!(watch.written.get(), 2);
    assert_eq!(all_files(dir.path()), before);
    assert_eq!(cache::stats(&opts.cache_dir).unwrap().temporary, 0);
}

#[test]
fn an_unknown_voice_fails_before_any_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let chapters = [chapter(
        1,
        vec![
            utterance("Hello.", "a", 0),
            utterance("Oops.", "missing", 0),
        ],
    )];
    let err = render_book(
        "Book",
        &chapters,
        &mut tone(&["a"]),
        &options(dir.path()),
        &(),
    )
    .unwrap_err();
    assert!(
        error_chain(&err).contains("espeak:missing"),
        "{}",
        error_chain(&err)
    );
    assert!(visible_files(dir.path()).is_empty());
}

#[test]
fn a_volume_change_remixes_only_that_chapter() {
    let book = |volume: f32| {
        let mut quiet = utterance("Two.", "b", 100);
        Arc::make_mut(&mut quiet.voice).volume = volume;
        [
            chapter(1, vec![utterance("One.", "a", 0)]),
            chapter(2, vec![utterance("Hi.", "a", 0), quiet]),
        ]
    };
    let render = |dir: &Path, volume: f32| {
        render_book(
            "Book",
            &book(volume),
            &mut tone(&["a", "b"]),
            &options(dir),
            &(),
        )
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let first = render(dir.path(), 1.0);
    let (wav1, wav2) = (
        dir.path().join(&first.chapters[0].file),
        dir.path().join(&first.chapters[1].file),
    );
    let mtime1 = std::fs::metadata(&wav1).unwrap().modified().unwrap();
    let loud = std::fs::read(&wav2).unwrap();

    let quieter = render(dir.path(), 0.5);
    assert_eq!(
        (quieter.stats.synthesised, quieter.stats.reused),
        (0, 3),
        "volume is applied in the mix: the audio is reused"
    );
    assert_eq!(
        std::fs::metadata(&wav1).unwrap().modified().unwrap(),
        mtime1
    );
    let quiet = std::fs::read(&wav2).unwrap();
    assert_ne!(quiet, loud, "chapter 2 was mixed again");
    // Its second line at half the amplitude, its first as it was.
    let samples = |bytes: &[u8]| -> Vec<i16> {
        hound::WavReader::new(bytes)
            .unwrap()
            .into_samples::<i16>()
            .map(Result::unwrap)
            .collect()
    };
    let (loud, quiet) = (samples(&loud), samples(&quiet));
    assert_eq!(loud.len(), quiet.len());
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let span = |n: usize| {
        let segment = &manifest.chapters[1].segments[n];
        (segment.start_s * 16000.0) as usize..(segment.end_s * 16000.0) as usize
    };
    assert_eq!(loud[span(0)], quiet[span(0)], "the first line is untouched");
    let peak = |s: &[i16]| s.iter().map(|x| x.unsigned_abs()).max().unwrap();
    let ratio = f64::from(peak(&quiet[span(1)])) / f64::from(peak(&loud[span(1)]));
    assert!((ratio - 0.5).abs() < 0.01, "{ratio}");

    // The same bytes as a fresh render with that volume.
    let fresh = tempfile::tempdir().unwrap();
    render(fresh.path(), 0.5);
    assert_eq!(
        std::fs::read(fresh.path().join(&first.chapters[1].file)).unwrap(),
        std::fs::read(&wav2).unwrap()
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

/// The chunks the README describes, worked out here without
/// `plan::chunk_chapter`: each speaker's lines, in order, until one whose
/// text's blake3 hash (its first 8 bytes, little-endian) is 0 modulo 16, or
/// 48 lines. Each chunk as its speaker and the texts it holds.
fn reference_chunks(script: &[(&str, &str)]) -> HashSet<(String, Vec<String>)> {
    let mut open: HashMap<&str, usize> = HashMap::new();
    let mut chunks: Vec<(String, Vec<String>)> = Vec::new();
    for &(speaker, text) in script {
        let n = *open.entry(speaker).or_insert_with(|| {
            chunks.push((speaker.to_owned(), Vec::new()));
            chunks.len() - 1
        });
        chunks[n].1.push(text.to_owned());
        let hash = blake3::hash(text.as_bytes());
        let low = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        if low % 16 == 0 || chunks[n].1.len() == 48 {
            open.remove(speaker);
        }
    }
    chunks.into_iter().collect()
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
    let old = reference_chunks(&script);
    script[30].1 = "An edited sentence.";
    // The edited line's chunk, and the next one if the edit moved its end.
    let edited: usize = reference_chunks(&script)
        .difference(&old)
        .map(|(_, texts)| texts.len())
        .sum();
    assert!((1..30).contains(&edited), "{edited}");
    let second = render_book(
        "Book",
        &[chapter(1, dialogue(&script))],
        &mut engines(),
        &opts,
        &(),
    )
    .unwrap();
    assert_eq!(second.stats.synthesised, edited);
    assert_eq!(second.stats.reused, 60 - edited);
}

#[test]
fn a_render_with_nothing_to_synthesise_starts_no_worker() {
    let dir = tempfile::tempdir().unwrap();
    let chapters = [
        chapter(1, vec![utterance("Hello.", "a", 500)]),
        chapter(2, vec![utterance("Hi there.", "a", 250)]),
    ];
    render_book(
        "Book",
        &chapters,
        &mut tone(&["a"]),
        &options(dir.path()),
        &(),
    )
    .unwrap();
    // All cached now: a worker process would be started for nothing.
    let started = dir.path().join("worker-started");
    let with_workers = options_with_marking_workers(dir.path(), &started);
    let again = render_book("Book", &chapters, &mut tone(&["a"]), &with_workers, &()).unwrap();
    assert_eq!((again.stats.synthesised, again.stats.reused), (0, 2));
    assert!(!started.exists(), "a worker was started");
}

/// Options for two workers that each leave the file `started` and exit
/// without answering: whether any worker was started shows afterwards.
fn options_with_marking_workers(dir: &Path, started: &Path) -> RenderOptions {
    let mut with_workers = options(dir);
    with_workers.jobs = 2;
    with_workers.worker = Some(WorkerSpec {
        program: "sh".into(),
        args: vec!["-c".into(), format!("touch '{}'", started.display()).into()],
    });
    with_workers
}

#[test]
fn a_render_with_lines_to_synthesise_starts_its_workers() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("worker-started");
    let with_workers = options_with_marking_workers(dir.path(), &started);
    let chapters = [chapter(1, vec![utterance("Hello.", "a", 500)])];
    let result = render_book("Book", &chapters, &mut tone(&["a"]), &with_workers, &());
    assert!(started.exists(), "no worker was started");
    assert!(result.is_err(), "a worker that never answered did the work");
}

#[test]
fn a_finished_chapter_removed_during_the_render_is_an_error() {
    /// Deletes a file when progress is made: the user removing a chapter
    /// that planning found finished, while an earlier one renders.
    struct RemoveOnProgress(std::path::PathBuf);
    impl Progress for RemoveOnProgress {
        fn advance(&self, _: u64) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let second = chapter(2, vec![utterance("Hi there.", "a", 250)]);
    let first = render_book(
        "Book",
        &[
            chapter(1, vec![utterance("Hello.", "a", 500)]),
            second.clone(),
        ],
        &mut tone(&["a"]),
        &options(dir.path()),
        &(),
    )
    .unwrap();
    let removed = dir.path().join(&first.chapters[1].file);
    let edited = [
        chapter(1, vec![utterance("Hello again.", "a", 500)]),
        second,
    ];
    let err = render_book(
        "Book",
        &edited,
        &mut tone(&["a"]),
        &options(dir.path()),
        &RemoveOnProgress(removed.clone()),
    )
    .unwrap_err();
    assert!(!removed.exists());
    assert!(
        error_chain(&err).contains("finished chapter changed during the render"),
        "{}",
        error_chain(&err)
    );
}

#[test]
fn a_chunk_two_chapters_share_is_synthesised_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// The tone engine, counting what it is asked to say.
    struct Counting(ToneEngine, Arc<AtomicUsize>);
    impl crate::synth::Engine for Counting {
        fn kind(&self) -> EngineKind {
            self.0.kind()
        }
        fn check_voice(&mut self, id: &str) -> Result<(), crate::synth::SynthError> {
            self.0.check_voice(id)
        }
        fn sample_rate(&mut self, id: &str) -> Result<u32, crate::synth::SynthError> {
            self.0.sample_rate(id)
        }
        fn synthesize(
            &mut self,
            text: &str,
            voice: &Voice,
        ) -> Result<crate::core::Clip, crate::synth::SynthError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.synthesize(text, voice)
        }
        fn voices(&mut self) -> Result<Vec<crate::synth::VoiceInfo>, crate::synth::SynthError> {
            self.0.voices()
        }
        fn identity(&self) -> String {
            self.0.identity()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    // Two chapters saying the same lines share their chunks: each chunk is
    // one job, synthesised when the first chapter needs it, and only then.
    let tone = ToneEngine::new(EngineKind::Espeak, 16000, &["a"]).with_history();
    let mut engines = Engines::new().with(Box::new(Counting(tone, calls.clone())));
    let lines: Vec<Utterance> = (0..5)
        .map(|n| utterance(&format!("Line {n}."), "a", 250))
        .collect();
    let chapters = [chapter(1, lines.clone()), chapter(2, lines)];
    render_book("Book", &chapters, &mut engines, &options(dir.path()), &()).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[test]
fn the_progress_bar_counts_every_utterance_placed_or_reused() {
    let dir = tempfile::tempdir().unwrap();
    let chapters = [
        chapter(
            1,
            vec![utterance("Hello.", "a", 500), utterance("Hi.", "a", 250)],
        ),
        chapter(2, vec![utterance("Bye.", "a", 250)]),
    ];
    for _ in 0..2 {
        // The second time, both chapters are finished and skipped whole.
        let bar = indicatif::ProgressBar::hidden();
        render_book(
            "Book",
            &chapters,
            &mut tone(&["a"]),
            &options(dir.path()),
            &bar,
        )
        .unwrap();
        assert_eq!(bar.position(), 3);
    }
}
