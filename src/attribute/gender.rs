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
use super::noun_gender;
use super::tags::{self, Subject};
use super::tokens::{self, Tok};
use crate::core::Gender;
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};

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
    /// How others address it in the quotes around its own ("sir", "young
    /// lady"), and the spouse it names ("my wife"): [as a woman, as a man].
    /// What tells a first-person narrator's gender.
    pub addressed: [usize; 2],
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
    let she = e.pronouns[0] + 2 * (e.speech_tags[0] + e.addressed[0]);
    let he = e.pronouns[1] + 2 * (e.speech_tags[1] + e.addressed[1]);
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

/// The gender of a pronoun that refers back to a name ending at `from`,
/// when that name is its sentence's subject (`subject`: the first name in
/// it): the first "he"/"she" (or "himself"/"herself") later in the sentence
/// before any other capitalised name, or a "He"/"She" opening the next
/// sentence ("Hugo sat down. He ..."). A pronoun after a name that is not
/// the subject more often means the subject ("Nora looked at the Heron,
/// and she ..."). `is_name` says which capitalised words are names.
pub fn pronoun_after(
    toks: &[Tok<'_>],
    sentence_of: &[usize],
    from: usize,
    subject: bool,
    is_name: impl Fn(&Tok<'_>) -> bool,
) -> Option<Gender> {
    for step in after_subject(toks, sentence_of, from, subject, is_name) {
        match step {
            After::NextSentence(t) => {
                return if t.word {
                    subject_pronoun(&t.lower())
                } else {
                    None
                };
            }
            After::InSentence(k) => {
                let t = &toks[k];
                if t.word
                    && let Some(g) = subject_pronoun(&t.lower())
                {
                    return Some(g);
                }
            }
        }
    }
    None
}

/// A token after a subject's name, as [`after_subject`] walks on.
enum After<'s, 't> {
    /// A token of the subject's sentence (its index).
    InSentence(usize),
    /// The first token of the next sentence; the walk ends there.
    NextSentence(&'s Tok<'t>),
}

/// The walk [`pronoun_after`] and [`possessive_after`] share: the tokens
/// after a name ending at `from` that is its sentence's subject, up to 20,
/// through its sentence and before any other name, then the first token
/// of the next sentence. Nothing when the name is not the subject.
fn after_subject<'s, 't>(
    toks: &'s [Tok<'t>],
    sentence_of: &'s [usize],
    from: usize,
    subject: bool,
    is_name: impl Fn(&Tok<'_>) -> bool + 's,
) -> impl Iterator<Item = After<'s, 't>> + 's {
    let sentence = from
        .checked_sub(1)
        .and_then(|p| sentence_of.get(p).copied())
        .filter(|_| subject);
    let mut ended = sentence.is_none();
    (from..toks.len().min(from + 20)).map_while(move |k| {
        if ended {
            return None;
        }
        let t = &toks[k];
        if Some(sentence_of[k]) != sentence {
            ended = true;
            return Some(After::NextSentence(t));
        }
        if t.is_cap() && !t.sent_start && is_name(t) {
            return None;
        }
        Some(After::InSentence(k))
    })
}

/// [`decide`] with the weaker evidence [`refine`] adds: possessives after
/// the character's name, and how the others address it. Both are noisy
/// (replies also address third persons; "her" may stand for someone else),
/// so where adding one leaves the evidence undecided, it is left out again:
/// everything, then without the possessives, then without the forms of
/// address, then neither.
fn decide_weak(e: &Evidence, possessives: [usize; 2]) -> Option<Gender> {
    let with_possessives = |e: &Evidence| Evidence {
        pronouns: [
            e.pronouns[0] + possessives[0],
            e.pronouns[1] + possessives[1],
        ],
        ..*e
    };
    let no_address = Evidence {
        addressed: [0, 0],
        ..*e
    };
    decide(&with_possessives(e))
        .or_else(|| decide(e))
        .or_else(|| decide(&with_possessives(&no_address)))
        .or_else(|| decide(&no_address))
}

/// Words that follow an object "her" ("looked at her again", "gave her
/// a cup"), not a noun she owns.
const AFTER_OBJECT: &[&str] = &[
    "a", "an", "the", "to", "and", "or", "but", "that", "with", "in", "on", "at", "for", "as",
    "of", "by", "from", "so", "again", "up", "down", "out", "away", "back", "off", "not", "then",
    "now", "very", "into", "if", "when", "what", "how", "this", "some", "no",
];

/// Like [`pronoun_after`], a possessive instead: "The Dormouse slowly
/// opened his eyes", the first "his"/"her" in the subject's sentence before
/// any other name. Weaker than a subject pronoun ("her" may be an object
/// standing for someone else), so it is only asked when no subject pronoun
/// follows, and only for characters no other evidence gives a gender.
fn possessive_after(
    toks: &[Tok<'_>],
    sentence_of: &[usize],
    from: usize,
    subject: bool,
    is_name: impl Fn(&Tok<'_>) -> bool,
) -> Option<Gender> {
    for step in after_subject(toks, sentence_of, from, subject, is_name) {
        let After::InSentence(k) = step else {
            return None;
        };
        let t = &toks[k];
        if !t.word {
            continue;
        }
        match t.lower().as_str() {
            "his" => return Some(Gender::Male),
            // "her eyes", not "looked at her." or "to her and".
            "her" => {
                let next = toks
                    .get(k + 1)
                    .filter(|n| n.word && sentence_of[k + 1] == sentence_of[k]);
                return next
                    .filter(|n| !AFTER_OBJECT.contains(&n.lower().as_str()))
                    .map(|_| Gender::Female);
            }
            "him" | "it" | "its" | "they" | "their" => return None,
            _ => {}
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
    // "his"/"her" after a name: counted only for characters no subject
    // pronoun refers to.
    let mut possessives = vec![[0usize; 2]; characters.len()];
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
        let mut k = 0;
        while k < toks.len() {
            let found = names.iter().find(|(words, _)| {
                words.len() <= toks.len() - k
                    && words
                        .iter()
                        .zip(&toks[k..])
                        // "Dr." is one token, its key word "dr".
                        .all(|(w, t)| t.word && fold(t.text().trim_end_matches('.')) == *w)
            });
            let Some((words, who)) = found else {
                k += 1;
                continue;
            };
            let subject = opens_sentence(&toks, &sentence_of, k);
            k += words.len();
            let is_name = |t: &Tok<'_>| !lexicon::is_never_name(&t.lower());
            if let Some(g) = pronoun_after(&toks, &sentence_of, k, subject, is_name) {
                evidence[*who].pronouns[usize::from(g == Gender::Male)] += 1;
            } else if let Some(g) = possessive_after(&toks, &sentence_of, k, subject, is_name) {
                possessives[*who][usize::from(g == Gender::Male)] += 1;
            }
        }
    }
    for (i, c) in characters.iter().enumerate() {
        if c.gender.is_some() {
            continue;
        }

        // The gender its own name shows, if resolve named it late (a
        // narrator called "Pavel Dmitrievitch" by the others).
        evidence[i].first_name = std::iter::once(&c.name)
            .chain(&c.aliases)
            .find_map(|form| name_gender(form));
        // What its description's noun says ("the anaemic cabman").
        evidence[i].noun = std::iter::once(&c.name)
            .chain(&c.aliases)
            .find_map(|form| noun_gender::description_gender(form));
        // How the others address it: what tells a first-person narrator's
        // gender, and that of a minor speaker the narration gives no
        // pronoun ("Yes, sir," to "the voice").
        evidence[i].addressed = addressed_as(book, segments, &c.name);
    }
    for (i, c) in characters.iter_mut().enumerate() {
        if c.gender.is_none() {
            c.gender = decide_weak(&evidence[i], possessives[i]);
        }
    }
}

/// Whether the words from `k` start their sentence's subject: at most two
/// words before ("Then the doctor", "The keeper") and no capitalised name.
/// Capitalised words right before the name are part of it, not another
/// name ("The March Hare" for a character known as "Hare").
fn opens_sentence(toks: &[Tok<'_>], sentence_of: &[usize], k: usize) -> bool {
    let in_sentence = |j: usize| sentence_of[j] == sentence_of[k];
    let own_words = toks[..k]
        .iter()
        .enumerate()
        .rev()
        .take_while(|(j, t)| in_sentence(*j) && t.is_cap())
        .count();
    let before: Vec<&Tok<'_>> = toks[..k - own_words]
        .iter()
        .enumerate()
        .rev()
        .take_while(|(j, _)| in_sentence(*j))
        .map(|(_, t)| t)
        .filter(|t| t.word)
        .collect();
    before.len() <= 2 && before.iter().all(|t| !t.is_cap() || t.sent_start)
}

/// The gender a written name shows by itself: a title ("Mrs. Hale"), its
/// first name ("Hugo Hale"), or a Russian patronymic ("Dmitrievitch",
/// "Petrovna").
pub fn name_gender(name: &str) -> Option<Gender> {
    let k = key(name);
    if k == "narrator" {
        return None;
    }
    let words: Vec<&str> = k.split(' ').collect();
    if let Some(g) = lexicon::title(words[0]) {
        return g;
    }
    lexicon::first_name_gender(words[0]).or_else(|| words.iter().find_map(|w| patronymic_gender(w)))
}

/// Russian patronymics as translations spell them: "-ovitch", "-evich"
/// are a man's, "-ovna", "-evna" a woman's.
pub fn patronymic_gender(word: &str) -> Option<Gender> {
    const MALE: [&str; 5] = ["ovitch", "evitch", "ovich", "evich", "ovitsch"];
    const FEMALE: [&str; 3] = ["ovna", "evna", "ichna"];
    if word.len() < 6 {
        None
    } else {
        noun_gender::ending_gender(word, &FEMALE, &MALE)
    }
}

/// How the others address a speaker (the narrator, say), from the quotes said right
/// before or after one of the narrator's: forms of address ("sir",
/// "madam", "young lady"), and the name they call out most ("Pavel
/// Dmitrievitch"), when one clearly leads, counted twice; and the spouse the
/// narrator names in their own quotes ("my wife"): [as a woman, as a man].
/// Others' quotes also address third persons, so a lone "madame" says
/// little; the name called again and again is the narrator's.
fn addressed_as(book: &Book, segments: &[Segment], narrator: &str) -> [usize; 2] {
    let text = &book.text;
    let lines: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.kind == SegmentKind::Dialogue)
        .collect();
    let said_by_narrator = |l: &Segment| l.speaker.as_deref() == Some(narrator);
    let mut votes = [0usize; 2];
    let mut names: HashMap<String, usize> = HashMap::new();
    for (k, line) in lines.iter().enumerate() {
        let own = said_by_narrator(line);
        let beside_narrator = [k.checked_sub(1), Some(k + 1)]
            .into_iter()
            .flatten()
            .filter_map(|j| lines.get(j))
            .any(|l| said_by_narrator(l) && l.chapter == line.chapter);
        if !own && !beside_narrator {
            continue;
        }
        let toks = tokens::tokenize(line.text(text), line.range.start, true);
        let words: Vec<String> = toks.iter().map(Tok::lower).collect();
        for i in 0..toks.len() {
            if own {
                if let Some(g) = spouse_at(&words, i) {
                    votes[usize::from(g == Gender::Male)] += 1;
                }
                continue;
            }
            match address_at(&toks, &words, i) {
                Some(Address::Phrase(g)) => votes[usize::from(g == Gender::Male)] += 1,
                Some(Address::Name(name)) => *names.entry(name).or_default() += 1,
                None => {}
            }
        }
    }
    let mut ranked: Vec<(usize, String)> = names.into_iter().map(|(n, c)| (c, n)).collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    let leader = match ranked.as_slice() {
        [(n, name)] if *n >= 2 => Some((*n, name)),
        [(n, name), (m, _), ..] if *n >= 2 && *n >= 2 * *m => Some((*n, name)),
        _ => None,
    };
    if let Some((n, name)) = leader
        && let Some(g) = name_gender(name)
    {
        votes[usize::from(g == Gender::Male)] += 2 * n;
    }
    votes
}

/// "my wife" / "my husband" at word `i`: the speaker's own gender.
fn spouse_at(words: &[String], i: usize) -> Option<Gender> {
    if words[i] != "my" {
        return None;
    }
    match words.get(i + 1).map(String::as_str)? {
        "wife" => Some(Gender::Male),
        "husband" => Some(Gender::Female),
        _ => None,
    }
}

/// What a quote calls the one it speaks to.
#[derive(Debug, PartialEq, Eq)]
enum Address {
    /// "sir", "young lady": the gender of the one addressed.
    Phrase(Gender),
    /// A name of two words or more ("Pavel Dmitrievitch", "Mrs. Hale").
    Name(String),
}

/// A form of address or a name at token `i`, set off by punctuation or the
/// ends of the quote ("Yes, sir." / "Young lady, sit down").
fn address_at(toks: &[Tok<'_>], words: &[String], i: usize) -> Option<Address> {
    const PHRASES: &[(&[&str], Gender)] = &[
        (&["sir"], Gender::Male),
        (&["mister"], Gender::Male),
        (&["monsieur"], Gender::Male),
        (&["young", "man"], Gender::Male),
        (&["old", "man"], Gender::Male),
        (&["old", "fellow"], Gender::Male),
        (&["old", "chap"], Gender::Male),
        (&["my", "dear", "fellow"], Gender::Male),
        (&["my", "boy"], Gender::Male),
        (&["my", "dear", "boy"], Gender::Male),
        (&["my", "lad"], Gender::Male),
        (&["madam"], Gender::Female),
        (&["ma'am"], Gender::Female),
        (&["madame"], Gender::Female),
        (&["mademoiselle"], Gender::Female),
        (&["miss"], Gender::Female),
        (&["young", "lady"], Gender::Female),
        (&["my", "girl"], Gender::Female),
        (&["my", "dear", "girl"], Gender::Female),
        (&["my", "lady"], Gender::Female),
        (&["dear", "lady"], Gender::Female),
    ];
    let boundary = |t: Option<&Tok<'_>>| t.is_none_or(|t| !t.word);
    if !boundary(i.checked_sub(1).map(|p| &toks[p])) {
        return None;
    }
    let phrase = PHRASES.iter().find_map(|(phrase, g)| {
        let end = i + phrase.len();
        (end <= words.len()
            && phrase.iter().zip(&words[i..end]).all(|(p, w)| p == w)
            && boundary(toks.get(end)))
        .then_some(Address::Phrase(*g))
    });
    phrase.or_else(|| {
        // Two words or more, so that "Well," or "Hope!" is not one.
        let end = i + toks[i..].iter().take_while(|t| t.is_cap()).count();
        let run: Vec<&str> = toks[i..end].iter().map(|t| t.text()).collect();
        (run.len() >= 2 && boundary(toks.get(end))).then(|| Address::Name(run.join(" ")))
    })
}

#[cfg(test)]
#[path = "gender_tests.rs"]
mod tests;
