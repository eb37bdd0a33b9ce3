//! espeak-ng IPA → the phoneme symbols Kokoro was trained on (misaki's).
//!
//! Kokoro-82M v1.0 learnt English from misaki's phonemes, which write each
//! diphthong and affricate as one symbol (`A` for /eɪ/, `ʧ` for /tʃ/, `O`
//! for American /oʊ/, `Q` for British /əʊ/), mark a flap as `T`, and keep
//! British length marks but not American ones. espeak-ng speaks a close but
//! different IPA dialect, so its output is translated here, following the
//! table misaki publishes for its own espeak fallback. espeak is asked for
//! *tied* IPA (`t͡ʃ`, `a͡ɪ`: one phoneme of two letters), which tells the
//! affricate in "merchant" (`t͡ʃ` → `ʧ`) from the `t`+`ʃ` of "merchantship".
//!
//! The translation is one left-to-right pass that takes the longest rule
//! matching at each position (rules never see each other's output), so the
//! accent-specific diphthongs are found before the generic `e` → `A`.
//! Symbols outside Kokoro's English set are kept when the model has an id
//! for them and otherwise left out, and both are counted
//! ([`Translation::unusual`]) so the engine can report them.

use std::collections::BTreeMap;

/// espeak-ng's tie bar: the two letters around it are one phoneme.
pub const TIE: char = '\u{361}';
/// Combining vertical line below: a syllabic consonant (`n̩` in "button").
const SYLLABIC: char = '\u{329}';
/// Combining tilde: nasalisation, which English Kokoro does not mark.
const NASAL: char = '\u{303}';

/// Which of Kokoro's English phoneme sets a voice speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accent {
    /// `a*_` voices: espeak `en-us`.
    American,
    /// `b*_` voices: espeak `en` (British English).
    British,
}

impl Accent {
    /// The espeak-ng voice whose phonemes this accent uses.
    pub fn espeak_voice(self) -> &'static str {
        match self {
            Accent::American => "en-us",
            Accent::British => "en",
        }
    }

    /// misaki's English phonemes for this accent (besides punctuation and
    /// spaces): what the model heard in training.
    fn symbols(self) -> &'static str {
        match self {
            // misaki's American set, with the flap written `T` and the
            // glottal stop `t`, as Kokoro v1.0 was trained.
            Accent::American => "AIOWYbdfhijklmnpstuvwzæðŋɑɔəɛɜɡɪɹTʃʊʌʒʤʧˈˌθᵊᵻ",
            Accent::British => "AIQWYabdfhijklmnpstuvwzðŋɑɒɔəɛɜɡɪɹʃʊʌʒʤʧˈˌːθᵊ",
        }
    }
}

/// Punctuation Kokoro reads (its pauses and intonation), besides the space.
pub const PUNCTUATION: &str = ";:,.!?—…\"()“”";

/// Rules for both accents: espeak spelling → misaki spelling. A `͡` in a
/// rule must be in the input; `ː` and tie bars between the letters of a
/// vowel rule are matched loosely (see [`Rule::loose`]).
const COMMON: &[Rule] = &[
    // A glottal stop before a syllabic n ("button"): Kokoro v1.0 says `tn`.
    Rule::strict("ʔˌn\u{329}", "tn"),
    Rule::strict("ʔn\u{329}", "tn"),
    Rule::strict("a͡ɪ", "I"),
    Rule::strict("a͡ʊ", "W"),
    Rule::strict("e͡ɪ", "A"),
    Rule::strict("ɔ͡ɪ", "Y"),
    Rule::strict("d͡ʒ", "ʤ"),
    Rule::strict("t͡ʃ", "ʧ"),
    Rule::strict("ə͡l", "ᵊl"),
    Rule::strict("e", "A"),
    Rule::strict("ɚ", "əɹ"),
    Rule::strict("r", "ɹ"),
    Rule::strict("x", "k"),
    Rule::strict("ç", "k"),
    Rule::strict("ɐ", "ə"),
    Rule::strict("ɬ", "l"),
    // espeak before 1.52 writes the THOUGHT vowel `o` where misaki has `ɔ`.
    Rule::strict("o", "ɔ"),
    // Kokoro v1.0 marks a flap `T` and a glottal stop `t`.
    Rule::strict("ɾ", "T"),
    Rule::strict("ʔ", "t"),
];

const AMERICAN: &[Rule] = &[
    Rule::strict("o͡ʊ", "O"),
    Rule::loose("ɜːɹ", "ɜɹ"),
    Rule::loose("ɜː", "ɜɹ"),
    Rule::loose("ɪə", "iə"),
    // American misaki has no length marks.
    Rule::strict("ː", ""),
];

const BRITISH: &[Rule] = &[
    Rule::strict("e͡ə", "ɛː"),
    Rule::strict("ə͡ʊ", "Q"),
    Rule::loose("iə", "ɪə"),
    // British misaki writes the TRAP vowel `a`.
    Rule::strict("æ", "a"),
];

#[derive(Debug, Clone, Copy)]
struct Rule {
    from: &'static str,
    to: &'static str,
    /// Vowel sequences: espeak may write them tied or not, and a tie bar or
    /// length mark may sit between the letters; a loose rule matches either.
    loose: bool,
}

impl Rule {
    const fn strict(from: &'static str, to: &'static str) -> Rule {
        Rule {
            from,
            to,
            loose: false,
        }
    }

    const fn loose(from: &'static str, to: &'static str) -> Rule {
        Rule {
            from,
            to,
            loose: true,
        }
    }

    /// How many chars of `input` (from its start) this rule matches.
    fn matches(&self, input: &[char]) -> Option<usize> {
        let mut at = 0;
        for (k, wanted) in self.from.chars().enumerate() {
            if self.loose && k > 0 && input.get(at) == Some(&TIE) {
                at += 1;
            }
            if input.get(at) != Some(&wanted) {
                return None;
            }
            at += 1;
        }
        Some(at)
    }
}

/// What [`translate`] made of one stretch of espeak IPA.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Translation {
    /// misaki phonemes, punctuation and spaces.
    pub phonemes: String,
    /// Symbols outside Kokoro's English set, with how often each came up.
    pub unusual: BTreeMap<char, usize>,
}

/// espeak-ng's tied IPA (see [`crate::synth::espeak::Library::text_to_phonemes`])
/// in `accent`, as misaki phonemes.
pub fn translate(ipa: &str, accent: Accent) -> Translation {
    let input: Vec<char> = ipa.chars().collect();
    let specific = match accent {
        Accent::American => AMERICAN,
        Accent::British => BRITISH,
    };
    let mut out = Translation::default();
    let mut at = 0;
    while at < input.len() {
        let rest = &input[at..];
        let best = specific
            .iter()
            .chain(COMMON)
            .filter_map(|rule| rule.matches(rest).map(|n| (n, rule)))
            .max_by_key(|(n, _)| *n);
        let (used, mut text) = match best {
            Some((n, rule)) => (n, rule.to.to_owned()),
            None => match rest[0] {
                TIE | NASAL => (1, String::new()),
                // Palatalisation: a `j` glide before a vowel, else nothing.
                'ʲ' if matches!(rest.get(1), Some('o' | 'ə' | 'ʊ' | 'u')) => (1, "j".to_owned()),
                'ʲ' => (1, String::new()),
                c => (1, c.to_string()),
            },
        };
        at += used;
        // A syllabic consonant is misaki's small schwa before it: n̩ → ᵊn.
        if input.get(at) == Some(&SYLLABIC) {
            at += 1;
            if !text.is_empty() {
                text.insert(0, 'ᵊ');
            }
        }
        out.phonemes.push_str(&text);
    }
    for c in out.phonemes.chars() {
        if !(accent.symbols().contains(c) || c == ' ' || PUNCTUATION.contains(c)) {
            *out.unusual.entry(c).or_default() += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(ipa: &str) -> String {
        translate(ipa, Accent::American).phonemes
    }

    fn gb(ipa: &str) -> String {
        translate(ipa, Accent::British).phonemes
    }

    #[test]
    fn ties_tell_affricates_from_letter_pairs() {
        // espeak-ng 1.51, en-us, "merchantship": the first t͡ʃ is one phoneme.
        assert_eq!(us("mˈɜːt͡ʃəntʃˌɪp"), "mˈɜɹʧəntʃˌɪp");
        assert_eq!(gb("mˈɜːt͡ʃəntʃˌɪp"), "mˈɜːʧəntʃˌɪp");
        assert_eq!(us("d͡ʒˈʌmps"), "ʤˈʌmps");
    }

    #[test]
    fn diphthongs_become_single_symbols() {
        assert_eq!(us("ma͡ɪ hˈa͡ʊs"), "mI hˈWs");
        assert_eq!(us("dˈe͡ɪ bˈɔ͡ɪ ɡˈo͡ʊ"), "dˈA bˈY ɡˈO");
        assert_eq!(gb("ɡˈə͡ʊ hˈe͡ə"), "ɡˈQ hˈɛː");
        // The American /oʊ/ rule is not British, and the reverse.
        assert_eq!(gb("ɡˈo͡ʊ"), "ɡˈɔʊ");
        assert_eq!(us("ɡˈə͡ʊ"), "ɡˈəʊ");
    }

    #[test]
    fn american_r_colouring_and_length() {
        // "sister", "her", "or", "tired", "remark"
        assert_eq!(us("sˈɪstɚ"), "sˈɪstəɹ");
        assert_eq!(us("hɜː"), "hɜɹ");
        assert_eq!(us("nˈɜːs"), "nˈɜɹs");
        assert_eq!(us("ɔː͡ɹ"), "ɔɹ");
        assert_eq!(us("tˈa͡ɪ͡ɚd"), "tˈIəɹd");
        assert_eq!(us("ɹᵻmˈɑː͡ɹk"), "ɹᵻmˈɑɹk");
        assert_eq!(us("zˈi͡əɹo͡ʊ"), "zˈiəɹO");
        assert_eq!(us("nˈɪ͡ə"), "nˈiə");
        // British keeps its length marks.
        assert_eq!(gb("hɜː nˈɪ͡ə"), "hɜː nˈɪə");
    }

    #[test]
    fn flaps_glottal_stops_and_syllabic_consonants() {
        assert_eq!(us("lˈɪɾəl"), "lˈɪTəl");
        assert_eq!(us("lˈɪɾə͡l"), "lˈɪTᵊl");
        assert_eq!(us("bˈʌʔn̩"), "bˈʌtn");
        assert_eq!(us("wˌɒzn̩t"), "wˌɒzᵊnt");
        assert_eq!(us("ɡʊʔ"), "ɡʊt");
    }

    #[test]
    fn other_espeak_variants() {
        assert_eq!(us("mˈɛsrz"), "mˈɛsɹz");
        assert_eq!(us("lˈɑːxz"), "lˈɑkz");
        assert_eq!(us("ɐ bˈɔ͡ɪ"), "ə bˈY");
        assert_eq!(us("bəlˈo͡ʊnʲə"), "bəlˈOnjə");
        assert_eq!(us("ʲk"), "k");
        assert_eq!(us("ɪnˈuːmɔ̃"), "ɪnˈumɔ");
        assert_eq!(gb("ˈalɪs wɒz"), "ˈalɪs wɒz");
        assert_eq!(gb("kˈæt"), "kˈat");
    }

    #[test]
    fn punctuation_and_spaces_pass_through() {
        let t = translate("həlˈo͡ʊ, ðˈɛ͡ɹ! wˈʌt?", Accent::American);
        assert_eq!(t.phonemes, "həlˈO, ðˈɛɹ! wˈʌt?");
        assert!(t.unusual.is_empty(), "{:?}", t.unusual);
    }

    #[test]
    fn unusual_symbols_are_counted() {
        // French "r" and front rounded vowel, as espeak gives a French word.
        let t = translate("ʁy ʁy ø", Accent::American);
        assert_eq!(t.phonemes, "ʁy ʁy ø");
        assert_eq!(
            t.unusual.into_iter().collect::<Vec<_>>(),
            [('y', 2), ('ø', 1), ('ʁ', 2)]
        );
        // `ɒ` is British only.
        assert_eq!(
            translate("wɒz", Accent::American)
                .unusual
                .keys()
                .collect::<Vec<_>>(),
            [&'ɒ']
        );
        assert!(translate("wɒz", Accent::British).unusual.is_empty());
    }
}
