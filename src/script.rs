//! Script: the tagged story as JSON lines, one per segment.
//!
//! Offsets are Unicode code points into the decoded text (what Python's
//! `str` indexes), because that is what the evaluation kit and most
//! editors count; segments store bytes, so they are converted here once.

use std::io::{self, Write};

use serde::Serialize;

use crate::attribute::Attributed;
use crate::ingest::Book;
use crate::segment::SegmentKind;

#[derive(Debug, Serialize)]
struct Line<'a> {
    start: usize,
    end: usize,
    kind: &'static str,
    speaker: Option<&'a str>,
    text: &'a str,
}

/// Writes one JSON object per segment to `out`.
pub fn write_jsonl(book: &Book, attributed: &Attributed, out: &mut impl Write) -> io::Result<()> {
    let mut chars_before = 0;
    let mut byte_cursor = 0;
    for segment in &attributed.segments {
        chars_before += book.text[byte_cursor..segment.range.start].chars().count();
        let text = segment.text(&book.text);
        let length = text.chars().count();
        let line = Line {
            start: chars_before,
            end: chars_before + length,
            kind: match segment.kind {
                SegmentKind::Dialogue => "dialogue",
                SegmentKind::Narration | SegmentKind::Heading => "narration",
            },
            speaker: segment.speaker.as_deref(),
            text,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        chars_before += length;
        byte_cursor = segment.range.end;
    }
    Ok(())
}
