//! Casting you can see and correct: `cast`, `voices`, `say`, the editable
//! script, the pronunciation dictionary and voices.toml errors.

use std::path::PathBuf;

use crate::Test;
use crate::shared_text;

const STORY: &str = "The Library\n\nChapter 1\n\n\"We should go,\" said Faith. She grabbed her coat.\n\n\"Not yet,\" Giles replied. He cleaned his glasses.\n\n\"Xander is late,\" said Faith.\n";

/// (speaker, voice, text) of every manifest segment.
fn segments(manifest: &serde_json::Value) -> Vec<(Option<String>, String, String)> {
    manifest["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["segments"].as_array().unwrap().clone())
        .map(|s| {
            (
                s["speaker"].as_str().map(str::to_owned),
                s["voice"].as_str().unwrap().to_owned(),
                s["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn cast_prints_who_speaks_and_with_which_voice() {
    let outcome = Test::new()
        .story(STORY)
        .voices("[characters.Giles]\naliases = [\"Rupert\"]\nvoice = \"espeak:en-gb-x-rp+m3\"\n")
        .args(&["cast", "story.txt"])
        .succeeds();
    insta::assert_snapshot!(outcome.stdout, @r"
    CHARACTER   ALIASES  GENDER  LINES  WORDS  VOICE                     FROM
    (narrator)                                 espeak:en-us              auto
    Giles       Rupert   male        1      2  espeak:en-gb-x-rp+m3      voices.toml
    Faith                female      2      6  espeak:en-gb-scotland+f1  new
    ");
}

#[test]
fn a_character_named_only_at_sentence_starts_is_cast() {
    // Kit (a name both sexes share) is never named mid-sentence; her
    // untagged lines need her among the speakers: 4 lines, Jonah's 3.
    let story = "Chapter One\n\n\
        Kit slams the locker shut. \"You told him?\"\n\n\
        \"I didn't tell him anything.\" Jonah holds up both hands. \"He guessed.\"\n\n\
        \"Nobody guesses that.\"\n\n\
        Kit stares at him. The bell rings.\n\n\
        \"It's a big deal to me,\" she says quietly.\n\n\
        \"Coming, miss,\" says Jonah.\n\n\
        Kit doesn't move. \"Can I go to the nurse?\"\n";
    let outcome = Test::new()
        .story(story)
        .args(&["cast", "story.txt"])
        .succeeds();
    insta::assert_snapshot!(outcome.stdout, @r"
    CHARACTER   ALIASES  GENDER  LINES  WORDS  VOICE             FROM
    (narrator)                                 espeak:en-us      auto
    Kit                  female      4     18  espeak:en-us+f3   auto
    Jonah                male        3      9  espeak:en-029+m1  auto
    ");
}

#[test]
fn cast_write_creates_then_adds_and_is_idempotent() {
    let first = Test::new()
        .story(STORY)
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    let created = first.read("voices.toml");
    let text = String::from_utf8(created.clone()).unwrap();
    assert!(text.contains("[characters.Faith]"), "{text}");
    assert!(text.contains("[narrator]"), "{text}");
    // The second run finds the same characters: byte-for-byte the same file.
    let again = first
        .then()
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    assert_eq!(again.read("voices.toml"), created);
    assert!(
        again.stderr.contains("no new characters"),
        "{}",
        again.stderr
    );
    // And the table now says the voices come from the file.
    assert!(again.stdout.contains("voices.toml"), "{}", again.stdout);
}

#[test]
fn cast_write_adds_a_newcomer_and_render_then_uses_it() {
    // With Giles listed, attribution only knows Giles: Faith's lines have
    // no speaker until `cast --write` adds her.
    let before = Test::new()
        .story(STORY)
        .voices("[characters.Giles]\nvoice = \"espeak:en-us+m3\"\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let speakers = |o: &crate::Outcome| -> Vec<Option<String>> {
        segments(&o.manifest("out"))
            .into_iter()
            .filter(|s| s.2.contains("We should go"))
            .map(|s| s.0)
            .collect()
    };
    assert_ne!(speakers(&before), [Some("Faith".to_owned())]);
    let written = before
        .then()
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    assert!(written.stderr.contains("added Faith"), "{}", written.stderr);
    let after = written
        .then()
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    assert_eq!(speakers(&after), [Some("Faith".to_owned())]);
}

#[test]
fn cast_write_keeps_the_users_entries_comments_and_order() {
    let mine = "# Our cast\n[narrator]\nvoice = \"espeak:en-gb-x-rp\" # calm\n\n[pool]\nfemale = [\"espeak:en-us+f2\", \"espeak:en-us+f4\"]\nmale = [\"espeak:en-us+m3\"]\n\n[characters.Giles] # the watcher\nvoice = \"espeak:en-us+m3\"\n";
    let outcome = Test::new()
        .story(STORY)
        .voices(mine)
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    let text = String::from_utf8(outcome.read("voices.toml")).unwrap();
    assert!(text.starts_with(mine), "{text}");
    let added = &text[mine.len()..];
    insta::assert_snapshot!(added, @r#"

    # Found by `castbook cast`: 2 line(s), 6 word(s).
    [characters.Faith]
    gender = "female"
    voice = "espeak:en-us+f4"
    "#);
}

#[test]
fn voices_lists_espeak_ids_with_gender() {
    let outcome = Test::new()
        .args(&["voices", "--engine", "espeak"])
        .succeeds();
    let line = outcome
        .stdout
        .lines()
        .find(|l| l.starts_with("espeak:en-us+f3 "))
        .expect("espeak:en-us+f3 listed");
    assert!(line.contains("female"), "{line}");
    assert!(
        outcome
            .stdout
            .lines()
            .any(|l| l.starts_with("espeak:en-gb-x-rp "))
    );
    assert!(outcome.stdout.lines().all(|l| l.starts_with("espeak:")));
}

#[test]
fn voices_rejects_an_unknown_engine() {
    let outcome = Test::new().args(&["voices", "--engine", "espek"]).run();
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("expected one of: espeak, piper"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn say_writes_a_preview_wav() {
    let outcome = Test::new()
        .args(&[
            "say",
            "Hello, this is a test.",
            "--voice",
            "espeak:en-us+f3",
            "-o",
            "hi.wav",
        ])
        .succeeds();
    let seconds = outcome.wav("hi.wav").seconds();
    assert!((0.8..5.0).contains(&seconds), "{seconds} s");
}

#[test]
fn say_defaults_to_output_say_wav_and_knows_named_voices() {
    let outcome = Test::new()
        .voices("[voices.deep]\nengine = \"espeak\"\nid = \"en-us+m3\"\npitch = 20\n[characters.Giles]\nvoice = \"deep\"\n")
        .args(&["say", "Good evening.", "--voice", "Giles"])
        .succeeds();
    assert!(outcome.wav("output/say.wav").seconds() > 0.3);
    assert!(
        outcome.stderr.contains("espeak:en-us+m3"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn say_with_an_unknown_voice_suggests_one() {
    let outcome = Test::new()
        .args(&["say", "Hi.", "--voice", "espeak:en-us+f9", "-o", "x.wav"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: espeak:en-us+f9 is not an installed espeak voice; did you mean en-us+f1?");
    assert!(!outcome.dir.join("x.wav").exists());
}

#[test]
fn pronunciations_change_the_audio_not_the_manifest() {
    let story = "Title\n\n\"Hi,\" said Xander.\n";
    let plain = Test::new()
        .story(story)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let respelled = Test::new()
        .story(story)
        .voices("[pronounce]\nXander = { respell = \"Alexander\", phonemes = \"b'u:\" }\n")
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    let texts = |o: &crate::Outcome| -> Vec<String> {
        segments(&o.manifest("out"))
            .into_iter()
            .map(|s| s.2)
            .collect()
    };
    assert_eq!(texts(&plain), texts(&respelled));
    assert!(texts(&plain).iter().any(|t| t.contains("Xander")));
    assert_ne!(
        plain.read("out/01-title.wav"),
        respelled.read("out/01-title.wav")
    );
    // espeak gets the phonemes: "Xander" sounds exactly like "Boo".
    let phonemes = Test::new()
        .voices("[pronounce]\nXander = { respell = \"Alexander\", phonemes = \"b'u:\" }\n")
        .args(&[
            "say",
            "Xander came.",
            "--voice",
            "espeak:en-us",
            "-o",
            "a.wav",
        ])
        .succeeds();
    let boo = Test::new()
        .args(&["say", "Boo came.", "--voice", "espeak:en-us", "-o", "a.wav"])
        .succeeds();
    assert_eq!(phonemes.read("a.wav"), boo.read("a.wav"));
}

fn text_script(story: &str) -> (Test, String) {
    let outcome = Test::new()
        .story(story)
        .args(&[
            "script",
            "story.txt",
            "--format",
            "text",
            "-o",
            "story.script",
        ])
        .succeeds();
    let script = String::from_utf8(outcome.read("story.script")).unwrap();
    (Test::new(), script)
}

#[test]
fn editing_a_speaker_in_the_script_recasts_that_line() {
    let (test, script) = text_script(STORY);
    assert!(script.starts_with("# castbook script v1\n"), "{script}");
    let first_faith = script.find("@Faith:").expect("a Faith line");
    let edited = format!(
        "{}@Giles:{}",
        &script[..first_faith],
        &script[first_faith + "@Faith:".len()..]
    );
    let outcome = test
        .file("story.script", edited)
        .args(&["render", "story.script", "-o", "out", "--quiet"])
        .succeeds();
    let segs = segments(&outcome.manifest("out"));
    let we_should_go = segs.iter().find(|s| s.2.contains("We should go")).unwrap();
    assert_eq!(we_should_go.0.as_deref(), Some("Giles"));
    let giles_voice = &segs.iter().find(|s| s.2.contains("Not yet")).unwrap().1;
    assert_eq!(&we_should_go.1, giles_voice);
    let xander_is_late = segs
        .iter()
        .find(|s| s.2.contains("Xander is late"))
        .unwrap();
    assert_eq!(xander_is_late.0.as_deref(), Some("Faith"));
}

#[test]
fn a_name_typed_into_the_script_is_auto_cast() {
    let (test, script) = text_script(STORY);
    let edited = script.replacen("@Giles:", "@Willow:", 1);
    let outcome = test
        .file("story.script", edited)
        .args(&["render", "story.script", "-o", "out", "--quiet"])
        .succeeds();
    let segs = segments(&outcome.manifest("out"));
    let willow = segs
        .iter()
        .find(|s| s.0.as_deref() == Some("Willow"))
        .expect("Willow speaks");
    let narrator = &segs.iter().find(|s| s.0.is_none()).unwrap().1;
    assert_ne!(&willow.1, narrator);
    assert!(segs.iter().all(|s| s.0.as_deref() != Some("Giles")));
}

#[test]
fn script_round_trip_keeps_the_text_and_json_agrees() {
    let (test, script) = text_script(STORY);
    let from_story = test
        .file("story.txt", STORY)
        .file("story.script", &script)
        .args(&["script", "story.txt"])
        .succeeds();
    let stdout = from_story.stdout.clone();
    let from_script = from_story
        .then()
        .args(&["script", "story.script"])
        .succeeds();
    assert_eq!(stdout, from_script.stdout);
}

#[test]
fn a_broken_script_line_names_line_and_column() {
    let outcome = Test::new()
        .file(
            "story.script",
            "# castbook script v1\n| Title\\n\\n\n@Faith \"Hi.\"\n",
        )
        .args(&["render", "story.script", "-o", "out"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: story.script:3:1: dialogue line has no `:` after the speaker; expected `@NAME: text`");
    assert!(!outcome.dir.join("out").exists());
}

#[test]
fn a_bad_escape_in_a_script_names_line_and_column() {
    let outcome = Test::new()
        .file("x.script", "# castbook script v1\n@Ann: \"C:\\docs\"\n")
        .args(&["cast", "x.script"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @r#"castbook: error: x.script:2:10: unknown escape \d; expected \n, \r, \t, \s, \\ or \u{HEX} (write a backslash as \\)"#);
}

/// `cast` with `toml` as voices.toml: the one-line error.
fn config_error(toml: &str) -> String {
    Test::new()
        .story(STORY)
        .voices(toml)
        .args(&["cast", "story.txt"])
        .fails(2)
        .stderr_redacted()
}

#[test]
fn config_unknown_key_suggests_the_near_one() {
    insta::assert_snapshot!(config_error("[narator]\nvoice = \"espeak:en-us\"\n"), @"castbook: error: voices.toml:1:2: unknown field `narator`, expected one of `narrator`, `characters`, `voices`, `pool`, `pronounce`, `piper`; did you mean `narrator`?");
    insta::assert_snapshot!(config_error("[characters.Faith]\nvoic = \"espeak:en-us+f2\"\n"), @"castbook: error: voices.toml:2:1: unknown field `voic`, expected one of `aliases`, `gender`, `voice`, `rate`, `pitch`, `volume`; did you mean `voice`?");
}

#[test]
fn config_wrong_type() {
    insta::assert_snapshot!(config_error("[characters.Faith]\nrate = \"fast\"\n"), @r#"castbook: error: voices.toml:2:8: invalid type: string "fast", expected f32"#);
    insta::assert_snapshot!(config_error("[pronounce]\nXander = 3\n"), @r#"castbook: error: voices.toml:2:10: invalid type: integer 3 for [pronounce] "Xander", expected a respelling string or a table"#);
}

#[test]
fn config_unknown_engine_suggests_the_near_one() {
    insta::assert_snapshot!(config_error("[characters.Faith]\nvoice = \"espek:en-us\"\n"), @r#"castbook: error: voices.toml:2:9: unknown engine "espek" in voice "espek:en-us"; expected one of: espeak, piper, kokoro; did you mean espeak?"#);
    insta::assert_snapshot!(config_error("[voices.calm]\nengine = \"festival\"\nid = \"kal\"\n[characters.Faith]\nvoice = \"calm\"\n"), @r#"castbook: error: voices.toml:2:10: unknown engine "festival"; expected one of: espeak, piper, kokoro"#);
}

#[test]
fn config_unknown_voice_id_suggests_the_near_one() {
    insta::assert_snapshot!(config_error("[characters.Faith]\nvoice = \"espeak:en-us+f9\"\n"), @"castbook: error: voices.toml:2:9: espeak:en-us+f9 is not an installed espeak voice; did you mean en-us+f1?");
    insta::assert_snapshot!(config_error("[pool]\nfemale = [\"espeak:en-us+f2\", \"espeak:en-uss+f3\"]\n"), @"castbook: error: voices.toml:2:30: espeak:en-uss+f3 is not an installed espeak voice; did you mean en-us+f3?");
}

#[test]
fn config_alias_on_two_characters() {
    insta::assert_snapshot!(config_error("[characters.Faith]\naliases = [\"Slayer\"]\n\n[characters.Buffy]\naliases = [\"Summers\", \"slayer\"]\n"), @r#"castbook: error: voices.toml:2:12: the alias "Slayer" belongs to both "Buffy" and "Faith"; expected each alias on one character"#);
}

#[test]
fn config_prosody_out_of_range() {
    insta::assert_snapshot!(config_error("[characters.Faith]\nrate = 9.5\n"), @"castbook: error: voices.toml:2:8: rate = 9.5 is out of range; expected 0.25 to 4");
    insta::assert_snapshot!(config_error("[voices.x]\nengine = \"espeak\"\nid = \"en-us\"\nvolume = -1\n"), @"castbook: error: voices.toml:4:10: volume = -1 is out of range; expected 0 to 4");
}

#[test]
fn second_chances_casts_and_round_trips_through_a_script() {
    let path = shared_text();
    let story = std::fs::read_to_string(path).unwrap();
    let cast = Test::new()
        .story(&story)
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    assert!(cast.stdout.lines().count() > 3, "{}", cast.stdout);
    let written = cast.read("voices.toml");
    let again = cast
        .then()
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    assert_eq!(again.read("voices.toml"), written);
    let script = again
        .then()
        .args(&[
            "script",
            "story.txt",
            "--format",
            "text",
            "-o",
            "story.script",
        ])
        .succeeds();
    let text = String::from_utf8(script.read("story.script")).unwrap();
    assert!(text.contains("\n@Faith: "), "{text}");
    let from_story = script.then().args(&["script", "story.txt"]).succeeds();
    let expected = from_story.stdout.clone();
    let from_script = from_story
        .then()
        .args(&["script", "story.script"])
        .succeeds();
    assert_eq!(from_script.stdout, expected);
}

#[test]
fn the_sample_cast_file_survives_cast_write_and_a_script_fixes_a_speaker() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cast_file = std::fs::read(root.join("voices.toml")).unwrap();
    let outcome = Test::new()
        .file("story.txt", crate::sample_story())
        .file("voices.toml", &cast_file)
        .args(&["cast", "story.txt", "--write"])
        .succeeds();
    assert_eq!(outcome.read("voices.toml"), cast_file);
    assert!(
        outcome
            .stdout
            .lines()
            .any(|l| l.starts_with("Tobias Holt ") && l.ends_with("espeak:en-us+m3    voices.toml")),
        "{}",
        outcome.stdout
    );
    let scripted = outcome
        .then()
        .args(&[
            "script",
            "story.txt",
            "--format",
            "text",
            "-o",
            "story.script",
        ])
        .succeeds();
    let script = String::from_utf8(scripted.read("story.script")).unwrap();
    // Whoever the attribution picked, Tobias says this line in the story.
    let line = script
        .lines()
        .find(|l| l.contains("\"Then we'll burn the chairs,\""))
        .expect("the line is in the script")
        .to_owned();
    let (_, text) = line.split_once(": ").unwrap();
    let fixed = script.replace(&line, &format!("@Tobias Holt: {text}"));
    let rendered = scripted
        .then()
        .file("story.script", fixed)
        .args(&["render", "story.script", "-o", "out", "--quiet"])
        .succeeds();
    let segs = segments(&rendered.manifest("out"));
    assert_eq!(
        rendered.manifest("out")["chapters"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let chairs = segs
        .iter()
        .find(|s| s.2.contains("burn the chairs"))
        .unwrap();
    assert_eq!(chairs.0.as_deref(), Some("Tobias Holt"));
    assert_eq!(chairs.1, "espeak:en-us+m3");
}

#[test]
fn a_script_without_its_header_is_refused() {
    let outcome = Test::new()
        .file("story.script", "@Faith: \"Hi.\"\n")
        .args(&["render", "story.script", "-o", "out"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: story.script:1:1: a .script file must start with `# castbook script v1`; expected a script written by `castbook script --format text`");
}

#[test]
fn a_script_is_known_by_its_header_whatever_its_name() {
    let outcome = Test::new()
        .file(
            "edited.txt",
            "# castbook script v1\n| Title\\n\\n\n@Zed: \"Hello there.\"\n",
        )
        .args(&["cast", "edited.txt"])
        .succeeds();
    assert!(outcome.stdout.contains("\nZed "), "{}", outcome.stdout);
}

#[test]
fn say_needs_words() {
    let outcome = Test::new()
        .args(&["say", " ... ", "--voice", "espeak:en-us"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @r#"castbook: error: nothing to say in " ... "; expected some words"#);
    assert!(!outcome.dir.join("output").exists());
}

#[test]
fn say_suggests_a_character_for_a_misspelt_name() {
    let outcome = Test::new()
        .voices("[characters.Giles]\nvoice = \"espeak:en-us+m3\"\n")
        .args(&["say", "Hello.", "--voice", "Gils"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @r#"castbook: error: voice "Gils" is neither ENGINE:ID nor a voice or character in voices.toml; did you mean "Giles"?"#);
}

#[test]
fn say_without_a_cast_file_needs_engine_and_id() {
    let outcome = Test::new()
        .args(&["say", "Hello.", "--voice", "Giles"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voice \"Giles\" is not ENGINE:ID; expected e.g. espeak:en-us (see `castbook voices`), or a name from the voices.toml given with -c");
}
