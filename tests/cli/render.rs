//! `castbook render` with the real espeak-ng engine.

use crate::Test;

#[test]
fn renders_chapters_with_distinct_voices_and_a_manifest() {
    let story = "The Test\n\nChapter 1\n\nAnn walked in. \"Good morning,\" said Ann. \"Is the kettle on?\"\n\n\"It is,\" Bob replied. He smiled at her.\n\nChapter 2: Later\n\n\"Goodbye,\" said Cleo.\n";
    let outcome = Test::new()
        .story(story)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let manifest = outcome.manifest("out");
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
        let wav = outcome.wav(&format!("out/{}", chapter["file"].as_str().unwrap()));
        assert_eq!(wav.rate, 22050);
        assert!((wav.seconds() - chapter["duration_s"].as_f64().unwrap()).abs() < 0.01);
        let rms = wav.rms(0.0, wav.seconds());
        assert!(rms > 0.01, "too quiet: rms {rms}");
        assert!(wav.peak() < 32767, "clipped");
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
