//! Features: one small named function per piece of evidence that a
//! candidate spoke a quote. Each reads the quote's [`Cues`] (static), the
//! [`History`] of decisions so far, and the candidate, and returns a
//! number (mostly 0 or 1). The model weighs them; `--explain` shows which
//! fired. Features are grouped by kind of evidence, so that the ablation
//! can retrain without a whole group.
//!
//! Conjunctions that a linear model cannot find by itself ("it is this
//! one's turn" matters for an untagged quote, much less for a tagged one)
//! are features of their own.

use super::candidates::Cand;
use super::context::{Context, TagKind};
use super::cues::Cues;
use super::history::History;
use super::style::Likeness;
use super::topic::Actor;
use crate::core::Gender;

/// Kinds of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Tags,
    Pronouns,
    FirstPerson,
    Beats,
    Turns,
    Neighbours,
    Vocatives,
    Paragraph,
    Topic,
    Salience,
    Unnamed,
    Style,
    Teller,
}

impl Group {
    pub const ALL: [Group; 13] = [
        Group::Tags,
        Group::Pronouns,
        Group::FirstPerson,
        Group::Beats,
        Group::Turns,
        Group::Neighbours,
        Group::Vocatives,
        Group::Paragraph,
        Group::Topic,
        Group::Salience,
        Group::Unnamed,
        Group::Style,
        Group::Teller,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Tags => "tags",
            Group::Pronouns => "pronouns",
            Group::FirstPerson => "first_person",
            Group::Beats => "beats",
            Group::Turns => "turns",
            Group::Neighbours => "neighbours",
            Group::Vocatives => "vocatives",
            Group::Paragraph => "paragraph",
            Group::Topic => "topic",
            Group::Salience => "salience",
            Group::Unnamed => "unnamed",
            Group::Style => "style",
            Group::Teller => "teller",
        }
    }

    pub fn parse(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// What a feature looks at.
pub struct Env<'e, 'a> {
    pub ctx: &'e Context<'a>,
    pub cues: &'e Cues,
    pub hist: &'e History,
}

pub enum Value {
    /// A feature of a named candidate.
    Char(fn(&Env<'_, '_>, usize) -> bool),
    /// A graded feature of a named candidate.
    Graded(fn(&Env<'_, '_>, usize) -> f32),
    /// A feature of the "someone unnamed" candidate.
    Unnamed(fn(&Env<'_, '_>) -> bool),
}

pub struct Feature {
    pub name: &'static str,
    pub group: Group,
    pub value: Value,
}

impl Feature {
    pub fn eval(&self, env: &Env<'_, '_>, cand: Cand) -> f32 {
        let on = |b: bool| if b { 1.0 } else { 0.0 };
        match (&self.value, cand) {
            (Value::Char(f), Cand::Char(id)) => on(f(env, id)),
            (Value::Graded(f), Cand::Char(id)) => f(env, id),
            (Value::Unnamed(f), Cand::Unnamed) => on(f(env)),
            _ => 0.0,
        }
    }
}

/// The kinds of quote whose evidence is weighed differently: every
/// feature has a weight of its own in each (`name@situation`) besides its
/// general weight, so that, say, turn-taking can count for much in an
/// untagged exchange and little against a tag.
///
/// A bare person noun ("said the girl") resolves like a pronoun but has a
/// situation of its own (`person_noun`, last so that older weight names
/// keep their indices): writers switch from "she" to "the girl" when the
/// pronoun would point at the wrong woman, so the most recent woman and
/// the speaker just before are less likely than after "she said" (in the
/// dev stories 87% of such tags change speaker, against 69% of pronoun
/// tags).
pub const SITUATIONS: [&str; 7] = [
    "named",
    "pronoun",
    "described",
    "para_tagged",
    "exchange",
    "restart",
    "person_noun",
];

/// The index in [`SITUATIONS`] of the situation [`Model::parse`] fills
/// from [`PRONOUN_SITUATION`] when a model file predates it.
///
/// [`Model::parse`]: super::model::Model::parse
pub const PERSON_NOUN_SITUATION: usize = 6;
pub const PRONOUN_SITUATION: usize = 1;

/// The situation of the quote `env` looks at.
pub fn situation(env: &Env<'_, '_>) -> usize {
    match env.cues.tag.map(|t| t.kind) {
        Some(TagKind::Names(_)) if !env.cues.tag.is_some_and(|t| t.descriptive) => 0,
        Some(TagKind::Pronoun(_)) if env.cues.tag.is_some_and(|t| t.descriptive) => {
            PERSON_NOUN_SITUATION
        }
        Some(TagKind::Pronoun(_)) => PRONOUN_SITUATION,
        Some(_) => 2,
        None if !env.cues.para_tags.is_empty() => 3,
        None if env.hist.open() => 4,
        None => 5,
    }
}

/// How many weights a model has: one per feature, and one per feature and
/// situation.
pub fn width() -> usize {
    FEATURES.len() * (1 + SITUATIONS.len())
}

/// The feature behind weight `i`.
pub fn feature_of(i: usize) -> &'static Feature {
    &FEATURES[i % FEATURES.len()]
}

/// The name of weight `i`: `feature` or `feature@situation`.
pub fn weight_name(i: usize) -> String {
    let f = feature_of(i).name;
    match i / FEATURES.len() {
        0 => f.to_owned(),
        s => format!("{f}@{}", SITUATIONS[s - 1]),
    }
}

/// The index of the weight called `name` (see [`weight_name`]).
pub fn index_of(name: &str) -> Option<usize> {
    let (feature, situation) = match name.split_once('@') {
        Some((f, s)) => (f, 1 + SITUATIONS.iter().position(|x| *x == s)?),
        None => (name, 0),
    };
    let i = FEATURES.iter().position(|f| f.name == feature)?;
    Some(situation * FEATURES.len() + i)
}

/// The non-zero features of one candidate: (weight index, value), each
/// feature once in general and once for the quote's situation.
pub fn compute(env: &Env<'_, '_>, cand: Cand, out: &mut Vec<(u16, f32)>) {
    out.clear();
    let offset = (1 + situation(env)) * FEATURES.len();
    for (i, f) in FEATURES.iter().enumerate() {
        let v = f.eval(env, cand);
        if v != 0.0 {
            out.push((i as u16, v));
            out.push(((offset + i) as u16, v));
        }
    }
}

macro_rules! features {
    ($($group:ident: $($name:ident => $kind:ident),+ ;)+) => {
        pub static FEATURES: &[Feature] = &[
            $($(Feature { name: stringify!($name), group: Group::$group, value: Value::$kind($name) },)+)+
        ];
    };
}

features! {
    Tags: tag_names => Char, tag_names_descr => Char, para_tag_names => Char,
        para_tag_names_descr => Char, descr_expected => Char, descr_last => Char,
        descr_gender_clash => Char, related_expected => Char, related_recent => Char,
        tag_names_cast_descr => Char, epithet_share => Graded, epithet_self => Graded,
        descr_recent => Char;
    Pronouns: pron_match => Char, pron_clash => Char, pron_unknown => Char,
        pron_narrator => Char, pron_in_para => Char, pron_topic => Char,
        pron_recent1 => Char, pron_recent2 => Char, pron_expected => Char,
        pron_last => Char, pron_addressed => Char, pron_caller => Char,
        pron_para_speaker => Char, pron_speaker1 => Char;
    FirstPerson: narrator => Char, fp_tag => Char, fp_beat => Char;
    Beats: beat_named => Char, beat_pron => Char, beat_pron_last => Char,
        para_mention => Char, para_object => Char, para_mention_untagged => Char;
    Turns: last_speaker => Char, last_untagged => Char, expected => Char,
        expected_untagged => Char, last_after_narration => Char, speaker_rank2 => Char,
        speaker_rank3 => Char, continues_last => Char, in_exchange => Char;
    Neighbours: next_tag => Char, next2_tag => Char, prev_tag => Char, prev2_tag => Char,
        next_pron_same => Char, named_inside => Char, ahead_even => Char, ahead_odd => Char,
        behind_even => Char, behind_odd => Char, ahead_pron_even => Char, ahead_pron_odd => Char;
    Vocatives: vocative_self => Char, vocative_para => Char, addressed_prev => Char,
        addressed_prev_untagged => Char, answered_next => Char, addresses_expected => Char;
    Paragraph: para_previous => Char, para_previous_untagged => Char;
    Topic: topic => Char, topic_untagged => Char, prev_mention => Char;
    Salience: recent1 => Char, recent2 => Char, recent3 => Char, near_count => Graded,
        book_mentions => Graded, book_tags => Graded, described => Char,
        gender_unknown => Char;
    Unnamed: unnamed => Unnamed, unnamed_described => Unnamed, unnamed_stranger => Unnamed,
        unnamed_unknown_tag => Unnamed, unnamed_untagged => Unnamed;
    Style: style_z => Graded, style_best => Char, style_turn => Char;
    Teller: teller_long => Char, teller_short => Char, teller_share_long => Graded;
}

// Helpers.

fn own_tag(e: &Env<'_, '_>) -> Option<TagKind> {
    e.cues.tag.map(|t| t.kind)
}

fn own_untagged(e: &Env<'_, '_>) -> bool {
    e.cues.tag.is_none()
}

/// The candidate's gender agrees with `g` (known and equal).
fn is(e: &Env<'_, '_>, id: usize, g: Gender) -> bool {
    e.ctx.gender(id) == Some(g)
}

/// The candidate's gender is known and differs from `g`.
fn clashes(e: &Env<'_, '_>, id: usize, g: Gender) -> bool {
    e.ctx.gender(id).is_some_and(|cg| cg != g)
}

/// The quote's own tag is a description (or relation) pointing at no
/// named character: "said the sculptor", "answered the other".
fn descriptive_tag(e: &Env<'_, '_>) -> Option<Option<usize>> {
    let t = e.cues.tag?;
    match t.kind {
        TagKind::Names(id) if t.descriptive && e.ctx.roster.chars[id].described => Some(Some(id)),
        TagKind::Described(_) => Some(None),
        _ => None,
    }
}

fn pronoun(e: &Env<'_, '_>) -> Option<Gender> {
    e.cues.pronoun().map(|(g, _)| g)
}

/// `id` is the `n`-th most recently mentioned character of gender `g`.
fn recent_of_gender(e: &Env<'_, '_>, id: usize, g: Gender, n: usize) -> bool {
    e.cues
        .recent
        .iter()
        .filter(|&&r| !e.ctx.is_narrator(r) && is(e, r, g))
        .nth(n)
        == Some(&id)
}

// Tags: "said Ines", "said the sculptor", "my companion".

fn tag_names(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues
        .tag
        .is_some_and(|t| t.kind == TagKind::Names(id) && !t.descriptive)
}
fn tag_names_descr(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues
        .tag
        .is_some_and(|t| t.kind == TagKind::Names(id) && t.descriptive)
}
fn para_tag_names(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues
        .para_tags
        .iter()
        .any(|t| t.kind == TagKind::Names(id) && !t.descriptive)
}
fn para_tag_names_descr(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues
        .para_tags
        .iter()
        .any(|t| t.kind == TagKind::Names(id) && t.descriptive)
}
/// "said the sculptor" on a named character's turn may be that character.
fn descr_expected(e: &Env<'_, '_>, id: usize) -> bool {
    descriptive_tag(e).is_some_and(|d| d != Some(id))
        && e.hist.expected() == Some(id)
        && !e.ctx.roster.chars[id].described
}
fn descr_last(e: &Env<'_, '_>, id: usize) -> bool {
    descriptive_tag(e).is_some_and(|d| d != Some(id))
        && e.hist.last == Some(id)
        && !e.ctx.roster.chars[id].described
}
fn descr_gender_clash(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues
        .described_gender(e.ctx)
        .is_some_and(|g| clashes(e, id, g))
}
/// "said the ferryman" naming an entry of the user's cast.
fn tag_names_cast_descr(e: &Env<'_, '_>, id: usize) -> bool {
    e.ctx.roster.closed && tag_names_descr(e, id)
}
/// The share of this description's uses that fall on `id`'s turns.
fn epithet_share(e: &Env<'_, '_>, id: usize) -> f32 {
    match e.cues.tag.and_then(|t| t.description) {
        Some(d) if !e.ctx.roster.chars[id].described => e.ctx.epithet_share(d, id),
        _ => 0.0,
    }
}
/// How often the description is used, for its own character: a
/// description used again and again is someone of its own ("the ferryman").
fn epithet_self(e: &Env<'_, '_>, id: usize) -> f32 {
    match e.cues.tag.and_then(|t| t.description) {
        Some(d) if tag_names_descr(e, id) => {
            (e.ctx.description_uses[d as usize] as f32).ln_1p() / 4.0
        }
        _ => 0.0,
    }
}
/// "said the young girl": like "she said", the latest woman mentioned.
fn descr_recent(e: &Env<'_, '_>, id: usize) -> bool {
    descriptive_tag(e).is_some()
        && e.cues
            .described_gender(e.ctx)
            .is_some_and(|g| recent_of_gender(e, id, g, 0))
}
fn related_expected(e: &Env<'_, '_>, id: usize) -> bool {
    matches!(own_tag(e), Some(TagKind::Related(g)) if g.is_none_or(|g| !clashes(e, id, g)))
        && e.hist.expected() == Some(id)
}
fn related_recent(e: &Env<'_, '_>, id: usize) -> bool {
    matches!(own_tag(e), Some(TagKind::Related(g)) if g.is_none_or(|g| !clashes(e, id, g)))
        && e.hist.last != Some(id)
        && e.cues
            .recent
            .iter()
            .find(|&&r| Some(r) != e.hist.last && !e.ctx.is_narrator(r))
            == Some(&id)
}

// Pronoun tags: "he said".

fn pron_match(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| is(e, id, g))
}
fn pron_clash(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| clashes(e, id, g))
}
fn pron_unknown(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some() && e.ctx.gender(id).is_none() && !e.ctx.is_narrator(id)
}
fn pron_narrator(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some() && e.ctx.is_narrator(id)
}
fn pron_in_para(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.pron_in_para == Some(id)
}
/// "Harlow looked at Fenwick." / "No," he said: the narration's subject.
fn pron_topic(e: &Env<'_, '_>, id: usize) -> bool {
    match pronoun(e) {
        Some(Gender::Male) => e.cues.topic_male == Some(id),
        Some(Gender::Female) => e.cues.topic_female == Some(id),
        _ => false,
    }
}
fn pron_recent1(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| recent_of_gender(e, id, g, 0))
}
fn pron_recent2(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| recent_of_gender(e, id, g, 1))
}
fn pron_expected(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| is(e, id, g)) && e.hist.expected() == Some(id)
}
fn pron_last(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| is(e, id, g)) && e.hist.last == Some(id)
}
/// "Is it finished, Rowan?" / "Quite," he said: the one just addressed.
fn pron_addressed(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| is(e, id, g))
        && e.cues.prev_vocatives.contains(&id)
        && e.hist.last != Some(id)
}
/// The last speaker called on someone "he" cannot be (the narrator, a
/// woman): "he" is the caller going on.
fn pron_caller(e: &Env<'_, '_>, id: usize) -> bool {
    let Some(g) = pronoun(e) else { return false };
    is(e, id, g)
        && e.hist.last == Some(id)
        && e.cues
            .prev_vocatives
            .iter()
            .any(|&v| v != id && (e.ctx.is_narrator(v) || clashes(e, v, g)))
}
/// "said the Queen, turning to Greta, she went on": the paragraph's speaker.
fn pron_para_speaker(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| !clashes(e, id, g)) && e.hist.para.contains(&Some(id))
}
fn pron_speaker1(e: &Env<'_, '_>, id: usize) -> bool {
    pronoun(e).is_some_and(|g| e.hist.recent.iter().find(|&&r| is(e, r, g)) == Some(&id))
}

// First-person narration.

fn narrator(e: &Env<'_, '_>, id: usize) -> bool {
    e.ctx.is_narrator(id)
}
fn fp_tag(e: &Env<'_, '_>, id: usize) -> bool {
    let para = own_untagged(e)
        && e.cues
            .para_tags
            .iter()
            .any(|t| t.kind == TagKind::FirstPerson);
    e.ctx.is_narrator(id) && (own_tag(e) == Some(TagKind::FirstPerson) || para)
}
fn fp_beat(e: &Env<'_, '_>, id: usize) -> bool {
    e.ctx.is_narrator(id) && own_untagged(e) && e.cues.actor == Some(Actor::FirstPerson)
}

// Action beats: the paragraph's narration.

fn beat_named(e: &Env<'_, '_>, id: usize) -> bool {
    own_untagged(e) && e.cues.actor == Some(Actor::Named(id))
}
fn beat_pron(e: &Env<'_, '_>, id: usize) -> bool {
    own_untagged(e)
        && matches!(e.cues.actor, Some(Actor::Pronoun(..)))
        && e.cues.actor_resolved == Some(id)
}
fn beat_pron_last(e: &Env<'_, '_>, id: usize) -> bool {
    own_untagged(e)
        && matches!(e.cues.actor, Some(Actor::Pronoun(g, _)) if is(e, id, g))
        && e.hist.last == Some(id)
}
fn para_mention(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.para_mentions.contains(&id)
}
fn para_object(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.para_objects.contains(&id)
}
fn para_mention_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.para_mentions.contains(&id)
}

// Turn-taking.

fn last_speaker(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.open() && e.hist.last == Some(id)
}
fn last_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.hist.open() && e.hist.last == Some(id)
}
fn expected(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.expected() == Some(id)
}
fn expected_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.hist.expected() == Some(id)
}
fn last_after_narration(e: &Env<'_, '_>, id: usize) -> bool {
    !e.hist.open() && e.hist.last == Some(id)
}
fn speaker_rank2(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.speaker_rank(id) == Some(1)
}
fn speaker_rank3(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.speaker_rank(id).is_some_and(|r| r >= 2)
}
/// A quote carried on from the previous paragraph keeps its speaker.
fn continues_last(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.continues && e.cues.first_in_para && e.hist.last == Some(id)
}
fn in_exchange(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.conv.contains(&id)
}

// Stories told in quotes: the teller says long pieces, the listener short
// interruptions, and narration ("He paused") or a chapter break in between
// does not end the telling.

/// A quote this long is a piece of a story, not a line of an exchange.
const LONG_QUOTE_WORDS: u32 = 30;

fn long_quote(e: &Env<'_, '_>) -> bool {
    e.hist.words >= LONG_QUOTE_WORDS
}
/// The one who said most of the latest quotes' words (at least half).
fn is_teller(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist
        .teller()
        .is_some_and(|(t, share)| t == id && share >= 0.5)
}
fn teller_long(e: &Env<'_, '_>, id: usize) -> bool {
    long_quote(e) && is_teller(e, id)
}
fn teller_short(e: &Env<'_, '_>, id: usize) -> bool {
    !long_quote(e) && is_teller(e, id)
}
fn teller_share_long(e: &Env<'_, '_>, id: usize) -> f32 {
    match e.hist.teller() {
        Some((t, share)) if t == id && long_quote(e) => share,
        _ => 0.0,
    }
}

// Neighbours: the tags of the paragraphs around an untagged quote. In an
// exchange, the one tagged in the next paragraph answers this quote (so
// did not speak it), and the one tagged two paragraphs on likely did.

fn next_tag(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.next_tags.contains(&id)
}
fn next2_tag(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.next2_tags.contains(&id)
}
fn prev_tag(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.prev_tags.contains(&id)
}
fn prev2_tag(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.prev2_tags.contains(&id)
}
/// "she said" answering an untagged quote: the quote is likely a man's.
fn next_pron_same(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.next_pronoun.is_some_and(|g| is(e, id, g))
}
/// The nearest tag further on (three paragraphs or more) names `id` at an
/// even distance: in an alternating exchange, `id` speaks now.
fn ahead_even(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged()
        && matches!(&e.cues.ahead, Some((d, who)) if *d >= 3 && d % 2 == 0 && who.contains(&id))
}
fn ahead_odd(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged()
        && matches!(&e.cues.ahead, Some((d, who)) if *d >= 3 && d % 2 == 1 && who.contains(&id))
}
fn behind_even(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged()
        && matches!(&e.cues.behind, Some((d, who)) if *d >= 3 && d % 2 == 0 && who.contains(&id))
}
fn behind_odd(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged()
        && matches!(&e.cues.behind, Some((d, who)) if *d >= 3 && d % 2 == 1 && who.contains(&id))
}
/// "she said" an even number of paragraphs on: likely a woman speaks now.
fn ahead_pron_even(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && matches!(e.cues.ahead_pronoun, Some((d, g)) if d % 2 == 0 && is(e, id, g))
}
fn ahead_pron_odd(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && matches!(e.cues.ahead_pronoun, Some((d, g)) if d % 2 == 1 && is(e, id, g))
}
fn named_inside(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.named_inside.contains(&id)
}

// Vocatives: names addressed inside quotes.

fn vocative_self(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.vocatives.contains(&id)
}
fn vocative_para(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.para_vocatives.contains(&id)
}
fn addressed_prev(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.prev_vocatives.contains(&id) && e.hist.last != Some(id)
}
fn addressed_prev_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && addressed_prev(e, id)
}
/// "Not eight, Ted, please": the reply names the one it answers.
fn answered_next(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.answered == Some(id)
}
/// "And you, Ida?" addressed to the one whose turn it was: the last
/// speaker goes on.
fn addresses_expected(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged()
        && e.hist.last == Some(id)
        && e.hist
            .expected()
            .is_some_and(|x| e.cues.vocatives.contains(&x))
}

// The paragraph: one speaker per paragraph, mostly.

fn para_previous(e: &Env<'_, '_>, id: usize) -> bool {
    e.hist.para_previous() == Some(id)
}
fn para_previous_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    own_untagged(e) && e.hist.para_previous() == Some(id)
}

// The narration before the quote.

fn topic(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.topic == Some(id)
}
fn topic_untagged(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.untagged() && e.cues.topic == Some(id)
}
fn prev_mention(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.prev_mentions.contains(&id)
}

// Salience: who the story is about, near the quote and book-wide.

fn recent1(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.recent_rank(id) == Some(0)
}
fn recent2(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.recent_rank(id) == Some(1)
}
fn recent3(e: &Env<'_, '_>, id: usize) -> bool {
    e.cues.recent_rank(id).is_some_and(|r| r >= 2)
}
fn near_count(e: &Env<'_, '_>, id: usize) -> f32 {
    let n = e
        .cues
        .near_counts
        .iter()
        .find(|(c, _)| *c == id)
        .map_or(0, |(_, n)| *n);
    (n as f32).ln_1p() / 4.0
}
fn book_mentions(e: &Env<'_, '_>, id: usize) -> f32 {
    (e.ctx.mention_count[id] as f32).ln_1p() / 8.0
}
fn book_tags(e: &Env<'_, '_>, id: usize) -> f32 {
    (e.ctx.tag_count[id] as f32).ln_1p() / 6.0
}
fn described(e: &Env<'_, '_>, id: usize) -> bool {
    e.ctx.roster.chars[id].described
}
fn gender_unknown(e: &Env<'_, '_>, id: usize) -> bool {
    e.ctx.gender(id).is_none() && !e.ctx.is_narrator(id)
}

// Someone unnamed.

fn unnamed(_: &Env<'_, '_>) -> bool {
    true
}
fn unnamed_described(e: &Env<'_, '_>) -> bool {
    matches!(own_tag(e), Some(TagKind::Described(_)))
}
fn unnamed_stranger(e: &Env<'_, '_>) -> bool {
    own_tag(e) == Some(TagKind::Stranger)
}
fn unnamed_unknown_tag(e: &Env<'_, '_>) -> bool {
    own_tag(e) == Some(TagKind::Unknown)
}
fn unnamed_untagged(e: &Env<'_, '_>) -> bool {
    e.cues.untagged()
}

// Style: how much the quote sounds like the candidate's tagged lines.

fn likeness(e: &Env<'_, '_>, id: usize) -> Option<Likeness> {
    e.cues.style.iter().find(|l| l.id == id).copied()
}
/// The standard score of the quote's likeness to `id`'s lines, among
/// everyone with a profile.
fn style_z(e: &Env<'_, '_>, id: usize) -> f32 {
    likeness(e, id).map_or(0.0, |l| l.z / 3.0)
}
/// The quote sounds more like `id` than like anyone else with a profile.
fn style_best(e: &Env<'_, '_>, id: usize) -> bool {
    let best = e
        .cues
        .style
        .iter()
        .max_by(|a, b| a.cosine.total_cmp(&b.cosine).then(b.id.cmp(&a.id)));
    best.is_some_and(|l| l.id == id)
}
/// In a two-person exchange, the quote sounds more like `id` than like
/// the other one of the two.
fn style_turn(e: &Env<'_, '_>, id: usize) -> bool {
    let (Some(last), Some(next)) = (e.hist.last, e.hist.expected()) else {
        return false;
    };
    let other = if id == last {
        next
    } else if id == next {
        last
    } else {
        return false;
    };
    match (likeness(e, id), likeness(e, other)) {
        (Some(a), Some(b)) => a.cosine > b.cosine,
        _ => false,
    }
}

#[cfg(test)]
#[path = "features_tests.rs"]
mod tests;
