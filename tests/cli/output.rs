//! Command output when its reader has gone (`castbook cast STORY | head -1`
//! once head has its line): a quiet success, as in ripgrep, never a panic
//! or an error message.

use crate::Test;

const STORY: &str = "Title\n\n\"Hi,\" said Ann.\n\n\"Hello,\" said Bob.\n";

#[test]
fn cast_with_no_reader_exits_quietly() {
    Test::new()
        .story(STORY)
        .args(&["cast", "story.txt"])
        .stdout_closed()
        .stderr("")
        .succeeds();
}

#[test]
fn script_with_no_reader_exits_quietly() {
    for format in ["jsonl", "text"] {
        Test::new()
            .story(STORY)
            .args(&["script", "story.txt", "--format", format])
            .stdout_closed()
            .stderr("")
            .succeeds();
    }
}

#[test]
fn voices_with_no_reader_exits_quietly() {
    Test::new()
        .args(&["voices", "--engine", "espeak"])
        .stdout_closed()
        .stderr("")
        .succeeds();
}

#[test]
fn cache_stats_with_no_reader_exits_quietly() {
    let rendered = Test::new()
        .story(STORY)
        .args(&["render", "story.txt", "-o", "out", "--quiet"])
        .succeeds();
    rendered
        .then()
        .args(&["cache", "stats", "-o", "out"])
        .stdout_closed()
        .stderr("")
        .succeeds();
}

#[test]
fn a_closed_reader_is_no_excuse_for_other_errors() {
    // The broken pipe is not what went wrong here: the story is missing.
    let outcome = Test::new()
        .args(&["script", "nope.txt"])
        .stdout_closed()
        .fails(2);
    assert!(outcome.stderr.contains("nope.txt"), "{}", outcome.stderr);
}
