//! `castbook render` with real Piper voices (ONNX Runtime + the joe test
//! voice from the project .venv). These tests FAIL, never skip, when the
//! voice is missing: CI installs it with scripts/setup.

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
    let test = Test::new();
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
    let test = Test::new();
    let dir = test.path().join("voices");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&model, dir.join("m.onnx")).unwrap();
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
    // Another voice behind the same file name: nothing old may be reused.
    let mut json: serde_json::Value = serde_json::from_slice(&config).unwrap();
    json["inference"]["length_scale"] = 1.3.into();
    std::fs::write(again.dir.join("voices/m.onnx.json"), json.to_string()).unwrap();
    let replaced = again.then().args(&render).succeeds();
    assert_eq!(stats(&replaced), (synthesised, 0));
}

#[test]
fn a_model_can_be_named_without_its_path() {
    let model = joe();
    let name = model.file_stem().unwrap().to_str().unwrap().to_owned();
    let outcome = Test::new()
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
