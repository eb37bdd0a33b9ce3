//! Kokoro tests on the real model and voices (installed by
//! `scripts/setup --kokoro`, which `scripts/test` runs).

use super::*;
use crate::synth::Engines;

fn engine() -> Kokoro {
    test_install();
    Kokoro::new(&EngineSettings::default())
}

fn voice(id: &str) -> Voice {
    Voice::new(EngineKind::Kokoro, id)
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Median fundamental frequency (Hz) of the voiced 40 ms frames, by
/// autocorrelation over 60–400 Hz.
fn median_pitch(clip: &Clip) -> f32 {
    let rate = clip.sample_rate as usize;
    let frame = rate / 25;
    let samples = clip.to_f32();
    let loud = rms(&samples) * 0.5;
    let mut pitches = Vec::new();
    for window in samples.chunks_exact(frame) {
        if rms(window) < loud {
            continue;
        }
        let correlation = |lag: usize| -> f32 {
            window[..frame - lag]
                .iter()
                .zip(&window[lag..])
                .map(|(a, b)| a * b)
                .sum()
        };
        let energy = correlation(0);
        let (lag, best) = (rate / 400..rate / 60)
            .map(|lag| (lag, correlation(lag)))
            .fold((0, f32::MIN), |best, c| if c.1 > best.1 { c } else { best });
        // Voiced: a clear period.
        if best > 0.5 * energy {
            pitches.push(rate as f32 / lag as f32);
        }
    }
    assert!(pitches.len() > 10, "only {} voiced frames", pitches.len());
    pitches.sort_by(f32::total_cmp);
    pitches[pitches.len() / 2]
}

/// Seconds of silence (|s| < 0.01 of the peak, in 10 ms frames) at the
/// start and end of a clip.
fn edge_silence(clip: &Clip) -> (f64, f64) {
    let frame = clip.sample_rate as usize / 100;
    let samples = clip.to_f32();
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    let quiet: Vec<bool> = samples
        .chunks(frame)
        .map(|w| w.iter().all(|s| s.abs() < 0.01 * peak))
        .collect();
    let lead = quiet.iter().take_while(|q| **q).count();
    let tail = quiet.iter().rev().take_while(|q| **q).count();
    (lead as f64 / 100.0, tail as f64 / 100.0)
}

#[test]
fn renders_real_speech() {
    let mut engine = engine();
    let heart = voice("af_heart");
    engine.check_voice(&heart.id).unwrap();
    let text = "The quick brown fox jumps over the lazy dog. Then it runs away, far away!";
    let clip = engine.synthesize(text, &heart).unwrap();
    assert_eq!(clip.sample_rate, 24_000);
    let seconds = clip.duration_s();
    // 15 words at 120–250 words per minute.
    assert!((3.6..7.5).contains(&seconds), "{seconds} s");
    let samples = clip.to_f32();
    assert!(samples.iter().all(|s| s.is_finite() && s.abs() < 1.0));
    assert!(rms(&samples) > 0.01, "too quiet: {}", rms(&samples));
    let (lead, tail) = edge_silence(&clip);
    assert!(
        lead < 0.5 && tail < 0.8,
        "silence: {lead} s before, {tail} s after"
    );
    // Speech throughout: no stretch of silence longer than a pause.
    let frame = 2400;
    let longest_gap = samples
        .chunks(frame)
        .map(|w| rms(w) < 0.005)
        .fold((0, 0), |(run, best), quiet| {
            let run = if quiet { run + 1 } else { 0 };
            (run, best.max(run))
        })
        .1;
    assert!(
        longest_gap <= 8,
        "{longest_gap} silent 100 ms frames in a row"
    );

    // rate 1.25 shortens it by about 1/1.25; a batch keeps its order.
    let mut fast = heart.clone();
    fast.rate = 1.25;
    let batch = engine.synthesize_batch(&[(text, &fast), ("One.", &heart), (text, &heart)]);
    let durations: Vec<f64> = batch
        .iter()
        .map(|c| c.as_ref().unwrap().duration_s())
        .collect();
    assert!(durations[1] < durations[0] / 2.0, "{durations:?}");
    let ratio = durations[0] / durations[2];
    assert!((0.7..0.9).contains(&ratio), "rate 1.25 gave {ratio}");
    // Deterministic: the same input gives the same samples.
    assert_eq!(batch[2].as_ref().unwrap(), &clip);
}

/// Every letter of the alphabet several times over, and the sounds that
/// need espeak's tied IPA or an accent rule (diphthongs, affricates,
/// r-coloured vowels, flaps, syllabic consonants).
const PANGRAMS: &str = "The quick brown fox jumps over the lazy dog. Pack my box with five \
    dozen liquor jugs! How vexingly quick daft zebras jump; the five boxing wizards jump \
    quickly. Sphinx of black quartz, judge my vow: a merchant's chair, a bottle of water, \
    and a little button for the nurse's curious child. Joy, though, was where the fair \
    year turned, sure enough, into thought.";

#[test]
fn no_phoneme_of_a_pangram_paragraph_is_lost() {
    for name in ["af_heart", "bm_george"] {
        let mut engine = engine();
        let prepared = engine.prepare(PANGRAMS, &voice(name)).unwrap();
        // Nothing outside Kokoro's English set, nothing without a token.
        assert_eq!(engine.take_notes(), Vec::<String>::new(), "{name}");
        // Every phoneme the translation produced became a token: compare
        // with the same text's phonemes counted independently.
        let (install, _) = engine.install().unwrap();
        let accent = voice_traits(name).unwrap().0;
        let clauses = espeak::lock()
            .unwrap()
            .text_to_phonemes(accent.espeak_voice(), PANGRAMS, espeak::Ipa::Tied)
            .unwrap();
        let phonemes: usize = clauses
            .iter()
            .map(|c| {
                translate(&runs::strip_language_flags(&c.phonemes), accent)
                    .phonemes
                    .chars()
                    .filter(|c| *c != ' ')
                    .count()
            })
            .sum();
        let tokens: Vec<i64> = prepared
            .runs
            .iter()
            .flat_map(|run| run.tokens[1..run.tokens.len() - 1].to_vec())
            .collect();
        let space = install.vocab[&' '];
        let punctuation: Vec<i64> = phonemes::PUNCTUATION
            .chars()
            .filter_map(|c| install.vocab.get(&c).copied())
            .collect();
        let spoken = tokens
            .iter()
            .filter(|t| **t != space && !punctuation.contains(t))
            .count();
        assert_eq!(
            spoken, phonemes,
            "{name}: phonemes lost on the way to tokens"
        );
        // Every sentence and clause mark reached the model.
        let marks = |c| tokens.iter().filter(|t| **t == install.vocab[&c]).count();
        for mark in ['.', '!', ';', ':', ','] {
            let written = PANGRAMS.chars().filter(|c| *c == mark).count();
            assert_eq!(marks(mark), written, "{name}: {mark}");
        }
        for run in &prepared.runs {
            assert!(run.tokens.len() <= MAX_TOKENS + 2);
            assert_eq!(run.style, install_row(&engine, name, run.tokens.len() - 2));
        }
        // And the model speaks all of it: at least 50 words' worth.
        let clip = engine.synthesize(PANGRAMS, &voice(name)).unwrap();
        assert!(clip.duration_s() > 14.0, "{name}: {} s", clip.duration_s());
    }
}

fn install_row(engine: &Kokoro, name: &str, tokens: usize) -> Vec<f32> {
    engine.voice_files[name].0.row(tokens).to_vec()
}

#[test]
fn long_sentences_split_under_the_token_limit() {
    let mut engine = engine();
    let clause = "the rabbit ran along the river bank and over the hill";
    let sentence = format!("{}.", [clause; 30].join(", "));
    let prepared = engine.prepare(&sentence, &voice("af_heart")).unwrap();
    assert!(prepared.runs.len() > 3, "{} runs", prepared.runs.len());
    let (install, _) = engine.install().unwrap();
    for run in &prepared.runs[..prepared.runs.len() - 1] {
        assert!(run.tokens.len() - 2 <= MAX_RUN_TOKENS.max(60));
        // Each run but the last ends at a comma: `… , 0`.
        assert_eq!(
            run.tokens[run.tokens.len() - 2],
            install.vocab[&','],
            "{:?}",
            run.tokens
        );
    }
    // One clause longer than the model's limit is cut between words.
    let endless = format!("{}.", ["and the rabbit ran"; 80].join(" "));
    let prepared = engine.prepare(&endless, &voice("af_heart")).unwrap();
    assert!(prepared.runs.len() >= 2);
    assert!(
        prepared
            .runs
            .iter()
            .all(|r| r.tokens.len() <= MAX_TOKENS + 2)
    );
}

#[test]
fn voices_differ_and_blends_lie_between() {
    let mut engine = engine();
    let text = "I have never seen anything like it in all my life, and I hope I never will again.";
    let mut pitch = |id: &str| median_pitch(&engine.synthesize(text, &voice(id)).unwrap());
    let (heart, michael) = (pitch("af_heart"), pitch("am_michael"));
    assert!(
        heart > michael * 1.3,
        "af_heart {heart} Hz, am_michael {michael} Hz"
    );
    let blend = pitch("af_heart*0.5+am_michael*0.5");
    assert!(
        blend > michael * 1.05 && blend < heart * 0.95,
        "blend {blend} Hz between {michael} and {heart}"
    );
}

#[test]
fn british_voices_speak_british_phonemes() {
    let mut engine = engine();
    let prepared =
        |engine: &mut Kokoro, id| engine.prepare("Go and hold the boat.", &voice(id)).unwrap();
    let (install, _) = engine.install().unwrap();
    let has = |p: &Prepared, c| p.runs[0].tokens.contains(&install.vocab[&c]);
    let american = prepared(&mut engine, "af_heart");
    let british = prepared(&mut engine, "bf_emma");
    assert!(has(&american, 'O') && !has(&american, 'Q'));
    assert!(has(&british, 'Q') && !has(&british, 'O'));
}

#[test]
fn voice_ids_are_checked() {
    let mut engine = engine();
    let err = engine.check_voice("af_hart").unwrap_err().to_string();
    assert!(
        err.contains("kokoro:af_hart is not an installed kokoro voice"),
        "{err}"
    );
    assert!(err.contains("did you mean af_heart?"), "{err}");
    assert!(engine.check_voice("af_bella*0.6+af_sky*0.4").is_ok());
    let err = engine.check_voice("af_bella*much").unwrap_err().to_string();
    assert!(err.contains("not a weight"), "{err}");
    let voices = engine.voices().unwrap();
    assert_eq!(voices.len(), 28);
    let george = voices.iter().find(|v| v.id == "bm_george").unwrap();
    assert_eq!(george.gender, Some(crate::core::Gender::Male));
    assert!(george.description.contains("British"));
}

#[test]
fn pitch_is_refused_and_rate_accepted() {
    test_install();
    let mut engines = Engines::new();
    let mut high = voice("af_heart");
    high.pitch = 70.0;
    let err = engines.check_voice(&high).unwrap_err().to_string();
    assert_eq!(
        err,
        "kokoro:af_heart: kokoro voices have no pitch control; leave out pitch (it is 70)"
    );
    let mut quick = voice("af_heart");
    quick.rate = 1.3;
    engines.check_voice(&quick).unwrap();
}

#[test]
fn cache_identity_covers_model_and_voice_files() {
    let mut engine = engine();
    let one = engine.voice_identity("af_heart").unwrap();
    let blend = engine.voice_identity("af_heart+af_sky").unwrap();
    let (_, model) = engine.install().unwrap();
    assert!(one.contains(&model.fingerprint));
    assert_ne!(one, blend);
    assert!(blend.starts_with(&one), "{blend}");
}

#[test]
fn notes_summarise_unusual_phonemes() {
    // espeak-ng's English voices anglicise foreign words, so real text
    // rarely has any (the translation's own test covers finding them).
    let mut engine = engine();
    engine
        .prepare("He said bonjour, déjà vu, naïveté.", &voice("af_heart"))
        .unwrap();
    assert!(engine.take_notes().is_empty());
    engine.unusual.entry('ʁ').or_default().kept += 1;
    engine.unusual.entry('ɫ').or_default().left_out += 2;
    let notes = engine.take_notes();
    assert!(notes.iter().any(|n| n.contains("ʁ ×")), "{notes:?}");
    assert!(
        notes.iter().any(|n| n.contains("left out: ɫ ×2")),
        "{notes:?}"
    );
    assert!(engine.take_notes().is_empty(), "notes are cleared");
}
