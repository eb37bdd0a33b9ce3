//! Cluster: which of the name forms found in a book are one character.
//!
//! A listener hears one voice per character, so "Margaret", "Meg",
//! "Miss Bennet" and "Margaret Bennet" must land on one character while
//! "Mr. Bennet", "Mrs. Bennet" and "Miss Bennet" stay three people. The
//! evidence is general to how names work in fiction, never a list of
//! characters:
//!
//! - an honorific fixes a gender and, for women, a marital state: "Mr.",
//!   "Mrs." and "Miss" (and their French, German, Spanish and Italian
//!   forms) are three different people for one surname, while "Mr. X" and
//!   "Monsieur X" are one;
//! - a full name links its given name and its surname: "Oswin" and
//!   "Pryce" are Oswin Pryce;
//! - "Mrs." before a man's full name ("Mrs. Oswin Pryce") is his wife;
//! - a bare surname is the most frequent man carrying it (women are rarely
//!   called by the surname alone); a bare given name is the most frequent
//!   character with that given name, or with a formal name it is a
//!   familiar form of ("Meg" for Margaret);
//! - two forms often written in one sentence are two people ("Nora came
//!   with Mrs. Quill"), which keeps a mother apart from her daughter;
//! - gender from titles, first names and pronouns must agree.
//!
//! Forms are placed longest first: full names make the characters, then
//! titled forms and bare words join the one they fit best.

use std::collections::{HashMap, HashSet};

use super::gender;
use super::lexicon;
use crate::core::Gender;

/// One written form of a candidate name and what the text says about it.
#[derive(Debug, Default, Clone)]
pub struct Form {
    pub display: String,
    /// Mentions in the narration (sentence-initial single words excluded).
    pub count: usize,
    /// Speech tags naming it.
    pub tags: usize,
    /// Occurrences right after in/at/to/from...: places, not people.
    pub after_preposition: usize,
    /// Occurrences right after "the": places and things ("the Casino")
    /// unless a speech tag says otherwise.
    pub after_article: usize,
    pub title_gender: Option<Gender>,
    pub has_title: bool,
    /// The title word alone names the character ("the Professor").
    pub title_only: bool,
    /// The title word, lower case, without its period.
    pub title: Option<String>,
    /// The name words after the title, lower case.
    pub core: Vec<String>,
    /// Subject pronouns that refer back to its mentions: [she, he].
    pub pronouns: [usize; 2],
}

/// How many sentences two form keys share.
pub type Together = HashMap<(String, String), usize>;

/// What clustering knows of the book beyond the forms being placed.
pub struct Context<'a> {
    /// The gender of every word used as a given name.
    given_gender: &'a HashMap<String, Gender>,
    together: &'a Together,
    /// Mentions of each one-word form ("Odile"), so a character's weight
    /// counts its given name before that form has joined it.
    bare_weight: HashMap<String, usize>,
    /// Surnames written with "Miss": the family has a daughter.
    maiden_surnames: HashSet<String>,
}

impl<'a> Context<'a> {
    pub fn new(
        forms: &[Form],
        given_gender: &'a HashMap<String, Gender>,
        together: &'a Together,
    ) -> Context<'a> {
        Context {
            given_gender,
            together,
            bare_weight: forms
                .iter()
                .filter(|f| f.core.len() == 1 && !f.has_title && !f.title_only)
                .map(|f| (f.core[0].clone(), f.weight()))
                .collect(),
            maiden_surnames: forms
                .iter()
                .filter(|f| f.honorific() == Some(Honorific::Maiden))
                .filter_map(|f| f.core.last().cloned())
                .collect(),
        }
    }
}

/// The honorifics that tell people of one surname apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Honorific {
    /// Mr., Monsieur, Herr, Señor...
    Man,
    /// Mrs., Madame, Frau, Señora...
    Wife,
    /// Miss, Mademoiselle, Fräulein, Señorita...
    Maiden,
    /// Ms.: a woman, married or not.
    Woman,
}

fn honorific(title: &str) -> Option<Honorific> {
    Some(match title {
        "mr" | "mister" | "monsieur" | "m" | "herr" | "señor" | "senor" | "signor" | "signore"
        | "don" => Honorific::Man,
        "mrs" | "madame" | "mme" | "frau" | "señora" | "senora" | "signora" | "mistress"
        | "missus" | "missis" => Honorific::Wife,
        "miss" | "mademoiselle" | "mlle" | "fräulein" | "fraulein" | "señorita" | "senorita"
        | "signorina" => Honorific::Maiden,
        "ms" => Honorific::Woman,
        _ => return None,
    })
}

fn honorifics_clash(a: Honorific, b: Honorific) -> bool {
    use Honorific::*;
    !matches!(
        (a, b),
        (Man, Man)
            | (Wife, Wife)
            | (Maiden, Maiden)
            | (Woman, Wife | Maiden | Woman)
            | (Wife | Maiden, Woman)
    )
}

impl Form {
    pub fn key(&self) -> String {
        super::characters::key(&self.display)
    }

    fn honorific(&self) -> Option<Honorific> {
        self.title.as_deref().and_then(honorific)
    }

    fn weight(&self) -> usize {
        self.count + self.tags
    }

    /// Pronoun votes that clearly point one way: at least three, four in
    /// five of them the same.
    fn pronoun_gender(&self) -> Option<Gender> {
        gender::decisive(self.pronouns)
    }

    /// "Mrs. Oswin Pryce": a wife's title before a full name whose
    /// given name is a man's.
    fn is_wife_of(&self, given_gender: &HashMap<String, Gender>) -> bool {
        self.honorific() == Some(Honorific::Wife)
            && self.core.len() > 1
            && given_gender.get(&self.core[0]) == Some(&Gender::Male)
    }

    /// The gender this form alone shows: its title, else the first name of
    /// a full name, else its pronouns.
    fn gender(&self, given_gender: &HashMap<String, Gender>) -> Option<Gender> {
        if self.title_gender.is_some() {
            return self.title_gender;
        }
        let by_name = (self.core.len() > 1 || !self.has_title)
            .then(|| given_gender.get(&self.core[0]).copied())
            .flatten();
        by_name.or_else(|| self.pronoun_gender())
    }
}

/// Forms that are one character.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub forms: Vec<Form>,
    gender: Option<Gender>,
}

impl Cluster {
    fn weight(&self) -> usize {
        self.forms.iter().map(Form::weight).sum()
    }

    fn full_forms(&self) -> impl Iterator<Item = &Form> {
        self.forms.iter().filter(|f| f.core.len() > 1)
    }

    fn has_surname(&self, word: &str) -> bool {
        self.full_forms()
            .any(|f| f.core.last().is_some_and(|w| w == word))
            || self
                .forms
                .iter()
                .any(|f| f.core.len() == 1 && f.has_title && f.core[0] == word)
    }

    fn has_given_name(&self, word: &str) -> bool {
        self.full_forms().any(|f| f.core[0] == word)
    }

    /// The given names of its full names, each once.
    fn given_names(&self) -> impl Iterator<Item = &String> {
        let mut seen = HashSet::new();
        self.full_forms()
            .map(|f| &f.core[0])
            .filter(move |w| seen.insert(*w))
    }

    /// Called "Mr. X" more than by any untitled name: a man known by his
    /// surname, not by a pet name ("Dan" is his son).
    fn known_by_title(&self, ctx: &Context<'_>) -> bool {
        let weight = |titled: bool| {
            self.forms
                .iter()
                .filter(|f| f.has_title == titled && !f.title_only)
                .filter(|f| !titled || f.core.len() == 1 && f.honorific().is_some())
                .map(Form::weight)
                .sum::<usize>()
        };
        // Its given names and surnames written alone, placed or not yet.
        let mut words: Vec<&String> = self
            .full_forms()
            .flat_map(|f| [&f.core[0], &f.core[f.core.len() - 1]])
            .collect();
        words.sort();
        words.dedup();
        let alone: usize = words
            .iter()
            .filter(|w| {
                !self
                    .forms
                    .iter()
                    .any(|f| f.core.len() == 1 && !f.has_title && f.core[0] == ***w)
            })
            .map(|w| ctx.bare_weight.get(*w).copied().unwrap_or(0))
            .sum();
        weight(true) > weight(false) + alone
    }

    fn has_familiar_given_name(&self, word: &str) -> bool {
        self.full_forms()
            .any(|f| f.core[0] != word && lexicon::same_given_name(&f.core[0], word))
    }

    /// Whether `form` may be this character: genders agree, and no
    /// honorific of the cluster names a different person ("Mrs." vs "Miss").
    fn admits(&self, form: &Form, ctx: &Context<'_>) -> bool {
        if let (Some(a), Some(b)) = (self.gender, form.gender(ctx.given_gender))
            && a != b
        {
            return false;
        }
        let Some(h) = form.honorific() else {
            return true;
        };
        !self
            .forms
            .iter()
            .filter_map(Form::honorific)
            .any(|other| honorifics_clash(h, other))
    }

    /// Sentences in which `form` is written beside a name of this cluster
    /// (one of its forms, or the given name of a full form alone).
    fn sentences_with(&self, form: &Form, ctx: &Context<'_>) -> usize {
        let own = form.key();
        let mut keys: Vec<String> = self.forms.iter().map(Form::key).collect();
        keys.extend(self.full_forms().map(|f| f.core[0].clone()));
        keys.sort();
        keys.dedup();
        keys.iter()
            .map(|k| {
                ctx.together
                    .get(&(own.clone(), k.clone()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    }

    fn add(&mut self, form: Form, ctx: &Context<'_>) {
        self.gender = self.gender.or(form.gender(ctx.given_gender));
        self.forms.push(form);
    }
}

/// Two names written together often enough to be two people: in two
/// sentences or more, one in ten of the rarer one's mentions. (One shared
/// sentence is as likely a narrator varying the name.)
fn apart(shared_sentences: usize, form: &Form, cluster: &Cluster, ctx: &Context<'_>) -> bool {
    let cluster_weight = cluster.weight()
        + cluster
            .given_names()
            .filter(|w| {
                !cluster
                    .forms
                    .iter()
                    .any(|f| f.core.len() == 1 && f.core[0] == **w)
            })
            .map(|w| ctx.bare_weight.get(w).copied().unwrap_or(0))
            .sum::<usize>();
    shared_sentences >= 2 && shared_sentences * 10 >= form.weight().min(cluster_weight)
}

/// Groups accepted name forms into characters.
pub fn cluster(mut forms: Vec<Form>, ctx: &Context<'_>) -> Vec<Cluster> {
    forms.sort_by(|a, b| {
        b.core
            .len()
            .cmp(&a.core.len())
            .then(b.has_title.cmp(&a.has_title))
            .then(b.weight().cmp(&a.weight()))
            .then(a.display.cmp(&b.display))
    });
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut titled_singles = Vec::new();
    let mut bare = Vec::new();
    let mut title_only = Vec::new();
    let mut familiar = Vec::new();
    for form in forms {
        if form.title_only {
            title_only.push(form);
        } else if form.core.len() == 1 {
            if form.has_title {
                titled_singles.push(form);
            } else {
                bare.push(form);
            }
        } else {
            // A full name joins a longer or equal full name it is part of
            // ("Amos Dorset" / "Mr. Amos Dorset", "Percy
            // Alden" / "Percy Alden Fitch", "Meg Bennet" /
            // "Margaret Bennet").
            let fits = |c: &Cluster, part_of: fn(&[String], &[String]) -> bool| {
                c.admits(&form, ctx)
                    && !form.is_wife_of(ctx.given_gender)
                    && !c.forms.iter().any(|f| f.is_wife_of(ctx.given_gender))
                    && c.full_forms().any(|f| part_of(&form.core, &f.core))
            };
            if best(&clusters, |c| fits(c, is_part_of)).is_none()
                && best(&clusters, |c| fits(c, is_familiar_form_of)).is_some()
            {
                // "Dan Blenkin" beside "Daniel Blenkin": decided once
                // we know whether Daniel is a man everyone calls "Mr.".
                familiar.push(form);
                continue;
            }
            let target = best(&clusters, |c| fits(c, is_part_of));
            place(&mut clusters, target, vec![form], ctx);
        }
    }
    // "Mr. Marchand" and "Monsieur Marchand" are one form of address.
    let mut groups: Vec<Vec<Form>> = Vec::new();
    for form in titled_singles {
        let h = form.honorific();
        match groups.iter_mut().find(|g| {
            g[0].core == form.core
                && match (g[0].honorific(), h) {
                    (Some(a), Some(b)) => a == b,
                    _ => g[0].title == form.title,
                }
        }) {
            Some(g) => g.push(form),
            None => groups.push(vec![form]),
        }
    }
    for group in groups {
        let target = titled_owner(&clusters, &group, ctx);
        place(&mut clusters, target, group, ctx);
    }
    for form in familiar {
        // "Meg Bennet" is Margaret Bennet; "Dan Blenkin" is not the
        // Daniel Blenkin everyone calls "Mr. Blenkin" (his son is).
        let target = best(&clusters, |c| {
            c.admits(&form, ctx)
                && !c.known_by_title(ctx)
                && c.full_forms()
                    .any(|f| is_familiar_form_of(&form.core, &f.core))
        });
        place(&mut clusters, target, vec![form], ctx);
    }
    for form in bare {
        let target = bare_word_owner(&clusters, &form, ctx);
        place(&mut clusters, target, vec![form], ctx);
    }
    for form in title_only {
        // "the Professor" is the one character called Professor X, or
        // clearly the main one.
        let mut ranked: Vec<(usize, usize)> = clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.forms
                    .iter()
                    .any(|f| f.title.as_ref() == Some(&form.core[0]))
            })
            .map(|(i, c)| (c.weight(), i))
            .collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let target = match ranked.as_slice() {
            [(_, only)] => Some(*only),
            [(w1, first), (w2, _), ..] if *w1 >= 2 * *w2 => Some(*first),
            _ => None,
        };
        place(&mut clusters, target, vec![form], ctx);
    }
    clusters
}

/// Adds `forms` to cluster `target`, or makes them a new one.
fn place(clusters: &mut Vec<Cluster>, target: Option<usize>, forms: Vec<Form>, ctx: &Context<'_>) {
    let i = target.unwrap_or_else(|| {
        clusters.push(Cluster {
            forms: Vec::new(),
            gender: None,
        });
        clusters.len() - 1
    });
    for f in forms {
        clusters[i].add(f, ctx);
    }
}

/// The character a title and one name ("Mr. Pryce", "Mrs. Hetty") is:
/// one with that surname or given name, whose gender and honorifics fit,
/// that it is not often written beside; one already addressed the same way
/// first ("Miss Quill" is Miss Harriet Quill sooner than Nora Quill),
/// the most mentioned among several.
///
/// "Mrs. X" is a woman called "G X" only when no "Miss X" is in the book:
/// where the family has a daughter, the young woman with a given name is
/// more likely she, and "Mrs. X" her mother.
fn titled_owner(clusters: &[Cluster], group: &[Form], ctx: &Context<'_>) -> Option<usize> {
    let head = &group[0];
    let word = &head.core[0];
    let mothers_apart =
        head.honorific() == Some(Honorific::Wife) && ctx.maiden_surnames.contains(word.as_str());
    let fits = |c: &Cluster| {
        (c.has_surname(word) || c.has_given_name(word))
            && group.iter().all(|f| c.admits(f, ctx))
            && !(mothers_apart && c.forms.iter().all(|f| f.honorific().is_none()))
            && !apart(
                group.iter().map(|f| c.sentences_with(f, ctx)).sum(),
                head,
                c,
                ctx,
            )
    };
    let same_address = |c: &Cluster| {
        c.forms
            .iter()
            .any(|f| match (f.honorific(), head.honorific()) {
                (Some(a), Some(b)) => a == b,
                _ => f.title.is_some() && f.title == head.title,
            })
    };
    best(clusters, |c| fits(c) && same_address(c)).or_else(|| best(clusters, fits))
}

/// The character a lone word names: the one with it as given name (or a
/// formal name it is a familiar form of), else the man with it as surname,
/// else anyone carrying it; the most mentioned one among several, and never
/// one it is often written beside.
pub fn bare_word_owner(clusters: &[Cluster], form: &Form, ctx: &Context<'_>) -> Option<usize> {
    let word = &form.core[0];
    let fits =
        |c: &Cluster| c.admits(form, ctx) && !apart(c.sentences_with(form, ctx), form, c, ctx);
    best(clusters, |c| fits(c) && c.has_given_name(word))
        .or_else(|| {
            best(clusters, |c| {
                fits(c) && c.has_surname(word) && c.gender == Some(Gender::Male)
            })
        })
        .or_else(|| best(clusters, |c| fits(c) && c.has_surname(word)))
        .or_else(|| {
            // A familiar form ("Sam" for Samuel Morton), when it fits one
            // character only, and not a man everyone calls "Mr. X".
            let mut owners = clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    fits(c) && c.has_familiar_given_name(word) && !c.known_by_title(ctx)
                })
                .map(|(i, _)| i);
            match (owners.next(), owners.next()) {
                (Some(i), None) => Some(i),
                _ => None,
            }
        })
}

/// The most mentioned cluster that passes `fits`.
fn best(clusters: &[Cluster], fits: impl Fn(&Cluster) -> bool) -> Option<usize> {
    clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| fits(c))
        .max_by_key(|(i, c)| (c.weight(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// The same name with a familiar given name: "Meg Bennet" for
/// "Margaret Bennet".
fn is_familiar_form_of(part: &[String], whole: &[String]) -> bool {
    part.len() == whole.len()
        && part[0] != whole[0]
        && lexicon::same_given_name(&part[0], &whole[0])
        && part[1..] == whole[1..]
}

/// Whether the name words `part` are `whole`'s, in order, sharing its
/// surname or given name.
fn is_part_of(part: &[String], whole: &[String]) -> bool {
    if part.len() > whole.len() {
        return false;
    }
    if part.len() == whole.len() {
        return part == whole;
    }
    let mut rest = whole.iter();
    let in_order = part.iter().all(|w| rest.any(|x| x == w));
    in_order && (part.last() == whole.last() || part[0] == whole[0])
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
