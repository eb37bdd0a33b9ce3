//! `castbook` with real Kokoro voices (the model and voices that
//! `scripts/setup --kokoro` installs, which scripts/test runs). These tests
//! FAIL, never skip, when Kokoro is missing.

use std::path::{Path, PathBuf};

use crate::novel::{
    assert_resumed_from_cache, cached_segments, leftovers, render_killed_when, story,
};
use crate::piper::{db, joe};
use crate::{Test, sample_story};

fn kokoro_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".models/kokoro");
    assert!(
        dir.join("kokoro-v1.0.qconv.onnx").is_file() && dir.join("voices/af_heart.bin").is_file(),
        "Kokoro is missing from {}: run scripts/setup --kokoro",
        dir.display()
    );
    dir
}

#[test]
fn a_mixed_cast_of_kokoro_piper_and_espeak() {
    kokoro_dir();
    let model = joe();
    let voices = format!(
        r#"
[narrator]
voice = "kokoro:bf_emma"

[characters."Maren Holt"]
aliases = ["Maren"]
voice = "espeak:en-us+f3"

[characters."Tobias Holt"]
aliases = ["Tobias"]
voice = "piper:{model}"

[characters."Isolde Varga"]
aliases = ["Isolde", "the stranger"]
voice = "kokoro:af_bella*0.6+af_sky*0.4"
rate = 1.1
"#,
        model = model.display()
    );
    let story = sample_story();
    let outcome = Test::new()
        .with_kokoro()
        .story(&story)
        .voices(&voices)
        .args(&[
            "render",
            "story.txt",
            "-o",
            "out",
            "--quiet",
            "--chapters",
            "1",
        ])
        .succeeds();
    let manifest = outcome.manifest("out");
    // Kokoro's 24 kHz is the highest rate: Piper's and espeak's 22.05 kHz
    // clips are resampled up to it.
    assert_eq!(manifest["sample_rate"], 24000);
    let mut loudness: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let chapter = &manifest["chapters"][0];
    let wav = outcome.wav(&format!("out/{}", chapter["file"].as_str().unwrap()));
    assert_eq!(wav.rate, 24000);
    assert!(wav.peak() < 32767, "clipped");
    for seg in chapter["segments"].as_array().unwrap() {
        let engine = seg["voice"].as_str().unwrap().split(':').next().unwrap();
        let (start, end) = (
            seg["start_s"].as_f64().unwrap(),
            seg["end_s"].as_f64().unwrap(),
        );
        let rms = wav.rms(start, end);
        assert!(rms > 0.01, "silent segment: {seg}");
        // Speech fills the segment: no long silent stretch inside it.
        let words = seg["text"].as_str().unwrap().split_whitespace().count() as f64;
        assert!(
            end - start < 1.5 + words * 0.6,
            "{:.1} s for {words} words: {seg}",
            end - start
        );
        loudness.entry(engine.to_owned()).or_default().push(db(rms));
    }
    assert_eq!(
        loudness.keys().collect::<Vec<_>>(),
        ["espeak", "kokoro", "piper"],
        "three engines in one chapter"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for other in ["espeak", "piper"] {
        let gap = (mean(&loudness["kokoro"]) - mean(&loudness[other])).abs();
        assert!(gap < 3.0, "kokoro and {other} differ by {gap:.1} dB");
    }
}

/// The cast table's VOICE column for `name`.
fn cast_voice(table: &str, name: &str) -> String {
    table
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().find(|w| w.contains(':')))
        .unwrap_or_else(|| panic!("{name} not in\n{table}"))
        .to_owned()
}

const CHARACTERS: &str = "The Visit\n\n\"Come in,\" said Ann. \"Sit down,\" said Bob. \
    \"Thank you,\" said Carol. \"Tea?\" asked Dave. \"Please,\" said Ann. \
    \"Sugar?\" said Bob.\n";

#[test]
fn kokoro_is_the_auto_cast_default_when_installed() {
    kokoro_dir();
    let cast = |test: Test| test.args(&["cast", "story.txt"]).succeeds().stdout;
    // No voices.toml, or one that names no engine: Kokoro voices, distinct.
    for (test, genders) in [
        (Test::new().with_kokoro().story(CHARACTERS), false),
        (
            Test::new().with_kokoro().story(CHARACTERS).voices(
                "[characters.Ann]\ngender = \"female\"\n[characters.Bob]\ngender = \"male\"\n",
            ),
            true,
        ),
    ] {
        let table = cast(test);
        assert_eq!(
            cast_voice(&table, "(narrator)"),
            "kokoro:af_heart",
            "{table}"
        );
        let chosen: Vec<String> = ["Ann", "Bob", "Carol", "Dave"]
            .iter()
            .map(|n| cast_voice(&table, n))
            .collect();
        assert!(chosen.iter().all(|v| v.starts_with("kokoro:")), "{table}");
        let distinct: std::collections::BTreeSet<&String> = chosen.iter().collect();
        assert_eq!(distinct.len(), 4, "{table}");
        assert!(!chosen.contains(&"kokoro:af_heart".to_owned()), "{table}");
        if genders {
            let female = |v: &str| v.starts_with("kokoro:af_") || v.starts_with("kokoro:bf_");
            assert!(female(&chosen[0]) && !female(&chosen[1]), "{table}");
        }
    }
    // A voices.toml that names an engine keeps the built-in espeak defaults.
    let table = cast(
        Test::new()
            .with_kokoro()
            .story(CHARACTERS)
            .voices("[characters.Ann]\nvoice = \"espeak:en-us+f2\"\n"),
    );
    assert_eq!(cast_voice(&table, "(narrator)"), "espeak:en-us", "{table}");
    assert!(cast_voice(&table, "Bob").starts_with("espeak:"), "{table}");
    // And so does a machine without Kokoro.
    let table = cast(Test::new().story(CHARACTERS));
    assert_eq!(cast_voice(&table, "(narrator)"), "espeak:en-us", "{table}");
}

#[test]
fn voices_lists_the_28_with_gender() {
    kokoro_dir();
    let outcome = Test::new()
        .with_kokoro()
        .args(&["voices", "--engine", "kokoro"])
        .succeeds();
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 28, "{}", outcome.stdout);
    let gender = |id: &str| {
        let line = lines.iter().find(|l| l.starts_with(id)).unwrap();
        line.split_whitespace().nth(1).unwrap().to_owned()
    };
    assert_eq!(gender("kokoro:af_heart "), "female");
    assert_eq!(gender("kokoro:bm_george "), "male");
    assert_eq!(lines.iter().filter(|l| l.contains(" female ")).count(), 15);
}

#[test]
fn say_speaks_a_blend_and_pitch_is_refused() {
    kokoro_dir();
    let outcome = Test::new()
        .with_kokoro()
        .args(&[
            "say",
            "Has anyone seen the lamp oil?",
            "--voice",
            "kokoro:am_michael*0.7+bm_lewis*0.3",
            "-o",
            "say.wav",
        ])
        .succeeds();
    let wav = outcome.wav("say.wav");
    assert_eq!(wav.rate, 24000);
    assert!((1.0..4.0).contains(&wav.seconds()), "{} s", wav.seconds());

    let outcome = Test::new()
        .with_kokoro()
        .story("Hello.\n")
        .voices("[narrator]\nvoice = \"kokoro:af_heart\"\npitch = 70\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voices.toml:2:9: kokoro:af_heart: kokoro voices have no pitch control; leave out pitch (it is 70)");
}

#[test]
fn a_missing_install_names_the_command() {
    let outcome = Test::new()
        .story("Hello.\n")
        .voices("[narrator]\nvoice = \"kokoro:af_heart\"\n")
        .env("CASTBOOK_KOKORO_DIR", "/nonexistent/kokoro")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voices.toml:2:9: kokoro engine is not available: Kokoro is not installed: /nonexistent/kokoro/kokoro-v1.0.qconv.onnx not found; install it with `scripts/setup --kokoro`");
    let outcome = Test::new()
        .with_kokoro()
        .story("Hello.\n")
        .voices("[narrator]\nvoice = \"kokoro:af_hart\"\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voices.toml:2:9: kokoro:af_hart is not an installed kokoro voice; did you mean af_heart?");
}

#[test]
fn a_killed_kokoro_render_resumes_to_identical_chapters() {
    kokoro_dir();
    let render = |test: Test, out: &str, jobs: &str| {
        test.args(&["render", "story.txt", "-o", out, "--quiet", "--jobs", jobs])
            .succeeds()
    };
    let clean = render(
        Test::new().with_kokoro().story(&story(2, 12)).voices(
            "[narrator]\nvoice = \"kokoro:af_heart\"\n\n[characters.Ann]\nvoice = \"kokoro:bf_emma\"\n\n[characters.Bob]\nvoice = \"kokoro:am_michael\"\n",
        ),
        "clean",
        "2",
    );
    let total = clean.manifest("clean")["stats"]["segments"]
        .as_u64()
        .unwrap() as usize;

    let test = clean.then();
    let done = render_killed_when(&test, "killed", "six segments cached", |out| {
        cached_segments(out) >= 6
    });
    assert!(done >= 6 && done < total, "killed after {done} of {total}");

    let resumed = render(test, "killed", "2");
    assert_resumed_from_cache(&resumed, "killed", done, total);
    // Byte-identical chapters, whichever process spoke which sentence.
    assert_eq!(resumed.wavs("killed"), resumed.wavs("clean"));
    assert!(leftovers(&resumed.dir.join("killed")).is_empty());
}

/// The word error rate Kokoro must beat on Piper's plain paragraph: it
/// scores about 0.19 there (joe 0.36-0.40), so a bound tighter than
/// Piper's catches a phoneme mapping that garbles some words, not only
/// gibberish (1.0).
const KOKORO_WER_BOUND: f64 = 0.35;

#[test]
fn kokoro_audio_says_its_words() {
    use crate::piper::PLAIN_WORDS;
    kokoro_dir();
    let story = format!("A Quiet Night\n\n{PLAIN_WORDS}\n");
    let outcome = Test::new()
        .with_kokoro()
        .story(&story)
        .voices("[narrator]\nvoice = \"kokoro:af_heart\"\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest = outcome.manifest("out");
    let wav = outcome
        .dir
        .join("out")
        .join(manifest["chapters"][0]["file"].as_str().unwrap());
    let (wer, heard) = crate::word_error_rate(&wav, &story);
    eprintln!("kokoro af_heart: word error rate {wer:.2}; heard: {heard}");
    assert!(
        wer < KOKORO_WER_BOUND,
        "word error rate {wer:.2} (bound {KOKORO_WER_BOUND}); heard: {heard}"
    );
}
