//! Candidates: who may have spoken a quote. Whoever its paragraph's tags
//! name, whoever its paragraph and the narration before it mention or its
//! neighbours address, the recently mentioned and the recent speakers, the
//! first-person narrator, whoever is telling a story in the latest quotes,
//! and "someone unnamed" (a speaker none of these
//! is, so that training need not force a wrong name up).

use super::context::{Context, TagKind};
use super::cues::Cues;
use super::history::History;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cand {
    Char(usize),
    Unnamed,
}

impl Cand {
    pub fn id(self) -> Option<usize> {
        match self {
            Cand::Char(id) => Some(id),
            Cand::Unnamed => None,
        }
    }
}

/// The candidates for a quote, in a fixed order (the order only breaks
/// ties between equal scores).
pub fn candidates(ctx: &Context<'_>, cues: &Cues, hist: &History) -> Vec<Cand> {
    let mut ids: Vec<usize> = Vec::with_capacity(24);
    let mut add = |id: usize| {
        if !ids.contains(&id) {
            ids.push(id);
        }
    };
    for t in cues.tag.iter().chain(&cues.para_tags) {
        if let TagKind::Names(id) = t.kind {
            add(id);
        }
    }
    if let Some(n) = ctx.narrator {
        add(n);
    }
    let lists = [
        &cues.para_mentions,
        &cues.para_objects,
        &cues.prev_mentions,
        &cues.prev_vocatives,
        &cues.para_vocatives,
        &cues.vocatives,
        &hist.recent,
        &cues.recent,
    ];
    for list in lists {
        for &id in list.iter() {
            add(id);
        }
    }
    let teller = hist.teller().map(|(id, _)| id);
    for id in [cues.answered, cues.actor_resolved, hist.last, teller]
        .into_iter()
        .flatten()
    {
        add(id);
    }
    let mut out: Vec<Cand> = ids.into_iter().map(Cand::Char).collect();
    out.push(Cand::Unnamed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::context::QuoteTag;

    #[test]
    fn tagged_first_then_mentions_speakers_and_unnamed_last() {
        let cues = Cues {
            tag: Some(QuoteTag {
                kind: TagKind::Names(4),
                at: 0,
                descriptive: false,
                description: None,
            }),
            para_mentions: vec![2, 4],
            recent: vec![7, 2],
            ..Cues::default()
        };
        let mut hist = History::default();
        hist.record(Some(9));
        let book = crate::ingest::book_from_text(
            std::path::Path::new("t.txt"),
            "UTF-8",
            "Title\n\nText.\n".to_owned(),
        );
        let segments = crate::segment::segment_book(&book);
        let ctx = Context::build(&book, &segments, &[]);
        assert_eq!(
            candidates(&ctx, &cues, &hist),
            [
                Cand::Char(4),
                Cand::Char(2),
                Cand::Char(9),
                Cand::Char(7),
                Cand::Unnamed
            ]
        );
    }
}
