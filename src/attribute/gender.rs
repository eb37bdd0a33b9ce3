//! Gender: whether a character is a man or a woman, from all the evidence
//! a book gives, so that a woman's lines are not read in a man's voice.
//!
//! The evidence, strongest first:
//!
//! - a gendered title or kinship word in one of the character's names
//!   ("Mrs.", "Uncle"), or the noun of a description ("the old woman");
//! - the first-name list (`given_names`), unless the pronouns clearly say
//!   otherwise ("Jean" is a man in a French novel);
//! - pronouns that refer back to the character: "he"/"she" later in a
//!   sentence that names it, or opening the next sentence when it was the
//!   subject, and pronoun speech tags ("she said") on the quotes attributed
//!   to it.
//!
//! [`decide`] weighs one character's evidence; [`narration_votes`] counts
//! pronoun references to a roster's names; [`refine`] fills in, after
//! attribution, the gender of speakers still unknown from the speech tags on
//! their quotes and the pronouns after their mentions. A ranker that
//! attributes quotes its own way can call [`refine`] on its result.

use std::collections::HashMap;

use super::Character;
use super::characters::{Roster, fold, key};
use super::lexicon;
use super::tags::{self, Subject};
use super::tokens::{self, Tok};
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};
use crate::core::Gender;

/// What the text says about one character's gender.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// A gendered title or kinship word in one of its names ("Mrs.", "Uncle").
    pub title: Option<Gender>,
    /// The noun of its description ("the old woman").
    pub noun: Option<Gender>,
    /// The first-name list's gender for its given name.
    pub first_name: Option<Gender>,
    /// Pronouns in the narration referring back to its mentions: [she, he].
    pub pronouns: [usize; 2],
    /// Pronoun speech tags ("she said") on quotes attributed to it: [she, he].
    pub speech_tags: [usize; 2],
}

/// The gender the evidence supports, if any.
///
/// A title or a person noun settles it. A first name holds unless the
/// pronouns are at least five and four times as many the other way. With
/// neither, pronouns decide by a clear majority (a speech tag counts
/// double: it is said of the speaker by name of its quote); one lone
/// pronoun is enough when nothing contradicts it, since a voice of the
/// right gender by a small margin beats a voice of no gender.
pub fn decide(e: &Evidence) -> Option<Gender> {
    decide_by(e, |she, he| {
        if she > 2 * he {
            Some(Gender::Female)
        } else if he > 2 * she {
            Some(Gender::Male)
        } else {
            None
        }
    })
}

/// Like [`decide`], but pronouns alone must be [`decisive`]: for genders
/// given before attribution, which steer who "she said" can be, a guess
/// from one pronoun would do more harm than none.
pub fn confident(e: &Evidence) -> Option<Gender> {
    decide_by(e, |she, he| decisive([she, he]))
}

/// [she, he] counts that clearly point one way: at least three, four in
/// five of them the same.
pub fn decisive([she, he]: [usize; 2]) -> Option<Gender> {
    let total = she + he;
    if total < 3 {
        None
    } else if she * 5 >= total * 4 {
        Some(Gender::Female)
    } else if he * 5 >= total * 4 {
        Some(Gender::Male)
    } else {
        None
    }
}

fn decide_by(e: &Evidence, by_pronouns: impl Fn(usize, usize) -> Option<Gender>) -> Option<Gender> {
    if let Some(g) = e.title.or(e.noun) {
        return Some(g);
    }
    let she = e.pronouns[0] + 2 * e.speech_tags[0];
    let he = e.pronouns[1] + 2 * e.speech_tags[1];
    if let Some(g) = e.first_name {
        let (same, other) = match g {
            Gender::Female => (she, he),
            _ => (he, she),
        };
        if other >= 5 && other >= 4 * same.max(1) {
            return Some(opposite(g));
        }
        return Some(g);
    }
    by_pronouns(she, he)
}

fn opposite(g: Gender) -> Gender {
    match g {
        Gender::Female => Gender::Male,
        Gender::Male => Gender::Female,
        other => other,
    }
}

/// Pronouns that refer to a clause's subject: he/she and the reflexives.
pub fn subject_pronoun(word_lower: &str) -> Option<Gender> {
    match word_lower {
        "he" | "himself" => Some(Gender::Male),
        "she" | "herself" => Some(Gender::Female),
        _ => None,
    }
}

/// The sentence number of each token (sentences counted from 1).
pub fn sentences(toks: &[Tok<'_>]) -> Vec<usize> {
    let mut sentence = 0;
    toks.iter()
        .map(|t| {
            sentence += usize::from(t.sent_start);
            sentence
        })
        .collect()
}

/// The gender of a pronoun that refers back to a name ending at `from`:
/// the first "he"/"she" (or "himself"/"herself") later in its sentence
/// before any other capitalised name; or, when the name was its sentence's
/// subject, a "He"/"She" opening the next sentence ("Hugo sat down. He
/// ..."). `is_name` says which capitalised words are names.
pub fn pronoun_after(
    toks: &[Tok<'_>],
    sentence_of: &[usize],
    from: usize,
    subject: bool,
    is_name: impl Fn(&Tok<'_>) -> bool,
) -> Option<Gender> {
    let sentence = *sentence_of.get(from.checked_sub(1)?)?;
    for (k, t) in toks.iter().enumerate().skip(from).take(20) {
        if sentence_of[k] != sentence {
            if !subject || !t.word {
                return None;
            }
            return subject_pronoun(&t.lower());
        }
        if t.is_cap() && !t.sent_start && is_name(t) {
            return None;
        }
        if t.word
            && let Some(g) = subject_pronoun(&t.lower())
        {
            return Some(g);
        }
    }
    None
}

/// For each roster character, the pronouns referring back to its mentions
/// in the narration: [she, he].
pub fn narration_votes(roster: &Roster, narration: &[&[Tok<'_>]]) -> Vec<[usize; 2]> {
    let mut votes = vec![[0usize; 2]; roster.chars.len()];
    for toks in narration {
        let sentence_of = sentences(toks);
        let mut last_sentence = None;
        let mut i = 0;
        while i < toks.len() {
            let Some((id, len)) = roster.match_at(toks, i) else {
                i += 1;
                continue;
            };
            let subject = last_sentence != Some(sentence_of[i]);
            last_sentence = Some(sentence_of[i]);
            i += len;
            let is_name = |t: &Tok<'_>| roster.match_at(std::slice::from_ref(t), 0).is_some();
            if let Some(g) = pronoun_after(toks, &sentence_of, i, subject, is_name) {
                votes[id][usize::from(g == Gender::Male)] += 1;
            }
        }
    }
    votes
}

/// Fills in the gender of characters still without one, from the pronoun
/// speech tags on the quotes attributed to them ("'...,' she said") and the
/// pronouns after their names in the narration (a description such as "the
/// doctor" included). Run after attribution; genders already known stay.
pub fn refine(book: &Book, segments: &[Segment], characters: &mut [Character]) {
    let unknown: HashMap<&str, usize> = characters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.gender.is_none())
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    if unknown.is_empty() {
        return;
    }
    let text = &book.text;
    let mut evidence = vec![Evidence::default(); characters.len()];
    // Names and descriptions, as lower-case word sequences, to find in the
    // narration.
    let mut names: Vec<(Vec<String>, usize)> = Vec::new();
    for (i, c) in characters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.gender.is_none())
    {
        for form in std::iter::once(&c.name).chain(&c.aliases) {
            let k = key(form);
            if !k.is_empty() && k != "narrator" {
                names.push((k.split(' ').map(str::to_owned).collect(), i));
            }
        }
    }
    names.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    for (n, segment) in segments.iter().enumerate() {
        if segment.paragraph.is_none() {
            continue;
        }
        if segment.kind == SegmentKind::Dialogue {
            let Some(&who) = segment.speaker.as_deref().and_then(|s| unknown.get(s)) else {
                continue;
            };
            let next = segments.get(n + 1).filter(|s| {
                s.kind == SegmentKind::Narration
                    && s.paragraph == segment.paragraph
                    && s.chapter == segment.chapter
            });
            let tag = next.and_then(|s| {
                tags::tag_after(&tokens::tokenize(s.text(text), s.range.start, false))
            });
            if let Some(tags::Tag {
                subject: Subject::Pronoun(g),
                ..
            }) = tag
            {
                evidence[who].speech_tags[usize::from(g == Gender::Male)] += 1;
            }
            continue;
        }
        if segment.kind != SegmentKind::Narration || names.is_empty() {
            continue;
        }
        let toks = tokens::tokenize(segment.text(text), segment.range.start, true);
        let sentence_of = sentences(&toks);
        let mut last_sentence = None;
        let mut k = 0;
        while k < toks.len() {
            let found = names.iter().find(|(words, _)| {
                words.len() <= toks.len() - k
                    && words
                        .iter()
                        .zip(&toks[k..])
                        .all(|(w, t)| t.word && fold(t.text()) == *w)
            });
            let Some((words, who)) = found else {
                k += 1;
                continue;
            };
            let subject = last_sentence != Some(sentence_of[k]);
            last_sentence = Some(sentence_of[k]);
            k += words.len();
            let is_name = |t: &Tok<'_>| !lexicon::is_never_name(&t.lower());
            if let Some(g) = pronoun_after(&toks, &sentence_of, k, subject, is_name) {
                evidence[*who].pronouns[usize::from(g == Gender::Male)] += 1;
            }
        }
    }
    for (i, c) in characters.iter_mut().enumerate() {
        if c.gender.is_none() {
            c.gender = decide(&evidence[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_settle_it() {
        let e = Evidence {
            title: Some(Gender::Female),
            pronouns: [0, 9],
            ..Evidence::default()
        };
        assert_eq!(decide(&e), Some(Gender::Female));
    }

    #[test]
    fn a_first_name_yields_only_to_many_pronouns() {
        let jean = |pronouns| Evidence {
            first_name: Some(Gender::Female),
            pronouns,
            ..Evidence::default()
        };
        assert_eq!(decide(&jean([0, 3])), Some(Gender::Female));
        assert_eq!(decide(&jean([1, 6])), Some(Gender::Male));
        assert_eq!(decide(&jean([0, 6])), Some(Gender::Male));
    }

    #[test]
    fn before_attribution_pronouns_must_be_decisive() {
        let votes = |pronouns| Evidence {
            pronouns,
            ..Evidence::default()
        };
        assert_eq!(confident(&votes([0, 1])), None);
        assert_eq!(confident(&votes([0, 3])), Some(Gender::Male));
        assert_eq!(confident(&votes([8, 2])), Some(Gender::Female));
        assert_eq!(confident(&votes([3, 3])), None);
    }

    #[test]
    fn pronouns_alone_need_a_clear_majority() {
        let votes = |pronouns, speech_tags| Evidence {
            pronouns,
            speech_tags,
            ..Evidence::default()
        };
        assert_eq!(decide(&votes([0, 1], [0, 0])), Some(Gender::Male));
        assert_eq!(decide(&votes([2, 2], [0, 0])), None);
        assert_eq!(decide(&votes([2, 1], [0, 0])), None);
        // A speech tag counts double.
        assert_eq!(decide(&votes([2, 1], [0, 2])), Some(Gender::Male));
        assert_eq!(decide(&Evidence::default()), None);
    }

    #[test]
    fn pronouns_refer_back_within_the_sentence_or_from_the_subject() {
        let votes = |text: &str| {
            let toks = tokens::tokenize(text, 0, true);
            let sentence_of = sentences(&toks);
            // The name is the first token.
            pronoun_after(&toks, &sentence_of, 1, true, |t| t.text() != "I")
        };
        assert_eq!(votes("Hugo said that he would go."), Some(Gender::Male));
        assert_eq!(votes("Hugo sat down. She was late."), Some(Gender::Female));
        // Another name comes first: the pronoun may be theirs.
        assert_eq!(votes("Hugo looked at Ruth, and she smiled."), None);
        // Object pronouns say nothing of the subject.
        assert_eq!(votes("Hugo looked at her."), None);
    }
}
