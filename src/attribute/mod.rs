//! Attribute: give each dialogue segment a speaker.
//!
//! Design: one linear pass to tokenise narration and find speech tags
//! (`tags`), one to build the roster of characters (`characters`: the
//! user's cast, or names discovered in the text and grouped into people by
//! `cluster`, with genders from `gender` and `given_names`), then a single ordered
//! walk over the paragraphs (`resolve`) that weighs the evidence for each
//! quote: explicit tags, pronoun tags resolved by salience, first-person
//! narration, action beats, vocatives and turn-taking.
//!
//! Each kind of evidence can be switched off through [`Evidence`] to
//! measure what it contributes (the binary reads a comma list of evidence
//! names from the `CASTBOOK_ATTR_DISABLE` environment variable; the library
//! reads no environment).

mod characters;
mod cluster;
mod gender;
mod given_names;
mod lexicon;
mod resolve;
mod tags;
mod tokens;

use std::collections::HashMap;

use crate::core::Gender;
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};

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

/// Which kinds of evidence attribution may use (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// Named speech tags: "said Faith", "asked the doctor".
    pub named_tags: bool,
    /// Pronoun tags resolved by salience: "he said".
    pub pronoun_tags: bool,
    /// "I said" and first-person beats go to the narrator.
    pub first_person: bool,
    /// Action beats: a character acting in the quote's paragraph.
    pub beats: bool,
    /// Untagged quotes alternate between the last two speakers.
    pub turns: bool,
    /// A name addressed inside a quote is not its speaker (and likely the next one).
    pub vocatives: bool,
    /// Untagged quotes share the tagged speaker of their paragraph.
    pub paragraph: bool,
    /// Pronoun-based gender votes for discovered characters.
    pub gender_votes: bool,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            named_tags: true,
            pronoun_tags: true,
            first_person: true,
            beats: true,
            turns: true,
            vocatives: true,
            paragraph: true,
            gender_votes: true,
        }
    }
}

impl Evidence {
    pub const NAMES: [&'static str; 8] = [
        "named_tags",
        "pronoun_tags",
        "first_person",
        "beats",
        "turns",
        "vocatives",
        "paragraph",
        "gender_votes",
    ];

    /// All evidence except the comma-separated names in `disabled`.
    pub fn without(disabled: &str) -> Evidence {
        let mut e = Evidence::default();
        for name in disabled.split(',').map(str::trim) {
            match name {
                "named_tags" => e.named_tags = false,
                "pronoun_tags" => e.pronoun_tags = false,
                "first_person" => e.first_person = false,
                "beats" => e.beats = false,
                "turns" => e.turns = false,
                "vocatives" => e.vocatives = false,
                "paragraph" => e.paragraph = false,
                "gender_votes" => e.gender_votes = false,
                _ => {}
            }
        }
        e
    }
}

pub fn attribute(book: &Book, segments: Vec<Segment>, known: &[KnownCharacter]) -> Attributed {
    attribute_with(book, segments, known, Evidence::default())
}

/// [`attribute`] with explicit evidence switches.
pub fn attribute_with(
    book: &Book,
    mut segments: Vec<Segment>,
    known: &[KnownCharacter],
    evidence: Evidence,
) -> Attributed {
    let speakers = resolve::resolve(book, &segments, known, evidence);
    let text = &book.text;
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
    let mut index: HashMap<String, usize> = characters
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), i))
        .collect();
    for (segment, speaker) in segments.iter_mut().zip(speakers) {
        if segment.kind != SegmentKind::Dialogue {
            continue;
        }
        let Some(info) = speaker else {
            segment.speaker = None;
            continue;
        };
        let words = segment.text(text).split_whitespace().count();
        let i = *index.entry(info.name.clone()).or_insert_with(|| {
            characters.push(Character {
                name: info.name.clone(),
                aliases: info.aliases.clone(),
                gender: info.gender,
                lines: 0,
                words: 0,
            });
            characters.len() - 1
        });
        characters[i].lines += 1;
        characters[i].words += words;
        segment.speaker = Some(info.name);
    }
    if evidence.gender_votes {
        gender::refine(book, &segments, &mut characters);
    }
    Attributed {
        segments,
        characters,
    }
}
