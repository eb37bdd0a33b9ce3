//! The gender a description shows by its own words: "the anaemic cabman",
//! "the ambassadress", "the Frog-Footman". The person-noun list in
//! `lexicon` knows common nouns one by one; English also marks a person's
//! sex in the ending of a compound or derived noun (-man, -woman, -ess,
//! -maid), so the endings cover the many such nouns no list holds.
//!
//! Used by `gender::refine`, after attribution, for speakers no pronoun or
//! form of address gives a gender: a description is the only thing the book
//! says about many minor speakers.

use super::characters::key;
use super::lexicon;
use crate::core::Gender;

/// The gender of a description ("the grinning countryman", "a stout
/// laundress") from its head noun: the last word before any complement
/// ("the landlord of the inn"), or the last part of a hyphenated compound.
/// Nothing for a name without an article: "Hugo Freeman" is no freeman.
pub fn description_gender(description: &str) -> Option<Gender> {
    let lower = description.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    if !matches!(words.first(), Some(&("the" | "a" | "an"))) {
        return None;
    }
    let head_words = words
        .iter()
        .position(|w| matches!(*w, "of" | "with" | "in" | "without" | "at" | "from"))
        .unwrap_or(words.len());
    let head = key(&words[1..head_words].join(" "));
    let head = head.rsplit(' ').next()?;
    let part = head.rsplit('-').next().unwrap_or(head);
    lexicon::person_noun(part)
        .flatten()
        .or_else(|| noun_ending_gender(part))
}

/// The sex an English noun's ending marks: "cabman", "needlewoman",
/// "ambassadress", "milkmaid", "schoolboy".
fn noun_ending_gender(noun: &str) -> Option<Gender> {
    // Words with these endings that name no man or woman.
    const NOT_PEOPLE: &[&str] = &[
        "human", "german", "roman", "ottoman", "talisman", "shaman", "caiman", "cayman", "witness",
        "business", "address", "process", "success", "access", "excess", "abscess", "fortress",
        "mattress", "distress", "prowess", "largess", "recess", "congress", "progress", "egress",
        "duress", "cypress", "express", "impress", "caress", "compress", "harness",
    ];
    if noun.len() <= 4 || NOT_PEOPLE.contains(&noun) {
        return None;
    }
    const FEMALE: &[&str] = &["woman", "ess", "maid", "girl", "wife"];
    const MALE: &[&str] = &["man", "boy", "master"];
    if noun.ends_with("ness") {
        None
    } else {
        ending_gender(noun, FEMALE, MALE)
    }
}

/// The gender a word's ending gives, the feminine endings tried first
/// ("needlewoman" also ends in "man").
pub fn ending_gender(word: &str, female: &[&str], male: &[&str]) -> Option<Gender> {
    if female.iter().any(|e| word.ends_with(e)) {
        Some(Gender::Female)
    } else if male.iter().any(|e| word.ends_with(e)) {
        Some(Gender::Male)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_mark_a_described_speakers_sex() {
        let g = description_gender;
        assert_eq!(g("the anaemic cabman"), Some(Gender::Male));
        assert_eq!(g("a grinning countryman"), Some(Gender::Male));
        assert_eq!(g("The Frog-Footman"), Some(Gender::Male));
        assert_eq!(g("the ambassadress"), Some(Gender::Female));
        assert_eq!(g("the stout needlewoman"), Some(Gender::Female));
        assert_eq!(g("the landlord of the Lamb"), Some(Gender::Male));
        assert_eq!(g("the old laundress"), Some(Gender::Female));
    }

    #[test]
    fn other_words_and_names_show_no_sex() {
        let g = description_gender;
        assert_eq!(g("the witness"), None);
        assert_eq!(g("the keeper"), None);
        assert_eq!(g("the human"), None);
        assert_eq!(g("a voice of great kindness"), None);
        assert_eq!(g("Hugo Freeman"), None);
        assert_eq!(g("the man of business"), Some(Gender::Male));
    }
}
