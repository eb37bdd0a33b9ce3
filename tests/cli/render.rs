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

#[test]
fn verbose_names_the_encoding_it_decoded() {
    // windows-1252: é is 0xE9, the euro sign 0x80, curly quotes 0x93/0x94.
    let story = b"The Caf\xe9\n\n\x93Voil\xe0,\x94 said Ann. \x93It costs \x80 5.\x94\n";
    let outcome = Test::new()
        .file("story.txt", story)
        .args(&["render", "story.txt", "-o", "out", "--quiet", "-v"])
        .succeeds();
    let first = outcome.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, "castbook: story.txt: decoded as windows-1252");
    let manifest = outcome.manifest("out");
    let said: Vec<&str> = manifest["chapters"][0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    // Quote marks are not spoken, so the manifest's text is without them.
    assert_eq!(said, ["The Café", "Voilà,", "said Ann.", "It costs € 5."]);
    // Without -v, nothing about it.
    let quiet = outcome
        .then()
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    assert!(!quiet.stderr.contains("decoded as"), "{}", quiet.stderr);
}
