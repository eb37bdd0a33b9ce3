//! Characters: who can speak, under which names, and their gender.
//!
//! With a voices.toml cast the roster is exactly the user's names and
//! aliases (a one-word entry that is another entry's surname, "Small"
//! beside "Jonathan Small", is read as that person; an entry known only by
//! a description, "The Painter", is marked as such for resolve). Without one, proper names are discovered from the narration:
//! capitalised word runs whose words are (almost) never written in lower
//! case (or follow a known given name: "Jonathan Small"), backed by
//! evidence that they are people (subject of a speech verb, a title such as
//! Mr./Lady/Captain, or frequent mentions outside prepositional "place"
//! positions). Name forms are then clustered into
//! characters ("Sherlock Holmes" = "Mr. Holmes" = "Holmes"), and gender is
//! voted from titles, a first-name list and the pronouns that follow
//! mentions.

use std::collections::{HashMap, HashSet};

use super::KnownCharacter;
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
/// Lower case without accents: "Alcée" and "Alcee" are one name.
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
        // name + surname" ("Small" beside "Jonathan Small") is that person
        // named a second time: once fiction has introduced someone by given
        // name and surname, the surname alone is how the narration keeps
        // referring to them. Left as its own entry it would catch every
        // mention and tag ("said Small") while the full-named character gets
        // none. A relative sharing the surname carries a title ("Mrs.
        // Bunting" beside "Bunting") and does not match, since a title is not
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
            if let [owner] = owners[..] {
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
        // alone ("Mademoiselle" for "Mademoiselle Reisz") and single words
        // of longer names ("Reisz"), so mentions in the text are found.
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
            .filter(|(w, ids)| {
                ids.len() == 1
                    && !roster.by_key.contains_key(w)
                    && (!lexicon::is_never_name(w) || lexicon::title(w).is_some())
            })
            .map(|(w, ids)| (w, ids[0]))
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

/// Whether a cast entry is known only by a description ("The Painter",
/// "The Lad"): its name opens with an article and none of its aliases adds
/// a word of its own (a proper name such as "Kemp" for "The Doctor").
/// Like a description found in the text, such an entry may be an epithet
/// for a named character ("said the painter" in Basil's exchanges), so
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

/// One written form of a candidate name.
#[derive(Debug, Default, Clone)]
struct Form {
    display: String,
    count: usize,
    tags: usize,
    /// Occurrences right after in/at/to/from...: places, not people.
    after_preposition: usize,
    /// Occurrences right after "the": places and things ("the Casino")
    /// unless a speech tag says otherwise.
    after_article: usize,
    title_gender: Option<Gender>,
    has_title: bool,
    /// The title word alone names the character ("the Professor").
    title_only: bool,
    title: Option<String>,
    core: Vec<String>,
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
    // Names seen in the same sentence are different people ("Diana and
    // Mrs. Barry"): (segment, sentence, form key) for every run.
    let mut runs_at: Vec<(usize, usize, String)> = Vec::new();
    for (seg, toks) in narration.iter().enumerate() {
        let mut sentence_of = Vec::with_capacity(toks.len());
        let mut sentence = 0;
        for t in toks.iter() {
            if t.sent_start {
                sentence += 1;
            }
            sentence_of.push(sentence);
        }
        let mut i = 0;
        while i < toks.len() {
            if !is_name_word(&toks[i]) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < toks.len() && is_name_word(&toks[j + 1]) {
                j += 1;
            }
            let mut run = &toks[i..=j];
            // "Later Mr. Luthor": a sentence-initial ordinary word is not part of the name.
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
            i = j + 1;
            if single_initial {
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
    // Surnames that are also common words ("Jonathan Small", "Mary
    // Brown"): a known given name written before the word, more than
    // once, vouches for it, so the bare "Small" is a name when it is
    // capitalised inside a sentence, however often "small" is written.
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
    let (mut accepted, rest): (Vec<Form>, Vec<Form>) = forms
        .into_values()
        .filter(|f| !f.core.is_empty() && f.core.iter().all(|w| name_like(w, f.tags)))
        // Every word of a longer name must itself recur as a name ("Misses Cuss" does not).
        .filter(|f| {
            f.core.len() == 1
                // Two names side by side ("Mrs. Allan\nAnne") happen once;
                // a full name recurs or is the subject of a tag.
                || (f.count >= 2 || f.tags > 0)
                    && f.core.iter().all(|w| {
                    cap_counts.get(w).copied().unwrap_or(0) >= 2
                        || lexicon::first_name_gender(w).is_some()
                })
        })
        .partition(|f| {
            f.tags > 0
                || !f.title_only
                    && (f.has_title
                        || f.core.len() == 1 && lexicon::first_name_gender(&f.core[0]).is_some()
                        || f.count >= 3
                            && f.after_preposition * 2 < f.count
                            && f.after_article * 2 < f.count)
        });
    // A fuller form of an accepted name is accepted too ("Lex" -> "Lex Luthor").
    let known_words: HashSet<String> = accepted
        .iter()
        .flat_map(|f| f.core.iter().cloned())
        .collect();
    accepted.extend(
        rest.into_iter()
            .filter(|f| f.core.len() > 1 && f.core.iter().any(|w| known_words.contains(w))),
    );
    // Longer forms first, so short forms can join them.
    accepted.sort_by(|a, b| {
        b.core
            .len()
            .cmp(&a.core.len())
            // Titled forms first, so "Mr. Hall" and "Mrs. Hall" both exist
            // before a bare "Hall" chooses between them.
            .then(b.has_title.cmp(&a.has_title))
            .then(b.count.cmp(&a.count))
            .then(a.display.cmp(&b.display))
    });
    let mut together: HashSet<(String, String)> = HashSet::new();
    for group in runs_at.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        for a in group {
            for b in group {
                if a.2 != b.2 {
                    together.insert((a.2.clone(), b.2.clone()));
                }
            }
        }
    }
    struct Cluster {
        forms: Vec<Form>,
        gender: Option<Gender>,
    }
    let mut clusters: Vec<Cluster> = Vec::new();
    for form in accepted {
        // "Mrs. Hamilton" is not "Miss Kitty Hamilton": a married and an
        // unmarried title name two women.
        let married =
            |t: &Option<String>| t.as_deref().map(|t| matches!(t, "mrs" | "madame" | "mme"));
        let compatible = |c: &Cluster| {
            let genders = match (c.gender, form.title_gender) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            genders
                && !c.forms.iter().any(|f| {
                    f.title_gender == Some(Gender::Female)
                        && form.title_gender == Some(Gender::Female)
                        && married(&f.title)
                            .zip(married(&form.title))
                            .is_some_and(|(a, b)| a != b)
                })
        };
        let contains = |c: &Cluster| {
            c.forms.iter().any(|f| {
                f.core.len() > form.core.len() && form.core.iter().all(|w| f.core.contains(w))
                    || f.core == form.core && f.has_title != form.has_title
            })
        };
        let weight = |c: &Cluster| c.forms.iter().map(|f| f.count + f.tags).sum::<usize>();
        let target = if form.title_only {
            // "the Professor" is the one character called Professor X.
            let same_title: Vec<usize> = clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.forms
                        .iter()
                        .any(|f| f.title == Some(form.core[0].clone()))
                })
                .map(|(i, _)| i)
                .collect();
            let mut ranked: Vec<(usize, usize)> = same_title
                .iter()
                .map(|&i| (weight(&clusters[i]), i))
                .collect();
            ranked.sort_unstable_by(|a, b| b.cmp(a));
            match ranked.as_slice() {
                [(_, only)] => Some(*only),
                // Clearly the main character with that title.
                [(w1, first), (w2, _), ..] if *w1 >= 2 * *w2 => Some(*first),
                _ => None,
            }
        } else {
            clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| contains(c) && compatible(c))
                .filter(|(_, c)| {
                    // "Mrs. Barry" is not Diana Barry when "Diana" and
                    // "Mrs. Barry" share a sentence.
                    let own = key(&form.display);
                    !form.has_title
                        || !c.forms.iter().any(|f| {
                            together.contains(&(own.clone(), key(&f.display)))
                                || f.core.len() > 1
                                    && f.core
                                        .iter()
                                        .any(|w| together.contains(&(own.clone(), w.clone())))
                        })
                })
                // A bare surname is the man's sooner than "Mrs. X"'s: women
                // are rarely called by their surname alone.
                .max_by_key(|(_, c)| {
                    let bare = !form.has_title && form.core.len() == 1;
                    (bare && c.gender == Some(Gender::Male), weight(c))
                })
                .map(|(i, _)| i)
                .or_else(|| {
                    // A familiar form of a given name ("Jim" for "James
                    // Vane", "Harry" for "Lord Henry Wotton"), when it fits
                    // exactly one character.
                    let nick = |c: &Cluster| {
                        c.forms.iter().any(|f| {
                            f.core.len() >= form.core.len()
                                && f.core.len() > 1
                                && form.core.iter().any(|w| !f.core.contains(w))
                                && form
                                    .core
                                    .iter()
                                    .all(|w| f.core.iter().any(|x| lexicon::same_given_name(x, w)))
                        })
                    };
                    let mut fits = clusters
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| nick(c) && compatible(c))
                        .map(|(i, _)| i);
                    match (fits.next(), fits.next()) {
                        (Some(i), None) => Some(i),
                        _ => None,
                    }
                })
        };
        match target {
            Some(i) => {
                let c = &mut clusters[i];
                c.gender = c.gender.or(form.title_gender);
                c.forms.push(form);
            }
            None => clusters.push(Cluster {
                gender: form.title_gender.or_else(|| {
                    (form.core.len() > 1 && !form.has_title)
                        .then(|| lexicon::first_name_gender(&form.core[0]))
                        .flatten()
                }),
                forms: vec![form],
            }),
        }
    }
    let mut roster = Roster::default();
    let mut parts: Vec<(String, usize)> = Vec::new();
    for c in clusters {
        let best = c
            .forms
            .iter()
            .max_by_key(|f| {
                // Full names by frequency; a one-word name with its title
                // ("Inspector Ratcliffe", "Mr. Astley") over the bare word.
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
        let gender = c.gender.or_else(|| {
            c.forms
                .iter()
                .flat_map(|f| f.core.first())
                .find_map(|w| lexicon::first_name_gender(w))
        });
        let forms: Vec<String> = c.forms.iter().map(|f| f.display.clone()).collect();
        let aliases = forms.iter().filter(|f| **f != name).cloned().collect();
        let id = roster.add(
            CharInfo {
                name,
                aliases,
                gender,
                is_narrator: false,
                described: false,
            },
            &forms,
        );
        for f in &c.forms {
            if f.core.len() > 1 {
                for w in [f.core.first(), f.core.last()].into_iter().flatten() {
                    // Only words that are names on their own ("Invisible
                    // Man" does not make every "man" a mention).
                    if name_like(w, 0) {
                        parts.push((w.clone(), id));
                    }
                }
            }
        }
    }
    // First names and surnames alone ("Sherlock", "Holmes") match their
    // character unless another character owns them as a full form.
    for (w, id) in parts {
        roster.add_key(&w, id);
    }
    roster
}

/// "MRS. Rachel Lynde" (a shouted or heading form) is not how the name is
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

/// Votes a gender for each character from the pronouns that follow its
/// mentions ("Alice ... she", "Holmes ... his").
pub fn vote_genders(roster: &mut Roster, narration: &[&[Tok<'_>]]) {
    let mut votes = vec![[0usize; 2]; roster.chars.len()];
    for toks in narration {
        let mut i = 0;
        while i < toks.len() {
            let Some((id, len)) = roster.match_at(toks, i) else {
                i += 1;
                continue;
            };
            i += len;
            for t in toks[i..].iter().take(10) {
                if t.is_cap() && roster.match_at(std::slice::from_ref(t), 0).is_some() {
                    break;
                }
                if t.word {
                    match lexicon::pronoun_gender(&t.lower()) {
                        Some(Gender::Female) => {
                            votes[id][0] += 1;
                            break;
                        }
                        Some(Gender::Male) => {
                            votes[id][1] += 1;
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for (c, [f, m]) in roster.chars.iter_mut().zip(votes) {
        if c.gender.is_none() && f + m >= 2 {
            if f * 3 >= (f + m) * 2 {
                c.gender = Some(Gender::Female);
            } else if m * 3 >= (f + m) * 2 {
                c.gender = Some(Gender::Male);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    #[test]
    fn keys_fold_case_periods_and_articles() {
        assert_eq!(key("Mr. Sherlock  Holmes"), "mr sherlock holmes");
        assert_eq!(key("The White Rabbit"), "white rabbit");
        assert_eq!(key("Alcée Arobin"), "alcee arobin");
        assert_eq!(key("the"), "the");
    }

    #[test]
    fn names_cluster_into_characters() {
        let text = "Then Lex Luthor came in. Lex Luthor sat. Later Mr. Luthor sat down. Lex smiled. \
                    Luthor laughed at Clark. Clark Kent frowned. Clark sighed. \
                    Miss Lane waved. Lois Lane nodded. Mrs. Luthor left the room. \
                    Then Clark Kent and Lois Lane left.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let subjects = [
            Subject::Name("Lex".to_owned()),
            Subject::Name("Clark".to_owned()),
        ];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let mut roster = discover(&narration, &refs);
        vote_genders(&mut roster, &narration);
        let lex = roster.lookup("Lex").unwrap();
        assert_eq!(roster.lookup("Mr. Luthor"), Some(lex));
        assert_eq!(roster.lookup("Lex Luthor"), Some(lex));
        assert_eq!(roster.chars[lex].name, "Lex Luthor");
        assert_eq!(roster.chars[lex].gender, Some(Gender::Male));
        let clark = roster.lookup("Clark").unwrap();
        assert_ne!(clark, lex);
        assert_eq!(roster.chars[clark].name, "Clark Kent");
        let lois = roster.lookup("Miss Lane").unwrap();
        assert_eq!(roster.chars[lois].gender, Some(Gender::Female));
        assert_ne!(roster.lookup("Mrs. Luthor"), Some(lex));
    }

    #[test]
    fn a_given_name_vouches_for_a_common_word_surname() {
        // "small" is written in lower case more often than "Small" is
        // capitalised, but "Jonathan Small" makes it a surname.
        let text = "A small boat came. Then Jonathan Small came in. The small man sat. \
                    A small dog barked. Jonathan Small laughed. Jonathan Small sat. It was a small room \
                    with a small door and a small window. Jones looked at Small. \
                    The police took Small away.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let roster = discover(&narration, &[]);
        let small = roster.lookup("Jonathan Small").unwrap();
        assert_eq!(roster.lookup("Small"), Some(small));
        let at = toks
            .iter()
            .position(|t| t.text() == "Small" && !t.sent_start)
            .unwrap();
        let looked = toks[at..].iter().position(|t| t.text() == "at").unwrap() + at;
        assert_eq!(roster.match_at(&toks, looked + 1), Some((small, 1)));
    }

    #[test]
    fn known_cast_lookups() {
        let known = [
            KnownCharacter {
                name: "Mademoiselle Reisz".to_owned(),
                aliases: vec![],
                gender: Some(Gender::Female),
            },
            KnownCharacter {
                name: "Alcee Arobin".to_owned(),
                aliases: vec!["Arobin".to_owned()],
                gender: None,
            },
        ];
        let roster = Roster::from_known(&known);
        assert_eq!(roster.lookup("Mademoiselle"), Some(0));
        assert_eq!(roster.lookup("Reisz"), Some(0));
        assert_eq!(roster.lookup("Alcée Arobin"), Some(1));
        assert_eq!(roster.lookup("Mr. Arobin"), Some(1));
        assert_eq!(roster.lookup("Victor"), None);
    }

    #[test]
    fn a_surname_entry_is_the_full_named_character() {
        let k = |name: &str, aliases: &[&str]| KnownCharacter {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender: None,
        };
        let known = [
            k("The Stranger", &["Walter Crane"]),
            k("Crane", &[]),
            k("Bunting", &[]),
            k("Mrs. Bunting", &[]),
        ];
        let roster = Roster::from_known(&known);
        // "Crane" is Walter Crane named a second time.
        assert_eq!(roster.lookup("Crane"), Some(0));
        assert_eq!(roster.lookup("Walter Crane"), Some(0));
        // A title is not a given name: Mrs. Bunting is a relative.
        assert_eq!(roster.lookup("Bunting"), Some(2));
        assert_eq!(roster.lookup("Mrs. Bunting"), Some(3));
    }

    #[test]
    fn a_cast_entry_with_a_proper_name_is_not_a_description() {
        let k = |name: &str, aliases: &[&str]| KnownCharacter {
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            gender: None,
        };
        assert!(is_description(&k("The Painter", &["Painter"])));
        assert!(is_description(&k(
            "The Cabman",
            &["The Old Cabman", "Old Cabman"]
        )));
        assert!(!is_description(&k("The Doctor", &["Kemp", "Dr. Kemp"])));
        assert!(!is_description(&k("Basil", &[])));
    }

    #[test]
    fn familiar_forms_join_the_full_name() {
        let text = "Then James Vane came in. James Vane sat. Jim laughed. Jim sat down. \
                    Lord Henry Wotton smiled. Harry Potter waved. Harry Potter sat. \
                    Later Jack went out. Jack smiled.";
        let toks = tokenize(text, 0, true);
        let narration = [&toks[..]];
        let subjects = [
            Subject::Name("James Vane".to_owned()),
            Subject::Name("Jim".to_owned()),
            Subject::Name("Harry".to_owned()),
            Subject::Name("Jack".to_owned()),
        ];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&narration, &refs);
        let james = roster.lookup("James Vane").unwrap();
        assert_eq!(roster.lookup("Jim"), Some(james));
        // A name written in full elsewhere wins over a familiar form.
        assert_eq!(roster.lookup("Harry"), roster.lookup("Harry Potter"));
        // No "John" here: "Jack" stays itself.
        assert!(roster.lookup("Jack").is_some_and(|j| j != james));
    }

    #[test]
    fn names_in_one_sentence_are_different_people() {
        let text = "Then Diana Barry came. Then Diana Barry sat. Later Diana waved to Mrs. Barry. \
                    Then Mrs. Barry left.";
        let toks = tokenize(text, 0, true);
        let subjects = [Subject::Name("Diana".to_owned())];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&[&toks[..]], &refs);
        let diana = roster.lookup("Diana").unwrap();
        assert_eq!(roster.lookup("Diana Barry"), Some(diana));
        assert_ne!(roster.lookup("Mrs. Barry"), Some(diana));
    }

    #[test]
    fn mrs_and_miss_are_different_women() {
        let text = "Then Miss Kitty Hamilton came. Then Kitty Hamilton sat. Then Miss Kitty Hamilton \
                    smiled. Then Mrs. Hamilton left.";
        let toks = tokenize(text, 0, true);
        let subjects = [Subject::Name("Kitty".to_owned())];
        let refs: Vec<&Subject> = subjects.iter().collect();
        let roster = discover(&[&toks[..]], &refs);
        let kitty = roster.lookup("Kitty").unwrap();
        assert_eq!(roster.lookup("Miss Kitty Hamilton"), Some(kitty));
        assert!(roster.lookup("Mrs. Hamilton").is_some());
        assert_ne!(roster.lookup("Mrs. Hamilton"), Some(kitty));
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
