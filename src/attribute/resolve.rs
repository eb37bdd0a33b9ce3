//! Resolution: one ordered walk over the paragraphs that picks a speaker
//! for each quote.
//!
//! Evidence, strongest first:
//! 1. a named tag ("said Faith", "asked the doctor"), in the clause after
//!    the quote, before it, or ending the previous paragraph with a colon;
//!    a bare person noun ("said the man") is resolved like a pronoun, and a
//!    description no one in a given cast matches still gives its gender;
//! 2. a pronoun tag ("he said"): the speaker of an earlier quote in the
//!    paragraph if the gender fits, else a character of that gender acting
//!    earlier in the paragraph, else the one the previous paragraph
//!    addressed by name, else the expected next speaker of the
//!    exchange, else the most recently mentioned character of that gender;
//!    "I said" goes to the narrator; "said my companion" to the exchange;
//!    right after a narration paragraph, "he" is the topic of its last
//!    sentences about a man ("Syme looked at Gregory. / 'No,' he said");
//! 3. the paragraph's other quotes (one speaker per paragraph);
//! 4. for untagged paragraphs: a quote continued from the previous
//!    paragraph, an action beat (the first character acting in the
//!    paragraph, not the object of a preposition), the person the previous
//!    paragraph addressed by name, the alternation of the last two speakers
//!    (unless the quote addresses the one whose turn it is: then the last
//!    speaker goes on); with no turn order, the one the next paragraph's
//!    reply names as it opens ("Not eight, Harry"), after a narration
//!    paragraph the topic of its last sentences (see `sentence_subject`),
//!    else the most salient character other than the last speaker (after
//!    narration, the most salient one, the last speaker included).
//!
//! A name addressed inside a quote (a vocative) is never its speaker; a
//! name in apposition ("His boy, Joe, ...") is not addressed. A
//! narration paragraph ends an exchange. Salience is the recency of
//! mentions in narration and of speakers, kept in a short window, so every
//! look-up is constant time and the walk is linear.
//!
//! Two book-wide decisions follow the walk: a description used on one
//! named character's turns ("the painter" talking with Harry is Basil), or
//! coined once for a tag on their turn ("snarled the ex-convict"),
//! becomes that character, and a first-person narrator takes the name the
//! other characters call out when talking to them ("Watson, come!").

use std::collections::{HashMap, HashSet};

use super::characters::{self, CharInfo, Roster};
use super::lexicon;
use super::tags::{self, Subject, Tag};
use super::tokens::{self, Tok};
use super::{Evidence, KnownCharacter};
use crate::core::Gender;
use crate::ingest::Book;
use crate::segment::{Segment, SegmentKind};

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
            .map(|t| t.text())
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
        if t.text() == "I" {
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
                && ts[k].text() == "I"
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
    let paras = paragraphs(segments);
    // Who the paragraph after each one addresses as it opens: a reply
    // names the one it answers ("Not eight, Harry, please").
    let answered: Vec<Option<usize>> = (0..paras.len())
        .map(|i| {
            let next = paras.get(i + 1)?;
            let &first = next.segments.first()?;
            let fits = next.chapter == paras[i].chapter
                && segments[first].kind == SegmentKind::Dialogue
                && !segments[first].continues_quote;
            match vocatives[first].as_slice() {
                [one] if fits => Some(*one),
                _ => None,
            }
        })
        .collect();
    for (pi, para) in paras.iter().enumerate() {
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
            // The last speaker called on someone this pronoun cannot be
            // (the first-person narrator, or a woman for "he"): the exchange
            // has moved to that person, whose reply would be "I said" or
            // "she said", so "he" is the one who called on them, going on.
            if let Some(a) = addressee
                && Some(a) != last_speaker
                && (is_narrator(a) || roster.chars[a].gender.is_some_and(|ag| ag != g))
                && let Some(l) = last_speaker
                && ok(l)
                && roster.chars[l].gender == Some(g)
            {
                return Some(l);
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
                if let Some(id) = sentence_subject(&toks[pn], &mentions[pn], &fits, Some(g)) {
                    return Some(id);
                }
            }
            salience
                .find(bound, |id| ok(id) && roster.chars[id].gender == Some(g))
                .or_else(|| salience.find(bound, |id| ok(id) && roster.chars[id].gender.is_none()))
        };
        let mut found: Vec<Option<usize>> = vec![None; quotes.len()];
        // The gender of a description no character of the cast matches
        // ("answered the duchess" when two are duchesses): whoever the
        // other evidence picks must at least fit it.
        let mut described_gender: Option<Gender> = None;
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
                        // "said the man" is not a name: a bare person noun
                        // is whoever of that gender the scene is about, a
                        // different person from one scene to the next.
                        // Resolve it like "he said".
                        let g = (*g).filter(|_| is_generic(d))?;
                        by_gender(&roster, g, tag.at, &vocatives[q])
                    })
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
            if found[n].is_none()
                && let Subject::Described(_, Some(g)) = &tag.subject
            {
                described_gender = Some(*g);
            }
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
            let allowed = |id: &usize| {
                !para_vocatives.contains(id)
                    && described_gender
                        .is_none_or(|g| roster.chars[*id].gender.is_none_or(|cg| cg == g))
            };
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
            // Without a turn order to follow, a reply that names someone
            // as it opens answers them: they spoke this quote.
            if guess.is_none() && evidence.vocatives && expected.is_none() {
                guess = answered[pi]
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
                if restarts && let Some(pn) = prev_narr {
                    let fits = |id: usize| !is_narrator(id) && allowed(&id);
                    guess = sentence_subject(&toks[pn], &mentions[pn], &fits, None);
                }
                if guess.is_none() {
                    guess = salience.find(bound, |id| {
                        (restarts || Some(id) != last_speaker) && allowed(&id)
                    });
                }
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
        // The one the paragraph's speaker calls by name, in its last quote
        // or an earlier one that says more than the name ("Don't go to the
        // theatre, Dorian," said Basil. "Stop and dine."; but not an echo,
        // "Mrs. Forrester," he repeated, or a subject, "Polina," he went
        // on, "is the best of women").
        let last = quotes.last().copied();
        addressee = quotes
            .iter()
            .rev()
            .filter(|&&q| Some(q) == last || segments[q].text(text).split_whitespace().count() >= 4)
            .find_map(|&q| {
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
    // Used once only, it is that character when its noun appears nowhere
    // else in the narration: an epithet coined for the tag ("snarled the
    // ex-convict") re-describes someone in the exchange, while a role the
    // narration introduces ("the cook came in") is a new person.
    let mut narration_words: HashMap<String, usize> = HashMap::new();
    if described_votes
        .values()
        .any(|v| v.values().sum::<usize>() == 1)
    {
        for t in narration.iter().flat_map(|t| t.iter()).filter(|t| t.word) {
            *narration_words.entry(t.lower()).or_default() += 1;
        }
    }
    let coined = |name: &str| {
        characters::key(name)
            .rsplit(' ')
            .next()
            .is_some_and(|head| narration_words.get(head).copied().unwrap_or(0) <= 1)
    };
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
            && (n >= 2 || total == 1 && coined(&c.name))
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
                common.contains(t.text().to_lowercase().as_str())
                    || lexicon::is_never_name(&t.lower()) && lexicon::title(&t.lower()).is_none()
            });
            if !ordinary && boundary(i.checked_sub(1).map(|p| &ts[p])) && boundary(ts.get(j + 1)) {
                let display = run.iter().map(|t| t.text()).collect::<Vec<_>>().join(" ");
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

/// Who speaks first after a narration paragraph (the referent of "he
/// said", or the speaker of an untagged quote; `gender` None for any):
/// the topic of its last sentences. Walking back from the last sentence:
/// one naming a character right after "but"/"until" gives that character
/// ("..., but Syme went on"); one saying its subject keeps quiet ("Bob
/// smoked in silence") gives someone else it names, or rules the subject
/// out; one whose first reference of that gender is a pronoun ("But now
/// she knew that Anne...") continues the topic of the sentence before;
/// the first one that names a fitting character first gives its subject
/// ("Gregory's mouth worked" → Gregory), skipping objects of prepositions
/// ("He turned to a picture painted by Frank"). Without such a sentence,
/// the first fitting mention of the last sentence that has one.
fn sentence_subject(
    toks: &[Tok<'_>],
    mentions: &[(usize, usize)],
    fits: &dyn Fn(usize) -> bool,
    gender: Option<Gender>,
) -> Option<usize> {
    let starts: Vec<usize> = toks
        .iter()
        .enumerate()
        .filter(|(k, t)| *k == 0 || t.sent_start)
        .map(|(_, t)| t.start())
        .collect();
    let sentence = |at: usize| starts.partition_point(|&s| s <= at);
    let pronoun = |w: &str| match gender {
        Some(Gender::Male) => w.eq_ignore_ascii_case("he"),
        Some(Gender::Female) => w.eq_ignore_ascii_case("she"),
        Some(Gender::Unknown) => false,
        None => w.eq_ignore_ascii_case("he") || w.eq_ignore_ascii_case("she"),
    };
    let object = |at: usize| {
        let k = toks.partition_point(|t| t.start() < at);
        k.checked_sub(1)
            .is_some_and(|p| toks[p].word && is_preposition(&toks[p].lower()))
    };
    // Per sentence: where the pronoun first occurs, and the first fitting
    // subject-like mention (one pass over each, so the walk stays linear).
    let mut first_pronoun: Vec<Option<usize>> = vec![None; starts.len() + 1];
    for t in toks.iter().filter(|t| t.word && pronoun(t.text())) {
        first_pronoun[sentence(t.start())].get_or_insert(t.start());
    }
    // "..., but Syme went on", "until Gregory opened his lips": the one
    // named after the turn is the one who speaks next.
    let after_turn = |at: usize| {
        let k = toks.partition_point(|t| t.start() < at);
        k.checked_sub(1).is_some_and(|p| {
            toks[p].word && matches!(toks[p].lower().as_str(), "but" | "until" | "till")
        })
    };
    // Sentences saying that their subject keeps quiet ("Syme made no
    // answer", "Skaggs smoked in silence").
    let mut silent = vec![false; starts.len() + 1];
    for (k, t) in toks.iter().enumerate().filter(|(_, t)| t.word) {
        let w = t.lower();
        let window = || toks[k + 1..].iter().filter(|t| t.word).take(3);
        let quiet = is_silence(&w)
            || matches!(w.as_str(), "no" | "not" | "never" | "nothing")
                && window().any(|t| is_speaking(&t.lower()))
            || is_speaking(&w) && window().next().is_some_and(|t| t.lower() == "nothing");
        if quiet {
            silent[sentence(t.start())] = true;
        }
    }
    let mut first_name: Vec<Option<(usize, usize)>> = vec![None; starts.len() + 1];
    let mut turn: Vec<Option<usize>> = vec![None; starts.len() + 1];
    let mut quiet: Vec<usize> = Vec::new();
    for &(at, id) in mentions.iter().filter(|&&(_, id)| fits(id)) {
        if after_turn(at) {
            turn[sentence(at)] = Some(id);
        }
        if !object(at) {
            first_name[sentence(at)].get_or_insert((at, id));
        }
    }
    // Whether a later sentence went on with a pronoun: then a quiet
    // subject broke the silence ("Kemp sat in silence. Then he rose").
    let mut continued = false;
    for n in (1..=starts.len()).rev() {
        if let Some(id) = turn[n] {
            return Some(id);
        }
        if silent[n] && !continued {
            if let Some((_, id)) = first_name[n] {
                // Someone else in that sentence, or the topic before it.
                if let Some(&(_, other)) = mentions
                    .iter()
                    .find(|&&(at, o)| sentence(at) == n && o != id && fits(o))
                {
                    return Some(other);
                }
                quiet.push(id);
            }
            continue;
        }
        match (first_pronoun[n], first_name[n]) {
            (Some(p), Some((at, _))) if p < at => continued = true,
            (_, Some((_, id))) if !quiet.contains(&id) => return Some(id),
            (Some(_), None) => continued = true,
            _ => {}
        }
    }
    if !quiet.is_empty() {
        return None;
    }
    let last = mentions.iter().rev().find(|(_, id)| fits(*id))?;
    let in_last = sentence(last.0);
    mentions
        .iter()
        .find(|(at, id)| sentence(*at) == in_last && fits(*id))
        .map(|&(_, id)| id)
}

/// A description that is only a bare person noun ("the man", "a girl"),
/// not an epithet that singles someone out ("the old lady", "the man in
/// blue" are often one character's standing description).
fn is_generic(description: &str) -> bool {
    matches!(
        characters::key(description).as_str(),
        "man" | "woman" | "girl" | "boy" | "lad" | "fellow"
    )
}

/// Words saying that someone keeps quiet.
fn is_silence(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "silence" | "silent" | "silently" | "speechless" | "mute" | "waited" | "waiting"
    )
}

/// Verbs and nouns of speaking, for "made no answer", "said nothing".
fn is_speaking(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "answer"
            | "answered"
            | "reply"
            | "replied"
            | "speak"
            | "spoke"
            | "said"
            | "say"
            | "response"
            | "word"
    )
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
                // "with an appeal to Miss Mayblunt", "away from Henry's
                // grasp": the object of a preposition is acted upon; the
                // one acting is further on (or before).
                let object = k
                    .checked_sub(1)
                    .is_some_and(|p| ts[p].word && is_preposition(&ts[p].lower()));
                if !object {
                    return Some(id);
                }
                continue;
            }
            let t = &ts[k];
            // The subject pronoun opens the sentence, or follows an
            // opening adverb or conjunction ("Presently she began again").
            let opens = |i: usize| i == 0 || ts[i].sent_start;
            let after_opener = k > 0 && opens(k - 1) && ts[k - 1].word && {
                let w = ts[k - 1].lower();
                lexicon::is_adverb(&w) || matches!(w.as_str(), "and" | "but" | "so" | "yet")
            };
            if !(opens(k) || after_opener) || !t.word {
                continue;
            }
            match t.text() {
                "He" | "he" => return by_gender(Gender::Male, t.start()),
                "She" | "she" => return by_gender(Gender::Female, t.start()),
                "I" if narrator.is_some() => return narrator,
                _ => {}
            }
        }
    }
    None
}

/// Prepositions whose object is the target of an action ("turned to
/// Ann", "took it from Bob"); "with" and "of" are left out: "it was a
/// belief with Ann that..." keeps Ann as the topic.
fn is_preposition(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "to" | "at" | "from" | "toward" | "towards" | "upon" | "into" | "behind" | "beside"
    )
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
        if before_ok && boundary(after) && !is_apposition(toks, k, len) && !out.contains(&id) {
            out.push(id);
        }
        k += len;
    }
    out
}

/// Whether the name at `toks[k..k + len]` renames the person noun before
/// it ("His boy, Joe, shaved me"; "the proprietor, Mr. Turner, said so"):
/// a name set off by commas right after "his/her/the + person noun"
/// says who is talked about, not who is talked to. A vocative follows an
/// interjection or a clause ("Yes, Joe, ..."; "I know the way, Joe, ...").
fn is_apposition(toks: &[Tok<'_>], k: usize, len: usize) -> bool {
    let comma = |i: usize| toks.get(i).is_some_and(|t| t.is_punct(","));
    if k < 3 || !comma(k - 1) || !comma(k + len) {
        return false;
    }
    let noun = &toks[k - 2];
    let det = &toks[k - 3];
    noun.word
        && lexicon::person_noun(&noun.lower()).is_some()
        && det.word
        && matches!(
            det.lower().as_str(),
            "his" | "her" | "their" | "our" | "the"
        )
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
    fn a_description_coined_once_for_a_tag_is_the_partner_whose_turn_it_is() {
        // "the ex-convict" appears only in its tag, on Jack's turn: it is
        // Jack. "the cook" is a person the narration brought in: not Ann.
        let text = "Title\n\nAnn met Jack Small. Jack Small sat. Jack Small frowned.\n\n\
                    \"Where is it?\" said Ann.\n\n\"Gone,\" said Jack.\n\n\
                    \"Why?\" said Ann.\n\n\"Justice!\" snarled the ex-convict.\n\n\
                    \"Go on.\"\n\nThen the cook came in with a tray, and the cook sat.\n\n\
                    \"Tea?\" said Jack.\n\n\"No,\" said Ann.\n\n\"Soup!\" said the cook.\n";
        assert_eq!(
            speakers(text, &[]),
            some(&[
                "Ann",
                "Jack Small",
                "Ann",
                "Jack Small",
                "Ann",
                "Jack Small",
                "Ann",
                "the cook"
            ])
        );
    }

    #[test]
    fn the_man_is_whoever_the_scene_is_about() {
        // "the man" is Bob in one scene and Tom in the next, not a
        // character of its own.
        let text = "Title\n\nAnn met Bob and Tom.\n\n\
                    Bob came in and sat down.\n\n\"Hello,\" said Ann.\n\n\
                    \"Good day,\" said the man.\n\nCHAPTER II\n\n\
                    Tom came in and sat down.\n\n\"Hi,\" said Ann.\n\n\
                    \"Evening,\" said the man.\n";
        assert_eq!(speakers(text, &[]), some(&["Ann", "Bob", "Ann", "Tom"]));
    }

    #[test]
    fn the_one_a_reply_names_spoke_before_it() {
        let known = cast(&[
            ("Ann", Gender::Female),
            ("Bob", Gender::Male),
            ("Tom", Gender::Male),
        ]);
        // Nothing says who asks; the answer addresses Bob.
        let text = "Title\n\nAnn, Bob and Tom sat by the fire. Tom poked it.\n\n\
                    \"Is it late?\"\n\n\"Not yet, Bob.\" said Ann.\n";
        assert_eq!(speakers(text, &known), some(&["Bob", "Ann"]));
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
    fn he_after_narration_follows_the_pronoun_topic_back_to_its_name() {
        let man = |name: &str| KnownCharacter {
            name: name.to_owned(),
            aliases: Vec::new(),
            gender: Some(Gender::Male),
        };
        let known = [man("Maurice"), man("Frank")];
        // The last sentence is about "He" (Maurice, named one sentence
        // before), not about Frank, who only painted the picture.
        let text = "Title\n\n\"Hello,\" said Frank.\n\n\
                    Maurice smiled. He turned to look at a picture painted by Frank.\n\n\
                    \"Surely,\" he said.\n";
        assert_eq!(speakers(text, &known), some(&["Frank", "Maurice"]));
    }

    fn cast(people: &[(&str, Gender)]) -> Vec<KnownCharacter> {
        people
            .iter()
            .map(|&(name, gender)| KnownCharacter {
                name: name.to_owned(),
                aliases: Vec::new(),
                gender: Some(gender),
            })
            .collect()
    }

    #[test]
    fn after_narration_the_subject_speaks_not_the_last_name() {
        let known = cast(&[("Anne", Gender::Female), ("Marilla", Gender::Female)]);
        let text = "Title\n\n\"Sit down,\" said Marilla.\n\n\
                    Anne looked at Marilla through the apple blossoms.\n\n\
                    \"What is Diana like?\"\n";
        assert_eq!(speakers(text, &known), some(&["Marilla", "Anne"]));
    }

    #[test]
    fn after_narration_one_who_keeps_quiet_does_not_speak() {
        let known = cast(&[("Ann", Gender::Female), ("Bob", Gender::Male)]);
        let text = "Title\n\n\"Well?\" said Bob.\n\n\
                    Ann spoke to him of the farm. Bob smoked in silence.\n\n\
                    \"And the barn is old.\"\n";
        assert_eq!(speakers(text, &known), some(&["Bob", "Ann"]));
    }

    #[test]
    fn a_silence_broken_by_a_later_sentence_does_not_count() {
        let known = cast(&[("Bob", Gender::Male), ("Tom", Gender::Male)]);
        let text = "Title\n\n\"Well?\" said Tom.\n\n\
                    Bob sat in silence beside Tom. Then he rose.\n\n\
                    \"I am going,\" he said.\n";
        assert_eq!(speakers(text, &known), some(&["Tom", "Bob"]));
    }

    #[test]
    fn after_narration_the_one_named_after_but_speaks() {
        let known = cast(&[
            ("Ann", Gender::Female),
            ("Bob", Gender::Male),
            ("Carl", Gender::Male),
        ]);
        let text = "Title\n\n\"Well?\" said Carl.\n\n\
                    Ann stood up, but Bob went on talking to Carl.\n\n\
                    \"And the barn is old.\"\n";
        assert_eq!(speakers(text, &known), some(&["Carl", "Bob"]));
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
    fn the_one_addressed_in_any_quote_of_the_paragraph_answers() {
        let known = cast(&[
            ("Basil", Gender::Male),
            ("Harry", Gender::Male),
            ("Dorian", Gender::Male),
        ]);
        let text = "Title\n\nBasil, Harry and Dorian sat.\n\n\"Well,\" said Harry.\n\n\
                    \"Don't go to the theatre, Dorian,\" said Basil. \"Stop and dine.\"\n\n\
                    \"I can't.\"\n";
        assert_eq!(
            speakers(text, &known),
            some(&["Harry", "Basil", "Basil", "Dorian"])
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
    fn a_name_in_apposition_is_not_addressed() {
        // "His boy, Joe, shaved me" talks about Joe: the next line is not
        // Joe's reply, and the alternation of Ann and Bob goes on.
        let man = |name: &str| KnownCharacter {
            name: name.to_owned(),
            aliases: Vec::new(),
            gender: Some(Gender::Male),
        };
        let known = [man("Ann"), man("Bob"), man("Joe")];
        let text = "Title\n\nAnn met Bob. Joe was away.\n\n\"Who was here?\" said Ann.\n\n\
                    \"The barber came. His boy, Joe, shaved me.\" said Bob.\n\n\
                    \"Then it was the boy?\"\n";
        assert_eq!(speakers(text, &known), some(&["Ann", "Bob", "Ann"]));
    }

    #[test]
    fn the_object_of_a_preposition_is_not_the_beat() {
        let text = "Title\n\nAnn met Bob.\n\n\"Hello,\" said Ann.\n\n\"Hi,\" said Bob.\n\n\
                    Bob sat down.\n\n\
                    With a glance at Bob, Ann stood up. \"I must go.\"\n";
        assert_eq!(speakers(text, &[]), some(&["Ann", "Bob", "Ann"]));
    }

    #[test]
    fn a_pronoun_after_an_opening_adverb_is_a_beat() {
        let known = [
            KnownCharacter {
                name: "Ann".to_owned(),
                aliases: Vec::new(),
                gender: Some(Gender::Female),
            },
            KnownCharacter {
                name: "Bob".to_owned(),
                aliases: Vec::new(),
                gender: Some(Gender::Male),
            },
        ];
        let text = "Title\n\nAnn met Bob.\n\n\"Hello,\" said Ann.\n\n\"Hi,\" said Bob.\n\n\
                    Presently he smiled. \"A lovely day.\"\n";
        assert_eq!(speakers(text, &known), some(&["Ann", "Bob", "Bob"]));
    }

    #[test]
    fn action_beat_and_first_person() {
        let text = "Title\n\nI looked at Mary. I was tired and I said nothing to her.\n\n\
                    Mary shaded her eyes. \"It is late.\"\n\n\"I know,\" I said.\n";
        assert_eq!(speakers(text, &[]), some(&["Mary", "Narrator"]));
    }

    #[test]
    fn an_unknown_description_still_gives_its_gender() {
        let known = cast(&[
            ("Ann", Gender::Female),
            ("Bob", Gender::Male),
            ("Tom", Gender::Male),
        ]);
        // "the lady" is nobody in the cast, but she is not Bob.
        let text = "Title\n\nAnn, Bob and Tom sat.\n\n\"Hello,\" said Bob.\n\n\
                    \"Hi,\" said Tom.\n\n\"Well,\" answered the lady.\n";
        assert_eq!(speakers(text, &known), some(&["Bob", "Tom", "Ann"]));
    }

    #[test]
    fn a_described_cast_entry_on_a_named_turn_is_that_character() {
        // The cast lists "The Painter" besides Basil; the tags fall on
        // Basil's turns, so the epithet is his.
        let mut known = cast(&[("Harry", Gender::Male), ("Basil", Gender::Male)]);
        known.push(KnownCharacter {
            name: "The Painter".to_owned(),
            aliases: vec!["Painter".to_owned()],
            gender: None,
        });
        let text = "Title\n\n\"Sit,\" said Harry.\n\n\"No,\" said Basil.\n\n\
                    \"Why?\" said Harry.\n\n\"I must go,\" said the painter.\n\n\
                    \"Stay,\" said Harry.\n\n\"Well,\" said Basil.\n\n\
                    \"Do,\" said Harry.\n\n\"I cannot,\" said the painter.\n";
        assert_eq!(
            speakers(text, &known),
            some(&[
                "Harry", "Basil", "Harry", "Basil", "Harry", "Basil", "Harry", "Basil"
            ])
        );
    }

    #[test]
    fn he_after_calling_on_a_woman_is_the_caller() {
        // Bob and Tom talk; Bob turns to Ann by name; "he" goes on as Bob,
        // not Tom, whose turn it would otherwise be.
        let known = cast(&[
            ("Ann", Gender::Female),
            ("Bob", Gender::Male),
            ("Tom", Gender::Male),
        ]);
        let text = "Title\n\n\"Hi,\" said Bob.\n\n\"Hello,\" said Tom.\n\n\
                    \"Come here, Ann,\" said Bob.\n\n\"Now listen,\" he said.\n";
        assert_eq!(speakers(text, &known), some(&["Bob", "Tom", "Bob", "Bob"]));
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
