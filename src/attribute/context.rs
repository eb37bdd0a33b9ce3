//! Context: what attribution reads off a book before deciding anything.
//!
//! One linear pass builds it: narration tokens, the paragraphs and their
//! quotes, speech tags, the roster (the user's cast, or names discovered in
//! the text, plus whoever a tag names), a first-person narrator, mentions
//! of characters in the narration, and names addressed inside quotes.
//! Nothing here depends on a decision about who spoke, so the features can
//! look it up in any order (the decoder tries several histories).

use std::collections::HashSet;

use super::KnownCharacter;
use super::characters::{self, CharInfo, Roster};
use super::kin;
use super::lexicon;
use super::style::{self, Likeness};
use super::tags::{self, Subject, Tag};
use super::titles;
use super::tokens::{self, Tok};
use super::vocatives;
use crate::core::Gender;
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};

/// A paragraph: indices of its segments, and which of them are quotes.
#[derive(Debug)]
pub struct Paragraph {
    pub chapter: usize,
    pub segments: Vec<usize>,
    /// Indices into [`Context::quotes`].
    pub quotes: Vec<usize>,
}

/// A quote to attribute: a dialogue segment inside a paragraph.
#[derive(Debug, Clone, Copy)]
pub struct Quote {
    pub seg: usize,
    pub para: usize,
    /// Position among its paragraph's quotes.
    pub nth: usize,
}

/// What a speech tag says about the speaker, resolved against the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// "said Ines", "said the sculptor": names a character of the roster.
    Names(usize),
    /// "he said" (and "said the man", a bare person noun).
    Pronoun(Gender),
    /// A description no one in the roster matches ("answered the duchess"
    /// in a closed cast), with the gender its noun gives.
    Described(Option<Gender>),
    /// "my companion", "said the other": someone already in the scene.
    Related(Option<Gender>),
    /// "I said".
    FirstPerson,
    /// A name that is not in the user's cast: someone the cast leaves out.
    Stranger,
    /// A tag whose subject cannot be used ("they said").
    Unknown,
}

/// A quote's own tag.
#[derive(Debug, Clone, Copy)]
pub struct QuoteTag {
    pub kind: TagKind,
    /// Byte offset of the tag's subject.
    pub at: usize,
    /// The tag was a description (an epithet such as "the sculptor"), even
    /// when it resolved to a character.
    pub descriptive: bool,
    /// Which description, numbered in order of first use (the index of
    /// [`Context::description_uses`] and [`Context::epithet_votes`]).
    pub description: Option<u32>,
}

pub struct Context<'a> {
    pub text: &'a str,
    pub segments: &'a [Segment],
    /// Tokens of each narration segment inside a paragraph (empty otherwise).
    pub toks: Vec<Vec<Tok<'a>>>,
    pub paras: Vec<Paragraph>,
    pub quotes: Vec<Quote>,
    pub tags: Vec<Option<QuoteTag>>,
    pub roster: Roster,
    pub narrator: Option<usize>,
    /// Mentions of characters in each narration segment: (byte offset, character).
    pub mentions: Vec<Vec<(usize, usize)>>,
    /// Every narration mention in text order.
    pub all_mentions: Vec<(usize, usize)>,
    /// Characters addressed by name inside each quote.
    pub vocatives: Vec<Vec<usize>>,
    /// Characters named inside each quote other than as vocatives (people
    /// rarely name themselves).
    pub named_inside: Vec<Vec<usize>>,
    /// Book-wide: mentions in narration and speech tags naming each character.
    pub mention_count: Vec<u32>,
    pub tag_count: Vec<u32>,
    /// Lower-case words of the narration (to tell names from ordinary words).
    pub common: HashSet<&'a str>,
    /// For each description used in tags ("the sculptor"): how many tags use it, and for each named
    /// character, how many of those uses fall on that character's turns
    /// (tagged with the character's name two paragraphs before or after,
    /// in the same exchange). An epithet used on one character's turns is
    /// that character ("the sculptor" talking with Ted is Rowan).
    pub description_uses: Vec<u32>,
    pub epithet_votes: Vec<Vec<(usize, u32)>>,
    /// The descriptions themselves, in [`characters::key`] form.
    pub descriptions: Vec<String>,
    /// Per segment: how much a quote sounds like each character whose
    /// tagged lines give a profile (see `style`).
    pub style: Vec<Vec<Likeness>>,
}

impl<'a> Context<'a> {
    pub fn build(book: &'a Book, segments: &'a [Segment], known: &[KnownCharacter]) -> Self {
        let text = book.text.as_str();
        let toks: Vec<Vec<Tok<'a>>> = (0..segments.len())
            .map(|i| {
                if segments[i].kind == SegmentKind::Narration {
                    segment_tokens(segments, text, i)
                } else {
                    Vec::new()
                }
            })
            .collect();
        let (paras, quotes) = paragraphs(segments);
        let raw_tags = find_tags(segments, text, &toks);
        let narration: Vec<&[Tok<'a>]> = toks
            .iter()
            .enumerate()
            .filter(|(i, _)| segments[*i].kind == SegmentKind::Narration)
            .map(|(_, t)| t.as_slice())
            .collect();
        let common: HashSet<&'a str> = if known.is_empty() {
            narration
                .iter()
                .flat_map(|t| t.iter())
                .filter(|t| t.word && !t.is_cap())
                .map(|t| t.text())
                .collect()
        } else {
            HashSet::new()
        };
        let mut roster = if known.is_empty() {
            let subjects: Vec<&Subject> = raw_tags.iter().flatten().map(|t| &t.subject).collect();
            characters::discover(&narration, &subjects)
        } else {
            let mut roster = Roster::from_known(known);
            roster.add_given_names_used_as_names(known, &narration);
            roster
        };
        let narrator = first_person(&narration).then(|| {
            roster
                .narrator()
                .or_else(|| {
                    called_narrator(&mut roster, segments, text, &raw_tags, &narration, &common)
                })
                .unwrap_or_else(|| {
                    roster.add(
                        CharInfo {
                            name: "Narrator".to_owned(),
                            aliases: Vec::new(),
                            gender: None,
                            is_narrator: true,
                            described: false,
                        },
                        &["Narrator".to_owned()],
                    )
                })
        });
        let mut descriptions: Vec<String> = Vec::new();
        let tags: Vec<Option<QuoteTag>> = raw_tags
            .iter()
            .map(|t| {
                t.as_ref()
                    .map(|t| resolve_tag(t, &mut roster, &common, &mut descriptions))
            })
            .collect();
        characters::vote_genders(&mut roster, &narration);
        let mut ctx = Context {
            text,
            segments,
            toks,
            paras,
            quotes,
            tags,
            roster,
            narrator,
            mentions: Vec::new(),
            all_mentions: Vec::new(),
            vocatives: Vec::new(),
            named_inside: Vec::new(),
            mention_count: Vec::new(),
            tag_count: Vec::new(),
            common,
            description_uses: vec![0; descriptions.len()],
            epithet_votes: vec![Vec::new(); descriptions.len()],
            descriptions,
            style: Vec::new(),
        };
        ctx.find_mentions();
        let relatives = kin::name_relatives(&mut ctx, &raw_tags);
        if !relatives.is_empty() {
            ctx.find_mentions();
            kin::add_mentions(&mut ctx, &relatives);
        }
        titles::to_named_holders(&mut ctx);
        ctx.find_epithets();
        ctx.vocatives = vec![Vec::new(); segments.len()];
        ctx.named_inside = vec![Vec::new(); segments.len()];
        for i in 0..segments.len() {
            if segments[i].kind != SegmentKind::Dialogue {
                continue;
            }
            let toks = segment_tokens(segments, text, i);
            let addressed = vocatives::find(&ctx.roster, &toks);
            let mut k = 0;
            while k < toks.len() {
                match ctx.roster.match_at(&toks, k) {
                    Some((id, len)) => {
                        if !addressed.contains(&id) && !ctx.named_inside[i].contains(&id) {
                            ctx.named_inside[i].push(id);
                        }
                        k += len;
                    }
                    None => k += 1,
                }
            }
            ctx.vocatives[i] = addressed;
        }
        ctx.style = style::likeness(&ctx);
        ctx
    }

    fn find_mentions(&mut self) {
        let n = self.roster.chars.len();
        self.mention_count = vec![0; n];
        self.tag_count = vec![0; n];
        self.mentions = vec![Vec::new(); self.segments.len()];
        for (i, ts) in self.toks.iter().enumerate() {
            let mut k = 0;
            while k < ts.len() {
                if let Some((id, len)) = self
                    .roster
                    .match_at(ts, k)
                    .or_else(|| self.roster.match_description_at(ts, k))
                {
                    self.mentions[i].push((ts[k].start(), id));
                    k += len;
                    continue;
                }
                if let Some(n) = self.narrator
                    && ts[k].text() == "I"
                {
                    self.mentions[i].push((ts[k].start(), n));
                }
                k += 1;
            }
        }
        self.all_mentions = self.mentions.iter().flatten().copied().collect();
        for &(_, id) in &self.all_mentions {
            self.mention_count[id] += 1;
        }
        for tag in self.tags.iter().flatten() {
            if let TagKind::Names(id) = tag.kind {
                self.tag_count[id] += 1;
            }
        }
    }

    fn find_epithets(&mut self) {
        let chapter_dialogue = |p: usize, chapter: usize| {
            self.paras
                .get(p)
                .is_some_and(|para| para.chapter == chapter && !para.quotes.is_empty())
        };
        let mut votes = std::mem::take(&mut self.epithet_votes);
        for q in &self.quotes {
            let Some(d) = self.tags[q.seg].and_then(|t| t.description) else {
                continue;
            };
            let d = d as usize;
            self.description_uses[d] += 1;
            let chapter = self.paras[q.para].chapter;
            let mut turns = Vec::new();
            if chapter_dialogue(q.para + 1, chapter) && chapter_dialogue(q.para + 2, chapter) {
                turns.push(q.para + 2);
            }
            if q.para >= 2
                && chapter_dialogue(q.para - 1, chapter)
                && chapter_dialogue(q.para - 2, chapter)
            {
                turns.push(q.para - 2);
            }
            let mut named: Vec<usize> = Vec::new();
            for p in turns {
                for &o in &self.paras[p].quotes {
                    if let Some(t) = self.tags[self.quotes[o].seg]
                        && let TagKind::Names(id) = t.kind
                        && !t.descriptive
                        && !named.contains(&id)
                    {
                        named.push(id);
                    }
                }
            }
            for id in named {
                match votes[d].iter_mut().find(|(c, _)| *c == id) {
                    Some((_, n)) => *n += 1,
                    None => votes[d].push((id, 1)),
                }
            }
        }
        self.epithet_votes = votes;
    }

    /// The share of a description's uses that fall on `id`'s turns.
    pub fn epithet_share(&self, description: u32, id: usize) -> f32 {
        let d = description as usize;
        let n = self.epithet_votes[d]
            .iter()
            .find(|(c, _)| *c == id)
            .map_or(0, |(_, n)| *n);
        n as f32 / self.description_uses[d].max(1) as f32
    }

    pub fn gender(&self, id: usize) -> Option<Gender> {
        self.roster.chars[id]
            .gender
            .filter(|g| *g != Gender::Unknown)
    }

    pub fn is_narrator(&self, id: usize) -> bool {
        Some(id) == self.narrator
    }

    /// Whether paragraph `p` has no quotes.
    pub fn is_narration(&self, p: usize) -> bool {
        self.paras[p].quotes.is_empty()
    }

    /// The narration segments of paragraph `p`.
    pub fn narration_of(&self, p: usize) -> impl Iterator<Item = usize> + '_ {
        self.paras[p]
            .segments
            .iter()
            .copied()
            .filter(|&s| self.segments[s].kind == SegmentKind::Narration)
    }

    /// Index of the first narration mention at or after byte `at`.
    pub fn mention_index(&self, at: usize) -> usize {
        self.all_mentions.partition_point(|&(m, _)| m < at)
    }
}

/// With a cast that marks no narrator, the entry the other characters call
/// the first-person narrator by (see [`vocatives::narrator_called`]) is
/// the narrator, found before any line is decided, so it speaks the "I
/// said" lines in its voice and "…, Sam." addresses it. With no cast the
/// narrator is named after decoding (`name_the_narrator` in `mod.rs`):
/// named before, "…, Watson." linked to the narrator cost the dev stories
/// more than it won.
fn called_narrator(
    roster: &mut Roster,
    segments: &[Segment],
    text: &str,
    raw_tags: &[Option<Tag>],
    narration: &[&[Tok<'_>]],
    common: &HashSet<&str>,
) -> Option<usize> {
    if !roster.closed {
        return None;
    }
    let by_narrator = |i: usize| {
        raw_tags[i]
            .as_ref()
            .is_some_and(|t| t.subject == Subject::FirstPerson)
    };
    let name = called_name(segments, text, by_narrator, narration, common)?;
    let id = roster.lookup(&name)?;
    roster.chars[id].is_narrator = true;
    Some(id)
}

/// The name the quotes call the first-person narrator by, if any;
/// `by_narrator` says which dialogue segments are tagged "I said".
pub fn called_name(
    segments: &[Segment],
    text: &str,
    by_narrator: impl Fn(usize) -> bool,
    narration: &[&[Tok<'_>]],
    common: &HashSet<&str>,
) -> Option<String> {
    let lines: Vec<(Vec<Tok<'_>>, bool)> = (0..segments.len())
        .filter(|&i| segments[i].kind == SegmentKind::Dialogue && segments[i].paragraph.is_some())
        .map(|i| (segment_tokens(segments, text, i), by_narrator(i)))
        .collect();
    let in_narration: HashSet<&str> = narration
        .iter()
        .flat_map(|t| t.iter())
        .filter(|t| t.word)
        .map(|t| t.text())
        .collect();
    vocatives::narrator_called(&lines, &in_narration, common)
}

/// Whether the narration is told in the first person: "I" is common in it.
fn first_person(narration: &[&[Tok<'_>]]) -> bool {
    let (mut i_count, mut words) = (0usize, 0usize);
    for t in narration.iter().flat_map(|t| t.iter()).filter(|t| t.word) {
        words += 1;
        if t.text() == "I" {
            i_count += 1;
        }
    }
    i_count * 100 > words
}

/// Resolves a tag's subject against the roster; with no closed cast, a
/// name or description no one has becomes a character of its own.
fn resolve_tag(
    tag: &Tag,
    roster: &mut Roster,
    common: &HashSet<&str>,
    descriptions: &mut Vec<String>,
) -> QuoteTag {
    let add = |roster: &mut Roster, name: &str, gender: Option<Gender>, described: bool| {
        roster.add(
            CharInfo {
                name: name.to_owned(),
                aliases: Vec::new(),
                gender,
                is_narrator: false,
                described,
            },
            &[name.to_owned()],
        )
    };
    let (kind, descriptive) = match &tag.subject {
        Subject::Name(name) => {
            let found = roster.lookup(name).or_else(|| {
                // A capitalised ordinary word ("On", "Still") is not a name.
                let ordinary = !name.contains(' ') && common.contains(name.to_lowercase().as_str());
                (!roster.closed && !ordinary).then(|| add(roster, name, None, false))
            });
            let missing = if roster.closed {
                TagKind::Stranger
            } else {
                TagKind::Unknown
            };
            (found.map_or(missing, TagKind::Names), false)
        }
        Subject::Described(d, g) if is_generic(d) => {
            // "said the man" is whoever of that gender the scene is about.
            (g.map_or(TagKind::Described(None), TagKind::Pronoun), true)
        }
        Subject::Described(d, g) => {
            let found = if roster.closed {
                roster.lookup_description(d, *g)
            } else {
                roster.lookup(d).or_else(|| Some(add(roster, d, *g, true)))
            };
            (found.map_or(TagKind::Described(*g), TagKind::Names), true)
        }
        Subject::Pronoun(g) => (TagKind::Pronoun(*g), false),
        Subject::Related(g) => (TagKind::Related(*g), true),
        // Someone in the scene, unless `kin` finds no one there who fits.
        // Familiar words ("mum", "dad") were never read as relations here;
        // `kin` still makes them characters when no one fits.
        Subject::Kin { noun, gender, .. } => match lexicon::person_noun(noun) {
            Some(_) => (TagKind::Related(Some(*gender)), true),
            None => (TagKind::Unknown, false),
        },
        Subject::FirstPerson => (TagKind::FirstPerson, false),
        Subject::Unknown => (TagKind::Unknown, false),
    };
    // Bare person nouns count too: "the girl" resolves like "she", but a
    // book often keeps it for one character, whose turns its uses fall on.
    let description = match &tag.subject {
        Subject::Described(d, _) => {
            let k = characters::key(d);
            let i = descriptions
                .iter()
                .position(|x| *x == k)
                .unwrap_or_else(|| {
                    descriptions.push(k);
                    descriptions.len() - 1
                });
            Some(i as u32)
        }
        _ => None,
    };
    QuoteTag {
        kind,
        at: tag.at,
        descriptive,
        description,
    }
}

/// A description that is only a bare person noun ("the man", "a girl"),
/// not an epithet that singles someone out ("the old lady", "the man in
/// blue" are often one character's standing description).
pub fn is_generic(description: &str) -> bool {
    matches!(
        characters::key(description).as_str(),
        "man" | "woman" | "girl" | "boy" | "lad" | "fellow"
    )
}

/// Speech tags of every quote: the clause after the quote first, then the
/// one before it (in its paragraph, or closing the previous paragraph with
/// a colon: "Imelda looked up and said grimly:").
fn find_tags(segments: &[Segment], text: &str, toks: &[Vec<Tok<'_>>]) -> Vec<Option<Tag>> {
    let same_para = |a: usize, b: usize| {
        segments[a].paragraph.is_some()
            && segments[a].paragraph == segments[b].paragraph
            && segments[a].chapter == segments[b].chapter
    };
    let is_narr = |i: usize| segments[i].kind == SegmentKind::Narration;
    (0..segments.len())
        .map(|i| {
            if segments[i].kind != SegmentKind::Dialogue || segments[i].paragraph.is_none() {
                return None;
            }
            let after = (i + 1 < segments.len() && same_para(i, i + 1) && is_narr(i + 1))
                .then(|| tags::tag_after(&toks[i + 1]))
                .flatten();
            after.or_else(|| {
                let introduces = |p: usize| {
                    same_para(i, p)
                        || segments[p].paragraph.is_some()
                            && segments[p].chapter == segments[i].chapter
                            && segments[p].text(text).trim_end().ends_with(':')
                };
                (i > 0 && is_narr(i - 1) && introduces(i - 1))
                    .then(|| tags::tag_before(&toks[i - 1]))
                    .flatten()
            })
        })
        .collect()
}

/// The book's paragraphs, and its quotes in order.
fn paragraphs(segments: &[Segment]) -> (Vec<Paragraph>, Vec<Quote>) {
    let mut paras: Vec<Paragraph> = Vec::new();
    let mut quotes = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (i, s) in segments.iter().enumerate() {
        let Some(p) = s.paragraph else { continue };
        if current != Some((s.chapter, p)) {
            paras.push(Paragraph {
                chapter: s.chapter,
                segments: Vec::new(),
                quotes: Vec::new(),
            });
            current = Some((s.chapter, p));
        }
        let para = paras.len() - 1;
        let last = &mut paras[para];
        last.segments.push(i);
        if s.kind == SegmentKind::Dialogue {
            last.quotes.push(quotes.len());
            quotes.push(Quote {
                seg: i,
                para,
                nth: last.quotes.len() - 1,
            });
        }
    }
    (paras, quotes)
}

/// The tokens of segment `i` (none outside paragraphs or in headings).
pub fn segment_tokens<'a>(segments: &[Segment], text: &'a str, i: usize) -> Vec<Tok<'a>> {
    let s = &segments[i];
    if s.paragraph.is_none() || s.kind == SegmentKind::Heading {
        return Vec::new();
    }
    let starts = match i.checked_sub(1).map(|p| &segments[p]) {
        Some(prev) if prev.paragraph == s.paragraph && prev.chapter == s.chapter => {
            prev.kind == SegmentKind::Dialogue && ends_sentence(prev.text(text))
        }
        _ => true,
    };
    tokens::tokenize(s.text(text), s.range.start, starts)
}

/// Whether a dialogue segment's text ends a sentence (`"Hi."` vs `"Hi,"`).
fn ends_sentence(dialogue: &str) -> bool {
    dialogue
        .trim_end()
        .trim_end_matches(['"', '”', '“', '’', '\'', '»'])
        .ends_with(['.', '!', '?'])
}

/// Prepositions whose object is the target of an action ("turned to
/// Ida", "took it from Bob"); "with" and "of" are left out: "it was a
/// belief with Ida that..." keeps Ida as the topic.
pub fn is_preposition(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "to" | "at" | "from" | "toward" | "towards" | "upon" | "into" | "behind" | "beside"
    )
}

/// Whether the word before `toks[k]` is a preposition (`k` is an object).
pub fn is_object(toks: &[Tok<'_>], k: usize) -> bool {
    k.checked_sub(1)
        .is_some_and(|p| toks[p].word && is_preposition(&toks[p].lower()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    fn with_context(text: &str, known: &[KnownCharacter], check: impl FnOnce(&Context<'_>)) {
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let ctx = Context::build(&book, &segments, known);
        check(&ctx);
    }

    #[test]
    fn tags_resolve_to_characters_and_descriptions_become_characters() {
        let text = "Title\n\nIda met Bob. Ida sat.\n\n\"Hello,\" said Ida.\n\n\
                    \"Hi,\" he answered.\n\n\"Well,\" said the sculptor.\n\n\
                    \"Yes,\" said the man.\n\n\"No,\" I said.\n";
        with_context(text, &[], |ctx| {
            let kinds: Vec<TagKind> = ctx
                .quotes
                .iter()
                .map(|q| ctx.tags[q.seg].unwrap().kind)
                .collect();
            let ida = ctx.roster.lookup("Ida").unwrap();
            let sculptor = ctx.roster.lookup("the sculptor").unwrap();
            assert!(ctx.roster.chars[sculptor].described);
            assert_eq!(
                kinds,
                [
                    TagKind::Names(ida),
                    TagKind::Pronoun(Gender::Male),
                    TagKind::Names(sculptor),
                    TagKind::Pronoun(Gender::Male),
                    TagKind::FirstPerson
                ]
            );
            assert_eq!(ctx.tag_count[ida], 1);
        });
    }

    #[test]
    fn paragraphs_quotes_and_mentions() {
        let text = "Title\n\nIda met Bob.\n\n\"Hello,\" said Ida. \"Sit.\"\n\n\"Hi, Ida.\"\n";
        with_context(text, &[], |ctx| {
            assert_eq!(ctx.quotes.len(), 3);
            let (first, second) = (ctx.quotes[0], ctx.quotes[1]);
            assert_eq!((second.para, second.nth), (first.para, 1));
            assert!(ctx.is_narration(first.para - 1) && !ctx.is_narration(first.para));
            let ida = ctx.roster.lookup("Ida").unwrap();
            assert_eq!(ctx.vocatives[ctx.quotes[2].seg], [ida]);
            assert_eq!(ctx.mention_count[ida], 2);
            assert_eq!(ctx.narrator, None);
        });
    }

    /// A first-person scene where Nell calls the narrator "Sam" three times.
    const CALLED_SAM: &str = "Title\n\nI waited. Nell came in late and I stood up.\n\n\
        \"I know, Sam,\" Nell said.\n\n\"Where were you?\" I asked.\n\n\
        \"Out, Sam.\"\n\n\"With whom?\"\n\n\"You owe me, Sam.\"\n";

    #[test]
    fn the_name_others_call_a_first_person_narrator_by() {
        let name = |text: &str| {
            let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
            let segments = segment_book(&book);
            let ctx = Context::build(&book, &segments, &[]);
            let narration: Vec<&[Tok<'_>]> = ctx.toks.iter().map(Vec::as_slice).collect();
            let by_narrator =
                |i: usize| ctx.tags[i].is_some_and(|t| t.kind == TagKind::FirstPerson);
            called_name(&segments, &book.text, by_narrator, &narration, &ctx.common)
        };
        assert_eq!(name(CALLED_SAM).as_deref(), Some("Sam"));
        // Called twice: not enough evidence.
        let twice = CALLED_SAM.replace("You owe me, Sam.", "You owe me.");
        assert_eq!(name(&twice), None);
    }

    #[test]
    fn a_cast_entry_called_like_that_is_the_narrator() {
        let cast = crate::attribute::cast_of(&["Nell", "Sam"]);
        with_context(CALLED_SAM, &cast, |ctx| {
            let sam = ctx.roster.lookup("Sam");
            assert_eq!(ctx.narrator, sam);
            // So "…, Sam." addresses the narrator.
            assert_eq!(ctx.vocatives[ctx.quotes[2].seg], [sam.unwrap()]);
        });
    }
}
