//! History: what the decisions so far say about the conversation — who
//! spoke last, whose turn it is in a two-person exchange, who spoke
//! earlier in the same paragraph, who has spoken recently.
//!
//! It also remembers how many words each speaker said in the last few
//! quotes, across narration and chapter breaks: a story told over many
//! paragraphs (or chapters) is long quotes by one teller with short
//! interruptions by the listener, and the turn order alone hands the next
//! long piece to the listener.
//!
//! The decoder keeps one per hypothesis; it is small and cheap to clone.

use super::context::{Context, Quote};

/// How many distinct recent speakers are remembered.
const RECENT_SPEAKERS: usize = 6;

/// How many of the latest decided quotes count for [`History::teller`].
const TOLD_WINDOW: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct History {
    /// Who spoke the previous quote (in this chapter).
    pub last: Option<usize>,
    /// The speakers of the current exchange in turn order (a narration
    /// paragraph ends an exchange).
    pub conv: Vec<usize>,
    /// Distinct speakers of this chapter, most recent first.
    pub recent: Vec<usize>,
    /// Speakers of this paragraph's earlier quotes.
    pub para: Vec<Option<usize>>,
    /// Paragraph of the previous quote, if any.
    prev_para: Option<usize>,
    /// (speaker, words) of the latest decided quotes, oldest first; kept
    /// across chapters.
    told: Vec<(usize, u32)>,
    /// Words in the quote being decided.
    pub words: u32,
}

impl History {
    /// Moves to quote `q`: a new chapter forgets everything, a narration
    /// paragraph since the last quote ends the exchange.
    pub fn enter(&mut self, ctx: &Context<'_>, q: &Quote) {
        let range = &ctx.segments[q.seg].range;
        self.words = ctx.text[range.clone()].split_whitespace().count() as u32;
        let Some(prev) = self.prev_para else {
            self.prev_para = Some(q.para);
            return;
        };
        if prev == q.para {
            return;
        }
        self.para.clear();
        if ctx.paras[prev].chapter != ctx.paras[q.para].chapter {
            *self = History {
                told: std::mem::take(&mut self.told),
                words: self.words,
                ..History::default()
            };
        } else if q.para > prev + 1 {
            self.conv.clear();
        }
        self.prev_para = Some(q.para);
    }

    /// Records who spoke the current quote.
    pub fn record(&mut self, speaker: Option<usize>) {
        self.para.push(speaker);
        let Some(id) = speaker else { return };
        if self.told.len() == TOLD_WINDOW {
            self.told.remove(0);
        }
        self.told.push((id, self.words));
        if self.conv.last() != Some(&id) {
            self.conv.push(id);
            if self.conv.len() > 8 {
                self.conv.remove(0);
            }
        }
        self.last = Some(id);
        self.recent.retain(|&r| r != id);
        self.recent.insert(0, id);
        self.recent.truncate(RECENT_SPEAKERS);
    }

    /// The exchange is open: the previous quote was in this paragraph or
    /// the one just before.
    pub fn open(&self) -> bool {
        !self.conv.is_empty()
    }

    /// Whose turn it is in an alternating exchange: the one before the
    /// last speaker.
    pub fn expected(&self) -> Option<usize> {
        let n = self.conv.len();
        (n >= 2)
            .then(|| self.conv[n - 2])
            .filter(|&e| Some(e) != self.last)
    }

    /// The speaker of the paragraph's previous quote.
    pub fn para_previous(&self) -> Option<usize> {
        self.para.last().copied().flatten()
    }

    /// The speaker who said most of the words of the latest quotes, and
    /// that share: the one telling a story, if anyone is.
    pub fn teller(&self) -> Option<(usize, f32)> {
        let total: u32 = self.told.iter().map(|&(_, w)| w).sum();
        let mut best: Option<(usize, u32)> = None;
        for &(id, _) in &self.told {
            let own: u32 = self.told.iter().filter(|t| t.0 == id).map(|t| t.1).sum();
            if best.is_none_or(|(_, b)| own > b) {
                best = Some((id, own));
            }
        }
        best.filter(|_| total > 0)
            .map(|(id, own)| (id, own as f32 / total as f32))
    }

    pub fn speaker_rank(&self, id: usize) -> Option<usize> {
        self.recent.iter().position(|&r| r == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_alternate_and_recent_speakers_move_to_the_front() {
        let mut h = History::default();
        for id in [1, 2, 1, 2, 3] {
            h.record(Some(id));
        }
        assert_eq!(h.last, Some(3));
        assert_eq!(h.expected(), Some(2));
        assert_eq!(h.recent, [3, 2, 1]);
        assert_eq!(h.speaker_rank(1), Some(2));
        h.record(Some(3));
        assert_eq!(h.conv, [1, 2, 1, 2, 3]);
        assert_eq!(h.para_previous(), Some(3));
    }

    #[test]
    fn the_teller_said_most_of_the_latest_words() {
        let mut h = History::default();
        assert_eq!(h.teller(), None);
        for (id, words) in [(1, 200), (2, 4), (1, 150), (2, 3)] {
            h.words = words;
            h.record(Some(id));
        }
        let (id, share) = h.teller().unwrap();
        assert_eq!(id, 1);
        assert!((share - 350.0 / 357.0).abs() < 1e-6);
        // Only the latest quotes count: a long silence of the teller ends it.
        for _ in 0..TOLD_WINDOW {
            h.words = 10;
            h.record(Some(2));
        }
        assert_eq!(h.teller(), Some((2, 1.0)));
    }
}
