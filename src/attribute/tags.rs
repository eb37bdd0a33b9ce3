//! Speech tags: "said Ines", "Ines snarled", "he asked", "asked the
//! doctor", "I said", found in the narration right after or right before a
//! quote (within its clause).

use super::lexicon::{self, PARTICLE_VERBS};
use super::tokens::Tok;
use crate::core::Gender;

/// Who a speech tag names as the speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A capitalised name, as written ("Mr. Fowler", "the Heron").
    Name(String),
    /// A description ("the old man"), with the gender its noun implies.
    Described(String, Option<Gender>),
    Pronoun(Gender),
    /// A relation of someone in the scene ("my companion", "said the other").
    Related(Option<Gender>),
    /// A relative named by a possessive ("her mother", "my dad"): the
    /// possessive ("my", "his", "her") and the kin noun, lower case.
    Kin {
        possessive: String,
        noun: String,
        gender: Gender,
    },
    FirstPerson,
    /// A tag whose subject we cannot use ("they said", "his father said").
    Unknown,
}

/// A tag and the byte offset of its subject (for salience look-ups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub subject: Subject,
    pub at: usize,
}

const MAX_WORDS: usize = 12;

/// The tag in the narration that follows a quote, if its first clause has one.
pub fn tag_after(toks: &[Tok<'_>]) -> Option<Tag> {
    let mut end = toks.len();
    let mut words = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.ends_sentence() || t.is_punct("(") {
            end = i;
            break;
        }
        if t.word {
            words += 1;
            if words > MAX_WORDS {
                end = i;
                break;
            }
        }
    }
    let window = &toks[..end];
    let verb = (0..window.len()).find(|&i| is_verb_at(window, i))?;
    // A tag sits at the start of the clause ("the old man said"); a verb
    // deep inside ("And she squeezed up closer as she spoke") is narration.
    if window[..verb].iter().filter(|t| t.word).count() > 4 {
        return None;
    }
    subject_of(window, verb)
}

/// The tag in the narration that precedes a quote: its last clause, ending
/// with the verb ("Greta said:", "said the King,").
pub fn tag_before(toks: &[Tok<'_>]) -> Option<Tag> {
    let mut end = toks.len();
    while end > 0 && !toks[end - 1].word && toks[end - 1].is_punct(",:—–-") {
        end -= 1;
    }
    if end > 0 && !toks[end - 1].word {
        // A full stop before the quote: the clause is a finished sentence,
        // not a tag introducing the quote.
        return None;
    }
    let mut start = 0;
    let mut words = 0;
    for i in (0..end).rev() {
        let t = &toks[i];
        if t.ends_sentence() || t.is_punct(")") {
            start = i + 1;
            break;
        }
        if t.word {
            words += 1;
            if words > MAX_WORDS {
                start = i + 1;
                break;
            }
        }
    }
    let window = &toks[start..end];
    let verb = (0..window.len()).rev().find(|&i| is_verb_at(window, i))?;
    // The verb must end the clause, give or take a short complement
    // ("said to the Queen:"), or it is narration that happens to contain one.
    let words_after = window[verb + 1..].iter().filter(|t| t.word).count();
    if words_after > 8 {
        return None;
    }
    subject_of(window, verb)
}

/// The word at `i` follows a "to" of purpose ("she looked up to ask"),
/// whose subject is the clause's. After an object the infinitive is
/// someone else's ("caused him to answer", "begged Mary to say").
fn is_purpose_to(window: &[Tok<'_>], i: usize) -> bool {
    i > 1
        && window[i - 1].word
        && window[i - 1].lower() == "to"
        && window[i - 2].word
        && !is_name_word(&window[i - 2])
        && !matches!(
            window[i - 2].lower().as_str(),
            "him" | "her" | "them" | "me" | "us" | "you"
        )
}

fn is_verb_at(window: &[Tok<'_>], i: usize) -> bool {
    let t = &window[i];
    if !t.word {
        return false;
    }
    let lower = t.lower();
    if lexicon::is_speech_verb(&lower) {
        return true;
    }
    if lexicon::is_speech_lemma(&lower) && is_purpose_to(window, i) {
        return true;
    }
    PARTICLE_VERBS.iter().any(|(v, p)| {
        *v == lower
            && window
                .get(i + 1)
                .is_some_and(|n| n.word && n.text().eq_ignore_ascii_case(p))
    })
}

fn subject_of(window: &[Tok<'_>], verb: usize) -> Option<Tag> {
    // Before the verb: "Greta said", "the old man said", "he then asked".
    let mut k = verb;
    // "he then asked", "she would only say", "Greta had said".
    while k > 0
        && window[k - 1].word
        && (lexicon::is_adverb(&window[k - 1].lower())
            || matches!(
                window[k - 1].lower().as_str(),
                "would"
                    | "could"
                    | "should"
                    | "might"
                    | "will"
                    | "did"
                    | "must"
                    | "can"
                    | "had"
                    | "has"
                    | "not"
                    | "never"
            ))
    {
        k -= 1;
    }
    if k > 0 && window[k - 1].word {
        let t = &window[k - 1];
        let lower = t.lower();
        if lower == "who" {
            // "the Wren, who at last turned sulky, would say": the name
            // before "who".
            let mut j = k - 1;
            while j > 0 && !window[j - 1].word && window[j - 1].is_punct(",") {
                j -= 1;
            }
            return (j > 0 && window[j - 1].word)
                .then(|| subject_at(window, j - 1, Direction::Backward))
                .flatten();
        }
        if matches!(lower.as_str(), "and" | "but" | "then") {
            // "He turned to her and said": the verb shares the subject of
            // the clause it ends.
            return clause_subject(window, k - 1, true);
        }
        if lower == "which" {
            return None;
        }
    }
    let shares_subject =
        is_purpose_to(window, k) || k > 0 && !window[k - 1].word && window[k - 1].is_punct(",");
    if shares_subject && let Some(tag) = clause_subject(window, k - 1, false) {
        // "She looked up to ask:", "She sat down near the fire, said:": a
        // second verb of the same subject.
        return Some(tag);
    }
    if k > 0
        && window[k - 1].word
        && let Some(tag) = subject_at(window, k - 1, Direction::Backward)
    {
        return Some(tag);
    }
    // After the verb: "said Greta", "said the Heron", "said he".
    let mut k = verb + 1;
    if window.get(k).zip(window.get(verb)).is_some_and(|(n, v)| {
        n.word
            && PARTICLE_VERBS
                .iter()
                .any(|(pv, p)| v.text() == *pv && n.text() == *p)
    }) {
        k += 1;
    }
    while k < window.len() && window[k].word && lexicon::is_adverb(&window[k].lower()) {
        k += 1;
    }
    if k < window.len() && window[k].word {
        return subject_at(window, k, Direction::Forward);
    }
    None
}

/// The subject of the clause that a coordinated verb ends (`end` is the
/// conjunction or comma before the verb): the first word or two after the
/// nearest comma or semicolon that opens a subject ("Feeling that her
/// father waited, she sighed and said": "she", not "her father";
/// "whereupon she relaxed and said"), else the window's first word or two
/// ("He turned to her and said", "and he laughed and answered"). A tag that only a look further back would
/// find ("Mary, turning to him, smiled and said") still ends at the
/// window's start. Unless `any_opening`, the window's opening phrase must be
/// a pronoun or a name too ("A proper sense of his dignity caused him to
/// answer" has no speaker there).
fn clause_subject(window: &[Tok<'_>], end: usize, any_opening: bool) -> Option<Tag> {
    // Past a comma only a pronoun or a name opens a subject: a phrase
    // there is mostly a complement ("with a movement like Nastasia's").
    let opens = |from: usize, any_first: bool| {
        (from..end)
            .filter(|&i| window[i].word)
            .take(2)
            .enumerate()
            .find_map(|(n, i)| {
                subject_at(window, i, Direction::Forward).filter(|tag| {
                    n == 0 && any_first
                        || matches!(tag.subject, Subject::Pronoun(_) | Subject::FirstPerson)
                        || matches!(tag.subject, Subject::Name(_)) && is_name_word(&window[i])
                })
            })
    };
    (0..end)
        .rev()
        .filter(|&i| !window[i].word && window[i].is_punct(",;"))
        .find_map(|i| opens(i + 1, false))
        .or_else(|| opens(0, any_opening))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

fn is_name_word(t: &Tok<'_>) -> bool {
    let lower = t.lower();
    t.is_cap() && (lexicon::title(&lower).is_some() || !lexicon::is_never_name(&lower))
}

/// Lower-case words inside a surname ("van der Berg", "de Winter").
fn is_name_particle(t: &Tok<'_>) -> bool {
    t.word
        && !t.is_cap()
        && matches!(
            t.lower().as_str(),
            "van"
                | "der"
                | "den"
                | "de"
                | "von"
                | "du"
                | "da"
                | "di"
                | "del"
                | "della"
                | "la"
                | "le"
                | "ter"
                | "ten"
        )
}

/// The last word of the name that continues from the name word at `i`,
/// across name particles when a capitalised word follows them.
fn name_end(window: &[Tok<'_>], i: usize) -> usize {
    let mut last = i;
    let mut j = i + 1;
    while j < window.len() && window[j].word {
        if is_name_word(&window[j]) {
            last = j;
            j += 1;
            continue;
        }
        let mut k = j;
        while k < window.len() && is_name_particle(&window[k]) {
            k += 1;
        }
        if k == j || k >= window.len() || !window[k].word || !is_name_word(&window[k]) {
            break;
        }
        j = k;
    }
    last
}

/// Where a run of name particles ending just before the name word at
/// `first` starts, when a name word comes before them ("Rufus van der |Berg").
fn particles_before(window: &[Tok<'_>], first: usize) -> Option<usize> {
    let mut k = first;
    while k > 0 && is_name_particle(&window[k - 1]) {
        k -= 1;
    }
    (k < first && k > 0 && window[k - 1].word && is_name_word(&window[k - 1])).then_some(k - 1)
}

fn is_determiner(lower: &str) -> bool {
    matches!(lower, "the" | "a" | "an")
}

fn is_possessive(lower: &str) -> bool {
    matches!(
        lower,
        "his" | "her" | "my" | "our" | "their" | "your" | "its" | "this" | "that" | "one"
    )
}

/// The subject phrase with a word at `i`; it extends away from the verb.
fn subject_at(window: &[Tok<'_>], i: usize, dir: Direction) -> Option<Tag> {
    let t = &window[i];
    let lower = t.lower();
    if let Some(g) = lexicon::pronoun_gender(&lower)
        && matches!(lower.as_str(), "he" | "she")
    {
        return Some(Tag {
            subject: Subject::Pronoun(g),
            at: t.start(),
        });
    }
    match lower.as_str() {
        "i" => {
            return Some(Tag {
                subject: Subject::FirstPerson,
                at: t.start(),
            });
        }
        "they" | "we" | "you" | "it" | "everybody" | "everyone" | "somebody" | "someone"
        | "nobody" | "all" | "both" | "one" => {
            return Some(Tag {
                subject: Subject::Unknown,
                at: t.start(),
            });
        }
        _ => {}
    }
    // The phrase is the run of words between a determiner and the head noun.
    let (first, last) = match dir {
        Direction::Backward => {
            let last = i;
            let mut first = i;
            if is_name_word(t) {
                while first > 0 && window[first - 1].word {
                    if is_name_word(&window[first - 1]) {
                        first -= 1;
                    } else if let Some(k) = particles_before(window, first) {
                        first = k;
                    } else {
                        break;
                    }
                }
                if first > 0 && window[first - 1].word && is_determiner(&window[first - 1].lower())
                {
                    first -= 1;
                }
            } else {
                // "the old man": up to three words back to a determiner.
                let mut j = i;
                let mut found = None;
                while j > 0 && i - j < 4 && window[j - 1].word {
                    j -= 1;
                    let l = window[j].lower();
                    if is_determiner(&l) || is_possessive(&l) {
                        found = Some(j);
                        break;
                    }
                }
                first = found?;
            }
            (first, last)
        }
        Direction::Forward => {
            let first = i;
            let mut last = i;
            if is_determiner(&lower) || is_possessive(&lower) {
                // Determiner, then words up to a noun (stop at punctuation,
                // an adverb or a preposition: "said the man in white" keeps
                // "the man"); a capitalised name ends the phrase.
                let mut j = i + 1;
                while j < window.len() && window[j].word && j - i <= 4 {
                    let l = window[j].lower();
                    if matches!(
                        l.as_str(),
                        "in" | "of" | "to" | "with" | "at" | "from" | "who" | "and" | "as" | "on"
                    ) || lexicon::is_adverb(&l)
                        || lexicon::is_speech_verb(&l)
                    {
                        break;
                    }
                    last = j;
                    j += 1;
                    if is_name_word(&window[last]) {
                        last = name_end(window, last);
                        break;
                    }
                }
                if last == i {
                    return None;
                }
                // "the man with the black beard", "the elder of the two":
                // a short descriptive complement names the character.
                if !is_name_word(&window[last])
                    && window.get(last + 1).is_some_and(|p| {
                        p.word && matches!(p.lower().as_str(), "with" | "of" | "in")
                    })
                    && window
                        .get(last + 2)
                        .is_some_and(|d| d.word && d.lower() == "the")
                {
                    let mut k = last + 3;
                    let mut end = None;
                    while k < window.len() && window[k].word && k - last <= 5 {
                        let l = window[k].lower();
                        if lexicon::is_adverb(&l) || lexicon::is_speech_verb(&l) {
                            break;
                        }
                        end = Some(k);
                        k += 1;
                    }
                    if let Some(end) = end {
                        last = end;
                    }
                }
            } else if is_name_word(t)
                || matches!(
                    lower.as_str(),
                    "old" | "young" | "little" | "poor" | "big" | "fat" | "tall" | "dear" | "good"
                ) && window.get(i + 1).is_some_and(is_name_word)
            {
                last = name_end(window, last);
            } else {
                return None;
            }
            (first, last)
        }
    };
    let phrase = &window[first..=last];
    // The head noun comes before any complement ("the man with the beard").
    let complement = phrase
        .iter()
        .position(|t| matches!(t.lower().as_str(), "with" | "of" | "in"));
    let head = complement.map_or(&window[last], |p| &phrase[p.saturating_sub(1)]);
    let det = phrase[0].lower();
    if is_possessive(&det) {
        // The kin noun right after the possessive, or after one adjective
        // ("her old mother"); a clause may follow ("said her mother when
        // they sat down").
        let kin = (1..phrase.len().min(3)).find_map(|k| {
            let w = phrase[k].lower();
            // "her mother's friend" is the friend.
            let owned = phrase.get(k + 1).is_some_and(|t| {
                let next = t.lower();
                next.starts_with('\'')
                    || next.starts_with('’')
                    || lexicon::person_noun(&next).is_some()
            });
            // The head as before, or a clause after it ("when they sat
            // down"), not a name ("her son Frank").
            let head_here = head.lower() == w
                || phrase
                    .get(k + 1)
                    .is_some_and(|t| !t.is_cap() && !t.lower().ends_with("'s"));
            lexicon::kin_noun(&w)
                .filter(|_| !owned && head_here)
                .map(|g| (w, g))
        });
        if matches!(det.as_str(), "my" | "his" | "her")
            && let Some((noun, gender)) = kin
        {
            return Some(Tag {
                subject: Subject::Kin {
                    possessive: det,
                    noun,
                    gender,
                },
                at: phrase[0].start(),
            });
        }
        // "my companion", "her husband": someone already in the scene.
        let subject = match lexicon::person_noun(&head.lower()) {
            Some(g)
                if phrase.len() > 1
                    && matches!(det.as_str(), "my" | "his" | "her" | "our" | "their") =>
            {
                Subject::Related(g)
            }
            _ => Subject::Unknown,
        };
        return Some(Tag {
            subject,
            at: phrase[0].start(),
        });
    }
    let at = phrase[0].start();
    // A name in the complement is not the speaker's: "the landlord of the
    // Cripples" (an inn) is the landlord.
    let before_complement = &phrase[..complement.unwrap_or(phrase.len())];
    if let Some(cap) = before_complement.iter().position(is_name_word) {
        // "the gloomy Thornbury" is Thornbury; "the Heron" keeps its article.
        let from = if cap == 1 && is_determiner(&det) {
            0
        } else {
            cap
        };
        let display = phrase[from..]
            .iter()
            .map(|t| t.text())
            .collect::<Vec<_>>()
            .join(" ");
        // A single sentence-initial word must still look like a name.
        if phrase.len() == 1 && lexicon::is_never_name(&det) {
            return None;
        }
        return Some(Tag {
            subject: Subject::Name(display),
            at,
        });
    }
    let display = phrase
        .iter()
        .map(|t| t.text())
        .collect::<Vec<_>>()
        .join(" ");
    if is_determiner(&det) {
        // Whatever says something is a speaker ("said the mariner"); the
        // noun gives a gender when it has one.
        let gender = lexicon::person_noun(&head.lower()).flatten();
        // "said the other (man)": the other one in the exchange.
        let other = phrase
            .get(1)
            .is_some_and(|t| matches!(t.lower().as_str(), "other" | "latter"));
        let subject = if other {
            Subject::Related(gender)
        } else {
            Subject::Described(display, gender)
        };
        return Some(Tag { subject, at });
    }
    None
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
