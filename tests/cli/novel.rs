//! Whole-novel rendering: the segment cache, resume after kill -9,
//! --jobs, --chapters, `cache stats|clear`, and no partial files.

use std::path::Path;
use std::process::Command;

use crate::Test;

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

pub(crate) fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn castbook() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_castbook"));
    command
        .env_remove("ORT_DYLIB_PATH")
        .env("CASTBOOK_KOKORO_DIR", crate::NO_KOKORO);
    command
}

fn render(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let output = castbook()
        .current_dir(dir)
        .args(["render", "story.txt", "-o", out, "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Chapter WAVs (name → bytes) in an output folder.
pub(crate) fn wavs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
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
fn chunk_files(dir: &Path, out: &str) -> usize {
    std::fs::read_dir(dir.join(out).join(".cache/segments"))
        .unwrap()
        .map(|s| std::fs::read_dir(s.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn a_voice_change_resynthesises_only_that_characters_segments() {
    let test = Test::new().story(&story(2, 12)).voices(&voices("en-us+m3"));
    let dir = test.path().to_owned();
    render(&dir, "out", &["--jobs", "2"]);
    let first = manifest(&dir.join("out"));
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
    assert_eq!(cached_segments(&dir.join("out")) as u64, synthesised);
    let bob = segments(Some("Bob"));
    assert!(bob >= 6 && bob < total, "{bob} of {total}");

    let again = render(&dir, "out", &[]);
    assert_eq!(manifest(&dir.join("out"))["stats"]["synthesised"], 0);
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains(&format!("{total} segments: 0 synthesised, {total} reused")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    std::fs::write(dir.join("voices.toml"), voices("en-us+m5")).unwrap();
    render(&dir, "out", &[]);
    let changed = manifest(&dir.join("out"));
    assert_eq!(
        changed["stats"]["synthesised"], bob,
        "Bob's lines, and only them"
    );
    assert_eq!(changed["stats"]["reused"], total - bob);
    assert!(leftovers(&dir.join("out")).is_empty());
    let _keep = test;
}

#[test]
fn jobs_do_not_change_the_bytes() {
    let test = Test::new().story(&story(2, 9));
    let dir = test.path().to_owned();
    render(&dir, "one", &["--jobs", "1"]);
    render(&dir, "two", &["--jobs", "2"]);
    assert_eq!(wavs(&dir.join("one")), wavs(&dir.join("two")));
    // Worth checking: the workers spoke chunks of several sentences each,
    // in whatever order the two of them took them.
    let files = chunk_files(&dir, "two");
    assert!(cached_segments(&dir.join("two")) > files, "{files} files");
    assert_eq!(wavs(&dir.join("one")).len(), 2);
    let _keep = test;
}

#[test]
fn a_killed_render_resumes_to_identical_output() {
    let test = Test::new().story(&story(3, 60));
    let dir = test.path().to_owned();
    render(&dir, "clean", &["--jobs", "1"]);
    let total = manifest(&dir.join("clean"))["stats"]["segments"]
        .as_u64()
        .unwrap() as usize;

    let mut child = castbook()
        .current_dir(&dir)
        .args([
            "render",
            "story.txt",
            "-o",
            "killed",
            "--quiet",
            "--jobs",
            "1",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cached_segments(&dir.join("killed")) < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = cached_segments(&dir.join("killed"));
    assert!(done >= 20 && done < total, "killed after {done} of {total}");
    // Whatever the moment, nothing incomplete is under a final name (a
    // chapter being written is a `.partial-*` temporary, swept on resume).
    for (name, bytes) in wavs(&dir.join("killed")) {
        if !name.starts_with(".partial-") {
            assert!(hound::WavReader::new(bytes.as_slice()).is_ok(), "{name}");
        }
    }

    render(&dir, "killed", &["--jobs", "2"]);
    let resumed = manifest(&dir.join("killed"));
    let reused = resumed["stats"]["reused"].as_u64().unwrap() as usize;
    assert!(
        reused >= done && reused < total,
        "{reused} reused, {done} cached"
    );
    assert_eq!(wavs(&dir.join("killed")), wavs(&dir.join("clean")));
    let mut clean = manifest(&dir.join("clean"));
    let mut resumed = resumed;
    clean["stats"] = serde_json::Value::Null;
    resumed["stats"] = serde_json::Value::Null;
    assert_eq!(clean, resumed);
    assert!(leftovers(&dir.join("killed")).is_empty());
    let _keep = test;
}

#[test]
fn chapter_subsets_are_recorded_in_the_manifest() {
    let test = Test::new().story(&story(3, 3));
    let dir = test.path().to_owned();
    render(&dir, "out", &["--chapters", "2-3"]);
    let manifest = manifest(&dir.join("out"));
    assert_eq!(manifest["chapters_in_book"], 3);
    assert_eq!(manifest["chapters_present"], serde_json::json!([2, 3]));
    let names: Vec<String> = wavs(&dir.join("out")).into_iter().map(|w| w.0).collect();
    assert_eq!(names, ["02-chapter-2.wav", "03-chapter-3.wav"]);
    let _keep = test;
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
    let test = Test::new().story(&story(1, 3));
    let dir = test.path().to_owned();
    render(&dir, "out", &[]);
    let segments = manifest(&dir.join("out"))["stats"]["segments"]
        .as_u64()
        .unwrap();
    let stats = castbook()
        .current_dir(&dir)
        .args(["cache", "stats", "-o", "out"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(text.contains(&format!("segments: {segments} (")), "{text}");
    assert!(text.contains("finished chapters: 1"), "{text}");
    let clear = castbook()
        .current_dir(&dir)
        .args(["cache", "clear", "out/.cache"])
        .output()
        .unwrap();
    assert!(clear.status.success());
    assert!(
        String::from_utf8_lossy(&clear.stdout).starts_with(&format!("removed {segments} segments")),
        "{}",
        String::from_utf8_lossy(&clear.stdout)
    );
    assert_eq!(cached_segments(&dir.join("out")), 0);
    assert_eq!(
        wavs(&dir.join("out")).len(),
        1,
        "clearing keeps the chapters"
    );
    let _keep = test;
}
