//! `render --format m4b|mp3|opus|flac`, `--master acx`, `--subtitles`
//! and `castbook check`, checked with ffmpeg's own meters and ffprobe.

use std::path::Path;
use std::process::Command;

use crate::{Test, sample_story};

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// ffmpeg's true peak (ebur128) and RMS (astats) of `file`, from `start`
/// to `end` seconds when given.
fn loudness(file: &Path, span: Option<(f64, f64)>) -> (f64, f64) {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-hide_banner", "-nostats"]);
    if let Some((start, end)) = span {
        command.args(["-ss", &format!("{start:.3}"), "-to", &format!("{end:.3}")]);
    }
    let output = command
        .arg("-i")
        .arg(file)
        .args(["-af", "ebur128=peak=true,astats", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr);
    let after = |label: &str| -> f64 {
        let at = log
            .rfind(label)
            .unwrap_or_else(|| panic!("no {label:?} in {log}"));
        log[at + label.len()..]
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{label}: {log}"))
    };
    // ebur128's summary: "True peak:\n    Peak:  -4.2 dBFS"; astats: "RMS level dB: -20.1".
    let true_peak = {
        let at = log.rfind("True peak:").expect("true peak summary");
        let rest = &log[at..];
        let at = rest.find("Peak:").expect("peak line");
        rest[at + 5..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (true_peak, after("RMS level dB:"))
}

fn ffprobe(file: &Path) -> serde_json::Value {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_chapters",
            "-show_format",
            "-show_streams",
        ])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_acx(what: &str, (peak, rms): (f64, f64)) {
    assert!(peak <= -3.0, "{what}: true peak {peak} dBFS");
    assert!((-23.0..=-18.0).contains(&rms), "{what}: RMS {rms} dB");
}

#[test]
fn sample_story_m4b_and_mp3_meet_acx_in_every_chapter() {
    let outcome = Test::new()
        .story(&sample_story())
        .args(&[
            "render",
            "story.txt",
            "-o",
            "out",
            "--quiet",
            "--format",
            "m4b",
        ])
        .succeeds();
    // ACX figures in the render summary.
    assert_eq!(
        outcome.stderr.matches("ACX ok").count(),
        3,
        "{}",
        outcome.stderr
    );
    let out = outcome.dir.join("out");
    let m = manifest(&out);
    let chapters = m["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 3);
    let m4b = out.join("the-lighthouse-keepers.m4b");
    let mut start = 0.0;
    for chapter in chapters {
        let end = start + chapter["duration_s"].as_f64().unwrap();
        assert_acx(
            &format!("m4b {start}..{end}"),
            loudness(&m4b, Some((start, end))),
        );
        start = end;
    }
    // The second render reuses every segment and chapter: only MP3s are made.
    let outcome = outcome
        .then()
        .story(&sample_story())
        .args(&[
            "render",
            "story.txt",
            "-o",
            "out",
            "--quiet",
            "--format",
            "mp3",
        ])
        .succeeds();
    assert!(
        outcome.stderr.contains("0 synthesised"),
        "{}",
        outcome.stderr
    );
    for chapter in chapters {
        let mp3 = out.join(Path::new(chapter["file"].as_str().unwrap()).with_extension("mp3"));
        assert_acx(&mp3.display().to_string(), loudness(&mp3, None));
        let probe = ffprobe(&mp3);
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_name"], "mp3");
        assert_eq!(stream["sample_rate"], "44100");
        assert_eq!(
            probe["format"]["bit_rate"]
                .as_str()
                .map(|b| b.starts_with("192")),
            Some(true),
            "{probe}"
        );
        let tags = &probe["format"]["tags"];
        assert_eq!(tags["title"], chapter["title"]);
        assert_eq!(tags["album"], "The Lighthouse Keepers");
    }
    let check = outcome.then().args(&["check", "out"]).succeeds();
    assert_eq!(
        check.stdout.matches("ACX ok").count(),
        3,
        "{}",
        check.stdout
    );
}

#[test]
fn epub_m4b_has_chapters_tags_and_cover() {
    let epub = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glass-orchard-epub3.epub"),
    )
    .unwrap();
    let outcome = Test::new()
        .file("orchard.epub", epub)
        .args(&[
            "render",
            "orchard.epub",
            "-o",
            "out",
            "--quiet",
            "--format",
            "m4b",
            "--subtitles",
            "vtt",
        ])
        .succeeds();
    let out = outcome.dir.join("out");
    let m = manifest(&out);
    assert_eq!(m["author"], "Mara Quill");
    assert_eq!(m["cover"], "cover.jpg");
    let probe = ffprobe(&out.join("the-glass-orchard.m4b"));
    let chapters = probe["chapters"].as_array().unwrap();
    let entries = m["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), entries.len());
    let mut start = 0.0;
    for (chapter, entry) in chapters.iter().zip(entries) {
        assert_eq!(chapter["tags"]["title"], entry["title"]);
        let probed: f64 = chapter["start_time"].as_str().unwrap().parse().unwrap();
        assert!((probed - start).abs() <= 0.05, "{probed} vs {start}");
        start += entry["duration_s"].as_f64().unwrap();
    }
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - start).abs() < 0.2, "{duration} vs {start}");
    let tags = &probe["format"]["tags"];
    assert_eq!(tags["title"], "The Glass Orchard");
    assert_eq!(tags["artist"], "Mara Quill");
    let streams = probe["streams"].as_array().unwrap();
    assert!(
        streams
            .iter()
            .any(|s| s["disposition"]["attached_pic"] == 1),
        "no cover: {streams:?}"
    );
    // Subtitles: one per chapter, one for the book, timed from the manifest.
    let vtt = std::fs::read_to_string(out.join("01-the-letter.vtt")).unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n"), "{vtt}");
    let first = &entries[0]["segments"][0];
    assert!(vtt.contains(first["text"].as_str().unwrap()), "{vtt}");
    let book = std::fs::read_to_string(out.join("the-glass-orchard.vtt")).unwrap();
    let cues = entries
        .iter()
        .map(|e| e["segments"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(book.matches(" --> ").count(), cues);
}

#[test]
fn rerendering_reencodes_only_changed_chapters_and_leaves_no_partials() {
    let story = |ending: &str| {
        format!(
            "Tale\n\nChapter 1\n\n\"Hello,\" said Ann.\n\nChapter 2\n\n\"Bye,\" said Bob.\n\nChapter 3\n\n{ending}\n"
        )
    };
    let render = |test: Test, text: &str| {
        test.story(text)
            .args(&[
                "render",
                "story.txt",
                "-o",
                "out",
                "--quiet",
                "--format",
                "opus",
                "--subtitles",
                "srt",
                "--subtitles-speakers",
            ])
            .succeeds()
    };
    let first = render(Test::new(), &story("The end."));
    assert!(
        first
            .stderr
            .contains("opus: 3 file(s) encoded, 0 already up to date"),
        "{}",
        first.stderr
    );
    let srt = String::from_utf8(first.read("out/01-chapter-1.srt")).unwrap();
    assert!(srt.contains("\nAnn: Hello,\n"), "{srt}");
    let again = render(first.then(), &story("The end."));
    assert!(
        again
            .stderr
            .contains("opus: 0 file(s) encoded, 3 already up to date"),
        "{}",
        again.stderr
    );
    let changed = render(again.then(), &story("The very end."));
    assert!(
        changed
            .stderr
            .contains("opus: 1 file(s) encoded, 2 already up to date"),
        "{}",
        changed.stderr
    );
    let leftovers: Vec<String> = std::fs::read_dir(changed.dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn wav_output_is_unmastered_unless_asked_and_check_says_so() {
    let story = "Tale\n\n\"Hello there, how are you today?\" said Ann loudly.\n";
    let plain = Test::new()
        .story(story)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    assert!(!plain.stderr.contains("ACX"), "{}", plain.stderr);
    let check = plain.then().args(&["check", "out"]).fails(1);
    assert!(
        check.stderr.contains("outside ACX's limits"),
        "{}",
        check.stderr
    );
    let mastered = check
        .then()
        .story(story)
        .args(&[
            "render",
            "story.txt",
            "-o",
            "out",
            "--quiet",
            "--master",
            "acx",
        ])
        .succeeds();
    assert!(mastered.stderr.contains("ACX ok"), "{}", mastered.stderr);
    mastered.then().args(&["check", "out"]).succeeds();
}

#[test]
fn a_missing_ffmpeg_is_named_before_rendering() {
    let empty = tempfile::tempdir().unwrap();
    let outcome = Test::new()
        .story("Tale\n\nHello.\n")
        .env("PATH", &empty.path().display().to_string())
        .args(&["render", "story.txt", "-o", "out", "--format", "mp3"])
        .fails(1);
    insta::assert_snapshot!(outcome.stderr.trim(), @"castbook: error: ffmpeg not found; --format mp3 needs it: install the Debian package ffmpeg (scripts/setup does)");
    assert!(!outcome.dir.join("out").exists());
}
