//! Decoding: a speaker for every quote of a book, in order. The features
//! of a quote depend on who spoke before it, so quotes are decided in
//! sequence: greedily (each quote given the decisions before it), or with
//! a beam that keeps the few most probable histories side by side, so that
//! one early mistake in an exchange can be undone by the evidence after it.
//!
//! "Someone unnamed" only takes part in the competition: when it wins, the
//! best named candidate is given the line, since a line with no speaker
//! gets no voice of its own anyway.

use super::candidates::{Cand, candidates};
use super::context::{Context, TagKind};
use super::cues::Cues;
use super::features::{self, Env};
use super::history::History;
use super::model::{Decoder, Model};

/// A quote's candidates with their features (and scores, under a model).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cands: Vec<Cand>,
    pub feats: Vec<Vec<(u16, f32)>>,
    pub scores: Vec<f32>,
    /// The quote is decided by a rule, not by the model: it carries on a
    /// quote left open, so its one candidate is the speaker before it.
    pub carried: bool,
}

/// The speaker a paragraph must have because it carries on a quote left
/// open at the end of the paragraph before (a story told over many
/// paragraphs: each opens with a quotation mark and the previous one
/// closed none), unless a tag of its own says otherwise. By the rules of
/// quotation this is one speaker's one quote; left to the model, the turn
/// order of the exchange around it hands every other paragraph of a long
/// story to the listener (and the model's own mistakes in training taught
/// it not to trust the speaker before).
pub fn carried_over(cues: &Cues, hist: &History) -> Option<usize> {
    if cues.continues && cues.first_in_para && cues.tag.is_none() {
        hist.last
    } else {
        None
    }
}

impl Options {
    pub fn new(ctx: &Context<'_>, cues: &Cues, hist: &History, model: Option<&Model>) -> Options {
        if let Some(id) = carried_over(cues, hist) {
            return Options {
                cands: vec![Cand::Char(id)],
                feats: vec![Vec::new()],
                scores: vec![0.0],
                carried: true,
            };
        }
        let env = Env { ctx, cues, hist };
        let cands = candidates(ctx, cues, hist);
        let feats: Vec<Vec<(u16, f32)>> = cands
            .iter()
            .map(|&c| {
                let mut f = Vec::new();
                features::compute(&env, c, &mut f);
                f
            })
            .collect();
        let scores = model.map_or_else(
            || vec![0.0; cands.len()],
            |m| feats.iter().map(|f| m.score(f)).collect(),
        );
        Options {
            cands,
            feats,
            scores,
            carried: false,
        }
    }

    /// Log-probabilities of the candidates (softmax of the scores).
    pub fn log_probs(&self) -> Vec<f32> {
        let max = self
            .scores
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = self.scores.iter().map(|s| (s - max).exp()).sum();
        let log_z = max + sum.ln();
        self.scores.iter().map(|s| s - log_z).collect()
    }

    /// Named candidates, best first (ties keep candidate order).
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.cands.len())
            .filter(|&i| self.cands[i] != Cand::Unnamed)
            .collect();
        order.sort_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]));
        order
    }

    /// The speaker to give the line: the best named candidate, unless the
    /// line is tagged with a name the cast leaves out (then nobody: the
    /// user's cast has no one for it, whatever the turn order suggests).
    pub fn best(&self, cues: &Cues) -> Option<usize> {
        if cues.tag.is_some_and(|t| t.kind == TagKind::Stranger) {
            return None;
        }
        self.ranked().first().and_then(|&i| self.cands[i].id())
    }
}

/// A speaker (a roster index) for every quote of the context.
pub fn decode(ctx: &Context<'_>, cues: &[Cues], model: &Model) -> Vec<Option<usize>> {
    match model.decoder {
        Decoder::Greedy => greedy(ctx, cues, model),
        Decoder::Beam(width) => beam(ctx, cues, model, width, false),
        Decoder::GlobalBeam(width) => beam(ctx, cues, model, width, true),
    }
}

fn greedy(ctx: &Context<'_>, cues: &[Cues], model: &Model) -> Vec<Option<usize>> {
    let mut hist = History::default();
    let mut out = Vec::with_capacity(ctx.quotes.len());
    for (q, c) in ctx.quotes.iter().zip(cues) {
        hist.enter(ctx, q);
        let speaker = Options::new(ctx, c, &hist, Some(model)).best(c);
        hist.record(speaker);
        out.push(speaker);
    }
    out
}

struct Hypothesis {
    hist: History,
    log_p: f32,
    /// Index of its last decision in the arena.
    at: usize,
}

/// `global`: paths are ranked by their summed raw scores rather than
/// log-probabilities.
fn beam(
    ctx: &Context<'_>,
    cues: &[Cues],
    model: &Model,
    width: usize,
    global: bool,
) -> Vec<Option<usize>> {
    // Decisions as a tree: (parent, speaker), so hypotheses share their past.
    let mut arena: Vec<(usize, Option<usize>)> = vec![(usize::MAX, None)];
    let mut beam = vec![Hypothesis {
        hist: History::default(),
        log_p: 0.0,
        at: 0,
    }];
    for (q, c) in ctx.quotes.iter().zip(cues) {
        let mut next: Vec<Hypothesis> = Vec::with_capacity(beam.len() * width);
        for mut h in beam {
            h.hist.enter(ctx, q);
            let options = Options::new(ctx, c, &h.hist, Some(model));
            let log_probs = if global {
                options.scores.clone()
            } else {
                options.log_probs()
            };
            let ranked = options.ranked();
            if ranked.is_empty() || options.best(c).is_none() {
                arena.push((h.at, None));
                let mut hist = h.hist;
                hist.record(None);
                next.push(Hypothesis {
                    hist,
                    log_p: h.log_p,
                    at: arena.len() - 1,
                });
                continue;
            }
            for &i in ranked.iter().take(width) {
                let speaker = options.cands[i].id();
                let mut hist = h.hist.clone();
                hist.record(speaker);
                arena.push((h.at, speaker));
                next.push(Hypothesis {
                    hist,
                    log_p: h.log_p + log_probs[i],
                    at: arena.len() - 1,
                });
            }
        }
        // Stable: equal scores keep the order they were made in.
        next.sort_by(|a, b| b.log_p.total_cmp(&a.log_p));
        next.truncate(width);
        beam = next;
    }
    let mut out = Vec::with_capacity(ctx.quotes.len());
    let mut at = beam.first().map_or(0, |h| h.at);
    while at != 0 {
        out.push(arena[at].1);
        at = arena[at].0;
    }
    out.reverse();
    out
}

/// For `--explain`: the options of every quote under the decided history.
pub fn explain(
    ctx: &Context<'_>,
    cues: &[Cues],
    model: &Model,
    speakers: &[Option<usize>],
) -> Vec<Options> {
    let mut hist = History::default();
    let mut out = Vec::with_capacity(ctx.quotes.len());
    for ((q, c), &speaker) in ctx.quotes.iter().zip(cues).zip(speakers) {
        hist.enter(ctx, q);
        out.push(Options::new(ctx, c, &hist, Some(model)));
        hist.record(speaker);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::attribute::model::Model;
    use crate::attribute::{attribute, attribute_with, cast_of};
    use crate::ingest::book_from_text;
    use crate::segment::{SegmentKind, segment_book};

    /// A story told over several paragraphs (each opening with a quotation
    /// mark, none closing the one before) stays with its teller, even
    /// under a model that trusts nothing but tags and the turn order.
    #[test]
    fn paragraphs_carrying_on_an_open_quote_keep_its_speaker() {
        let text = "Title\n\n\"Tell me how it began,\" said Ida.\n\n\
                    \"It began long ago,\" said Bob. \"I was young then.\n\n\
                    \"We lived by the river, and the water rose every spring.\n\n\
                    \"One year it did not stop rising.\n\n\
                    \"So we left.\"\n\n\"And then?\" said Ida.\n";
        let turns =
            Model::parse("format 1\ndecoder beam 4\nweight tag_names 10\nweight para_tag_names 10\nweight expected 3\n")
                .unwrap();
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let attributed = attribute_with(&book, segments, &cast_of(&["Ida", "Bob"]), &turns);
        let speakers: Vec<&str> = attributed
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Dialogue)
            .map(|s| s.speaker.as_deref().unwrap_or("-"))
            .collect();
        assert_eq!(speakers, ["Ida", "Bob", "Bob", "Bob", "Bob", "Bob", "Ida"]);
    }

    /// A line tagged with a name the user's cast leaves out is nobody's in
    /// that cast, even where the turn order would hand it to someone.
    #[test]
    fn a_line_tagged_with_a_stranger_goes_to_no_one_in_the_cast() {
        let text = "Title\n\n\"Are you coming?\" said Ida.\n\n\"Not yet,\" said Bob.\n\n\
                    \"Why not?\" said Ida.\n\n\"I am waiting,\" said Bob.\n\n\
                    \"For whom?\" said Vera.\n\n\"For the rain to stop,\" said Bob.\n";
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let cast = cast_of(&["Ida", "Bob"]);
        let attributed = attribute(&book, segments, &cast);
        let speakers: Vec<Option<&str>> = attributed
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Dialogue)
            .map(|s| s.speaker.as_deref())
            .collect();
        assert_eq!(
            speakers,
            [
                Some("Ida"),
                Some("Bob"),
                Some("Ida"),
                Some("Bob"),
                None,
                Some("Bob")
            ]
        );
    }
}
