//! Whole-novel rendering: the segment cache, resume after kill -9,
//! --jobs, --chapters, `cache stats|clear`, and no partial files.

use std::path::Path;

use crate::{Outcome, Test};

/// A story with `chapters` chapters of `lines` paragraphs each, every
/// sentence distinct; Bob speaks in every third paragraph.
pub(crate) fn story(chapters: usize, lines: usize) -> String {
    let mut text = String::from("The Long Test\n\n");
    for c in 1..=chapters {
        text.push_str(&format!("Chapter {c}\n\n"));
        for n in 1..=lines {
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
    let Ok(shards) = std::fs::read_dir(out.join(".cache/segments")) else {
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

#[test]
fn a_killed_render_resumes_to_identical_output() {
    let clean = render(Test::new().story(&story(3, 60)), "clean", &["--jobs", "1"]);
    let total = clean.manifest("clean")["stats"]["segments"]
        .as_u64()
        .unwrap() as usize;

    let test = clean.then();
    let out = test.path().join("killed");
    let mut child = test
        .command()
        .args(["render", "story.txt", "-o", "killed", "--quiet"])
        .args(["--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cached_segments(&out) < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = cached_segments(&out);
    assert!(done >= 20 && done < total, "killed after {done} of {total}");
    // Whatever the moment, nothing incomplete is under a final name (a
    // chapter being written is a `.partial-*` temporary, swept on resume).
    for (name, bytes) in crate::wavs(&out) {
        if !name.starts_with(".partial-") {
            assert!(hound::WavReader::new(bytes.as_slice()).is_ok(), "{name}");
        }
    }

    let resumed = render(test, "killed", &["--jobs", "2"]);
    let mut resumed_manifest = resumed.manifest("killed");
    let reused = resumed_manifest["stats"]["reused"].as_u64().unwrap() as usize;
    assert!(
        reused >= done && reused < total,
        "{reused} reused, {done} cached"
    );
    assert_eq!(resumed.wavs("killed"), resumed.wavs("clean"));
    let mut clean = resumed.manifest("clean");
    clean["stats"] = serde_json::Value::Null;
    resumed_manifest["stats"] = serde_json::Value::Null;
    assert_eq!(clean, resumed_manifest);
    assert!(leftovers(&resumed.dir.join("killed")).is_empty());
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
