//! `castbook script`: JSON lines with code-point offsets.

use crate::Test;

#[test]
fn offsets_are_code_points_and_tile_the_text() {
    let story = "Café Night\n\n“Où est-il?” asked Marie. She frowned.\n\n\"Here,\" said Paul.\n";
    let outcome = Test::new()
        .story(story)
        .args(&["script", "story.txt"])
        .succeeds();
    let chars: Vec<char> = story.chars().collect();
    let mut expected_start = 0;
    let mut speakers = Vec::new();
    for line in outcome.stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let start = value["start"].as_u64().unwrap() as usize;
        let end = value["end"].as_u64().unwrap() as usize;
        assert_eq!(start, expected_start);
        let text: String = chars[start..end].iter().collect();
        assert_eq!(value["text"].as_str().unwrap(), text);
        if value["kind"] == "dialogue" {
            speakers.push(value["speaker"].as_str().map(str::to_owned));
        }
        expected_start = end;
    }
    assert_eq!(expected_start, chars.len());
    assert_eq!(
        speakers,
        [Some("Marie".to_owned()), Some("Paul".to_owned())]
    );
}
