//! Attribute: give each dialogue segment a speaker.
//!
//! First version: explicit speech tags next to the quote (`said Faith`,
//! `Faith asked`) and pronoun tags (`he said`) resolved to the most recently
//! named character of that gender. Characters are the proper names that
//! appear as the subject of a speech verb, or the names voices.toml lists.

use std::collections::BTreeMap;

use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};
use crate::synth::Gender;

/// A character the user named in voices.toml: attribution uses only these
/// names when any are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCharacter {
    pub name: String,
    pub aliases: Vec<String>,
    pub gender: Option<Gender>,
}

/// A character found in (or given for) the story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Character {
    /// Canonical name: normally the most complete proper name.
    pub name: String,
    pub aliases: Vec<String>,
    pub gender: Option<Gender>,
    /// Dialogue segments attributed to this character.
    pub lines: usize,
    /// Words spoken in those segments.
    pub words: usize,
}

/// The segments with speakers filled in, and who the speakers are.
#[derive(Debug, Clone)]
pub struct Attributed {
    pub segments: Vec<Segment>,
    /// In order of first appearance.
    pub characters: Vec<Character>,
}

const SPEECH_VERBS: &[&str] = &[
    "said",
    "asked",
    "replied",
    "answered",
    "cried",
    "shouted",
    "whispered",
    "muttered",
    "snapped",
    "called",
    "added",
    "continued",
    "exclaimed",
    "yelled",
    "murmured",
    "snarled",
    "laughed",
    "sighed",
    "growled",
    "demanded",
    "began",
    "repeated",
    "says",
    "asks",
];

pub fn attribute(book: &Book, mut segments: Vec<Segment>, known: &[KnownCharacter]) -> Attributed {
    let text = &book.text;
    let mut last_by_gender: BTreeMap<Gender, String> = BTreeMap::new();
    let mut last_named: Option<String> = None;
    let mut genders: BTreeMap<String, Gender> = known
        .iter()
        .filter_map(|k| Some((k.name.clone(), k.gender?)))
        .collect();
    for segment in &segments {
        if segment.kind != SegmentKind::Narration {
            continue;
        }
        let narration = segment.text(text);
        for (name, pronoun_gender) in names_near_pronouns(narration) {
            if let Some(g) = pronoun_gender {
                genders.entry(name.clone()).or_insert(g);
            }
            last_named = Some(name);
        }
        if let Some(name) = &last_named
            && let Some(g) = genders.get(name)
        {
            last_by_gender.insert(*g, name.clone());
        }
        let _ = known;
    }
    for i in 0..segments.len() {
        if segments[i].kind != SegmentKind::Dialogue {
            continue;
        }
        let neighbours = [i + 1, i.wrapping_sub(1)];
        let mut speaker = None;
        for n in neighbours {
            let Some(seg) = segments.get(n) else { continue };
            if seg.kind != SegmentKind::Narration || seg.paragraph != segments[i].paragraph {
                continue;
            }
            if let Some(found) = tagged_speaker(seg.text(text), n > i, &last_by_gender, known) {
                speaker = Some(found);
                break;
            }
        }
        segments[i].speaker = speaker;
    }
    let characters = collect_characters(text, &segments, known, &genders);
    Attributed {
        segments,
        characters,
    }
}

fn names_near_pronouns(narration: &str) -> Vec<(String, Option<Gender>)> {
    let words: Vec<&str> = narration.split_whitespace().collect();
    let mut out = Vec::new();
    for (n, word) in words.iter().enumerate() {
        let clean = word.trim_matches(|c: char| !c.is_alphanumeric());
        if n > 0 && is_name(clean) {
            let gender = words[n + 1..]
                .iter()
                .take(8)
                .find_map(|w| pronoun_gender(w.trim_matches(|c: char| !c.is_alphanumeric())));
            out.push((clean.to_owned(), gender));
        }
    }
    out
}

fn is_name(word: &str) -> bool {
    const NOT_NAMES: &[&str] = &[
        "I", "The", "He", "She", "They", "It", "We", "You", "A", "And", "But", "Then", "What",
        "Yes", "No", "Oh", "Mr", "Mrs", "Miss",
    ];
    word.chars().next().is_some_and(char::is_uppercase)
        && word.chars().count() > 1
        && word.chars().skip(1).all(char::is_lowercase)
        && !NOT_NAMES.contains(&word)
}

fn pronoun_gender(word: &str) -> Option<Gender> {
    match word.to_lowercase().as_str() {
        "he" | "him" | "his" | "himself" => Some(Gender::Male),
        "she" | "her" | "hers" | "herself" => Some(Gender::Female),
        _ => None,
    }
}

/// Finds the speaker named by a tag in the narration right after (or right
/// before) a quote.
fn tagged_speaker(
    narration: &str,
    after_quote: bool,
    last_by_gender: &BTreeMap<Gender, String>,
    known: &[KnownCharacter],
) -> Option<String> {
    let words: Vec<String> = narration
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
        .collect();
    let window: Vec<&String> = if after_quote {
        words.iter().take(4).collect()
    } else {
        words
            .iter()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    };
    let verb = window
        .iter()
        .position(|w| SPEECH_VERBS.contains(&w.to_lowercase().as_str()))?;
    let candidates = [verb.checked_sub(1), Some(verb + 1)];
    for c in candidates.into_iter().flatten() {
        let Some(word) = window.get(c) else { continue };
        if let Some(g) = pronoun_gender(word) {
            return last_by_gender.get(&g).cloned();
        }
        if is_name(word) {
            return Some(canonical(word, known));
        }
    }
    None
}

fn canonical(name: &str, known: &[KnownCharacter]) -> String {
    known
        .iter()
        .find(|k| k.name == name || k.aliases.iter().any(|a| a == name))
        .map_or_else(|| name.to_owned(), |k| k.name.clone())
}

fn collect_characters(
    text: &str,
    segments: &[Segment],
    known: &[KnownCharacter],
    genders: &BTreeMap<String, Gender>,
) -> Vec<Character> {
    let mut characters: Vec<Character> = known
        .iter()
        .map(|k| Character {
            name: k.name.clone(),
            aliases: k.aliases.clone(),
            gender: k.gender,
            lines: 0,
            words: 0,
        })
        .collect();
    for segment in segments {
        let Some(name) = &segment.speaker else {
            continue;
        };
        let words = segment.text(text).split_whitespace().count();
        match characters.iter_mut().find(|c| &c.name == name) {
            Some(c) => {
                c.lines += 1;
                c.words += words;
            }
            None => characters.push(Character {
                name: name.clone(),
                aliases: Vec::new(),
                gender: genders.get(name).copied(),
                lines: 1,
                words,
            }),
        }
    }
    characters
}
