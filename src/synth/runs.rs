//! Model runs from espeak-ng's phoneme clauses, for the neural engines
//! (Piper and Kokoro both take their phonemes from espeak).
//!
//! A run is one model input. It is a sentence, as the reference tools do,
//! except that a sentence longer than the engine's limit is split at clause
//! punctuation (`,` `;` `:`) into groups of whole clauses: the models speak
//! the pause and intonation of a run's closing comma, and their cost per
//! second of speech grows with the input (tensors outgrow the CPU caches),
//! so runs near the cheap size are both natural and fast. Each clause's
//! phonemes are followed by the punctuation that ended it, which espeak
//! 1.51 drops and [`crate::synth::espeak::Library::text_to_phonemes`]
//! recovers.

use crate::synth::espeak::PhonemeClause;

/// Joins `clauses` into runs of at most `max` chars where clause breaks
/// allow (a single clause longer than `max` stays whole: see
/// [`split_words`]). `phonemes` turns a clause's IPA into the engine's
/// phoneme string. Runs without any phoneme letter are left out.
pub fn runs(
    clauses: &[PhonemeClause],
    max: usize,
    mut phonemes: impl FnMut(&str) -> String,
) -> Vec<String> {
    let length = |s: &str| s.chars().count();
    let mut runs = Vec::new();
    let mut current = String::new();
    for clause in clauses {
        let spoken = phonemes(&strip_language_flags(&clause.phonemes));
        let spoken = spoken.trim();
        if length(&current) + length(spoken) > max && current.ends_with(' ') {
            // `current` ends at clause punctuation: a natural place to break.
            runs.push(std::mem::take(&mut current));
        }
        if !spoken.is_empty() {
            if !current.is_empty() && !current.ends_with(' ') {
                current.push(' ');
            }
            current.push_str(spoken);
        }
        if let Some(mark) = clause.terminator {
            current.push(mark);
            if matches!(mark, ',' | ';' | ':') {
                current.push(' ');
            }
        }
        if clause.ends_sentence() {
            runs.push(std::mem::take(&mut current));
        }
    }
    runs.push(current);
    runs.into_iter()
        .map(|run| run.trim_end().to_owned())
        .filter(|run| run.chars().any(char::is_alphabetic))
        .collect()
}

/// `run` cut at spaces into pieces of at most `max` chars (a word longer
/// than that is cut where it must), for models with a hard input limit.
pub fn split_words(run: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in run.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > max {
            let rest = word.split_off(max);
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            pieces.push(word.into_iter().collect());
            word = rest;
        }
        let needed = current.chars().count() + usize::from(!current.is_empty()) + word.len();
        if needed > max && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.extend(word);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// espeak marks words it reads in another language as `(fr)…(en)`.
pub fn strip_language_flags(phonemes: &str) -> String {
    let mut out = String::with_capacity(phonemes.len());
    let mut depth = 0;
    for c in phonemes.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(phonemes: &str, terminator: Option<char>) -> PhonemeClause {
        PhonemeClause {
            phonemes: phonemes.to_owned(),
            terminator,
        }
    }

    #[test]
    fn sentences_are_runs_and_punctuation_is_kept() {
        let clauses = [
            clause("haɪ", Some(',')),
            clause("juː", Some('.')),
            clause("ɡoʊ", Some('!')),
            clause("", Some('.')),
        ];
        assert_eq!(runs(&clauses, 100, str::to_owned), ["haɪ, juː.", "ɡoʊ!"]);
    }

    #[test]
    fn long_sentences_break_only_at_clauses() {
        let clauses: Vec<PhonemeClause> = (0..6)
            .map(|i| clause("abcdefghij", Some(if i == 5 { '.' } else { ',' })))
            .collect();
        let out = runs(&clauses, 25, str::to_owned);
        assert_eq!(
            out,
            [
                "abcdefghij, abcdefghij,",
                "abcdefghij, abcdefghij,",
                "abcdefghij, abcdefghij."
            ]
        );
        // A clause over the limit stays whole.
        let long = [clause(&"x".repeat(40), Some('.'))];
        assert_eq!(runs(&long, 25, str::to_owned)[0].len(), 41);
    }

    #[test]
    fn the_engines_phonemes_decide_lengths() {
        let clauses = [clause("ab(fr)zz(en)cd", Some(','))];
        assert_eq!(runs(&clauses, 100, |s| s.to_uppercase()), ["ABZZCD,"]);
    }

    #[test]
    fn words_split_under_a_hard_limit() {
        assert_eq!(split_words("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(split_words("abcdefg hi", 3), ["abc", "def", "g", "hi"]);
        assert_eq!(split_words("  ", 3), Vec::<String>::new());
        for piece in split_words(&"word ".repeat(200), 510) {
            assert!(piece.chars().count() <= 510);
        }
    }

    #[test]
    fn language_flags_are_dropped() {
        assert_eq!(strip_language_flags("(fr)bɔ̃(en)ʒˈuːɹ"), "bɔ̃ʒˈuːɹ");
    }
}
