//! Resolution: one ordered walk over the paragraphs that picks a speaker
//! for each quote.
//!
//! Evidence, strongest first:
//! 1. a named tag ("said Faith", "asked the doctor"), in the clause after
//!    the quote, before it, or ending the previous paragraph with a colon;
//! 2. a pronoun tag ("he said"): the speaker of an earlier quote in the
//!    paragraph if the gender fits, else a character of that gender acting
//!    earlier in the paragraph, else the one the previous quote addressed
//!    by name, else the expected next speaker of the
//!    exchange, else the most recently mentioned character of that gender;
//!    "I said" goes to the narrator; "said my companion" to the exchange;
//!    right after a narration paragraph, "he" is the subject of its last
//!    sentence about a man ("Syme looked at Gregory. / 'No,' he said");
//! 3. the paragraph's other quotes (one speaker per paragraph);
//! 4. for untagged paragraphs: a quote continued from the previous
//!    paragraph, an action beat (the first character acting in the
//!    paragraph), the person the previous quote addressed by name, the
//!    alternation of the last two speakers (unless the quote addresses the
//!    one whose turn it is: then the last speaker goes on), the most salient
//!    character other than the last speaker (after a narration paragraph,
//!    the most salient one, the last speaker included).
//!
//! A name addressed inside a quote (a vocative) is never its speaker. A
//! narration paragraph ends an exchange. Salience is the recency of
//! mentions in narration and of speakers, kept in a short window, so every
//! look-up is constant time and the walk is linear.
//!
//! Two book-wide decisions follow the walk: a description used on one
//! named character's turns ("the painter" talking with Harry is Basil)
//! becomes that character, and a first-person narrator takes the name the
//! other characters call out when talking to them ("Watson, come!").

use std::collections::{HashMap, HashSet};

use super::characters::{self, CharInfo, Roster};
use super::lexicon;
use super::tags::{self, Subject, Tag};
use super::tokens::{self, Tok};
use super::{Evidence, KnownCharacter};
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};
use crate::synth::Gender;

/// How many recent mentions salience looks back over.
const WINDOW: usize = 60;

#[derive(Debug, Default)]
struct Salience {
    /// (byte offset, character) in text order.
    mentions: Vec<(usize, usize)>,
}

impl Salience {
    fn push(&mut self, at: usize, id: usize) {
        self.mentions.push((at, id));
    }

    /// The most recent mention before `bound` that satisfies `pred`.
    fn find(&self, bound: usize, pred: impl Fn(usize) -> bool) -> Option<usize> {
        self.mentions
            .iter()
            .rev()
            .take(WINDOW)
            .filter(|(at, id)| *at < bound && pred(*id))
            .max_by_key(|(at, _)| *at)
            .map(|&(_, id)| id)
    }
}

/// A paragraph of the book: indices of its segments.
struct Paragraph {
    chapter: usize,
    segments: Vec<usize>,
}

fn paragraphs(segments: &[Segment]) -> Vec<Paragraph> {
    let mut out: Vec<Paragraph> = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (i, s) in segments.iter().enumerate() {
        let Some(p) = s.paragraph else { continue };
        if current != Some((s.chapter, p)) {
            out.push(Paragraph {
                chapter: s.chapter,
                segments: Vec::new(),
            });
            current = Some((s.chapter, p));
        }
        if let Some(last) = out.last_mut() {
            last.segments.push(i);
        }
    }
    out
}

/// The tokens of segment `i` (none outside paragraphs or in headings).
fn segment_tokens<'a>(segments: &[Segment], text: &'a str, i: usize) -> Vec<Tok<'a>> {
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

/// A speaker (a roster index) for every segment; `None` for narration.
pub fn resolve(
    book: &Book,
    segments: &[Segment],
    known: &[KnownCharacter],
    evidence: Evidence,
) -> Vec<Option<CharInfo>> {
    let text = &book.text;
    // Tokens of every narration segment inside a paragraph. Quotes are
    // tokenised only when looked into (vocatives, the narrator's name), so
    // their tokens are not all held at once: this list is most of what a
    // long book's attribution keeps in memory.
    let toks: Vec<Vec<Tok<'_>>> = (0..segments.len())
        .map(|i| {
            if segments[i].kind == SegmentKind::Dialogue {
                Vec::new()
            } else {
                segment_tokens(segments, text, i)
            }
        })
        .collect();
    let same_para = |a: usize, b: usize| {
        segments[a].paragraph.is_some()
            && segments[a].paragraph == segments[b].paragraph
            && segments[a].chapter == segments[b].chapter
    };
    let is_narr = |i: usize| segments[i].kind == SegmentKind::Narration;
    // Speech tags: the clause after the quote first, then the one before.
    let mut tags_of: Vec<Option<Tag>> = vec![None; segments.len()];
    for i in 0..segments.len() {
        if segments[i].kind != SegmentKind::Dialogue || segments[i].paragraph.is_none() {
            continue;
        }
        let after = (i + 1 < segments.len() && same_para(i, i + 1) && is_narr(i + 1))
            .then(|| tags::tag_after(&toks[i + 1]))
            .flatten();
        tags_of[i] = after.or_else(|| {
            // The clause before, in this paragraph or closing the previous
            // one with a colon ("Marilla looked up and said grimly:").
            let introduces = |p: usize| {
                same_para(i, p)
                    || segments[p].paragraph.is_some()
                        && segments[p].chapter == segments[i].chapter
                        && segments[p].text(text).trim_end().ends_with(':')
            };
            (i > 0 && is_narr(i - 1) && introduces(i - 1))
                .then(|| tags::tag_before(&toks[i - 1]))
                .flatten()
        });
    }
    let narration: Vec<&[Tok<'_>]> = toks
        .iter()
        .enumerate()
        .filter(|(i, _)| is_narr(*i))
        .map(|(_, t)| t.as_slice())
        .collect();
    // Borrowed from the book text: a long book has tens of thousands.
    let common: HashSet<&str> = if known.is_empty() {
        narration
            .iter()
            .flat_map(|t| t.iter())
            .filter(|t| t.word && !t.is_cap())
            .map(|t| t.text)
            .collect()
    } else {
        HashSet::new()
    };
    let mut roster = if known.is_empty() {
        let subjects: Vec<&Subject> = tags_of.iter().flatten().map(|t| &t.subject).collect();
        characters::discover(&narration, &subjects)
    } else {
        Roster::from_known(known)
    };
    if evidence.gender_votes {
        characters::vote_genders(&mut roster, &narration);
    }
    // First-person narration: "I" is common in the narration itself.
    let (mut i_count, mut words) = (0usize, 0usize);
    for t in narration.iter().flat_map(|t| t.iter()).filter(|t| t.word) {
        words += 1;
        if t.text == "I" {
            i_count += 1;
        }
    }
    let first_person = evidence.first_person && i_count * 100 > words;
    let narrator = if first_person {
        Some(roster.narrator().unwrap_or_else(|| {
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
        }))
    } else {
        None
    };
    // Mentions in narration, per segment.
    let mut mentions: Vec<Vec<(usize, usize)>> = vec![Vec::new(); segments.len()];
    for (i, ts) in toks.iter().enumerate() {
        if !is_narr(i) {
            continue;
        }
        let mut k = 0;
        while k < ts.len() {
            if let Some((id, len)) = roster.match_at(ts, k) {
                mentions[i].push((ts[k].start(), id));
                k += len;
                continue;
            }
            if let Some(n) = narrator
                && ts[k].text == "I"
            {
                mentions[i].push((ts[k].start(), n));
            }
            k += 1;
        }
    }
    // Vocatives: names addressed inside each quote.
    let mut vocatives: Vec<Vec<usize>> = vec![Vec::new(); segments.len()];
    if evidence.vocatives {
        for (i, ts) in toks.iter().enumerate() {
            if segments[i].kind == SegmentKind::Dialogue {
                debug_assert!(ts.is_empty());
                vocatives[i] = find_vocatives(&roster, &segment_tokens(segments, text, i));
            }
        }
    }

    let mut speaker: Vec<Option<usize>> = vec![None; segments.len()];
    let mut described_votes: HashMap<String, HashMap<usize, usize>> = HashMap::new();
    let mut salience = Salience::default();
    let mut conv: Vec<usize> = Vec::new();
    let mut prev_narr: Option<usize> = None;
    let mut quiet = 0usize;
    let mut chapter = usize::MAX;
    let mut last_speaker: Option<usize> = None;
    let mut addressee: Option<usize> = None;
    let is_narrator = |id: usize| Some(id) == narrator;
    for para in paragraphs(segments) {
        if para.chapter != chapter {
            chapter = para.chapter;
            conv.clear();
            last_speaker = None;
            addressee = None;
        }
        for &s in &para.segments {
            for &(at, id) in &mentions[s] {
                salience.push(at, id);
            }
        }
        let quotes: Vec<usize> = para
            .segments
            .iter()
            .copied()
            .filter(|&s| segments[s].kind == SegmentKind::Dialogue)
            .collect();
        if quotes.is_empty() {
            prev_narr = para.segments.last().copied();
            quiet += 1;
            // A narration paragraph ends the exchange: turn-taking restarts.
            if quiet >= 1 {
                conv.clear();
                addressee = None;
            }
            continue;
        }
        quiet = 0;
        let para_start = segments[para.segments[0]].range.start;
        let para_vocatives: Vec<usize> = quotes
            .iter()
            .flat_map(|&q| vocatives[q].iter().copied())
            .collect();
        // The speaker the exchange expects next.
        let expected = if evidence.turns && conv.len() >= 2 {
            let candidate = conv[conv.len() - 2];
            (Some(candidate) != last_speaker).then_some(candidate)
        } else {
            None
        };
        let by_gender = |roster: &Roster,
                         g: Gender,
                         bound: usize,
                         exclude: &[usize]|
         -> Option<usize> {
            let ok = |id: usize| !is_narrator(id) && !exclude.contains(&id);
            // A character of that gender acting earlier in this paragraph.
            let in_para = salience.find(bound, |id| ok(id) && roster.chars[id].gender == Some(g));
            let in_para = in_para.filter(|_| {
                salience
                    .mentions
                    .iter()
                    .rev()
                    .take(WINDOW)
                    .any(|&(at, id)| at >= para_start && at < bound && Some(id) == in_para)
            });
            if in_para.is_some() {
                return in_para;
            }
            // "Yes, Basil." / "he said": the man just addressed by name
            // answers.
            if let Some(a) = addressee
                && Some(a) != last_speaker
                && ok(a)
                && roster.chars[a].gender == Some(g)
            {
                return Some(a);
            }
            if let Some(e) = expected
                && ok(e)
                && roster.chars[e].gender == Some(g)
            {
                return Some(e);
            }
            // The first quote after a narration paragraph: "he" is the
            // subject of the narration's last sentence about a man, not
            // merely the last man it mentions ("Syme looked at Gregory.").
            if conv.is_empty()
                && let Some(pn) = prev_narr
            {
                let fits = |id: usize| ok(id) && roster.chars[id].gender == Some(g);
                if let Some(id) = sentence_subject(&toks[pn], &mentions[pn], &fits) {
                    return Some(id);
                }
            }
            salience
                .find(bound, |id| ok(id) && roster.chars[id].gender == Some(g))
                .or_else(|| salience.find(bound, |id| ok(id) && roster.chars[id].gender.is_none()))
        };
        let mut found: Vec<Option<usize>> = vec![None; quotes.len()];
        for (n, &q) in quotes.iter().enumerate() {
            let Some(tag) = &tags_of[q] else { continue };
            found[n] = match &tag.subject {
                Subject::Name(name) if evidence.named_tags => roster.lookup(name).or_else(|| {
                    // Whoever a speech tag names is a speaker, even if the
                    // name was too rare to be found; but a capitalised
                    // ordinary word ("On", "Still") is not a name.
                    let ordinary =
                        !name.contains(' ') && common.contains(name.to_lowercase().as_str());
                    (!roster.closed && !ordinary).then(|| {
                        roster.add(
                            CharInfo {
                                name: name.clone(),
                                aliases: Vec::new(),
                                gender: None,
                                is_narrator: false,
                                described: false,
                            },
                            std::slice::from_ref(name),
                        )
                    })
                }),
                Subject::Described(d, g) if evidence.named_tags => roster
                    .lookup(d)
                    .filter(|&id| !roster.chars[id].described)
                    .or_else(|| {
                        // "said the painter" in an exchange is often the named
                        // partner whose turn it is: vote, and decide for the
                        // whole book at the end (see `rename` below).
                        // A first-person narrator is "I", never "the croupier".
                        let e = expected.filter(|&e| {
                            !roster.chars[e].described
                                && !is_narrator(e)
                                && (g.is_none() || roster.chars[e].gender == *g)
                        });
                        let votes = described_votes.entry(characters::key(d)).or_default();
                        *votes.entry(e.unwrap_or(usize::MAX)).or_default() += 1;
                        None
                    })
                    .or_else(|| roster.lookup(d))
                    .or_else(|| {
                        (!roster.closed).then(|| {
                            roster.add(
                                CharInfo {
                                    name: d.clone(),
                                    aliases: Vec::new(),
                                    gender: *g,
                                    is_narrator: false,
                                    described: true,
                                },
                                std::slice::from_ref(d),
                            )
                        })
                    }),
                Subject::Pronoun(g) if evidence.pronoun_tags => {
                    // "said the Queen, turning to Alice, she went on": the
                    // pronoun keeps the paragraph's speaker when it fits.
                    let before = found[..n].iter().rev().flatten().next().copied();
                    before
                        .filter(|&b| roster.chars[b].gender.is_none_or(|bg| bg == *g))
                        .or_else(|| by_gender(&roster, *g, tag.at, &vocatives[q]))
                }
                Subject::Related(g) if evidence.named_tags => expected
                    .filter(|&e| !is_narrator(e) && (g.is_none() || roster.chars[e].gender == *g))
                    .or_else(|| {
                        let bound = segments[q].range.start;
                        salience.find(bound, |id| {
                            !is_narrator(id)
                                && Some(id) != last_speaker
                                && (g.is_none() || roster.chars[id].gender == *g)
                        })
                    }),
                Subject::FirstPerson => narrator,
                _ => None,
            };
        }
        if found.iter().any(Option::is_some) {
            if evidence.paragraph {
                let mut prev = None;
                for f in &mut found {
                    if f.is_some() {
                        prev = *f;
                    } else {
                        *f = prev;
                    }
                }
                let mut next = None;
                for f in found.iter_mut().rev() {
                    if f.is_some() {
                        next = *f;
                    } else {
                        *f = next;
                    }
                }
            }
        } else {
            let allowed = |id: &usize| !para_vocatives.contains(id);
            let mut guess = None;
            if segments[quotes[0]].continues_quote {
                guess = last_speaker;
            }
            if guess.is_none() && evidence.beats {
                guess = beat(
                    &para.segments,
                    segments,
                    &toks,
                    &roster,
                    narrator,
                    &|g, at| by_gender(&roster, g, at, &para_vocatives),
                )
                .filter(allowed);
            }
            if guess.is_none() && evidence.vocatives {
                guess = addressee
                    .filter(|a| Some(*a) != last_speaker)
                    .filter(allowed);
            }
            if guess.is_none() && evidence.turns {
                guess = expected.filter(allowed);
                if guess.is_none() && expected.is_some() {
                    // The one whose turn it is gets addressed by name
                    // ("And you, Ann?"): the last speaker goes on.
                    guess = last_speaker.filter(allowed);
                }
            }
            if guess.is_none() && evidence.turns {
                let bound = segments[quotes[0]].range.start;
                // Within an exchange the last speaker waits for a reply;
                // after narration the exchange restarts with whoever the
                // narration brought forward, the last speaker included.
                let restarts = conv.is_empty();
                guess = salience.find(bound, |id| {
                    (restarts || Some(id) != last_speaker) && allowed(&id)
                });
            }
            found.fill(guess);
        }
        for (n, &q) in quotes.iter().enumerate() {
            speaker[q] = found[n];
            if let Some(id) = found[n] {
                if conv.last() != Some(&id) {
                    conv.push(id);
                }
                last_speaker = Some(id);
                // A speaker is salient for the pronouns and beats that follow.
                salience.push(segments[q].range.start, id);
            }
        }
        if conv.len() > 8 {
            conv.drain(..conv.len() - 8);
        }
        addressee = quotes.last().and_then(|&q| {
            vocatives[q]
                .iter()
                .copied()
                .find(|&v| Some(v) != last_speaker)
        });
    }
    if let Some(n) = narrator
        && !roster.closed
        && let Some(name) = narrator_name(segments, text, &speaker, n, &common)
    {
        let c = &mut roster.chars[n];
        c.aliases.push(std::mem::replace(&mut c.name, name));
    }
    // A description whose uses fall, often enough (a fifth of them, twice
    // or more) and more than any other, on one named character's turn ("the
    // painter" in exchanges with Basil) is that character everywhere.
    let mut rename: HashMap<usize, usize> = HashMap::new();
    for (id, c) in roster.chars.iter().enumerate() {
        if !c.described {
            continue;
        }
        let Some(votes) = described_votes.get(&characters::key(&c.name)) else {
            continue;
        };
        let total: usize = votes.values().sum();
        if let Some((&best, &n)) = votes
            .iter()
            .filter(|(id, _)| **id != usize::MAX)
            .max_by_key(|&(id, n)| (*n, std::cmp::Reverse(*id)))
            && n >= 2
            && n * 5 >= total
        {
            rename.insert(id, best);
        }
    }
    speaker
        .into_iter()
        .map(|s| s.map(|id| roster.chars[*rename.get(&id).unwrap_or(&id)].clone()))
        .collect()
}

/// The first-person narrator's name, when the text reveals it: the name
/// other characters call out in the lines they say to the narrator
/// ("Watson, come here!"). It must be clearly the most frequent.
fn narrator_name(
    segments: &[Segment],
    text: &str,
    speaker: &[Option<usize>],
    narrator: usize,
    common: &HashSet<&str>,
) -> Option<String> {
    let lines: Vec<usize> = (0..segments.len())
        .filter(|&i| segments[i].kind == SegmentKind::Dialogue)
        .collect();
    let mut counts: HashMap<String, (usize, String)> = HashMap::new();
    for (k, &q) in lines.iter().enumerate() {
        let Some(s) = speaker[q] else { continue };
        let near_narrator = [k.checked_sub(1), Some(k + 1)]
            .into_iter()
            .flatten()
            .filter_map(|j| lines.get(j))
            .any(|&j| speaker[j] == Some(narrator));
        if s == narrator || !near_narrator {
            continue;
        }
        let ts = &segment_tokens(segments, text, q);
        let boundary =
            |t: Option<&Tok<'_>>| t.is_none_or(|t| !t.word && t.is_punct(",.!?;:\"“”‘’'—–-"));
        let mut i = 0;
        while i < ts.len() {
            if !ts[i].is_cap() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < ts.len() && ts[j + 1].is_cap() {
                j += 1;
            }
            let run = &ts[i..=j];
            let ordinary = run.iter().any(|t| {
                common.contains(t.text.to_lowercase().as_str())
                    || lexicon::is_never_name(&t.lower()) && lexicon::title(&t.lower()).is_none()
            });
            if !ordinary && boundary(i.checked_sub(1).map(|p| &ts[p])) && boundary(ts.get(j + 1)) {
                let display = run.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
                let entry = counts
                    .entry(characters::key(&display))
                    .or_insert((0, display.clone()));
                entry.0 += 1;
                if display.len() > entry.1.len() {
                    entry.1 = display;
                }
            }
            i = j + 1;
        }
    }
    let mut ranked: Vec<(usize, String)> = counts.into_values().collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    match ranked.as_slice() {
        [(n, name)] if *n >= 3 => Some(name.clone()),
        [(n, name), (m, _), ..] if *n >= 3 && *n >= 2 * *m => Some(name.clone()),
        _ => None,
    }
}

/// The subject of the last sentence of a narration segment that mentions
/// a fitting character: its first fitting mention ("Gregory's mouth
/// worked" → Gregory).
fn sentence_subject(
    toks: &[Tok<'_>],
    mentions: &[(usize, usize)],
    fits: &dyn Fn(usize) -> bool,
) -> Option<usize> {
    let starts: Vec<usize> = toks
        .iter()
        .enumerate()
        .filter(|(k, t)| *k == 0 || t.sent_start)
        .map(|(_, t)| t.start())
        .collect();
    let sentence = |at: usize| starts.partition_point(|&s| s <= at);
    let last = mentions.iter().rev().find(|(_, id)| fits(*id))?;
    let in_last = sentence(last.0);
    mentions
        .iter()
        .find(|(at, id)| sentence(*at) == in_last && fits(*id))
        .map(|&(_, id)| id)
}

/// The first character acting in the paragraph's narration: a named
/// mention, or a sentence-initial pronoun resolved by `by_gender`.
fn beat(
    para: &[usize],
    segments: &[Segment],
    toks: &[Vec<Tok<'_>>],
    roster: &Roster,
    narrator: Option<usize>,
    by_gender: &dyn Fn(Gender, usize) -> Option<usize>,
) -> Option<usize> {
    for &s in para {
        if segments[s].kind != SegmentKind::Narration {
            continue;
        }
        let ts = &toks[s];
        for k in 0..ts.len() {
            if let Some((id, _)) = roster.match_at(ts, k) {
                return Some(id);
            }
            let t = &ts[k];
            if !(t.sent_start || k == 0) || !t.word {
                continue;
            }
            match t.text {
                "He" | "he" => return by_gender(Gender::Male, t.start()),
                "She" | "she" => return by_gender(Gender::Female, t.start()),
                "I" if narrator.is_some() => return narrator,
                _ => {}
            }
        }
    }
    None
}

/// Names addressed inside a quote: "Yes, Alice." / "Alice, come here!"
fn find_vocatives(roster: &Roster, toks: &[Tok<'_>]) -> Vec<usize> {
    let boundary =
        |t: Option<&Tok<'_>>| t.is_none_or(|t| !t.word && t.is_punct(",.!?;:\"“”‘’'—–-"));
    let mut out = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let Some((id, len)) = roster.match_at(toks, k) else {
            k += 1;
            continue;
        };
        let before = k.checked_sub(1).map(|p| &toks[p]);
        let after = toks.get(k + len);
        let before_ok = boundary(before)
            || before.is_some_and(|b| matches!(b.lower().as_str(), "dear" | "my" | "oh" | "o"));
        if before_ok && boundary(after) && !out.contains(&id) {
            out.push(id);
        }
        k += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    fn speakers(text: &str, known: &[KnownCharacter]) -> Vec<Option<String>> {
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        resolve(&book, &segments, known, Evidence::default())
            .into_iter()
            .zip(&segments)
            .filter(|(_, s)| s.kind == SegmentKind::Dialogue)
            .map(|(c, _)| c.map(|c| c.name))
            .collect()
    }

    fn some(names: &[&str]) -> Vec<Option<String>> {
        names.iter().map(|n| Some((*n).to_owned())).collect()
    }

    proptest::proptest! {
        #[test]
        fn any_text_gets_one_answer_per_segment(
            text in r#"([A-Za-z ,.:;!?'’"“”\-]{0,30}(Mr\. |Mrs\. |said |he |she |I |\n\n)?){0,20}"#,
        ) {
            let text = format!("Title\n\n{text}");
            let book = book_from_text(Path::new("t.txt"), "UTF-8", text);
            let segments = segment_book(&book);
            let speakers = resolve(&book, &segments, &[], Evidence::default());
            proptest::prop_assert_eq!(speakers.len(), segments.len());
            for (speaker, segment) in speakers.iter().zip(&segments) {
                proptest::prop_assert!(speaker.is_none() || segment.kind == SegmentKind::Dialogue);
            }
        }
    }

    #[test]
    fn tags_pronouns_and_turns() {
        let text = "Title\n\nAnn and Bob sat down. Ann smiled at Bob, and she waited.\n\n\
                    \"Hello,\" said Ann.\n\n\"Hi,\" Bob answered.\n\n\"How are you?\"\n\n\
                    \"Fine.\"\n\n\"Good,\" he said.\n";
        assert_eq!(
            speakers(text, &[]),
            some(&["Ann", "Bob", "Ann", "Bob", "Bob"])
        );
    }

    #[test]
    fn pronoun_keeps_the_paragraph_speaker() {
        let text = "Title\n\nMary met Queen Mab. Queen Mab frowned.\n\n\
                    \"Idiot!\" said Queen Mab, turning to Mary, and she went on, \"Go.\"\n";
        assert_eq!(speakers(text, &[]), some(&["Queen Mab", "Queen Mab"]));
    }

    #[test]
    fn a_colon_paragraph_introduces_the_next_quote() {
        let text = "Title\n\nAnne sat down. Marilla looked at Anne and said grimly:\n\n\
                    \"Go home.\"\n";
        assert_eq!(speakers(text, &[]), some(&["Marilla"]));
    }

    #[test]
    fn the_narrator_is_named_by_who_talks_to_them() {
        let text = "Title\n\nI met Holmes. I sat down and I waited. I was tired.\n\n\
                    \"Watson, sit,\" said Holmes.\n\n\"Why?\" I asked.\n\n\
                    \"Because, Watson, I say so,\" said Holmes.\n\n\"Fine,\" I said.\n\n\
                    \"Good, Watson.\" said Holmes.\n";
        assert_eq!(
            speakers(text, &[]),
            some(&["Holmes", "Watson", "Holmes", "Watson", "Holmes"])
        );
    }

    #[test]
    fn a_description_used_on_one_characters_turns_becomes_them() {
        let exchange =
            "\"Hello,\" said Basil.\n\n\"Hi,\" said Harry.\n\n\"Well,\" said the painter.\n\n";
        let text = format!(
            "Title\n\nBasil met Harry.\n\n{exchange}They walked on.\n\n{exchange}The end.\n"
        );
        assert_eq!(
            speakers(&text, &[]),
            some(&["Basil", "Harry", "Basil", "Basil", "Harry", "Basil"])
        );
    }

    #[test]
    fn after_narration_the_narrated_character_speaks_again() {
        // Bob speaks, the narration is about Bob, then an untagged quote:
        // it is Bob's, although he spoke last.
        let text = "Title\n\nAnn met Bob.\n\n\"Hello,\" said Ann.\n\n\"Hi,\" said Bob.\n\n\
                    Bob walked to the window and looked out for a long time.\n\n\
                    \"It is raining.\"\n";
        assert_eq!(speakers(text, &[]), some(&["Ann", "Bob", "Bob"]));
    }

    #[test]
    fn he_after_narration_is_its_subject() {
        let man = |name: &str| KnownCharacter {
            name: name.to_owned(),
            aliases: Vec::new(),
            gender: Some(Gender::Male),
        };
        let known = [man("Syme"), man("Gregory")];
        let text = "Title\n\n\"Hello,\" said Gregory.\n\n\
                    Syme said nothing. Then Syme turned and looked at Gregory.\n\n\
                    \"No,\" he said.\n";
        assert_eq!(speakers(text, &known), some(&["Gregory", "Syme"]));
    }

    #[test]
    fn he_after_a_vocative_is_the_man_addressed() {
        let man = |name: &str| KnownCharacter {
            name: name.to_owned(),
            aliases: Vec::new(),
            gender: Some(Gender::Male),
        };
        let known = [man("Basil"), man("Harry"), man("Dorian")];
        // Harry and Dorian talk; Dorian turns to Basil by name; "he" answers.
        let text = "Title\n\nBasil painted.\n\n\"Well,\" said Harry.\n\n\
                    \"Yes,\" said Dorian.\n\n\"Is it finished, Basil?\" asked Dorian.\n\n\
                    \"Quite,\" he said.\n";
        assert_eq!(
            speakers(text, &known),
            some(&["Harry", "Dorian", "Dorian", "Basil"])
        );
    }

    #[test]
    fn addressing_the_one_whose_turn_it_is_continues_the_last_speaker() {
        let text = "Title\n\nAnn met Bob.\n\n\"Hello,\" said Ann.\n\n\"Hi,\" said Bob.\n\n\
                    \"And how are you, Ann?\"\n";
        assert_eq!(speakers(text, &[]), some(&["Ann", "Bob", "Bob"]));
    }

    #[test]
    fn vocative_is_not_the_speaker() {
        let text = "Title\n\nAnn met Bob and Mr. Carl Smith. Then Mr. Carl Smith sat. Bob nodded to her.\n\n\"Hello,\" said Ann.\n\n\
                    \"Hi,\" Bob answered.\n\n\"Carl, what do you think?\"\n\n\"Nothing.\"\n";
        let got = speakers(text, &[]);
        assert_eq!(got[2].as_deref(), Some("Ann"));
        assert_eq!(got[3].as_deref(), Some("Mr. Carl Smith"));
    }

    #[test]
    fn action_beat_and_first_person() {
        let text = "Title\n\nI looked at Mary. I was tired and I said nothing to her.\n\n\
                    Mary shaded her eyes. \"It is late.\"\n\n\"I know,\" I said.\n";
        assert_eq!(speakers(text, &[]), some(&["Mary", "Narrator"]));
    }

    #[test]
    fn assisted_mode_uses_only_given_names() {
        let known = [KnownCharacter {
            name: "Edna Pontellier".to_owned(),
            aliases: vec!["Edna".to_owned(), "Mrs. Pontellier".to_owned()],
            gender: Some(Gender::Female),
        }];
        let text = "Title\n\n\"Go,\" said Mrs. Pontellier.\n\n\"No,\" said Victor.\n";
        assert_eq!(
            speakers(text, &known),
            vec![Some("Edna Pontellier".to_owned()), None]
        );
    }
}
