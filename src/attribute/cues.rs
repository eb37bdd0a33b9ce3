//! Cues: the facts about one quote's surroundings that do not depend on
//! who spoke the quotes before it: its tag and its paragraph's other tags,
//! who acts in its paragraph, who is addressed around it, the topic of the
//! narration before it, and who was mentioned recently.
//!
//! They are computed once per quote from the [`Context`]; features
//! compare a candidate with them in constant time.

use super::context::{Context, Quote, QuoteTag, TagKind, is_object};
use super::style::Likeness;
use super::topic::{self, Actor};
use crate::core::Gender;

/// How many narration mentions back "recently mentioned" looks.
const RECENT_MENTIONS: usize = 60;
/// How many distinct recently mentioned characters are kept.
const RECENT_CHARACTERS: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Cues {
    /// The quote's own tag.
    pub tag: Option<QuoteTag>,
    /// Tags of the paragraph's other quotes.
    pub para_tags: Vec<QuoteTag>,
    /// First quote of its paragraph.
    pub first_in_para: bool,
    /// Carries on a quote left open in the previous paragraph.
    pub continues: bool,
    /// First one acting in the paragraph's narration, and who a pronoun
    /// actor most likely is (the latest mention of that gender).
    pub actor: Option<Actor>,
    pub actor_resolved: Option<usize>,
    /// Characters mentioned in the paragraph's narration as subjects or
    /// possessors, and only as objects of prepositions.
    pub para_mentions: Vec<usize>,
    pub para_objects: Vec<usize>,
    /// Addressed by name: in this quote, in the paragraph's other quotes,
    /// in the previous paragraph's quotes, and (alone) as the next
    /// paragraph's reply opens.
    pub vocatives: Vec<usize>,
    pub para_vocatives: Vec<usize>,
    pub prev_vocatives: Vec<usize>,
    pub answered: Option<usize>,
    /// The subject of the previous narration paragraph's last sentences:
    /// any character, a man, a woman.
    pub topic: Option<usize>,
    pub topic_male: Option<usize>,
    pub topic_female: Option<usize>,
    /// Mentioned in the previous narration paragraph.
    pub prev_mentions: Vec<usize>,
    /// Distinct characters by recency of their last narration mention.
    pub recent: Vec<usize>,
    /// (character, mentions among the last [`RECENT_MENTIONS`]).
    pub near_counts: Vec<(usize, u32)>,
    /// For a pronoun tag: the latest mention of its gender in the
    /// paragraph before the tag.
    pub pron_in_para: Option<usize>,
    /// Named inside the quote, not addressed.
    pub named_inside: Vec<usize>,
    /// Characters named by the tags of the neighbouring paragraphs of the
    /// same exchange (no narration paragraph in between): the one after,
    /// the one after that, the one before, the one before that.
    pub next_tags: Vec<usize>,
    pub next2_tags: Vec<usize>,
    pub prev_tags: Vec<usize>,
    pub prev2_tags: Vec<usize>,
    /// The gender of a pronoun tag in the next paragraph ("she said").
    pub next_pronoun: Option<Gender>,
    /// The nearest paragraph of the same exchange, ahead and behind, whose
    /// tags name someone: (distance in paragraphs, who). In a two-person
    /// exchange an even distance means the same speaker, an odd one the
    /// other.
    pub ahead: Option<(usize, Vec<usize>)>,
    pub behind: Option<(usize, Vec<usize>)>,
    /// The nearest pronoun tag ahead in the exchange: (distance, gender).
    pub ahead_pronoun: Option<(usize, Gender)>,
    /// How much the quote sounds like each profiled character.
    pub style: Vec<Likeness>,
}

impl Cues {
    /// The pronoun gender of the quote's tag, or of its paragraph's.
    pub fn pronoun(&self) -> Option<(Gender, bool)> {
        let own = self.tag.and_then(|t| match t.kind {
            TagKind::Pronoun(g) => Some((g, true)),
            _ => None,
        });
        own.or_else(|| {
            self.tag.is_none().then_some(())?;
            self.para_tags.iter().find_map(|t| match t.kind {
                TagKind::Pronoun(g) => Some((g, false)),
                _ => None,
            })
        })
    }

    /// The gender a descriptive tag gives ("answered the duchess").
    pub fn described_gender(&self, ctx: &Context<'_>) -> Option<Gender> {
        let t = self.tag?;
        match t.kind {
            TagKind::Described(g) | TagKind::Related(g) => g,
            TagKind::Names(id) if t.descriptive && ctx.roster.chars[id].described => ctx.gender(id),
            _ => None,
        }
    }

    pub fn untagged(&self) -> bool {
        self.tag.is_none() && self.para_tags.is_empty()
    }

    pub fn recent_rank(&self, id: usize) -> Option<usize> {
        self.recent.iter().position(|&r| r == id)
    }
}

pub fn cues(ctx: &Context<'_>, q: &Quote) -> Cues {
    let para = &ctx.paras[q.para];
    let seg = &ctx.segments[q.seg];
    let prev = q
        .para
        .checked_sub(1)
        .filter(|&p| ctx.paras[p].chapter == para.chapter);
    let after_narration = prev.is_some_and(|p| ctx.is_narration(p));
    let mut c = Cues {
        tag: ctx.tags[q.seg],
        para_tags: para
            .quotes
            .iter()
            .map(|&o| ctx.quotes[o].seg)
            .filter(|&s| s != q.seg)
            .filter_map(|s| ctx.tags[s])
            .collect(),
        first_in_para: q.nth == 0,
        continues: seg.continues_quote,
        vocatives: ctx.vocatives[q.seg].clone(),
        style: ctx.style[q.seg].clone(),
        ..Cues::default()
    };
    for &o in &para.quotes {
        let s = ctx.quotes[o].seg;
        if s != q.seg {
            extend_unique(&mut c.para_vocatives, &ctx.vocatives[s]);
        }
    }
    if let Some(p) = prev {
        for &o in &ctx.paras[p].quotes {
            extend_unique(&mut c.prev_vocatives, &ctx.vocatives[ctx.quotes[o].seg]);
        }
    }
    c.answered = answered(ctx, q.para);
    c.named_inside = ctx.named_inside[q.seg].clone();
    neighbour_tags(ctx, q.para, &mut c);
    paragraph_mentions(ctx, q, &mut c);
    recent_mentions(ctx, seg.range.start, &mut c);
    if let Some(p) = prev.filter(|_| after_narration && q.nth == 0) {
        narration_topic(ctx, p, &mut c);
    }
    c
}

fn extend_unique(list: &mut Vec<usize>, more: &[usize]) {
    for &id in more {
        if !list.contains(&id) {
            list.push(id);
        }
    }
}

/// Tags of the dialogue paragraphs around `p` in the same exchange.
fn neighbour_tags(ctx: &Context<'_>, p: usize, c: &mut Cues) {
    let chapter = ctx.paras[p].chapter;
    let dialogue = |i: usize| {
        ctx.paras
            .get(i)
            .is_some_and(|para| para.chapter == chapter && !para.quotes.is_empty())
    };
    let named = |i: usize| -> Vec<usize> {
        let mut out = Vec::new();
        for &o in &ctx.paras[i].quotes {
            if let Some(t) = ctx.tags[ctx.quotes[o].seg]
                && let TagKind::Names(id) = t.kind
                && !t.descriptive
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        out
    };
    if dialogue(p + 1) {
        c.next_tags = named(p + 1);
        c.next_pronoun =
            ctx.paras[p + 1]
                .quotes
                .iter()
                .find_map(|&o| match ctx.tags[ctx.quotes[o].seg]?.kind {
                    TagKind::Pronoun(g) => Some(g),
                    _ => None,
                });
        if dialogue(p + 2) {
            c.next2_tags = named(p + 2);
        }
    }
    if p >= 1 && dialogue(p - 1) {
        c.prev_tags = named(p - 1);
        if p >= 2 && dialogue(p - 2) {
            c.prev2_tags = named(p - 2);
        }
    }
    let pronoun = |i: usize| {
        ctx.paras[i]
            .quotes
            .iter()
            .find_map(|&o| match ctx.tags[ctx.quotes[o].seg]?.kind {
                TagKind::Pronoun(g) => Some(g),
                _ => None,
            })
    };
    for d in 1..=EXCHANGE_REACH {
        if !dialogue(p + d) {
            break;
        }
        if c.ahead_pronoun.is_none()
            && let Some(g) = pronoun(p + d)
        {
            c.ahead_pronoun = Some((d, g));
        }
        let names = named(p + d);
        if !names.is_empty() {
            c.ahead = Some((d, names));
            break;
        }
    }
    for d in 1..=EXCHANGE_REACH.min(p) {
        if !dialogue(p - d) {
            break;
        }
        let names = named(p - d);
        if !names.is_empty() {
            c.behind = Some((d, names));
            break;
        }
    }
}

/// How many paragraphs of an exchange the parity features look across.
const EXCHANGE_REACH: usize = 8;

/// Who the next paragraph's reply names as it opens ("Not eight, Ted").
fn answered(ctx: &Context<'_>, p: usize) -> Option<usize> {
    let next = ctx.paras.get(p + 1)?;
    let &first = next.segments.first()?;
    let fits = next.chapter == ctx.paras[p].chapter
        && ctx.segments[first].kind == crate::segment::SegmentKind::Dialogue
        && !ctx.segments[first].continues_quote;
    match ctx.vocatives[first].as_slice() {
        [one] if fits => Some(*one),
        _ => None,
    }
}

/// The paragraph's own narration: who is mentioned, who acts first, and
/// the latest mention of a pronoun tag's gender before the tag.
fn paragraph_mentions(ctx: &Context<'_>, q: &Quote, c: &mut Cues) {
    let segs: Vec<usize> = ctx.narration_of(q.para).collect();
    for &s in &segs {
        let ts = &ctx.toks[s];
        for &(at, id) in &ctx.mentions[s] {
            let k = ts.partition_point(|t| t.start() < at);
            if is_object(ts, k) {
                if !c.para_mentions.contains(&id) && !c.para_objects.contains(&id) {
                    c.para_objects.push(id);
                }
            } else if !c.para_mentions.contains(&id) {
                c.para_objects.retain(|&o| o != id);
                c.para_mentions.push(id);
            }
        }
    }
    c.actor = topic::first_actor(
        segs.iter()
            .map(|&s| (ctx.toks[s].as_slice(), ctx.mentions[s].as_slice())),
        ctx.narrator.is_some(),
    );
    let latest_of = |g: Gender, bound: usize, from: usize| {
        let end = ctx.mention_index(bound);
        ctx.all_mentions[..end]
            .iter()
            .rev()
            .take(RECENT_MENTIONS)
            .take_while(|&&(at, _)| at >= from)
            .find(|&&(_, id)| !ctx.is_narrator(id) && ctx.gender(id) == Some(g))
            .map(|&(_, id)| id)
    };
    let para_start = ctx.segments[ctx.paras[q.para].segments[0]].range.start;
    if let Some(Actor::Pronoun(g, at)) = c.actor {
        c.actor_resolved = latest_of(g, at, para_start).or_else(|| latest_of(g, at, 0));
    }
    if let Some(t) = c.tag
        && let TagKind::Pronoun(g) = t.kind
    {
        c.pron_in_para = latest_of(g, t.at, para_start);
    }
}

/// Distinct characters by recency of mention before byte `bound`.
fn recent_mentions(ctx: &Context<'_>, bound: usize, c: &mut Cues) {
    let end = ctx.mention_index(bound);
    for &(_, id) in ctx.all_mentions[..end].iter().rev().take(RECENT_MENTIONS) {
        match c.near_counts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => c.near_counts.push((id, 1)),
        }
        if c.recent.len() < RECENT_CHARACTERS && !c.recent.contains(&id) {
            c.recent.push(id);
        }
    }
}

/// The topic of the narration paragraph `p` just before the quote.
fn narration_topic(ctx: &Context<'_>, p: usize, c: &mut Cues) {
    let Some(s) = ctx.narration_of(p).last() else {
        return;
    };
    let (toks, mentions) = (&ctx.toks[s], &ctx.mentions[s]);
    for &(_, id) in mentions {
        if !c.prev_mentions.contains(&id) {
            c.prev_mentions.push(id);
        }
    }
    let vocatives = [c.vocatives.as_slice(), c.para_vocatives.as_slice()].concat();
    let fits = |g: Option<Gender>| {
        let vocatives = &vocatives;
        move |id: usize| {
            !ctx.is_narrator(id)
                && !vocatives.contains(&id)
                && g.is_none_or(|g| ctx.gender(id) == Some(g))
        }
    };
    c.topic = topic::sentence_subject(toks, mentions, &fits(None), None);
    c.topic_male = topic::sentence_subject(
        toks,
        mentions,
        &fits(Some(Gender::Male)),
        Some(Gender::Male),
    );
    c.topic_female = topic::sentence_subject(
        toks,
        mentions,
        &fits(Some(Gender::Female)),
        Some(Gender::Female),
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    fn all_cues(text: &str, check: impl FnOnce(&Context<'_>, Vec<Cues>)) {
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let ctx = Context::build(&book, &segments, &[]);
        let cues = ctx.quotes.iter().map(|q| cues(&ctx, q)).collect();
        check(&ctx, cues);
    }

    #[test]
    fn topic_vocatives_and_beats_around_quotes() {
        let text = "Title\n\nIda met Bob. Ida sat. Bob stood. Bob sang.\n\n\
                    \"Hello, Bob,\" said Ida.\n\n\"Hi,\" he answered.\n\n\
                    Bob looked at Ida for a while.\n\n\
                    With a glance at Ida, Bob smiled. \"Rain.\"\n\n\"Yes, Ida.\"\n";
        all_cues(text, |ctx, cues| {
            let ida = ctx.roster.lookup("Ida").unwrap();
            let bob = ctx.roster.lookup("Bob").unwrap();
            assert_eq!(cues[0].vocatives, [bob]);
            assert_eq!(cues[1].prev_vocatives, [bob]);
            assert_eq!(cues[1].pronoun(), Some((Gender::Male, true)));
            assert_eq!(cues[2].topic, Some(bob));
            assert_eq!(cues[2].actor, Some(Actor::Named(bob)));
            assert_eq!(cues[2].para_objects, [ida]);
            assert_eq!(cues[2].answered, Some(ida));
            assert_eq!(cues[2].recent_rank(bob), Some(0));
            assert!(cues[3].untagged());
        });
    }
}
