//! Unit tests of `gender.rs`.

use std::path::Path;

use super::*;
use crate::ingest::book_from_text;
use crate::segment::segment_book;

/// Attributes `text` end to end and returns each character's gender.
fn genders(text: &str) -> HashMap<String, Option<Gender>> {
    let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
    let segments = segment_book(&book);
    super::super::attribute(&book, segments, &[])
        .characters
        .into_iter()
        .map(|c| (c.name, c.gender))
        .collect()
}

#[test]
fn a_described_speaker_takes_the_gender_of_its_tags() {
    let text = "Title\n\nThe keeper came out of the lodge. He looked cross.\n\n\
                \"Who goes there?\" asked the keeper.\n\n\"Nobody,\" said Hugo Hale.\n\n\
                \"Then go away,\" he said.\n";
    let g = genders(text);
    assert_eq!(g.get("the keeper"), Some(&Some(Gender::Male)), "{g:?}");
}

#[test]
fn a_first_person_narrator_is_who_the_others_call_out() {
    let mut text = String::from("Title\n\nI went to the casino with the General.\n\n");
    for _ in 0..4 {
        text.push_str(
            "\"Come here, Pavel Dmitrievitch!\" said the General.\n\n\
             \"I will not,\" I said.\n\n",
        );
    }
    let g = genders(&text);
    let narrator = g
        .iter()
        .find(|(n, _)| n.contains("Narrator") || n.contains("Pavel"));
    assert_eq!(narrator.map(|(_, g)| *g), Some(Some(Gender::Male)), "{g:?}");
}

#[test]
fn names_show_gender_by_title_first_name_or_patronymic() {
    assert_eq!(name_gender("Mrs. Hale"), Some(Gender::Female));
    assert_eq!(name_gender("Hugo Hale"), Some(Gender::Male));
    assert_eq!(name_gender("Pavel Dmitrievitch"), Some(Gender::Male));
    assert_eq!(name_gender("Anna Petrovna"), Some(Gender::Female));
    assert_eq!(name_gender("Narrator"), None);
    assert_eq!(name_gender("Dr. Hale"), None);
}

#[test]
fn forms_of_address_need_punctuation_around_them() {
    let at = |text: &str, i: usize| {
        let toks = tokens::tokenize(text, 0, true);
        let words: Vec<String> = toks.iter().map(Tok::lower).collect();
        address_at(&toks, &words, i)
    };
    assert_eq!(at("Yes, sir.", 2), Some(Address::Phrase(Gender::Male)));
    assert_eq!(
        at("Young lady, sit down", 0),
        Some(Address::Phrase(Gender::Female))
    );
    assert_eq!(at("We shall not miss them", 3), None);
    assert_eq!(
        at("Hello, Mrs. Hale!", 2),
        Some(Address::Name("Mrs. Hale".to_owned()))
    );
    assert_eq!(at("Well, come in", 0), None);
}

#[test]
fn titles_settle_it() {
    let e = Evidence {
        title: Some(Gender::Female),
        pronouns: [0, 9],
        ..Evidence::default()
    };
    assert_eq!(decide(&e), Some(Gender::Female));
}

#[test]
fn a_first_name_yields_only_to_many_pronouns() {
    let jean = |pronouns| Evidence {
        first_name: Some(Gender::Female),
        pronouns,
        ..Evidence::default()
    };
    assert_eq!(decide(&jean([0, 3])), Some(Gender::Female));
    assert_eq!(decide(&jean([1, 6])), Some(Gender::Male));
    assert_eq!(decide(&jean([0, 6])), Some(Gender::Male));
}

#[test]
fn before_attribution_pronouns_must_be_decisive() {
    let votes = |pronouns| Evidence {
        pronouns,
        ..Evidence::default()
    };
    assert_eq!(confident(&votes([0, 1])), None);
    assert_eq!(confident(&votes([0, 3])), Some(Gender::Male));
    assert_eq!(confident(&votes([8, 2])), Some(Gender::Female));
    assert_eq!(confident(&votes([3, 3])), None);
}

#[test]
fn pronouns_alone_need_a_clear_majority() {
    let votes = |pronouns, speech_tags| Evidence {
        pronouns,
        speech_tags,
        ..Evidence::default()
    };
    assert_eq!(decide(&votes([0, 1], [0, 0])), Some(Gender::Male));
    assert_eq!(decide(&votes([2, 2], [0, 0])), None);
    assert_eq!(decide(&votes([2, 1], [0, 0])), None);
    // A speech tag counts double.
    assert_eq!(decide(&votes([2, 1], [0, 2])), Some(Gender::Male));
    assert_eq!(decide(&Evidence::default()), None);
}

#[test]
fn pronouns_refer_back_within_the_sentence_or_from_the_subject() {
    let votes = |text: &str| {
        let toks = tokens::tokenize(text, 0, true);
        let sentence_of = sentences(&toks);
        // The name is the first token.
        pronoun_after(&toks, &sentence_of, 1, true, |t| t.text() != "I")
    };
    assert_eq!(votes("Hugo said that he would go."), Some(Gender::Male));
    assert_eq!(votes("Hugo sat down. She was late."), Some(Gender::Female));
    // Another name comes first: the pronoun may be theirs.
    assert_eq!(votes("Hugo looked at Ruth, and she smiled."), None);
    // Object pronouns say nothing of the subject.
    assert_eq!(votes("Hugo looked at her."), None);
}

#[test]
fn a_possessive_after_the_subject_gives_a_description_its_gender() {
    let text = "Title\n\nThe gryphon slowly opened his eyes and yawned.\n\n\
                \"Come on!\" said the gryphon.\n\n\"Where to?\" asked Alice.\n";
    let g = genders(text);
    assert_eq!(g.get("the gryphon"), Some(&Some(Gender::Male)), "{g:?}");
}

#[test]
fn an_object_her_is_not_a_possessive() {
    let toks = tokens::tokenize("The gryphon looked at her and sighed.", 0, true);
    let sentence_of = sentences(&toks);
    let after = |k: usize| possessive_after(&toks, &sentence_of, k, true, |_| false);
    // After "The gryphon": "her" is followed by "and", an object.
    let k = toks.iter().position(|t| t.text() == "gryphon").unwrap() + 1;
    assert_eq!(after(k), None);
    let toks = tokens::tokenize("The gryphon shook her head.", 0, true);
    let sentence_of = sentences(&toks);
    let k = toks.iter().position(|t| t.text() == "gryphon").unwrap() + 1;
    assert_eq!(
        possessive_after(&toks, &sentence_of, k, true, |_| false),
        Some(Gender::Female)
    );
    assert_eq!(
        possessive_after(&toks, &sentence_of, k, false, |_| false),
        None,
        "only after the sentence's subject"
    );
}

#[test]
fn a_speaker_the_others_call_sir_is_a_man() {
    let mut text = String::from("Title\n\nThere was a knock at the door.\n\n");
    for _ in 0..2 {
        text.push_str(
            "\"Let me in,\" said the voice.\n\n\
             \"Who are you, sir?\" said Mary Hale.\n\n",
        );
    }
    let g = genders(&text);
    assert_eq!(g.get("the voice"), Some(&Some(Gender::Male)), "{g:?}");
}

#[test]
fn weak_evidence_that_leaves_a_tie_is_left_out() {
    let e = Evidence {
        pronouns: [0, 1],
        ..Evidence::default()
    };
    // A possessive "her" would make it a tie: the pronoun alone decides.
    assert_eq!(decide_weak(&e, [1, 0]), Some(Gender::Male));
    assert_eq!(
        decide_weak(&Evidence::default(), [0, 2]),
        Some(Gender::Male)
    );
    let addressed = Evidence {
        pronouns: [0, 1],
        addressed: [1, 0],
        ..Evidence::default()
    };
    assert_eq!(decide_weak(&addressed, [0, 0]), Some(Gender::Male));
    assert_eq!(decide_weak(&Evidence::default(), [0, 0]), None);
}

#[test]
fn a_name_with_an_abbreviated_title_is_found_in_the_narration() {
    // "Dr." is one token; the name's key words drop its period.
    let text = "Title\n\nDr. Quill came into the room.\n\n\
                \"Good evening,\" said Dr. Quill.\n\n\"Good evening,\" said Mary Hale.\n\n\
                \"I must go,\" said Dr. Quill. Then Dr. Quill bowed himself out.\n";
    let g = genders(text);
    assert_eq!(g.get("Dr. Quill"), Some(&Some(Gender::Male)), "{g:?}");
}

#[test]
fn capitalised_words_right_before_a_name_are_part_of_it() {
    let opens = |text: &str, name: &str| {
        let toks = tokens::tokenize(text, 0, true);
        let sentence_of = sentences(&toks);
        let k = toks.iter().position(|t| t.text() == name).unwrap();
        opens_sentence(&toks, &sentence_of, k)
    };
    assert!(opens("The March Hare took the watch.", "Hare"));
    assert!(opens("Then the keeper sighed.", "keeper"));
    assert!(!opens("Hugo and the keeper sighed.", "keeper"));
}

#[test]
fn a_described_speakers_noun_ending_gives_its_gender() {
    let text = "Title\n\nA cab stopped at the gate.\n\n\
                \"Where to?\" asked the anaemic cabman.\n\n\"Home,\" said Mary Hale.\n\n\
                \"Right you are,\" said the anaemic cabman.\n";
    let g = genders(text);
    assert_eq!(
        g.get("the anaemic cabman"),
        Some(&Some(Gender::Male)),
        "{g:?}"
    );
}
