//! Whole-novel rendering: the segment cache, resume after kill -9,
//! --jobs, --chapters, `cache stats|clear`, and no partial files.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Outcome, Test};

/// A story with `chapters` chapters of `lines` paragraphs each, every
/// sentence distinct; Bob speaks in every third paragraph.
pub(crate) fn story(chapters: usize, lines: usize) -> String {
    story_of(&vec![lines; chapters])
}

/// A story whose chapter N has `lines[N - 1]` paragraphs (see [`story`]).
fn story_of(lines: &[usize]) -> String {
    let mut text = String::from("The Long Test\n\n");
    for (c, &count) in (1..).zip(lines) {
        text.push_str(&format!("Chapter {c}\n\n"));
        for n in 1..=count {
            match n % 3 {
                0 => text.push_str(&format!(
                    "\"I counted {n} boats in harbour {c},\" said Bob.\n\n"
                )),
                1 => text.push_str(&format!(
                    "\"Bring lantern {n} to the tower {c},\" said Ann.\n\n"
                )),
                _ => text.push_str(&format!(
                    "The wind turned {n} times over the cliffs of chapter {c}.\n\n"
                )),
            }
        }
    }
    text
}

fn voices(bob: &str) -> String {
    format!(
        "[narrator]\nvoice = \"espeak:en-us\"\n\n[characters.Ann]\nvoice = \"espeak:en-us+f3\"\n\n[characters.Bob]\nvoice = \"espeak:{bob}\"\n"
    )
}

/// `castbook render story.txt -o OUT --quiet EXTRA...`, which must succeed.
#[track_caller]
fn render(test: Test, out: &str, extra: &[&str]) -> Outcome {
    test.args(&["render", "story.txt", "-o", out, "--quiet"])
        .args(extra)
        .succeeds()
}

/// Files a crash could leave: temporaries in the output folder or cache.
pub(crate) fn leftovers(out: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial"))
        .collect();
    if let Ok(tmp) = std::fs::read_dir(out.join(".cache/tmp")) {
        found.extend(tmp.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()));
    }
    found
}

/// Segments in the cache: each file is a chunk of segments whose count
/// is the u32 after the magic and sample rate (see `castbook::cache`).
pub(crate) fn cached_segments(out: &Path) -> usize {
    cached_segments_in(&out.join(".cache"))
}

/// Segments in the cache folder `cache`.
fn cached_segments_in(cache: &Path) -> usize {
    let Ok(shards) = std::fs::read_dir(cache.join("segments")) else {
        return 0;
    };
    let mut count = 0;
    for shard in shards {
        for entry in std::fs::read_dir(shard.unwrap().path())
            .into_iter()
            .flatten()
        {
            let Ok(bytes) = std::fs::read(entry.unwrap().path()) else {
                continue;
            };
            assert_eq!(&bytes[..6], b"CBSEG2");
            count += u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
        }
    }
    count
}

/// Chunk files in an output folder's cache.
fn chunk_files(out: &Path) -> usize {
    std::fs::read_dir(out.join(".cache/segments"))
        .unwrap()
        .map(|s| std::fs::read_dir(s.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn a_voice_change_resynthesises_only_that_characters_segments() {
    let test = Test::new().story(&story(2, 12)).voices(&voices("en-us+m3"));
    let rendered = render(test, "out", &["--jobs", "2"]);
    let first = rendered.manifest("out");
    let total = first["stats"]["segments"].as_u64().unwrap();
    let segments = |speaker: Option<&str>| {
        first["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|chapter| chapter["segments"].as_array().unwrap())
            .filter(|segment| speaker.is_none_or(|s| segment["speaker"] == s))
            .count() as u64
    };
    assert_eq!(segments(None), total);
    // espeak segments are synthesised in chunks, each keyed by what it
    // was spoken after, so a repeated line ("said Ann.") is usually
    // synthesised again; only a chunk identical in every line is shared.
    let synthesised = first["stats"]["synthesised"].as_u64().unwrap();
    assert!(
        synthesised > total / 2 && synthesised <= total,
        "{synthesised} of {total}"
    );
    assert_eq!(
        cached_segments(&rendered.dir.join("out")) as u64,
        synthesised
    );
    let bob = segments(Some("Bob"));
    assert!(bob >= 6 && bob < total, "{bob} of {total}");

    let again = render(rendered.then(), "out", &[]);
    assert_eq!(again.manifest("out")["stats"]["synthesised"], 0);
    assert!(
        again
            .stderr
            .contains(&format!("{total} segments: 0 synthesised, {total} reused")),
        "{}",
        again.stderr
    );

    let changed = render(again.then().voices(&voices("en-us+m5")), "out", &[]);
    let manifest = changed.manifest("out");
    assert_eq!(
        manifest["stats"]["synthesised"], bob,
        "Bob's lines, and only them"
    );
    assert_eq!(manifest["stats"]["reused"], total - bob);
    assert!(leftovers(&changed.dir.join("out")).is_empty());
}

#[test]
fn jobs_do_not_change_the_bytes() {
    let one = render(Test::new().story(&story(2, 9)), "one", &["--jobs", "1"]);
    let two = render(one.then(), "two", &["--jobs", "2"]);
    assert_eq!(two.wavs("one"), two.wavs("two"));
    // Worth checking: the workers spoke chunks of several sentences each,
    // in whatever order the two of them took them.
    let files = chunk_files(&two.dir.join("two"));
    assert!(
        cached_segments(&two.dir.join("two")) > files,
        "{files} files"
    );
    assert_eq!(two.wavs("one").len(), 2);
}

/// Polls `done` every few milliseconds for up to five minutes (a Kokoro
/// render on a loaded machine is slow to reach its first segments).
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The `.partial-*.wav` files in `out` and their sizes.
fn partial_wavs(out: &Path) -> Vec<u64> {
    std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".partial-") && name.ends_with(".wav")
        })
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .collect()
}

/// Checks that `bytes` is a whole 16-bit mono WAV: its header's sizes
/// match the file's, and every frame it claims is there.
#[track_caller]
fn assert_whole_wav(name: &str, bytes: &[u8]) {
    assert!(bytes.len() >= 44, "{name}: {} bytes", bytes.len());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(&bytes[..4], b"RIFF", "{name}");
    assert_eq!(u32_at(4), bytes.len() - 8, "{name}: RIFF size");
    assert_eq!(&bytes[36..40], b"data", "{name}");
    assert_eq!(u32_at(40), bytes.len() - 44, "{name}: data size");
    let wav = crate::Wav::read(bytes);
    assert_eq!(wav.samples.len() * 2, bytes.len() - 44, "{name}: frames");
    assert!(!wav.samples.is_empty(), "{name}: no audio");
}

#[test]
fn a_render_killed_during_a_chapter_resumes_to_identical_output() {
    // Chapter 2 is long, so that the kill lands while it is being written.
    let text = story_of(&[12, 90, 12]);
    let clean = render(Test::new().story(&text), "clean", &["--jobs", "1"]);
    let total = clean.manifest("clean")["stats"]["segments"]
        .as_u64()
        .unwrap() as usize;
    let clean_wavs = clean.wavs("clean");
    assert_eq!(clean_wavs.len(), 3);

    let test = clean.then();
    let out = test.path().join("killed");
    // Chapter 1 finished, chapter 2's temporary WAV open and being written.
    let done = render_killed_when(
        &test,
        "killed",
        "chapter 1, then chapter 2 under way",
        |out| {
            out.join("01-chapter-1.wav").exists() && partial_wavs(out).iter().any(|&len| len > 44)
        },
    );
    assert!(done < total, "killed after {done} of {total} segments");

    // Under its final name, only the finished chapter, whole: its header,
    // every frame, the same bytes as the uninterrupted render's.
    let finals: Vec<(String, Vec<u8>)> = crate::wavs(&out)
        .into_iter()
        .filter(|(name, _)| !name.starts_with(".partial-"))
        .collect();
    assert_eq!(
        finals.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["01-chapter-1.wav"]
    );
    for (name, bytes) in &finals {
        assert_whole_wav(name, bytes);
        assert_eq!(
            Some((name, bytes)),
            clean_wavs
                .iter()
                .find(|c| &c.0 == name)
                .map(|c| (&c.0, &c.1))
        );
    }
    assert!(
        !out.join("manifest.json").exists(),
        "no manifest until the end"
    );

    let resumed = render(test, "killed", &["--jobs", "2"]);
    assert_resumed_from_cache(&resumed, "killed", done, total);
    let mut resumed_manifest = resumed.manifest("killed");
    assert_eq!(resumed.wavs("killed"), clean_wavs);
    let mut clean = resumed.manifest("clean");
    clean["stats"] = serde_json::Value::Null;
    resumed_manifest["stats"] = serde_json::Value::Null;
    assert_eq!(clean, resumed_manifest);
    assert!(leftovers(&resumed.dir.join("killed")).is_empty());
}

/// Starts `castbook render story.txt -o OUT --quiet --jobs 1` in `test`'s
/// folder, kills it with SIGKILL once `ready(OUT)` holds, and returns how
/// many segments it had cached by then.
#[track_caller]
pub(crate) fn render_killed_when(
    test: &Test,
    out: &str,
    what: &str,
    mut ready: impl FnMut(&Path) -> bool,
) -> usize {
    let out_dir = test.path().join(out);
    let mut child = test
        .command()
        .args(["render", "story.txt", "-o", out, "--quiet", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(what, || ready(&out_dir));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    cached_segments(&out_dir)
}

/// Checks that the render into `out` took every segment the killed one
/// had cached (`done`) from the cache, and synthesised the rest.
#[track_caller]
pub(crate) fn assert_resumed_from_cache(resumed: &Outcome, out: &str, done: usize, total: usize) {
    let reused = resumed.manifest(out)["stats"]["reused"].as_u64().unwrap() as usize;
    assert!(
        reused >= done && reused < total,
        "{reused} reused, {done} cached"
    );
}

/// The ids of `pid`'s child processes that are still running (not zombies).
fn live_children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
                fields[1] == pid.to_string() && fields[0] != "Z"
            })
        })
        .collect()
}

/// Whether process `pid` is a live castbook worker.
fn is_live_worker(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state
        .rfind(')')
        .is_some_and(|at| state[at + 2..].starts_with('Z'));
    !zombie && cmdline.split(|&b| b == 0).any(|arg| arg == b"__worker")
}

#[test]
fn workers_end_when_the_render_is_killed() {
    let test = Test::new().story(&story(2, 90));
    let out = test.path().join("out");
    let mut render = test
        .command()
        .args(["render", "story.txt", "-o", "out", "--quiet", "--jobs", "2"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut workers = Vec::new();
    wait_for("two workers at work", || {
        workers = live_children(render.id());
        workers.len() == 2 && cached_segments(&out) > 0
    });
    assert!(workers.iter().all(|&w| is_live_worker(w)), "{workers:?}");
    render.kill().unwrap(); // SIGKILL: the render gets no chance to stop them
    render.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while workers.iter().any(|&w| is_live_worker(w)) {
        assert!(
            Instant::now() < deadline,
            "workers {workers:?} still running 30 s after the render was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_render_into_the_same_folder_is_refused() {
    let test = Test::new().story(&story(3, 90));
    let out = test.path().join("out");
    let mut first = test
        .command()
        .args(["render", "story.txt", "-o", "out", "--quiet", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first render under way", || cached_segments(&out) > 0);
    let second = test
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(1);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first render finished before the second started: make it longer"
    );
    insta::assert_snapshot!(second.stderr_redacted(), @"castbook: error: out: another castbook render is using this folder");
    // The same for another output folder sharing its cache.
    let shared_cache = second
        .then()
        .args(&[
            "render",
            "story.txt",
            "-o",
            "other",
            "--cache",
            "out/.cache",
            "--quiet",
        ])
        .fails(1);
    insta::assert_snapshot!(shared_cache.stderr_redacted(), @"castbook: error: out/.cache: another castbook render is using this folder");
    assert!(
        first.wait().unwrap().success(),
        "the first render is unharmed"
    );
    let finished = shared_cache.then();
    assert_eq!(crate::wavs(&finished.path().join("out")).len(), 3);
    assert!(leftovers(&finished.path().join("out")).is_empty());
}

#[test]
fn a_full_disk_is_a_one_line_error_that_keeps_the_old_files() {
    // One chapter (about 5.5 MB of WAV) from small chunks (the largest
    // about 2 MB): at 3 MB a file, the cache fills, and the chapter's
    // WAV fails partway.
    const LIMIT: u64 = 3_000_000;
    let voices = |bob_volume: f32| format!("{}volume = {bob_volume}\n", voices("en-us+m3"));
    let full = Test::new()
        .story(&story(1, 30))
        .voices(&voices(1.0))
        .file_size_limit(LIMIT)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(1);
    let out = full.dir.join("out");
    insta::assert_snapshot!(full.stderr_redacted(), @"castbook: error: out/01-chapter-1.wav: cannot write WAV: File too large (os error 27)");
    assert!(
        crate::wavs(&out).is_empty(),
        "no WAV, not even a partial one"
    );
    assert!(!out.join("manifest.json").exists());
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));

    // With room, it renders; then a change that re-mixes the chapter (a
    // volume) fails on the full disk and leaves everything as it was.
    let done = render(full.then(), "out", &[]);
    let files = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.ends_with(".castbook.lock"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let before = files(&out);
    assert_eq!(before.len(), 2, "the chapter and manifest.json");
    let refused = done
        .then()
        .voices(&voices(0.5))
        .file_size_limit(LIMIT)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(1);
    insta::assert_snapshot!(refused.stderr_redacted(), @"castbook: error: out/01-chapter-1.wav: cannot write WAV: File too large (os error 27)");
    assert_eq!(files(&out), before);
    assert!(leftovers(&out).is_empty());
}

#[test]
fn a_cache_folder_given_with_cache_serves_several_outputs() {
    let first = render(Test::new().story(&story(2, 6)), "a", &["--cache", "shared"]);
    assert!(
        !first.dir.join("a/.cache").exists(),
        "no cache beside the output"
    );
    let segments = first.manifest("a")["stats"]["synthesised"]
        .as_u64()
        .unwrap();
    assert_eq!(
        cached_segments_in(&first.dir.join("shared")) as u64,
        segments
    );
    let second = render(first.then(), "b", &["--cache", "shared"]);
    assert_eq!(second.manifest("b")["stats"]["synthesised"], 0);
    assert_eq!(second.wavs("a"), second.wavs("b"));
    let stats = second.then().args(&["cache", "stats", "shared"]).succeeds();
    assert!(
        stats.stdout.contains(&format!("segments: {segments} (")),
        "{}",
        stats.stdout
    );
    assert!(
        stats.stdout.contains("finished chapters: 2"),
        "{}",
        stats.stdout
    );
}

#[test]
fn a_volume_change_remixes_only_that_chapter() {
    // Bob speaks only in chapter 2.
    let text = "The Test\n\nChapter 1\n\n\"Good morning,\" said Ann.\n\nChapter 2\n\n\"Hello,\" said Ann.\n\n\"Good day to you,\" said Bob.\n";
    let voices = |volume: &str| format!("{}volume = {volume}\n", voices("en-us+m3"));
    let first = render(Test::new().story(text).voices(&voices("1.0")), "out", &[]);
    let wav = |outcome: &Outcome, name: &str| outcome.read(&format!("out/{name}"));
    let mtime = |outcome: &Outcome, name: &str| {
        std::fs::metadata(outcome.dir.join("out").join(name))
            .unwrap()
            .modified()
            .unwrap()
    };
    let (one, two) = ("01-chapter-1.wav", "02-chapter-2.wav");
    let (mtime_one, loud) = (mtime(&first, one), wav(&first, two));
    let quieter = render(first.then().voices(&voices("0.5")), "out", &[]);
    let stats = &quieter.manifest("out")["stats"];
    assert_eq!(stats["synthesised"], 0, "the audio is reused: {stats}");
    assert_eq!(mtime(&quieter, one), mtime_one, "chapter 1 untouched");
    assert_ne!(wav(&quieter, two), loud, "chapter 2 mixed again");
    let fresh = render(quieter.then(), "fresh", &[]);
    assert_eq!(fresh.read(&format!("fresh/{two}")), wav(&fresh, two));
}

#[test]
fn chapter_subsets_are_recorded_in_the_manifest() {
    let rendered = render(
        Test::new().story(&story(3, 3)),
        "out",
        &["--chapters", "2-3"],
    );
    let manifest = rendered.manifest("out");
    assert_eq!(manifest["chapters_in_book"], 3);
    assert_eq!(manifest["chapters_present"], serde_json::json!([2, 3]));
    let names: Vec<String> = rendered.wavs("out").into_iter().map(|w| w.0).collect();
    assert_eq!(names, ["02-chapter-2.wav", "03-chapter-3.wav"]);
}

#[test]
fn chapters_that_do_not_exist_are_a_usage_error() {
    let outcome = Test::new()
        .story(&story(3, 3))
        .args(&["render", "story.txt", "-o", "out", "--chapters", "7-9"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: --chapters 7-9: no such chapter; story.txt has chapters 1-3");
    assert!(!outcome.dir.join("out").exists());
}

#[test]
fn an_unwritable_output_is_named_and_leaves_nothing() {
    let outcome = Test::new()
        .story(&story(1, 3))
        .file("out", "a file where the folder should be")
        .args(&["render", "story.txt", "-o", "out/book", "--quiet"])
        .fails(1);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: out/book: Not a directory (os error 20)");
    assert_eq!(outcome.read("out"), b"a file where the folder should be");
}

#[test]
fn cache_stats_and_clear() {
    let rendered = render(Test::new().story(&story(1, 3)), "out", &[]);
    let segments = rendered.manifest("out")["stats"]["segments"]
        .as_u64()
        .unwrap();
    let stats = rendered
        .then()
        .args(&["cache", "stats", "-o", "out"])
        .stderr("")
        .succeeds();
    assert!(
        stats.stdout.contains(&format!("segments: {segments} (")),
        "{}",
        stats.stdout
    );
    assert!(
        stats.stdout.contains("finished chapters: 1"),
        "{}",
        stats.stdout
    );
    let clear = stats
        .then()
        .args(&["cache", "clear", "out/.cache"])
        .stderr("")
        .succeeds();
    assert!(
        clear
            .stdout
            .starts_with(&format!("removed {segments} segments")),
        "{}",
        clear.stdout
    );
    assert_eq!(cached_segments(&clear.dir.join("out")), 0);
    assert_eq!(clear.wavs("out").len(), 1, "clearing keeps the chapters");
}
