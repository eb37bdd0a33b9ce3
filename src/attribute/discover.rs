//! Discovering characters with no user input: proper names found in the
//! narration (capitalised word runs, with particles, that are almost never
//! written in lower case or follow a known given name), kept when there is
//! evidence that they are people (a speech verb, a title, a first name
//! written twice, frequent mentions outside "place" positions), then
//! grouped into characters by `cluster` and given genders by `gender`.
//! Split from `characters`, which owns the roster and the user's cast.

use std::collections::{HashMap, HashSet};

use super::characters::{CharInfo, Roster, key};
use super::cluster::{self, Form, Together};
use super::gender;
use super::lexicon;
use super::tags::Subject;
use super::tokens::Tok;
use crate::core::Gender;

/// Discovers the characters of a book with no user input.
pub fn discover(narration: &[&[Tok<'_>]], tag_subjects: &[&Subject]) -> Roster {
    // How often each word is written in lower case, and capitalised
    // outside sentence starts: names are (almost) never lower case.
    let mut lower_counts: HashMap<String, usize> = HashMap::new();
    let mut cap_counts: HashMap<String, usize> = HashMap::new();
    for toks in narration {
        for t in toks.iter().filter(|t| t.word) {
            if t.is_cap() {
                if !t.sent_start {
                    *cap_counts.entry(t.lower()).or_default() += 1;
                }
            } else {
                *lower_counts.entry(t.text().to_owned()).or_default() += 1;
            }
        }
    }
    // Name runs written inside a sentence: one of them that opens a
    // sentence keeps its first word ("New York. New York was hot" is not
    // "York").
    let mid_sentence: HashSet<String> = narration
        .iter()
        .flat_map(|toks| mid_sentence_runs(toks))
        .collect();
    let mut forms: HashMap<String, Form> = HashMap::new();
    // One-word names at sentence starts, where any word is capitalised:
    // not evidence of a name by themselves, but a known first name written
    // there ("Bob came in") is a second mention of it.
    let mut initial_counts: HashMap<String, usize> = HashMap::new();
    let mut initial_display: HashMap<String, String> = HashMap::new();
    // Names seen in the same sentence are often different people ("Nora
    // and Mrs. Quill"): (segment, sentence, form key) for every run.
    let mut runs_at: Vec<(usize, usize, String)> = Vec::new();
    for (seg, toks) in narration.iter().enumerate() {
        let sentence_of = gender::sentences(toks);
        // The sentence of the last name run: the first run of a sentence is
        // usually its subject.
        let mut last_run_sentence = None;
        for (i, j) in name_runs(toks) {
            let mut run = &toks[i..=j];
            // "Later Mr. Thorne": a sentence-initial ordinary word is not part of the name.
            while run.len() > 1
                && run[0].sent_start
                && lexicon::title(&run[0].lower()).is_none()
                && (lower_counts.contains_key(&run[0].lower())
                    || !cap_counts.contains_key(&run[0].lower()))
                && !mid_sentence.contains(&run_key(run))
            {
                run = &run[1..];
            }
            let single_initial = run.len() == 1 && run[0].sent_start;
            let first = j + 1 - run.len();
            let word_at = |k: usize| toks[k].word.then(|| toks[k].lower());
            let mut prev = first.checked_sub(1).and_then(word_at);
            let after_article = prev.as_deref() == Some("the");
            if after_article {
                // "to the Casino": look past the article.
                prev = first.checked_sub(2).and_then(word_at);
            }
            let subject = last_run_sentence != Some(sentence_of[first]);
            last_run_sentence = Some(sentence_of[first]);
            if single_initial {
                *initial_counts.entry(run[0].lower()).or_default() += 1;
                initial_display
                    .entry(run[0].lower())
                    .or_insert_with(|| run[0].text().to_owned());
                continue;
            }
            let display = run.iter().map(|t| t.text()).collect::<Vec<_>>().join(" ");
            let Some(form) = new_form(&display) else {
                continue;
            };
            runs_at.push((seg, sentence_of[first], key(&display)));
            let entry = forms.entry(key(&display)).or_insert(form);
            if is_shouted(&entry.display) && !is_shouted(&display) {
                entry.display = display;
            }
            entry.count += 1;
            entry.after_article += usize::from(after_article);
            if let Some(g) = gender::pronoun_after(toks, &sentence_of, j + 1, subject, is_name_word)
            {
                entry.pronouns[usize::from(g == Gender::Male)] += 1;
            }
            if prev.as_deref().is_some_and(|p| {
                matches!(
                    p,
                    "in" | "at"
                        | "to"
                        | "from"
                        | "into"
                        | "near"
                        | "of"
                        | "towards"
                        | "through"
                        | "across"
                        | "by"
                        | "on"
                )
            }) {
                entry.after_preposition += 1;
            }
        }
    }
    // A known first name the narration only ever writes at the start of
    // a sentence ("Harriet laughed. Harriet took the parcel.") is a person
    // all the same: short chapters told close to one character often never
    // name her mid-sentence, and her untagged lines need her as a
    // candidate. Never written in lower case, so not "Will" or "Hope".
    // Names both sexes share count here ("Kit"), not in the rules below:
    // there, where a name is also written mid-sentence, they added minor
    // characters that took lines from others on the dev stories.
    let mut initial_only: HashSet<String> = HashSet::new();
    for (word, display) in initial_display {
        let mentions = initial_counts.get(&word).copied().unwrap_or(0);
        if mentions >= 2
            && !lower_counts.contains_key(&word)
            && lexicon::is_first_name(&word)
            && !forms.contains_key(&key(&display))
            && let Some(form) = new_form(&display)
        {
            initial_only.insert(key(&display));
            forms.insert(key(&display), form);
        }
    }
    for subject in tag_subjects {
        if let Subject::Name(display) = subject
            && let Some(form) = new_form(display)
        {
            let entry = forms.entry(key(display)).or_insert(form);
            entry.tags += 1;
            if display.to_lowercase().starts_with("the ") && !entry.display.contains(' ') {
                entry.display.clone_from(display);
            }
        }
    }
    // Surnames that are also common words ("Nathaniel Stone", "Hilda
    // Baker"): a known given name written before the word, more than
    // once, vouches for it, so the bare "Stone" is a name when it is
    // capitalised inside a sentence, however often "stone" is written.
    let vouched: HashSet<String> = forms
        .values()
        .filter(|f| {
            f.core.len() > 1
                && (f.count >= 2 || f.tags > 0)
                && lexicon::first_name_gender(&f.core[0]).is_some()
        })
        .flat_map(|f| f.core[1..].iter().cloned())
        .collect();
    let name_like = |w: &str, tags: usize| {
        if is_particle(w) {
            return true;
        }
        let caps = cap_counts.get(w).copied().unwrap_or(0) + tags;
        let lower = lower_counts.get(w).copied().unwrap_or(0);
        if vouched.contains(w) && caps >= 3 {
            return true;
        }
        if tags > 0 {
            lower <= caps
        } else {
            lower * 4 <= caps
        }
    };
    // "the Oswin Pryces", "the Chiverses": a family, not a person.
    let families: HashSet<String> = forms
        .iter()
        .filter(|(k, f)| {
            f.tags == 0
                && f.after_article * 2 >= f.count
                && [k.strip_suffix("es"), k.strip_suffix('s')]
                    .into_iter()
                    .flatten()
                    .any(|one| forms.contains_key(one))
        })
        .map(|(k, _)| k.clone())
        .collect();
    let (mut accepted, rest): (Vec<Form>, Vec<Form>) = forms
        .into_values()
        .filter(|f| {
            // A recurring full name vouches for a known first name at its
            // head ("Mark Stokes", however often "mark" is written).
            let vouched_given = |i: usize, w: &str| {
                i == 0
                    && f.core.len() > 1
                    && (f.count >= 2 || f.tags > 0)
                    && lexicon::first_name_gender(w).is_some()
            };
            !f.core.is_empty()
                && f.core
                    .iter()
                    .enumerate()
                    .all(|(i, w)| name_like(w, f.tags) || vouched_given(i, w))
        })
        .filter(|f| !families.contains(&f.key()))
        // "Fifth Avenue", "Prince Edward Island", "Port Said": places.
        .filter(|f| !is_place_name(f))
        // "Mr." alone is a cut name, not a character.
        .filter(|f| !(f.title_only && lexicon::is_abbreviated_title(&f.core[0])))
        // Every word of a longer name must itself recur as a name ("Misses Hobb" does not).
        .filter(|f| {
            f.core.len() == 1
                // Two names side by side ("Mrs. Lomax\nNora") happen once;
                // a full name recurs or is the subject of a tag.
                || (f.count >= 2 || f.tags > 0)
                    && f.core.iter().all(|w| {
                    is_particle(w)
                        || cap_counts.get(w).copied().unwrap_or(0) >= 2
                        || lexicon::first_name_gender(w).is_some()
                })
        })
        .partition(|f| {
            f.tags > 0
                || initial_only.contains(&f.key())
                || !f.title_only
                    && (f.has_title
                        // A first name written more than once is a person's,
                        // unless the word mostly follows "to"/"in" ("went to
                        // Rome": places and seasons are given names too).
                        || f.core.len() == 1 && lexicon::first_name_gender(&f.core[0]).is_some() && {
                            let mentions =
                                f.count + initial_counts.get(&f.core[0]).copied().unwrap_or(0);
                            mentions >= 2 && f.after_preposition * 3 < mentions * 2
                        }
                        || f.count >= 3
                            && f.after_preposition * 2 < f.count
                            && f.after_article * 2 < f.count)
        });
    // A fuller form of an accepted name is accepted too ("Felix" -> "Felix
    // Thorne"), unless it is a thing named after it ("the Pryce Madeira").
    let known_words: HashSet<String> = accepted
        .iter()
        .flat_map(|f| f.core.iter().cloned())
        .collect();
    accepted.extend(rest.into_iter().filter(|f| {
        f.core.len() > 1
            && f.core.iter().any(|w| known_words.contains(w))
            && f.after_article * 2 < f.count
    }));
    let mut together = Together::new();
    for group in runs_at.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        let mut keys: Vec<&String> = group.iter().map(|r| &r.2).collect();
        keys.sort();
        keys.dedup();
        for a in &keys {
            for b in &keys {
                if a != b {
                    *together.entry(((*a).clone(), (*b).clone())).or_default() += 1;
                }
            }
        }
    }
    let given_gender = given_name_genders(&accepted);
    let ctx = cluster::Context::new(&accepted, &given_gender, &together);
    let clusters = cluster::cluster(accepted, &ctx);
    let mut roster = Roster::default();
    let mut ids = Vec::with_capacity(clusters.len());
    for c in &clusters {
        let best = c
            .forms
            .iter()
            .max_by_key(|f| {
                // Full names by frequency; a one-word name with its title
                // ("Inspector Lestrade", "Mr. Darcy") over the bare word.
                (
                    f.core.len() > 1,
                    !is_shouted(&f.display),
                    f.count + f.tags,
                    !f.has_title,
                    f.display.len(),
                )
            })
            .expect("clusters are never empty");
        let name = best.display.clone();
        let forms: Vec<String> = c.forms.iter().map(|f| f.display.clone()).collect();
        let aliases = forms.iter().filter(|f| **f != name).cloned().collect();
        let gender = gender::confident(&gender::Evidence {
            title: c.forms.iter().find_map(|f| f.title_gender),
            first_name: c
                .forms
                .iter()
                .filter(|f| !f.has_title || f.core.len() > 1)
                .filter(|f| f.title_gender.is_none())
                .find_map(|f| given_gender.get(&f.core[0]).copied())
                .or_else(|| {
                    c.forms
                        .iter()
                        .flat_map(|f| &f.core)
                        .find_map(|w| gender::patronymic_gender(w))
                }),
            pronouns: c
                .forms
                .iter()
                .fold([0, 0], |[a, b], f| [a + f.pronouns[0], b + f.pronouns[1]]),
            ..gender::Evidence::default()
        });
        ids.push(roster.add(
            CharInfo {
                name,
                aliases,
                gender,
                is_narrator: false,
                described: false,
            },
            &forms,
        ));
    }
    // First names and surnames alone ("Hugo", "Marsh") match the
    // character a bare mention of them would go to.
    let mut parts: Vec<String> = clusters
        .iter()
        .flat_map(|c| c.forms.iter())
        .filter(|f| f.core.len() > 1)
        .flat_map(|f| [f.core[0].clone(), f.core[f.core.len() - 1].clone()])
        // Only words that are names on their own ("Tin Man" does not
        // make every "man" a mention).
        .filter(|w| !is_particle(w) && name_like(w, 0) && !roster.by_key.contains_key(w))
        .collect();
    parts.sort();
    parts.dedup();
    for w in parts {
        let probe = Form {
            display: w.clone(),
            core: vec![w.clone()],
            ..Form::default()
        };
        if let Some(i) = cluster::bare_word_owner(&clusters, &probe, &ctx) {
            roster.add_key(&w, ids[i]);
        }
    }
    roster
}

/// The gender each word used as a given name suggests: the first-name
/// list, unless the pronouns after its untitled mentions clearly say
/// otherwise ("Jean" is a man in a French novel).
///
/// A word this book uses as a surname ("Mr. Pearl", "Oswald Pearl") and
/// never as a given name is not looked up in the list: many surnames are
/// also given names, of either sex.
fn given_name_genders(forms: &[Form]) -> HashMap<String, Gender> {
    let given: HashSet<&str> = forms
        .iter()
        .filter(|f| f.core.len() > 1 && !f.title_only)
        .map(|f| f.core[0].as_str())
        .collect();
    let surnames: HashSet<&str> = forms
        .iter()
        .filter(|f| !f.title_only && (f.core.len() > 1 || f.has_title))
        .filter_map(|f| f.core.last().map(String::as_str))
        .filter(|w| !given.contains(w))
        .collect();
    let mut pronouns: HashMap<&str, [usize; 2]> = HashMap::new();
    for f in forms.iter().filter(|f| !f.has_title && !f.title_only) {
        let v = pronouns.entry(f.core[0].as_str()).or_default();
        v[0] += f.pronouns[0];
        v[1] += f.pronouns[1];
    }
    pronouns
        .into_iter()
        .filter_map(|(w, votes)| {
            let g = gender::confident(&gender::Evidence {
                first_name: lexicon::first_name_gender(w).filter(|_| !surnames.contains(w)),
                pronouns: votes,
                ..gender::Evidence::default()
            })?;
            Some((w.to_owned(), g))
        })
        .collect()
}

/// A name of two words or more that a place noun ends ("Fifth Avenue") or
/// opens ("Port Said", "Mount Vernon"). Its other words stay names: a
/// person can be called "Vernon".
fn is_place_name(f: &Form) -> bool {
    f.core.len() > 1
        && (f.core.last().is_some_and(|w| lexicon::is_place_noun(w))
            || !f.has_title && lexicon::is_place_prefix(&f.core[0]))
}

/// "van", "der", "de": lower-case words inside a name ("Mr. van der Berg").
fn is_particle(word: &str) -> bool {
    matches!(
        word,
        "van"
            | "von"
            | "der"
            | "den"
            | "de"
            | "du"
            | "des"
            | "la"
            | "le"
            | "di"
            | "da"
            | "del"
            | "della"
            | "ter"
            | "ten"
    )
}

/// The last token of the name run starting at `i`: name words, and
/// lower-case particles between a name word and the next ("Mr. van der
/// Berg", "Charles de Gaulle").
fn run_end(toks: &[Tok<'_>], i: usize) -> usize {
    let mut j = i;
    loop {
        if j + 1 < toks.len() && is_name_word(&toks[j + 1]) {
            j += 1;
            continue;
        }
        let mut k = j + 1;
        while k < toks.len() && toks[k].word && is_particle(toks[k].text()) {
            k += 1;
        }
        if k > j + 1 && k < toks.len() && is_name_word(&toks[k]) && !toks[k].sent_start {
            j = k;
            continue;
        }
        return j;
    }
}

/// The name runs (see [`run_end`]) that do not open a sentence, as
/// [`run_key`]s.
fn mid_sentence_runs(toks: &[Tok<'_>]) -> Vec<String> {
    name_runs(toks)
        .filter(|&(i, _)| !toks[i].sent_start)
        .map(|(i, j)| run_key(&toks[i..=j]))
        .collect()
}

/// Every run of name tokens (see [`run_end`]), as its first and last
/// index, in order.
fn name_runs<'t>(toks: &'t [Tok<'_>]) -> impl Iterator<Item = (usize, usize)> + 't {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < toks.len() && !is_name_word(&toks[i]) {
            i += 1;
        }
        (i < toks.len()).then(|| {
            let run = (i, run_end(toks, i));
            i = run.1 + 1;
            run
        })
    })
}

/// A run of name tokens in lower case, one space between words.
fn run_key(run: &[Tok<'_>]) -> String {
    run.iter().map(Tok::lower).collect::<Vec<_>>().join(" ")
}

/// "MRS. Hetty Crewe" (a shouted or heading form) is not how the name is
/// normally written.
fn is_shouted(display: &str) -> bool {
    display.split_whitespace().any(|w| {
        w.chars().filter(|c| c.is_alphabetic()).count() > 1 && !w.chars().any(char::is_lowercase)
    })
}

fn is_name_word(t: &Tok<'_>) -> bool {
    let lower = t.lower();
    t.is_cap() && (lexicon::title(&lower).is_some() || !lexicon::is_never_name(&lower))
}

fn new_form(display: &str) -> Option<Form> {
    let words: Vec<&str> = display.split_whitespace().collect();
    let mut form = Form {
        display: display.to_owned(),
        ..Form::default()
    };
    for w in words {
        let lower = w.trim_end_matches('.').to_lowercase();
        if matches!(lower.as_str(), "the" | "a" | "an") {
            continue;
        }
        if let Some(g) = lexicon::title(&lower).filter(|_| form.core.is_empty()) {
            form.has_title = true;
            form.title_gender = form.title_gender.or(g);
            form.title = Some(lower);
            continue;
        }
        if lexicon::is_never_name(&lower) {
            return None;
        }
        form.core.push(lower);
    }
    if form.core.is_empty() && form.has_title {
        // "the King", "the Professor": the title alone names the character.
        let last = display.split_whitespace().last()?;
        form.core.push(last.trim_end_matches('.').to_lowercase());
        form.has_title = false;
        form.title_only = true;
    }
    Some(form)
}

/// Gives characters without a gender the one the pronouns referring back
/// to their mentions show ("Nora ... she", "Marsh sat down. He ...").
pub fn vote_genders(roster: &mut Roster, narration: &[&[Tok<'_>]]) {
    let votes = gender::narration_votes(roster, narration);
    for (c, pronouns) in roster.chars.iter_mut().zip(votes) {
        if c.gender.is_none() {
            c.gender = gender::confident(&gender::Evidence {
                pronouns,
                ..gender::Evidence::default()
            });
        }
    }
}
