//! Unit tests of `characters.rs`.

use super::super::known;
use super::super::tags::Subject;
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
    let k = |name: &str, aliases: &[&str]| known(name, aliases, None);
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
    let k = known;
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
    let k = |name: &str, aliases: &[&str]| known(name, aliases, None);
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
fn a_first_name_only_opening_sentences_is_a_character() {
    // Never named mid-sentence: her untagged lines still need her.
    let text = "Harriet pushed the door open. Tom looked up. \
                Harriet laughed and took the parcel from him.";
    let toks = tokenize(text, 0, true);
    let roster = discover(&[&toks[..]], &[]);
    let harriet = roster.lookup("Harriet").expect("Harriet is a character");
    assert_eq!(roster.chars[harriet].gender, Some(Gender::Female));
    // Once is not enough, nor a name the text also writes as a word.
    let once = tokenize("Harriet pushed the door open. Tom looked up.", 0, true);
    assert!(discover(&[&once[..]], &[]).lookup("Harriet").is_none());
    // A name for both sexes counts too; her pronouns give her gender.
    let text = "Kit slams the locker shut. Kit stares at him, and she frowns.";
    let toks = tokenize(text, 0, true);
    assert!(discover(&[&toks[..]], &[]).lookup("Kit").is_some());
    let word = tokenize("Will you? Will came in. Will sat. I will go.", 0, true);
    assert!(discover(&[&word[..]], &[]).lookup("Will").is_none());
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

#[test]
fn a_name_a_place_noun_opens_is_a_place() {
    // Written after no preposition often enough to pass for a person, and
    // its fuller forms would follow it in ("Port Kell").
    let text = "Hugo Marsh sat outside the inn. A letter came from Port Ardley. \
                Port Ardley slept. Beyond Port Ardley the road ran. Hugo Marsh wrote \
                to Colonel Vane, Port Ardley. Then he went to Port Kell. Port Kell was dull. \
                Mount Ashby rose behind it. Mount Ashby was white. Past Mount Ashby lay Port Kell.";
    let toks = tokenize(text, 0, true);
    let subjects = [Subject::Name("Hugo Marsh".to_owned())];
    let refs: Vec<&Subject> = subjects.iter().collect();
    let roster = discover(&[&toks[..]], &refs);
    assert!(roster.lookup("Hugo Marsh").is_some());
    for place in ["Port Ardley", "Port Kell", "Mount Ashby"] {
        assert!(roster.lookup(place).is_none(), "{place}");
    }
}

#[test]
fn adjectives_of_nationality_are_not_characters() {
    // Never written in lower case, mid-sentence three times, after no
    // preposition or article: only the word list tells them from a name.
    let text = "Hugo Marsh hung big Chinese lanterns. Such damned Chinese lanterns! \
                It was like a Chinese invasion. Hugo Marsh sat on a Japanese chair, \
                a small Japanese table, some Japanese fans.";
    let toks = tokenize(text, 0, true);
    let roster = discover(&[&toks[..]], &[]);
    assert!(roster.lookup("Chinese").is_none());
    assert!(roster.lookup("Japanese").is_none());
}

#[test]
fn a_sentence_opening_run_written_whole_elsewhere_keeps_its_first_word() {
    // "new" is written in lower case, so a sentence-initial "New" would be
    // cut off as an ordinary word, leaving "Kent" to pass for a person.
    let text = "Hugo Marsh liked the new house in New Kent. New Kent was quiet. \
                He rode to New Kent. New Kent had a new mill. New Kent slept. \
                New Kent woke. The new year came to New Kent.";
    let toks = tokenize(text, 0, true);
    let roster = discover(&[&toks[..]], &[]);
    assert!(roster.lookup("Kent").is_none());
}

#[test]
fn peoples_are_not_characters() {
    let text = "Hugo Marsh met some Americans. Rich Americans and loud Americans \
                filled the hotel, and Hugo Marsh said that Americans were kind.";
    let toks = tokenize(text, 0, true);
    let roster = discover(&[&toks[..]], &[]);
    assert!(roster.lookup("Americans").is_none());
}

#[test]
fn a_given_name_that_is_a_word_joins_when_the_text_writes_it_as_a_name() {
    let known = vec![KnownCharacter {
        name: "Miss Sutton".to_owned(),
        aliases: vec!["May Sutton".to_owned()],
        gender: Some(Gender::Female),
    }];
    let with = |text: &str| {
        let toks = tokenize(text, 0, true);
        let mut roster = Roster::from_known(&known);
        roster.add_given_names_used_as_names(&known, &[&toks[..]]);
        roster.lookup("May")
    };
    assert_eq!(Roster::from_known(&known).lookup("May"), None);
    assert_eq!(
        with("Then May came in. He saw May smile. They let May go. It may rain."),
        Some(0)
    );
    // Written in lower case more often: the word, not the name.
    assert_eq!(
        with(
            "Then May came in. He saw May smile. They let May go. It may rain. \
              You may go. We may see. They may not."
        ),
        None
    );
    // The first-name list gives "May" to women only.
    let man = [KnownCharacter {
        gender: Some(Gender::Male),
        ..known[0].clone()
    }];
    let toks = tokenize(
        "Then May came in. He saw May smile. They let May go.",
        0,
        true,
    );
    let mut roster = Roster::from_known(&man);
    roster.add_given_names_used_as_names(&man, &[&toks[..]]);
    assert_eq!(roster.lookup("May"), None);
}

#[test]
fn a_description_names_a_cast_entry_only_by_its_head_noun_and_all_its_words() {
    let k = known;
    let known = [
        k("The Old Pauper", &["Old Pauper"], Some(Gender::Male)),
        k("The Old Woman", &["Old Woman"], Some(Gender::Female)),
        k("The Doctor", &["Doctor"], Some(Gender::Male)),
    ];
    let roster = Roster::from_known(&known);
    let male = Some(Gender::Male);
    let female = Some(Gender::Female);
    assert_eq!(roster.lookup_description("doctor", male), Some(2));
    assert_eq!(roster.lookup_description("old woman", female), Some(1));
    assert_eq!(roster.lookup_description("poor old woman", female), Some(1));
    // An adjective in common is not the same person ...
    assert_eq!(roster.lookup_description("old gentleman", male), None);
    assert_eq!(roster.lookup_description("old lady", female), None);
    // ... nor a head noun whose entry says more.
    assert_eq!(roster.lookup_description("young woman", female), None);
    // The plain look-up still takes the first word ("Mr. Hale"-style).
    assert_eq!(roster.lookup("old gentleman"), Some(0));
}

#[test]
fn described_cast_entries_are_found_in_lower_case_narration() {
    let k = |name: &str, aliases: &[&str]| known(name, aliases, None);
    let known = [
        k("A Stoutish, Red-Faced Woman", &[]),
        k("The Detective", &[]),
        k("The Doctor", &["Doctor"]),
        k("Mr. Hale", &["Doctor Hale"]),
    ];
    let roster = Roster::from_known(&known);
    let text = "Then a stoutish, red-faced woman came out. The detective looked \
                at the doctor and the woman.";
    let toks = tokenize(text, 0, true);
    let found: Vec<(usize, usize)> = (0..toks.len())
        .filter_map(|i| roster.match_description_at(&toks, i).map(|(id, _)| (i, id)))
        .collect();
    let at = |word: &str| toks.iter().position(|t| t.text() == word).unwrap() - 1;
    // "the doctor" stays unmatched ("Doctor Hale" holds the title too), and
    // "the woman" is not the entry's own form.
    assert_eq!(found, [(at("stoutish"), 0), (at("detective"), 1)]);
    // Not in an open cast, where descriptions are found by their tags.
    let open = Roster::default();
    assert_eq!(open.match_description_at(&toks, at("detective")), None);
}
