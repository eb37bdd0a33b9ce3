//! History: what the decisions so far say about the conversation — who
//! spoke last, whose turn it is in a two-person exchange, who spoke
//! earlier in the same paragraph, who has spoken recently.
//!
//! The decoder keeps one per hypothesis; it is small and cheap to clone.

use super::context::{Context, Quote};

/// How many distinct recent speakers are remembered.
const RECENT_SPEAKERS: usize = 6;

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
}

impl History {
    /// Moves to quote `q`: a new chapter forgets everything, a narration
    /// paragraph since the last quote ends the exchange.
    pub fn enter(&mut self, ctx: &Context<'_>, q: &Quote) {
        let Some(prev) = self.prev_para else {
            self.prev_para = Some(q.para);
            return;
        };
        if prev == q.para {
            return;
        }
        self.para.clear();
        if ctx.paras[prev].chapter != ctx.paras[q.para].chapter {
            *self = History::default();
        } else if q.para > prev + 1 {
            self.conv.clear();
        }
        self.prev_para = Some(q.para);
    }

    /// Records who spoke the current quote.
    pub fn record(&mut self, speaker: Option<usize>) {
        self.para.push(speaker);
        let Some(id) = speaker else { return };
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
}
