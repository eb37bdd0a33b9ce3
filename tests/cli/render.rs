//! `castbook render` with the real espeak-ng engine.

use crate::Test;

fn wav_stats(bytes: &[u8]) -> (u32, f64, f64, f32) {
    let reader = hound::WavReader::new(bytes).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let seconds = samples.len() as f64 / f64::from(spec.sample_rate);
    let rms = (samples
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum::<f64>()
        / samples.len() as f64)
        .sqrt();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0) as f32 / 32768.0;
    (spec.sample_rate, seconds, rms, peak)
}

#[test]
fn renders_chapters_with_distinct_voices_and_a_manifest() {
    let story = "The Test\n\nChapter 1\n\nAnn walked in. \"Good morning,\" said Ann. \"Is the kettle on?\"\n\n\"It is,\" Bob replied. He smiled at her.\n\nChapter 2: Later\n\n\"Goodbye,\" said Cleo.\n";
    let outcome = Test::new()
        .story(story)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest: serde_json::Value =
        serde_json::from_slice(&outcome.read("out/manifest.json")).unwrap();
    let chapters = manifest["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 2);
    assert_eq!(chapters[0]["file"], "01-chapter-1.wav");
    assert_eq!(chapters[1]["file"], "02-chapter-2-later.wav");
    let mut voices = std::collections::BTreeMap::new();
    for chapter in chapters {
        for seg in chapter["segments"].as_array().unwrap() {
            voices.insert(
                seg["speaker"].as_str().unwrap_or("(narrator)").to_owned(),
                seg["voice"].as_str().unwrap().to_owned(),
            );
        }
        let (rate, seconds, rms, peak) =
            wav_stats(&outcome.read(&format!("out/{}", chapter["file"].as_str().unwrap())));
        assert_eq!(rate, 22050);
        assert!((seconds - chapter["duration_s"].as_f64().unwrap()).abs() < 0.01);
        assert!(rms > 0.01, "too quiet: rms {rms}");
        assert!(peak < 1.0, "clipped");
    }
    assert_eq!(
        voices.keys().collect::<Vec<_>>(),
        ["(narrator)", "Ann", "Bob", "Cleo"]
    );
    let mut distinct: Vec<&String> = voices.values().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{voices:?}");
    // ~35 words at ~175 words per minute plus pauses.
    let total: f64 = chapters
        .iter()
        .map(|c| c["duration_s"].as_f64().unwrap())
        .sum();
    assert!((8.0..30.0).contains(&total), "{total} s");
}
