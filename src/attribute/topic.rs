//! Who a stretch of narration is about: the subject of a narration
//! paragraph's last sentences (who speaks first after it), and the first
//! character acting in a quote's own paragraph (an action beat).
//!
//! Both are read from tokens and mentions alone, never from decisions
//! about who spoke, so they can be computed once per paragraph.

use super::context::is_object;
use super::lexicon;
use super::tokens::Tok;
use crate::core::Gender;

/// Who speaks first after a narration paragraph (the referent of "he
/// said", or the speaker of an untagged quote; `gender` None for any):
/// the topic of its last sentences. Walking back from the last sentence:
/// one naming a character right after "but"/"until" gives that character
/// ("..., but Harlow went on"); one saying its subject keeps quiet ("Bob
/// smoked in silence") gives someone else it names, or rules the subject
/// out; one whose first reference of that gender is a pronoun ("But now
/// she knew that Nora...") continues the topic of the sentence before;
/// the first one that names a fitting character first gives its subject
/// ("Fenwick's mouth worked" → Fenwick), skipping objects of prepositions
/// ("He turned to a picture painted by Otto"). Without such a sentence,
/// the first fitting mention of the last sentence that has one.
pub fn sentence_subject(
    toks: &[Tok<'_>],
    mentions: &[(usize, usize)],
    fits: &dyn Fn(usize) -> bool,
    gender: Option<Gender>,
) -> Option<usize> {
    let starts: Vec<usize> = toks
        .iter()
        .enumerate()
        .filter(|(k, t)| *k == 0 || t.sent_start)
        .map(|(_, t)| t.start())
        .collect();
    let sentence = |at: usize| starts.partition_point(|&s| s <= at);
    let index = |at: usize| toks.partition_point(|t| t.start() < at);
    let pronoun = |w: &str| match gender {
        Some(Gender::Male) => w.eq_ignore_ascii_case("he"),
        Some(Gender::Female) => w.eq_ignore_ascii_case("she"),
        Some(Gender::Unknown) => false,
        None => w.eq_ignore_ascii_case("he") || w.eq_ignore_ascii_case("she"),
    };
    let mut first_pronoun: Vec<Option<usize>> = vec![None; starts.len() + 1];
    for t in toks.iter().filter(|t| t.word && pronoun(t.text())) {
        first_pronoun[sentence(t.start())].get_or_insert(t.start());
    }
    let after_turn = |at: usize| {
        index(at).checked_sub(1).is_some_and(|p| {
            toks[p].word && matches!(toks[p].lower().as_str(), "but" | "until" | "till")
        })
    };
    let silent = silent_sentences(toks, starts.len(), &sentence);
    let mut first_name: Vec<Option<(usize, usize)>> = vec![None; starts.len() + 1];
    let mut turn: Vec<Option<usize>> = vec![None; starts.len() + 1];
    let mut quiet: Vec<usize> = Vec::new();
    for &(at, id) in mentions.iter().filter(|&&(_, id)| fits(id)) {
        if after_turn(at) {
            turn[sentence(at)] = Some(id);
        }
        if !is_object(toks, index(at)) {
            first_name[sentence(at)].get_or_insert((at, id));
        }
    }
    // Whether a later sentence went on with a pronoun: then a quiet
    // subject broke the silence ("Crane sat in silence. Then he rose").
    let mut continued = false;
    for n in (1..=starts.len()).rev() {
        if let Some(id) = turn[n] {
            return Some(id);
        }
        if silent[n] && !continued {
            if let Some((_, id)) = first_name[n] {
                // Someone else in that sentence, or the topic before it.
                if let Some(&(_, other)) = mentions
                    .iter()
                    .find(|&&(at, o)| sentence(at) == n && o != id && fits(o))
                {
                    return Some(other);
                }
                quiet.push(id);
            }
            continue;
        }
        match (first_pronoun[n], first_name[n]) {
            (Some(p), Some((at, _))) if p < at => continued = true,
            (_, Some((_, id))) if !quiet.contains(&id) => return Some(id),
            (Some(_), None) => continued = true,
            _ => {}
        }
    }
    if !quiet.is_empty() {
        return None;
    }
    let last = mentions.iter().rev().find(|(_, id)| fits(*id))?;
    let in_last = sentence(last.0);
    mentions
        .iter()
        .find(|(at, id)| sentence(*at) == in_last && fits(*id))
        .map(|&(_, id)| id)
}

/// Sentences saying that their subject keeps quiet ("Harlow made no
/// answer", "Fenwick smoked in silence"), indexed like `sentence`.
fn silent_sentences(toks: &[Tok<'_>], n: usize, sentence: &dyn Fn(usize) -> usize) -> Vec<bool> {
    let mut silent = vec![false; n + 1];
    for (k, t) in toks.iter().enumerate().filter(|(_, t)| t.word) {
        let w = t.lower();
        let window = || toks[k + 1..].iter().filter(|t| t.word).take(3);
        let quiet = is_silence(&w)
            || matches!(w.as_str(), "no" | "not" | "never" | "nothing")
                && window().any(|t| is_speaking(&t.lower()))
            || is_speaking(&w) && window().next().is_some_and(|t| t.lower() == "nothing");
        if quiet {
            silent[sentence(t.start())] = true;
        }
    }
    silent
}

/// Words saying that someone keeps quiet.
fn is_silence(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "silence" | "silent" | "silently" | "speechless" | "mute" | "waited" | "waiting"
    )
}

/// Verbs and nouns of speaking, for "made no answer", "said nothing".
fn is_speaking(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "answer"
            | "answered"
            | "reply"
            | "replied"
            | "speak"
            | "spoke"
            | "said"
            | "say"
            | "response"
            | "word"
    )
}

/// The first one acting in a quote's paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Named(usize),
    /// A subject pronoun, at this byte offset.
    Pronoun(Gender, usize),
    FirstPerson,
}

/// The first character acting in a paragraph's narration segments (their
/// tokens and mentions): a named mention that is not the object of a
/// preposition ("with an appeal to Miss Ashcombe" is acted upon), or a
/// subject pronoun opening a sentence or following an opening adverb or
/// conjunction ("Presently she began again").
pub fn first_actor<'a>(
    narration: impl Iterator<Item = (&'a [Tok<'a>], &'a [(usize, usize)])>,
    first_person: bool,
) -> Option<Actor> {
    for (ts, mentions) in narration {
        let mut m = 0;
        for k in 0..ts.len() {
            while m < mentions.len() && mentions[m].0 < ts[k].start() {
                m += 1;
            }
            if let Some(&(at, id)) = mentions.get(m)
                && at == ts[k].start()
                && !(first_person && ts[k].text() == "I")
            {
                if !is_object(ts, k) {
                    return Some(Actor::Named(id));
                }
                continue;
            }
            let t = &ts[k];
            let opens = |i: usize| i == 0 || ts[i].sent_start;
            let after_opener = k > 0 && opens(k - 1) && ts[k - 1].word && {
                let w = ts[k - 1].lower();
                lexicon::is_adverb(&w) || matches!(w.as_str(), "and" | "but" | "so" | "yet")
            };
            if !(opens(k) || after_opener) || !t.word {
                continue;
            }
            match t.text() {
                "He" | "he" => return Some(Actor::Pronoun(Gender::Male, t.start())),
                "She" | "she" => return Some(Actor::Pronoun(Gender::Female, t.start())),
                "I" if first_person => return Some(Actor::FirstPerson),
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    /// Mentions of the capitalised words listed in `names` (id = position).
    fn mentions(toks: &[Tok<'_>], names: &[&str]) -> Vec<(usize, usize)> {
        toks.iter()
            .filter_map(|t| {
                names
                    .iter()
                    .position(|n| *n == t.text())
                    .map(|id| (t.start(), id))
            })
            .collect()
    }

    fn subject(text: &str, names: &[&str], gender: Option<Gender>) -> Option<usize> {
        let toks = tokenize(text, 0, true);
        let m = mentions(&toks, names);
        sentence_subject(&toks, &m, &|_| true, gender)
    }

    #[test]
    fn the_subject_of_the_last_sentence_not_the_last_name() {
        let names = ["Harlow", "Fenwick"];
        assert_eq!(subject("Harlow looked at Fenwick.", &names, None), Some(0));
        assert_eq!(
            subject("Harlow sat. Fenwick turned to Harlow.", &names, None),
            Some(1)
        );
        // A pronoun sentence continues the one before.
        assert_eq!(
            subject(
                "Fenwick sat. He turned to a picture by Harlow.",
                &names,
                None
            ),
            Some(1)
        );
        // The one named after "but" speaks next.
        assert_eq!(
            subject("Fenwick stood up, but Harlow went on.", &names, None),
            Some(0)
        );
        // One who keeps quiet does not speak.
        assert_eq!(
            subject(
                "Harlow spoke of the farm. Fenwick smoked in silence.",
                &names,
                None
            ),
            Some(0)
        );
    }

    #[test]
    fn the_first_actor_skips_objects_of_prepositions() {
        let toks = tokenize("With a glance at Bob, Ida stood up.", 0, true);
        let m = mentions(&toks, &["Ida", "Bob"]);
        let actor = first_actor(std::iter::once((&toks[..], &m[..])), false);
        assert_eq!(actor, Some(Actor::Named(0)));
        let toks = tokenize("Presently he smiled.", 0, true);
        let actor = first_actor(std::iter::once((&toks[..], &[][..])), false);
        assert!(matches!(actor, Some(Actor::Pronoun(Gender::Male, _))));
        let toks = tokenize("It rained.", 0, true);
        assert_eq!(
            first_actor(std::iter::once((&toks[..], &[][..])), false),
            None
        );
    }
}
