//! Hand-written probes of kinds of fiction outside the attribution dev
//! set (anthologies mixing dash and quote-mark dialogue, a parent never
//! named, a first-person narrator known only by what others call them):
//! who says each line, end to end.

use crate::{Outcome, Test};

/// "SPEAKER | line" for every dialogue segment of `castbook script`.
fn who_says(outcome: &Outcome) -> String {
    outcome
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|v| v["kind"] == "dialogue")
        .map(|v| {
            let speaker = v["speaker"].as_str().unwrap_or("?");
            format!("{speaker} | {}", v["text"].as_str().unwrap().trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn script_of(story: &str) -> Outcome {
    Test::new()
        .story(story)
        .args(&["script", "story.txt"])
        .succeeds()
}

/// The dash chapter is read as dialogue. Known wrong, kept visible: the
/// old man's two lines go to Tomas of the first story (the model's margin
/// for "said the old man" is thin, and the first story's man is still the
/// latest man mentioned when the second opens).
#[test]
fn an_anthology_mixing_quote_marks_and_dashes_speaks_in_both() {
    let story = "Chapter 1: The Lighthouse\n\n\
        \"You're late,\" said Maren. She held the lamp higher.\n\n\
        \"The boat was slow,\" Tomas answered.\n\n\
        \"It always is.\"\n\n\
        \"Then leave earlier.\"\n\n\
        Chapter 2: The Ferry\n\n\
        Ines waited on the pier. The ferry was late again.\n\n\
        — Is it always like this? she asked.\n\n\
        — Every winter, said the old man.\n\n\
        — Then why stay?\n\n\
        — Where else would I go?\n\n\
        Ines laughed and turned up her collar.\n\n\
        — Nowhere, I suppose.\n";
    insta::assert_snapshot!(who_says(&script_of(story)), @r#"
    Maren | "You're late,"
    Tomas | "The boat was slow,"
    Maren | "It always is."
    Tomas | "Then leave earlier."
    Ines | — Is it always like this?
    Tomas | — Every winter,
    Ines | — Then why stay?
    Tomas | — Where else would I go?
    Ines | — Nowhere, I suppose.
    "#);
}

#[test]
fn a_mother_never_named_speaks_in_her_own_voice() {
    let story = "Chapter One\n\n\
        Kit dropped her bag by the door. The kitchen smelled of onions.\n\n\
        \"Where's Dad?\" she asked.\n\n\
        \"Working late,\" said her mother. She did not look up from the pot.\n\n\
        \"Again?\"\n\n\
        \"He'll be back by nine.\" Her mother stirred the soup. \"Set the table, please.\"\n\n\
        Kit sighed and took out the plates.\n\n\
        \"Eat up,\" said her mother when they sat down.\n\n\
        \"I'm not hungry.\"\n\n\
        \"You never are.\"\n";
    insta::assert_snapshot!(who_says(&script_of(story)), @r#"
    Kit | "Where's Dad?"
    Kit's mother | "Working late,"
    Kit | "Again?"
    Kit's mother | "He'll be back by nine."
    Kit's mother | "Set the table, please."
    Kit's mother | "Eat up,"
    Kit | "I'm not hungry."
    Kit's mother | "You never are."
    "#);
    let cast = Test::new()
        .story(story)
        .args(&["cast", "story.txt"])
        .succeeds();
    insta::assert_snapshot!(cast.stdout, @r"
    CHARACTER     ALIASES  GENDER  LINES  WORDS  VOICE                     FROM
    (narrator)                                   espeak:en-us              auto
    Kit                    female      3      6  espeak:en-us+f3           auto
    Kit's mother           female      5     16  espeak:en-gb-scotland+f2  auto
    ");
}

#[test]
fn a_mother_in_dash_dialogue_is_not_her_daughter() {
    let story = "Chapter 1\n\n\
        Lena came home after dark. The hall light was off.\n\n\
        — Where have you been? said her mother from the kitchen.\n\n\
        — Out.\n\n\
        — Out where?\n\n\
        — Just out. With friends.\n\n\
        Lena hung up her coat.\n\n\
        — Your father will be back soon, said her mother. He'll want to talk to you.\n\n\
        — I know.\n";
    insta::assert_snapshot!(who_says(&script_of(story)), @r"
    Lena's mother | — Where have you been?
    Lena | — Out.
    Lena's mother | — Out where?
    Lena | — Just out. With friends.
    Lena's mother | — Your father will be back soon,
    Lena | — I know.
    ");
}

const CALLED_SAM: &str = "Chapter One\n\n\
    The kitchen clock said half past two when Nell finally came down. I had been waiting up for her since midnight.\n\n\
    \"I know what time it is, Sam,\" she told me before I could say a word.\n\n\
    \"I didn't say anything.\"\n\n\
    \"You were going to.\" She dropped her keys on the counter. \"Go to bed.\"\n\n\
    I poured her a glass of water instead. She took it without looking at me.\n\n\
    \"Where were you?\" I asked.\n\n\
    \"Out. With Dev and the others.\"\n\n\
    \"Dev drives like a maniac.\"\n\n\
    \"Dev was fine, Sam. Everyone was fine.\"\n\n\
    Nell drank the water in one go. Outside, a car door slammed and an engine started.\n\n\
    \"Mum will ask,\" I said.\n\n\
    \"Then tell her I was home by twelve. You owe me, Sam.\"\n";

/// The narrator takes the name Nell calls him. Known wrong, kept visible:
/// "Go to bed." (after "She dropped her keys", in Nell's paragraph) is
/// hers, and the last line, which calls him Sam, is Nell's.
#[test]
fn a_first_person_narrator_is_named_by_what_the_others_call_them() {
    insta::assert_snapshot!(who_says(&script_of(CALLED_SAM)), @r#"
    Nell | "I know what time it is, Sam,"
    Sam | "I didn't say anything."
    Nell | "You were going to."
    Sam | "Go to bed."
    Sam | "Where were you?"
    Nell | "Out. With Dev and the others."
    Sam | "Dev drives like a maniac."
    Nell | "Dev was fine, Sam. Everyone was fine."
    Sam | "Mum will ask,"
    Sam | "Then tell her I was home by twelve. You owe me, Sam."
    "#);
    // The user's entry for Sam is the narrator's voice. Known wrong: he
    // speaks 5 lines: "Go to bed." is Nell's (the gold is Nell 6, Sam 4).
    let cast = Test::new()
        .story(CALLED_SAM)
        .voices("[characters.Sam]\nvoice = \"espeak:en-gb-x-rp\"\n\n[characters.Nell]\ngender = \"female\"\n")
        .args(&["cast", "story.txt"])
        .succeeds();
    insta::assert_snapshot!(cast.stdout, @r"
    CHARACTER   ALIASES  GENDER  LINES  WORDS  VOICE              FROM
    (narrator)                                 espeak:en-us       auto
    Nell                 female      5     36  espeak:en-us+f2    auto
    Sam                  male        5     18  espeak:en-gb-x-rp  voices.toml
    ");
}

/// A story told inside quotes, over several paragraphs, broken by the
/// listener's questions, a paragraph of narration and a chapter break:
/// every piece is the teller's, every question the listener's. (The model
/// before the `teller` features got this one right too; it guards the
/// path end to end. Named only once, as "she said", the teller is not
/// found and her pieces go to Tom: see the attribution notes.)
#[test]
fn a_story_told_across_a_chapter_break_stays_with_its_teller() {
    let story = "Chapter One\n\n\
        The fire had burned low by the time Mara put down her cup. Tom pulled his chair closer and waited.\n\n\
        \"You want to know how I lost the ring,\" said Mara. \"Very well. It was the winter my father died, and the snow had closed the road to the village for three weeks.\"\n\n\
        \"Three weeks?\" said Tom.\n\n\
        \"Three weeks. We had flour and salt pork and not much else, and my mother would not let me out of the house after dark.\n\n\
        \"But one night I heard a knocking at the back door, very soft, as if whoever it was did not want to wake the house, and when I opened it there was an old man standing in the snow.\"\n\n\
        Tom shook his head slowly and reached past Mara for the poker. He stirred the embers until a little flame came up.\n\n\
        \"He asked me for bread, and I gave him what we had. When he was done he looked at the ring my father had given me, and he said that he had seen one like it on the hand of a woman who drowned in the mill pond.\"\n\n\
        \"The mill pond!\" cried Tom.\n\n\
        \"The mill pond. He said it as if it were nothing at all, and I stood there with the lamp shaking in my hand.\"\n\n\
        Chapter Two\n\n\
        \"I should have shut the door on him then. Instead I asked him what her name had been, and he told me, and it was my grandmother's name. I have never told anyone that part, not even my mother.\"\n\n\
        \"What happened to the ring?\" asked Tom.\n\n\
        \"In the morning it was gone from my finger, and the old man was gone from the road, and there were no footprints in the snow at all.\"\n";
    insta::assert_snapshot!(who_says(&script_of(story)), @r#"
    Mara | "You want to know how I lost the ring,"
    Mara | "Very well. It was the winter my father died, and the snow had closed the road to the village for three weeks."
    Tom | "Three weeks?"
    Mara | "Three weeks. We had flour and salt pork and not much else, and my mother would not let me out of the house after dark.
    Mara | "But one night I heard a knocking at the back door, very soft, as if whoever it was did not want to wake the house, and when I opened it there was an old man standing in the snow."
    Mara | "He asked me for bread, and I gave him what we had. When he was done he looked at the ring my father had given me, and he said that he had seen one like it on the hand of a woman who drowned in the mill pond."
    Tom | "The mill pond!"
    Mara | "The mill pond. He said it as if it were nothing at all, and I stood there with the lamp shaking in my hand."
    Mara | "I should have shut the door on him then. Instead I asked him what her name had been, and he told me, and it was my grandmother's name. I have never told anyone that part, not even my mother."
    Tom | "What happened to the ring?"
    Mara | "In the morning it was gone from my finger, and the old man was gone from the road, and there were no footprints in the snow at all."
    "#);
}
