//! Characters: who can speak, under which names, and their gender.
//!
//! With a voices.toml cast the roster is exactly the user's names and
//! aliases (a one-word entry that is another entry's surname, "Stone"
//! beside "Nathaniel Stone", is read as that person; an entry known only by
//! a description, "The Sculptor", is marked as such for resolve).
//!
//! Without one, proper names are discovered from the narration: capitalised
//! word runs (with particles: "Mr. van der Berg") whose words are (almost)
//! never written in lower case (or follow a known given name: "Nathaniel
//! Stone"), backed by evidence that they are people (subject of a speech
//! verb, a title such as Mr./Lady/Captain, a first name written twice, or
//! frequent mentions outside prepositional "place" positions); families
//! ("the Pryces") and places ("Fifth Avenue") are left out. Each form keeps
//! the pronouns that refer back to it. `cluster` then groups the forms into
//! characters ("Hugo Marsh" = "Mr. Marsh" = "Marsh", but not "Mrs. Marsh"),
//! and `gender` weighs titles, the first-name list and those pronouns.

use std::collections::{HashMap, HashSet};

use super::KnownCharacter;
use super::cluster::{self, Form, Together};
use super::gender;
use super::lexicon;
use super::tags::Subject;
use super::tokens::Tok;
use crate::core::Gender;

#[derive(Debug, Clone)]
pub struct CharInfo {
    pub name: String,
    pub aliases: Vec<String>,
    pub gender: Option<Gender>,
    pub is_narrator: bool,
    /// Known only by a description ("the old man").
    pub described: bool,
}

/// The characters and an index from every name form to its character.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub chars: Vec<CharInfo>,
    by_key: HashMap<String, usize>,
    max_tokens: usize,
    /// Only the user's names are allowed (assisted mode).
    pub closed: bool,
}

/// Normal form of a name for look-ups: lower case, no periods, single
/// spaces, no leading article.
/// Lower case without accents: "Aimé" and "Aime" are one name.
pub fn fold(word: &str) -> String {
    word.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            '’' => '\'',
            c => c,
        })
        .collect()
}

pub fn key(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| fold(w.trim_matches(|c: char| c == '.' || c == ',')))
        .filter(|w| !w.is_empty())
        .collect();
    let skip = usize::from(words.len() > 1 && matches!(words[0].as_str(), "the" | "a" | "an"));
    words[skip..].join(" ")
}

impl Roster {
    pub fn from_known(known: &[KnownCharacter]) -> Roster {
        let mut roster = Roster {
            closed: true,
            ..Roster::default()
        };
        // A one-word entry that is the surname of another entry's "given
        // name + surname" ("Stone" beside "Nathaniel Stone") is that person
        // named a second time: once fiction has introduced someone by given
        // name and surname, the surname alone is how the narration keeps
        // referring to them. Left as its own entry it would catch every
        // mention and tag ("said Stone") while the full-named character gets
        // none. A relative sharing the surname carries a title ("Mrs.
        // Pike" beside "Pike") and does not match, since a title is not
        // a given name.
        let mut surname_of: HashMap<String, usize> = HashMap::new();
        for (id, k) in known.iter().enumerate() {
            let single = key(&k.name);
            if single.is_empty() || single.contains(' ') {
                continue;
            }
            let owners: Vec<usize> = known
                .iter()
                .enumerate()
                .filter(|&(other, o)| {
                    other != id
                        && std::iter::once(&o.name).chain(&o.aliases).any(|form| {
                            let words: Vec<String> =
                                key(form).split(' ').map(str::to_owned).collect();
                            words.len() == 2
                                && words[1] == single
                                && lexicon::title(&words[0]).is_none()
                                && lexicon::first_name_gender(&words[0]).is_some()
                        })
                })
                .map(|(other, _)| other)
                .collect();
            if let Some(owner) = sole_or_the_man(known, &owners) {
                surname_of.insert(single, owner);
            }
        }
        for (single, owner) in &surname_of {
            roster.add_key(single, *owner);
        }
        for k in known {
            let id = roster.chars.len();
            roster.chars.push(CharInfo {
                name: k.name.clone(),
                aliases: k.aliases.clone(),
                gender: k.gender.filter(|g| *g != Gender::Unknown),
                is_narrator: k.aliases.iter().any(|a| key(a) == "narrator"),
                described: is_description(k),
            });
            for form in std::iter::once(&k.name).chain(&k.aliases) {
                roster.add_key(form, id);
            }
        }
        // Parts of the given names that only one character has: the title
        // alone ("Mademoiselle" for "Mademoiselle Duval") and single words
        // of longer names ("Duval"), so mentions in the text are found.
        let mut owners: HashMap<String, Vec<usize>> = HashMap::new();
        for (id, k) in known.iter().enumerate() {
            for form in std::iter::once(&k.name).chain(&k.aliases) {
                let words: Vec<String> = key(form).split(' ').map(str::to_owned).collect();
                if words.len() < 2 {
                    continue;
                }
                for w in [words.first(), words.last()].into_iter().flatten() {
                    let list = owners.entry(w.clone()).or_default();
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
            }
        }
        let mut parts: Vec<(String, usize)> = owners
            .into_iter()
            .filter(|(w, _)| {
                !roster.by_key.contains_key(w)
                    && (!lexicon::is_never_name(w) || lexicon::title(w).is_some())
            })
            .filter_map(|(w, ids)| Some((w, sole_or_the_man(known, &ids)?)))
            .collect();
        parts.sort();
        for (w, id) in parts {
            roster.add_key(&w, id);
        }
        roster
    }

    fn add_key(&mut self, form: &str, id: usize) {
        let k = key(form);
        if k.is_empty() {
            return;
        }
        self.max_tokens = self.max_tokens.max(k.split(' ').count());
        self.by_key.entry(k).or_insert(id);
    }

    pub fn add(&mut self, info: CharInfo, forms: &[String]) -> usize {
        let id = self.chars.len();
        self.chars.push(info);
        for f in forms {
            self.add_key(f, id);
        }
        id
    }

    pub fn narrator(&self) -> Option<usize> {
        self.chars.iter().position(|c| c.is_narrator)
    }

    /// The character a written name refers to: the exact form, else the
    /// surname or first name when only one character carries it.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let k = key(name);
        if let Some(&id) = self.by_key.get(&k) {
            return Some(id);
        }
        let with_article = format!("the {k}");
        if let Some(&id) = self.by_key.get(&with_article) {
            return Some(id);
        }
        let words: Vec<&str> = k.split(' ').collect();
        let core: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| lexicon::title(w).is_none())
            .collect();
        if core.is_empty() {
            // A bare title ("Mademoiselle") is the one character who has it.
            let prefix = format!("{k} ");
            let mut owners = self
                .by_key
                .iter()
                .filter(|(form, _)| form.starts_with(&prefix))
                .map(|(_, &id)| id);
            let first = owners.next()?;
            return owners.all(|id| id == first).then_some(first);
        }
        if core.len() == words.len() && words.len() == 1 {
            return None;
        }
        for w in [core.last(), core.first()].into_iter().flatten() {
            if let Some(&id) = self.by_key.get(*w) {
                return Some(id);
            }
        }
        None
    }

    /// The longest name form starting at token `i`: (character, tokens used).
    pub fn match_at(&self, toks: &[Tok<'_>], i: usize) -> Option<(usize, usize)> {
        if !toks[i].is_cap() {
            return None;
        }
        let mut best = None;
        let mut k = String::new();
        for n in 0..self.max_tokens.min(toks.len() - i) {
            let t = &toks[i + n];
            if !t.word || (n > 0 && !t.is_cap()) {
                break;
            }
            if n > 0 {
                k.push(' ');
            }
            k.push_str(&fold(t.text().trim_end_matches('.')));
            if let Some(&id) = self.by_key.get(&k) {
                best = Some((id, n + 1));
            }
        }
        best
    }
}

/// The one cast entry among `owners` a bare surname names: the only
/// owner, or else the only man among them ("said Ashby" beside "Rufus
/// Ashby" and "Mrs. Ashby"): women are rarely called by the surname
/// alone. (Added on the attribution branch; a minimal change in the names
/// area.)
fn sole_or_the_man(known: &[KnownCharacter], owners: &[usize]) -> Option<usize> {
    if let [only] = owners {
        return Some(*only);
    }
    let mut men = owners
        .iter()
        .copied()
        .filter(|&o| known[o].gender == Some(Gender::Male));
    match (men.next(), men.next()) {
        (Some(man), None) => Some(man),
        _ => None,
    }
}

/// Whether a cast entry is known only by a description ("The Sculptor",
/// "The Boy"): its name opens with an article and none of its aliases adds
/// a word of its own (a proper name such as "Hale" for "The Doctor").
/// Like a description found in the text, such an entry may be an epithet
/// for a named character ("said the sculptor" in Hector's exchanges), so
/// resolve weighs whose turn its tags fall on before giving it the lines.
fn is_description(k: &KnownCharacter) -> bool {
    let article = |form: &str| {
        form.split_whitespace()
            .next()
            .is_some_and(|w| matches!(w.to_lowercase().as_str(), "the" | "a" | "an"))
    };
    if !article(&k.name) {
        return false;
    }
    let forms = || std::iter::once(&k.name).chain(&k.aliases);
    let described_words: HashSet<String> = forms()
        .filter(|f| article(f))
        .flat_map(|f| key(f).split(' ').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    forms().all(|f| key(f).split(' ').all(|w| described_words.contains(w)))
}

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
    let mut forms: HashMap<String, Form> = HashMap::new();
    // One-word names at sentence starts, where any word is capitalised:
    // not evidence of a name by themselves, but a known first name written
    // there ("Bob came in") is a second mention of it.
    let mut initial_counts: HashMap<String, usize> = HashMap::new();
    // Names seen in the same sentence are often different people ("Nora
    // and Mrs. Quill"): (segment, sentence, form key) for every run.
    let mut runs_at: Vec<(usize, usize, String)> = Vec::new();
    for (seg, toks) in narration.iter().enumerate() {
        let sentence_of = gender::sentences(toks);
        // The sentence of the last name run: the first run of a sentence is
        // usually its subject.
        let mut last_run_sentence = None;
        let mut i = 0;
        while i < toks.len() {
            if !is_name_word(&toks[i]) {
                i += 1;
                continue;
            }
            let j = run_end(toks, i);
            let mut run = &toks[i..=j];
            // "Later Mr. Thorne": a sentence-initial ordinary word is not part of the name.
            while run.len() > 1
                && run[0].sent_start
                && lexicon::title(&run[0].lower()).is_none()
                && (lower_counts.contains_key(&run[0].lower())
                    || !cap_counts.contains_key(&run[0].lower()))
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
            i = j + 1;
            if single_initial {
                *initial_counts.entry(run[0].lower()).or_default() += 1;
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
        // "Fifth Avenue", "Prince Edward Island": places.
        .filter(|f| !(f.core.len() > 1 && f.core.last().is_some_and(|w| lexicon::is_place_noun(w))))
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

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    #[test]
    fn keys_fold_case_periods_and_articles() {
        assert_eq!(key("Mr. Hugo  Marsh"), "mr hugo marsh");
        assert_eq!(key("The Tin Soldier"), "tin soldier");
        assert_eq!(key("Aimé Lacoste"), "aime lacoste");
        assert_eq!(key("the"), "the");
    }

    #[test]
    fn names_cluster_into_characters() {
        let text = "Then Felix Thorne came in. Felix Thorne sat. Later Mr. Thorne sat down. Felix smiled. \
                    Thorne laughed at Oscar. Oscar Dane frowned. Oscar sighed. \
                    Miss Reed waved. Ivy Reed nodded. Mrs. Thorne left the room. \
                    Then Oscar Dane and Ivy Reed left.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let subjects = [
            Subject::Name("Felix".to_owned()),
            Subject::Name("Oscar".to_owned()),
        ];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let mut roster = discover(&narration, &refs);
        vote_genders(&mut roster, &narration);
        let felix = roster.lookup("Felix").unwrap();
        assert_eq!(roster.lookup("Mr. Thorne"), Some(felix));
        assert_eq!(roster.lookup("Felix Thorne"), Some(felix));
        assert_eq!(roster.chars[felix].name, "Felix Thorne");
        assert_eq!(roster.chars[felix].gender, Some(Gender::Male));
        let oscar = roster.lookup("Oscar").unwrap();
        assert_ne!(oscar, felix);
        assert_eq!(roster.chars[oscar].name, "Oscar Dane");
        let ivy = roster.lookup("Miss Reed").unwrap();
        assert_eq!(roster.chars[ivy].gender, Some(Gender::Female));
        assert_ne!(roster.lookup("Mrs. Thorne"), Some(felix));
    }

    #[test]
    fn a_given_name_vouches_for_a_common_word_surname() {
        // "wood" is written in lower case more often than "Stone" is
        // capitalised, but "Nathaniel Stone" makes it a surname.
        let text = "A stone wall stood. Then Nathaniel Stone came in. The stone was wet. \
                    A stone fell. Nathaniel Stone laughed. Nathaniel Stone sat. It was a stone cabin \
                    with a stone door and a stone floor. Pratt looked at Stone. \
                    The police took Stone away.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let roster = discover(&narration, &[]);
        let stone = roster.lookup("Nathaniel Stone").unwrap();
        assert_eq!(roster.lookup("Stone"), Some(stone));
        let at = toks
            .iter()
            .position(|t| t.text() == "Stone" && !t.sent_start)
            .unwrap();
        let looked = toks[at..].iter().position(|t| t.text() == "at").unwrap() + at;
        assert_eq!(roster.match_at(&toks, looked + 1), Some((stone, 1)));
    }

    #[test]
    fn known_cast_lookups() {
        let known = [
            KnownCharacter {
                name: "Mademoiselle Duval".to_owned(),
                aliases: vec![],
                gender: Some(Gender::Female),
            },
            KnownCharacter {
                name: "Aime Lacoste".to_owned(),
                aliases: vec!["Lacoste".to_owned()],
                gender: None,
            },
        ];
        let roster = Roster::from_known(&known);
        assert_eq!(roster.lookup("Mademoiselle"), Some(0));
        assert_eq!(roster.lookup("Duval"), Some(0));
        assert_eq!(roster.lookup("Aimé Lacoste"), Some(1));
        assert_eq!(roster.lookup("Mr. Lacoste"), Some(1));
        assert_eq!(roster.lookup("Oscar"), None);
    }

    #[test]
    fn a_surname_entry_is_the_full_named_character() {
        let k = |name: &str, aliases: &[&str]| KnownCharacter {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender: None,
        };
        let known = [
            k("The Stranger", &["Oscar Crane"]),
            k("Crane", &[]),
            k("Pike", &[]),
            k("Mrs. Pike", &[]),
        ];
        let roster = Roster::from_known(&known);
        // "Crane" is Oscar Crane named a second time.
        assert_eq!(roster.lookup("Crane"), Some(0));
        assert_eq!(roster.lookup("Oscar Crane"), Some(0));
        // A title is not a given name: Mrs. Pike is a relative.
        assert_eq!(roster.lookup("Pike"), Some(2));
        assert_eq!(roster.lookup("Mrs. Pike"), Some(3));
    }

    #[test]
    fn a_bare_surname_several_entries_share_is_the_mans() {
        let k = |name: &str, aliases: &[&str], gender: Option<Gender>| KnownCharacter {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender,
        };
        let known = [
            k("Oswin Marsh", &["Mr. Marsh"], Some(Gender::Male)),
            k("Mrs. Marsh", &[], Some(Gender::Female)),
            k("Edith Vale", &["Mrs. Vale"], Some(Gender::Female)),
            k("Vale", &[], None),
            k("Tobias Vale", &["Tobias"], Some(Gender::Male)),
        ];
        let roster = Roster::from_known(&known);
        assert_eq!(roster.lookup("Marsh"), Some(0));
        assert_eq!(roster.lookup("Mrs. Marsh"), Some(1));
        // The one-word entry "Vale" is the man's surname, not his wife's.
        assert_eq!(roster.lookup("Vale"), Some(4));
    }

    #[test]
    fn a_cast_entry_with_a_proper_name_is_not_a_description() {
        let k = |name: &str, aliases: &[&str]| KnownCharacter {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender: None,
        };
        assert!(is_description(&k("The Sculptor", &["Sculptor"])));
        assert!(is_description(&k(
            "The Boatman",
            &["The Old Boatman", "Old Boatman"]
        )));
        assert!(!is_description(&k("The Doctor", &["Hale", "Dr. Hale"])));
        assert!(!is_description(&k("Hector", &[])));
    }

    #[test]
    fn familiar_forms_join_the_full_name() {
        let text = "Then Samuel Morton came in. Samuel Morton sat. Sam laughed. Sam sat down. \
                    Lord Theodore Ashdown smiled. Ted Potter waved. Ted Potter sat. \
                    Later Mike went out. Mike smiled.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let subjects = [
            Subject::Name("Samuel Morton".to_owned()),
            Subject::Name("Sam".to_owned()),
            Subject::Name("Ted".to_owned()),
            Subject::Name("Mike".to_owned()),
        ];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&narration, &refs);
        let samuel = roster.lookup("Samuel Morton").unwrap();
        assert_eq!(roster.lookup("Sam"), Some(samuel));
        // A name written in full elsewhere wins over a familiar form.
        assert_eq!(roster.lookup("Ted"), roster.lookup("Ted Potter"));
        // No "Michael" here: "Mike" stays itself.
        assert!(roster.lookup("Mike").is_some_and(|j| j != samuel));
    }

    #[test]
    fn names_in_one_sentence_are_different_people() {
        let text = "Then Nora Quill came. Then Nora Quill sat. Later Nora waved to Mrs. Quill. \
                    Then Mrs. Quill left. Soon Nora and Mrs. Quill came back.";
        let toks = tokenize(text, 0, true);
        let subjects = [Subject::Name("Nora".to_owned())];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&[&toks[..]], &refs);
        let nora = roster.lookup("Nora").unwrap();
        assert_eq!(roster.lookup("Nora Quill"), Some(nora));
        assert_ne!(roster.lookup("Mrs. Quill"), Some(nora));
    }

    #[test]
    fn mrs_and_miss_are_different_women() {
        let text = "Then Miss Nelly Lomax came. Then Nelly Lomax sat. Then Miss Nelly Lomax \
                    smiled. Then Mrs. Lomax left.";
        let toks = tokenize(text, 0, true);
        let subjects = [Subject::Name("Nelly".to_owned())];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&[&toks[..]], &refs);
        let nelly = roster.lookup("Nelly").unwrap();
        assert_eq!(roster.lookup("Miss Nelly Lomax"), Some(nelly));
        assert!(roster.lookup("Mrs. Lomax").is_some());
        assert_ne!(roster.lookup("Mrs. Lomax"), Some(nelly));
    }

    #[test]
    fn a_surname_is_not_looked_up_as_a_first_name() {
        // "Pearl" is a woman's first name in the list, but here it is a
        // man's surname.
        assert_eq!(lexicon::first_name_gender("pearl"), Some(Gender::Female));
        let text = "Then Mr. Oswald Pearl came in. Later Pearl sat down. Then Pearl \
                    laughed. Then Mr. Pearl left.";
        let toks = tokenize(text, 0, true);
        let roster = discover(&[&toks[..]], &[]);
        let pearl = roster.lookup("Pearl").unwrap();
        assert_eq!(roster.lookup("Mr. Oswald Pearl"), Some(pearl));
        assert_eq!(roster.chars[pearl].gender, Some(Gender::Male));
    }

    #[test]
    fn a_first_name_written_once_is_not_a_character() {
        // "Autumn" and "June" are given names, but one capitalised mention
        // is not a person; two mentions of "Bob" (one opening a sentence) are.
        let text = "It was a cool Autumn morning in June. Ida met Bob at the gate. \
                    Bob came in and sat down.";
        let toks = tokenize(text, 0, true);
        let roster = discover(&[&toks[..]], &[]);
        assert!(roster.lookup("Autumn").is_none());
        assert!(roster.lookup("June").is_none());
        assert!(roster.lookup("Bob").is_some());
    }

    #[test]
    fn places_and_sentence_starts_are_not_characters() {
        let text = "They went to Paris. Now Bob went to Rome. Bob went to Rome. \
                    In Rome it rained. Bob said so. Afterwards they slept.";
        let toks = tokenize(text, 0, true);
        let subjects = [Subject::Name("Bob".to_owned())];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&[&toks[..]], &refs);
        assert!(roster.lookup("Bob").is_some());
        assert!(roster.lookup("Rome").is_none());
        assert!(roster.lookup("Afterwards").is_none());
    }
}
