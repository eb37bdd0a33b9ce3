//! Attribute: give each dialogue segment a speaker.
//!
//! Design: a learned ranker over each quote's candidate speakers.
//! `context` reads the book once (narration tokens, speech tags from
//! `tags`, the roster from `characters`: the user's cast, or names
//! discovered in the text and grouped into people by `cluster`, with
//! genders from `gender` and `given_names`; mentions, vocatives); `cues`
//! collects the static facts around each quote (with `style`: how much it
//! sounds like each character's tagged lines); `candidates` lists who may
//! have spoken it; `features` turns the evidence for one candidate into
//! named numbers; `model` weighs them (a conditional logit whose weights
//! are learned from annotated stories, see `learn`); and `decoder` decides
//! the quotes in order, since turn-taking makes each decision evidence for
//! the next.

mod candidates;
mod characters;
mod cluster;
mod context;
mod cues;
mod decoder;
mod discover;
mod explain;
mod features;
mod gender;
mod given_names;
mod history;
mod kin;
pub mod learn;
mod learn_seq;
mod lexicon;
mod model;
mod never_names;
mod noun_gender;
mod style;
mod tags;
mod titles;
mod tokens;
mod topic;
mod vocatives;

pub use explain::{Explanation, Ranked};
pub use model::{Model, ModelError};

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

/// One cast entry with aliases, for unit tests.
#[cfg(test)]
pub(crate) fn known(name: &str, aliases: &[&str], gender: Option<Gender>) -> KnownCharacter {
    KnownCharacter {
        name: name.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        gender,
    }
}

/// A cast of bare names (no aliases, no gender), for unit tests.
#[cfg(test)]
pub(crate) fn cast_of(names: &[&str]) -> Vec<KnownCharacter> {
    names
        .iter()
        .map(|name| KnownCharacter {
            name: (*name).to_owned(),
            aliases: Vec::new(),
            gender: None,
        })
        .collect()
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

/// Speakers for the dialogue of `segments`, with the model compiled in.
pub fn attribute(book: &Book, segments: Vec<Segment>, known: &[KnownCharacter]) -> Attributed {
    attribute_with(book, segments, known, Model::embedded())
}

/// [`attribute`] with a given model.
pub fn attribute_with(
    book: &Book,
    mut segments: Vec<Segment>,
    known: &[KnownCharacter],
    model: &Model,
) -> Attributed {
    let speakers = speakers(book, &segments, known, model);
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
    gender::refine(book, &segments, &mut characters);
    Attributed {
        segments,
        characters,
    }
}

/// A speaker for every segment (`None` for narration and unattributed
/// quotes).
fn speakers(
    book: &Book,
    segments: &[Segment],
    known: &[KnownCharacter],
    model: &Model,
) -> Vec<Option<characters::CharInfo>> {
    let mut ctx = context::Context::build(book, segments, known);
    let cues: Vec<cues::Cues> = ctx.quotes.iter().map(|q| cues::cues(&ctx, q)).collect();
    let decided = decoder::decode(&ctx, &cues, model);
    name_the_narrator(&mut ctx, &decided);
    let mut out = vec![None; segments.len()];
    for (q, speaker) in ctx.quotes.iter().zip(decided) {
        out[q.seg] = speaker.map(|id| ctx.roster.chars[id].clone());
    }
    out
}

/// Why each quote went to its speaker (see `castbook script --explain`).
pub fn explain(
    book: &Book,
    segments: &[Segment],
    known: &[KnownCharacter],
    model: &Model,
) -> Vec<Explanation> {
    let mut ctx = context::Context::build(book, segments, known);
    let cues: Vec<cues::Cues> = ctx.quotes.iter().map(|q| cues::cues(&ctx, q)).collect();
    let decided = decoder::decode(&ctx, &cues, model);
    let options = decoder::explain(&ctx, &cues, model, &decided);
    name_the_narrator(&mut ctx, &decided);
    ctx.quotes
        .iter()
        .zip(&options)
        .map(|(q, o)| {
            explain::explain_quote(
                (q.seg, segments[q.seg].range.clone()),
                o,
                &ctx.roster.chars,
                model,
            )
        })
        .collect()
}

/// A first-person narrator found in the text takes the name the other
/// characters call out when talking to them ("Pell, come!").
fn name_the_narrator(ctx: &mut context::Context<'_>, decided: &[Option<usize>]) {
    let Some(n) = ctx.narrator else { return };
    if ctx.roster.closed {
        return;
    }
    let lines: Vec<_> = ctx
        .quotes
        .iter()
        .zip(decided)
        .map(|(q, &s)| (context::segment_tokens(ctx.segments, ctx.text, q.seg), s))
        .collect();
    // The name called next to the narrator's decided lines, else the one
    // called in any quote not tagged "I said" and never written in the
    // narration.
    let called = || {
        let narration: Vec<&[tokens::Tok<'_>]> = ctx.toks.iter().map(Vec::as_slice).collect();
        let by_narrator =
            |i: usize| ctx.tags[i].is_some_and(|t| t.kind == context::TagKind::FirstPerson);
        context::called_name(ctx.segments, ctx.text, by_narrator, &narration, &ctx.common)
    };
    if let Some(name) = vocatives::narrator_name(&lines, n, &ctx.common).or_else(called) {
        let c = &mut ctx.roster.chars[n];
        c.aliases.push(std::mem::replace(&mut c.name, name));
    }
}
