//! The pronunciation dictionary (`[pronounce]` in voices.toml), applied to
//! the text an engine is given, never to the manifest or script text.
//!
//! Matching is on whole words and case-aware: a key written in lower case
//! (`gif`) matches the word in any case; a key with capitals (`Reading`, the
//! town) matches only that spelling or its ALL-CAPS form, so it leaves the
//! ordinary word alone. A respelling takes the case shape of the word it
//! replaces (`XAVIER` → `ZAVIER`). For espeak voices an entry's phonemes win,
//! inserted as espeak's inline `[[...]]` phoneme input; other engines get the
//! respelling (or the word unchanged when only phonemes are given).

use std::collections::BTreeMap;

use regex::Regex;

use super::Pronounce;
use crate::core::EngineKind;

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Entries by lower-cased key; several when keys differ only in case.
    entries: BTreeMap<String, Vec<(String, Pronounce)>>,
    pattern: Option<Regex>,
}

impl PartialEq for Lexicon {
    fn eq(&self, other: &Lexicon) -> bool {
        self.entries == other.entries
    }
}

impl Lexicon {
    pub fn new(words: &BTreeMap<String, Pronounce>) -> Lexicon {
        let mut entries: BTreeMap<String, Vec<(String, Pronounce)>> = BTreeMap::new();
        for (word, entry) in words {
            entries
                .entry(word.to_lowercase())
                .or_default()
                .push((word.clone(), entry.clone()));
        }
        // Longest first, so "St-John" wins over "St".
        let mut keys: Vec<&String> = entries.keys().collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.chars().count()));
        let pattern = (!keys.is_empty()).then(|| {
            let alternatives: Vec<String> = keys.iter().map(|k| regex::escape(k)).collect();
            // Word boundaries by hand: \b would split at ' and -, which keys
            // may contain. A possessive 's still ends the word.
            Regex::new(&format!(
                r"(?i)(?:^|[^\p{{L}}\p{{N}}'’-])({})(?:$|[^\p{{L}}\p{{N}}'’-]|['’]s(?:$|[^\p{{L}}\p{{N}}]))",
                alternatives.join("|")
            ))
            .expect("escaped words form a valid pattern")
        });
        Lexicon { entries, pattern }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` as `engine` should be given it.
    pub fn apply(&self, text: &str, engine: EngineKind) -> String {
        let text = if engine == EngineKind::Espeak {
            // castbook turns on espeak's [[phoneme]] input; story text must not use it.
            text.replace("[[", "[ [").replace("]]", "] ]")
        } else {
            text.to_owned()
        };
        let Some(pattern) = &self.pattern else {
            return text;
        };
        let mut out = String::with_capacity(text.len());
        let mut cursor = 0;
        // Matches include one boundary character on each side; search again
        // from the end of the word so adjacent words both match.
        let mut from = 0;
        while let Some(caps) = pattern.captures_at(&text, from) {
            let word = caps.get(1).expect("group 1 always takes part");
            from = word.end();
            if let Some(replacement) = self.replacement(word.as_str(), engine) {
                out.push_str(&text[cursor..word.start()]);
                out.push_str(&replacement);
                cursor = word.end();
            }
        }
        out.push_str(&text[cursor..]);
        out
    }

    fn replacement(&self, word: &str, engine: EngineKind) -> Option<String> {
        let candidates = self.entries.get(&word.to_lowercase())?;
        let fits = |key: &str| {
            let cased = key.chars().any(char::is_uppercase);
            !cased || word == key || (word == key.to_uppercase() && word.chars().count() > 1)
        };
        let (_, entry) = candidates
            .iter()
            .find(|(key, _)| key == word)
            .or_else(|| candidates.iter().find(|(key, _)| fits(key)))?;
        if engine == EngineKind::Espeak
            && let Some(phonemes) = &entry.phonemes
        {
            return Some(format!("[[{phonemes}]]"));
        }
        entry.respell.as_ref().map(|r| same_case_shape(word, r))
    }
}

/// `respelling` in the case shape of `word`: ALL CAPS, Capitalised, or as written.
fn same_case_shape(word: &str, respelling: &str) -> String {
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        return respelling.to_uppercase();
    }
    if word.chars().next().is_some_and(char::is_uppercase) {
        let mut chars = respelling.chars();
        return match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
    }
    respelling.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(entries: &[(&str, Option<&str>, Option<&str>)]) -> Lexicon {
        Lexicon::new(
            &entries
                .iter()
                .map(|(w, r, p)| {
                    (
                        (*w).to_owned(),
                        Pronounce {
                            respell: r.map(str::to_owned),
                            phonemes: p.map(str::to_owned),
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn whole_words_only_with_case_shape() {
        let lex = lexicon(&[("Xavier", Some("Zavier"), None)]);
        assert_eq!(
            lex.apply("Xavier, XAVIER! Xavierson xavier.", EngineKind::Piper),
            "Zavier, ZAVIER! Xavierson xavier."
        );
    }

    #[test]
    fn lower_case_keys_match_any_case() {
        let lex = lexicon(&[("gif", Some("jif"), None)]);
        assert_eq!(
            lex.apply("Gif or gif or GIF gifs", EngineKind::Piper),
            "Jif or jif or JIF gifs"
        );
    }

    #[test]
    fn espeak_gets_phonemes_other_engines_the_respelling() {
        let lex = lexicon(&[("Gemma", Some("Jemma"), Some("dZ'Em@"))]);
        assert_eq!(
            lex.apply("said Gemma.", EngineKind::Espeak),
            "said [[dZ'Em@]]."
        );
        assert_eq!(lex.apply("said Gemma.", EngineKind::Piper), "said Jemma.");
    }

    #[test]
    fn adjacent_words_and_story_brackets() {
        let lex = lexicon(&[("Ann", Some("Anne"), None)]);
        assert_eq!(lex.apply("Ann Ann", EngineKind::Piper), "Anne Anne");
        assert_eq!(
            lex.apply("Ann's hat, Ann’s coat, Ann-Marie, Ann'", EngineKind::Piper),
            "Anne's hat, Anne’s coat, Ann-Marie, Ann'"
        );
        assert_eq!(
            lex.apply("a [[b]] c", EngineKind::Espeak),
            "a [ [b] ] c",
            "story text must not switch espeak to phonemes"
        );
    }
}
