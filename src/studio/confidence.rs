//! How sure castbook is of each dialogue line's speaker: the one place the
//! studio's "needs review" marks come from.
//!
//! Attribution does not report scores yet, so [`line_confidence`] reads
//! what the text itself says about each line, which works the same for a
//! story just attributed and for a script edited by hand:
//!
//! - the speaker is named (by a word of their name or an alias) in the
//!   narration of the line's own paragraph ("…," said Maren): 0.9;
//! - the narration has a personal pronoun but not the name ("he said",
//!   "She set down her cup."): 0.7;
//! - the paragraph is only quotes, so the speaker came from turn-taking:
//!   0.65;
//! - the narration has neither ("said the stranger", "asked his
//!   companion", a beat about someone unnamed): 0.35, marked for review.
//!
//! Measured on the 15 stories of the evaluation kit (`cargo run --release
//! --example studio_confidence`; attribution end to end, a line counted
//! right when its speaker is the gold speaker's name or an alias, which
//! undercounts): named lines are half of all lines and 93% right; pronoun
//! and lone-quote lines 40%, about 70% right; the marked ones 10%, 40%
//! right.
//!
//! A line without a speaker (`@?`) is 0. When attribution learns to score
//! its choices, this function is the hook: return those scores here and
//! every mark, count and filter on the page follows.

use crate::attribute::Attributed;
use crate::ingest::Book;
use crate::segment::SegmentKind;

/// Lines scoring below this are marked for review.
pub const LOW: f32 = 0.5;

/// Pronouns a speech tag or a beat names a speaker by.
const PRONOUNS: [&str; 5] = ["he", "she", "i", "they", "we"];

/// Titles that are part of names but don't identify anyone.
const TITLES: [&str; 12] = [
    "mr", "mrs", "ms", "miss", "dr", "sir", "lady", "lord", "old", "young", "the", "captain",
];

/// One confidence per segment in `attributed`: Some for dialogue, in 0..=1.
pub fn line_confidence(book: &Book, attributed: &Attributed) -> Vec<Option<f32>> {
    let text = &book.text;
    let segments = &attributed.segments;
    let mut out = vec![None; segments.len()];
    let mut start = 0;
    while start < segments.len() {
        // One paragraph (or one segment outside paragraphs) at a time.
        let key = (segments[start].chapter, segments[start].paragraph);
        let mut end = start + 1;
        while key.1.is_some()
            && end < segments.len()
            && (segments[end].chapter, segments[end].paragraph) == key
        {
            end += 1;
        }
        let paragraph = &segments[start..end];
        let narration: Vec<&str> = paragraph
            .iter()
            .filter(|s| s.kind == SegmentKind::Narration)
            .map(|s| s.text(text))
            .collect();
        let narrated = narration.iter().any(|n| n.chars().any(char::is_alphabetic));
        let pronoun = narration.iter().any(|n| mentions_lowercase(n, &PRONOUNS));
        for (offset, segment) in paragraph.iter().enumerate() {
            if segment.kind != SegmentKind::Dialogue {
                continue;
            }
            out[start + offset] = Some(match &segment.speaker {
                None => 0.0,
                Some(name) => {
                    let aliases = attributed
                        .characters
                        .iter()
                        .find(|c| &c.name == name)
                        .map(|c| c.aliases.as_slice())
                        .unwrap_or_default();
                    let words = name_words(std::iter::once(name).chain(aliases));
                    // A description given as an alias of a named
                    // character ("the stranger" for Isolde Varga) names
                    // them too; a character known only by a description
                    // ("the worthy woman") is not named by it: such
                    // characters are often someone named, unrecognised.
                    let proper = !words.is_empty();
                    let named = narration.iter().any(|n| {
                        mentions(n, &words)
                            || (proper && aliases.iter().any(|alias| has_phrase(n, alias)))
                    });
                    if named {
                        0.9
                    } else if pronoun {
                        0.7
                    } else if !narrated {
                        0.65
                    } else {
                        0.35
                    }
                }
            });
        }
        start = end;
    }
    out
}

/// The words that identify someone: capitalised words of their names,
/// titles left out.
fn name_words<'a>(names: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut words: Vec<&str> = names
        .flat_map(|n| n.split(|c: char| !c.is_alphanumeric() && c != '\''))
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .filter(|w| !TITLES.contains(&w.to_lowercase().as_str()))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Whether `text` has one of `words` as a whole word.
fn mentions(text: &str, words: &[&str]) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_end_matches("'s").trim_end_matches('\''))
        .any(|w| words.contains(&w))
}

/// Whether `text` has `phrase` (a name or an alias such as "the
/// stranger"), word for word, in any case.
fn has_phrase(text: &str, phrase: &str) -> bool {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (text, phrase) = (words(text), words(phrase));
    !phrase.is_empty() && text.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// Whether `text` has one of the lower-case `words` as a whole word, in any case.
fn mentions_lowercase(text: &str, words: &[&str]) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| words.iter().any(|p| w.eq_ignore_ascii_case(p)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::attribute::Character;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    #[test]
    fn named_pronoun_lone_and_described_lines_score_in_order() {
        let text = "Chapter 1\n\n\"Come in,\" said Maren Holt.\n\n\"Thank you.\" He sat.\n\n\"Tea?\"\n\n\"Yes,\" said the stranger.\n\n\"No,\" said the Stranger.\n\n\"Who?\"\n";
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let mut segments = segment_book(&book);
        let speakers = [
            Some("Maren Holt"),
            Some("Tobias"),
            Some("Maren Holt"),
            Some("Tobias"),
            Some("Isolde"),
            None,
        ];
        let mut n = 0;
        for segment in &mut segments {
            if segment.kind == SegmentKind::Dialogue {
                segment.speaker = speakers[n].map(str::to_owned);
                n += 1;
            }
        }
        let character = |name: &str, aliases: &[&str]| Character {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender: None,
            lines: 1,
            words: 1,
        };
        let attributed = Attributed {
            segments,
            characters: vec![
                character("Maren Holt", &[]),
                character("Tobias", &[]),
                character("Isolde", &["the stranger"]),
            ],
        };
        let scores: Vec<f32> = line_confidence(&book, &attributed)
            .into_iter()
            .flatten()
            .collect();
        // "the stranger" is Isolde's alias, not Tobias's: named for her only.
        assert_eq!(scores, [0.9, 0.7, 0.65, 0.35, 0.9, 0.0]);
        assert!(scores[3] < LOW && scores[2] >= LOW);
    }
}
