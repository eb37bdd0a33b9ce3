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
use super::lexicon;
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
    pub(super) by_key: HashMap<String, usize>,
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

    /// Given names of the user's cast that are also common words ("May
    /// Sutton", "Will Baxter"): the parts of names added by `from_known`
    /// leave them out, since "may" and "will" are words. They are added
    /// when the text writes the word capitalised inside sentences more
    /// often than in lower case (then it is mostly the name), one
    /// character has it as the first word of a longer name, and the
    /// first-name list gives it the entry's gender.
    pub fn add_given_names_used_as_names(
        &mut self,
        known: &[KnownCharacter],
        narration: &[&[Tok<'_>]],
    ) {
        let mut owners: HashMap<String, Vec<usize>> = HashMap::new();
        for (id, k) in known.iter().enumerate() {
            for form in std::iter::once(&k.name).chain(&k.aliases) {
                let words: Vec<String> = key(form).split(' ').map(str::to_owned).collect();
                let first = &words[0];
                let fits = words.len() >= 2
                    && lexicon::title(first).is_none()
                    && lexicon::is_never_name(first)
                    && !self.by_key.contains_key(first)
                    && k.gender
                        .is_some_and(|g| lexicon::first_name_gender(first) == Some(g));
                if fits {
                    let list = owners.entry(first.clone()).or_default();
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
            }
        }
        owners.retain(|_, ids| ids.len() == 1);
        if owners.is_empty() {
            return;
        }
        // Per word: (capitalised inside a sentence, lower case).
        let mut uses: HashMap<String, (usize, usize)> = HashMap::new();
        for t in narration.iter().flat_map(|t| t.iter()).filter(|t| t.word) {
            let lower = t.lower();
            if !owners.contains_key(&lower) {
                continue;
            }
            let u = uses.entry(lower).or_default();
            if !t.is_cap() {
                u.1 += 1;
            } else if !t.sent_start {
                u.0 += 1;
            }
        }
        let mut added: Vec<(String, usize)> = owners
            .into_iter()
            .filter(|(w, _)| uses.get(w).is_some_and(|&(cap, low)| cap >= 3 && cap > low))
            .map(|(w, ids)| (w, ids[0]))
            .collect();
        added.sort();
        for (w, id) in added {
            self.add_key(&w, id);
        }
    }

    pub(super) fn add_key(&mut self, form: &str, id: usize) {
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

    /// The cast entry a description in a tag names ("said the old
    /// gentleman"), in the user's cast: a name form written out in full,
    /// else the one entry (of a gender that fits) with a form whose head
    /// noun is the description's and whose other words the description
    /// all has ("the doctor" is "The Doctor"; "the young woman" is not
    /// "The Old Woman", and "the old lady" is not "The Old Pauper" just
    /// because both are old). [`Roster::lookup`] also tries a name's
    /// first word, right for "Mr. Hale" but not for an adjective.
    pub fn lookup_description(&self, description: &str, gender: Option<Gender>) -> Option<usize> {
        let k = key(description);
        if let Some(&id) = self
            .by_key
            .get(&k)
            .or_else(|| self.by_key.get(&format!("the {k}")))
        {
            return Some(id);
        }
        let words: Vec<&str> = k.split(' ').collect();
        let head = *words.last()?;
        let mut found = None;
        for (id, c) in self.chars.iter().enumerate() {
            if gender.is_some_and(|g| c.gender.is_some_and(|cg| cg != g)) {
                continue;
            }
            let fits = std::iter::once(&c.name).chain(&c.aliases).any(|form| {
                let fk = key(form);
                let fw: Vec<&str> = fk.split(' ').collect();
                fw.last() == Some(&head)
                    && fw[..fw.len() - 1]
                        .iter()
                        .all(|w| lexicon::title(w).is_some() || words.contains(w))
            });
            if fits {
                if found.is_some_and(|f| f != id) {
                    return None;
                }
                found = Some(id);
            }
        }
        found
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

    /// A described entry of the user's cast written out in lower case in
    /// the narration, one of its own forms in full ("a stoutish, red-faced
    /// woman came running out" for "A Stoutish, Red-Faced Woman"; "The
    /// detective examined the room" for "The Detective").
    pub fn match_description_at(&self, toks: &[Tok<'_>], i: usize) -> Option<(usize, usize)> {
        if !self.closed || !matches!(fold(toks[i].text()).as_str(), "the" | "a" | "an") {
            return None;
        }
        let mut best = None;
        let mut k = String::new();
        let mut words = 0;
        for (n, t) in toks
            .iter()
            .enumerate()
            .skip(i + 1)
            .take(2 * self.max_tokens)
        {
            if !t.word {
                if matches!(t.text(), "," | "-") {
                    continue;
                }
                break;
            }
            if !k.is_empty() {
                k.push(' ');
            }
            k.push_str(&fold(t.text()));
            words += 1;
            if let Some(&id) = self.by_key.get(&k) {
                let c = &self.chars[id];
                let own_form = std::iter::once(&c.name)
                    .chain(&c.aliases)
                    .any(|f| key(f) == k);
                let shared_title = words == 1 && !self.title_holders(&k).is_empty();
                if c.described && own_form && !shared_title {
                    best = Some((id, n + 1 - i));
                }
            }
            if words >= self.max_tokens {
                break;
            }
        }
        best
    }

    /// The entries with `title` opening a longer name ("Doctor Hale").
    pub fn title_holders(&self, title: &str) -> Vec<usize> {
        (0..self.chars.len())
            .filter(|&id| {
                let c = &self.chars[id];
                std::iter::once(&c.name).chain(&c.aliases).any(|form| {
                    let k = key(form);
                    let mut words = k.split(' ');
                    words.next() == Some(title) && words.next().is_some()
                })
            })
            .collect()
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

pub use super::discover::{discover, vote_genders};

#[cfg(test)]
#[path = "characters_tests.rs"]
mod tests;
