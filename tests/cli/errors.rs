//! Bad input: one clear line, the right exit code, no panic, no output files.

use crate::Test;

#[test]
fn missing_story() {
    let outcome = Test::new().args(&["script", "nope.txt"]).fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: nope.txt: cannot read story: No such file or directory (os error 2)");
}

#[test]
fn directory_story() {
    let outcome = Test::new()
        .file("dir/x.txt", "x")
        .args(&["script", "dir"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: dir: is a directory; expected a story text file");
}

#[test]
fn empty_story() {
    let outcome = Test::new()
        .story("\n\n  \n")
        .args(&["render", "story.txt", "-o", "out"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: story.txt: the story is empty; expected text");
    assert!(!outcome.dir.join("out").exists());
}

#[test]
fn binary_story() {
    let outcome = Test::new()
        .file("story.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
        .args(&["script", "story.png"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: story.png: looks like a binary file (byte 8 is 0x00); expected a text story");
}

#[test]
fn malformed_voices_file_names_line_and_column() {
    let outcome = Test::new()
        .story("Title\n\n\"Hi,\" said Ann.\n")
        .voices("[narrator]\nvoice = \"espeak:en-us\"\n\n[characters.Ann]\nvoic = \"espeak:en-us+f2\"\n")
        .args(&["render", "story.txt", "-o", "out"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voices.toml:5:1: unknown field `voic`, expected one of `aliases`, `gender`, `voice`, `rate`, `pitch`, `volume`; did you mean `voice`?");
    assert!(!outcome.dir.join("out").exists());
}

#[test]
fn unknown_voice_is_named_with_a_hint() {
    let outcome = Test::new()
        .story("Title\n\n\"Hi,\" said Ann.\n")
        .voices("[characters.Ann]\nvoice = \"espeak:en-us+f9\"\n")
        .args(&["render", "story.txt", "-o", "out"])
        .fails(2);
    insta::assert_snapshot!(outcome.stderr_redacted(), @"castbook: error: voices.toml:2:9: espeak:en-us+f9 is not an installed espeak voice; did you mean en-us+f1?");
    assert!(!outcome.dir.join("out").exists());
}
