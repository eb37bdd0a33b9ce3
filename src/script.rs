//! Script: the tagged story, as JSON lines (one per segment, for tools) or
//! as an editable text script that `render` reads back.
//!
//! The text script is designed for a person with any editor: one segment
//! per line, a marker in front saying what it is (and for dialogue, who
//! speaks), and the segment's exact text escaped so that it fits on one line
//! and survives editors that trim trailing spaces. Joining the unescaped
//! lines gives back the story text character for character, so the script
//! can stand in for the story. JSON offsets are Unicode code points into the decoded text (what Python's
//! `str` indexes), because that is what the evaluation kit and most
//! editors count; segments store bytes, so they are converted here once.

use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attribute::{Attributed, Character, KnownCharacter};
use crate::core::Gender;
use crate::ingest::{Book, Reading};
use crate::segment::{Segment, SegmentKind};

#[derive(Debug, Serialize)]
struct Line<'a> {
    start: usize,
    end: usize,
    kind: &'static str,
    speaker: Option<&'a str>,
    text: &'a str,
    /// Matter that is not read (`"summary"`, `"copyright page"`); such a
    /// segment is given as narration with no speaker.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
}

/// Writes one JSON object per segment to `out`. Segments in matter that
/// `reading` skips are still written (so the lines cover the whole text),
/// as narration marked `"skipped"`.
pub fn write_jsonl(
    book: &Book,
    attributed: &Attributed,
    reading: Reading,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut chars_before = 0;
    let mut byte_cursor = 0;
    for segment in &attributed.segments {
        chars_before += book.text[byte_cursor..segment.range.start].chars().count();
        let text = segment.text(&book.text);
        let length = text.chars().count();
        let skipped = book.skipped_at(segment.range.clone(), reading);
        let line = Line {
            start: chars_before,
            end: chars_before + length,
            kind: match segment.kind {
                SegmentKind::Dialogue if skipped.is_none() => "dialogue",
                _ => "narration",
            },
            speaker: segment.speaker.as_deref().filter(|_| skipped.is_none()),
            text,
            skipped: skipped.map(|m| m.label.as_str()),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        chars_before += length;
        byte_cursor = segment.range.end;
    }
    Ok(())
}

/// Writes why each quote went to its speaker: the quote's line in the
/// story and its opening words, then the best candidates with their
/// probabilities and strongest features (weight × value).
pub fn write_explanations(
    book: &Book,
    explanations: &[crate::attribute::Explanation],
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = 1;
    let mut cursor = 0;
    for e in explanations {
        let segment = e.range.clone();
        line += book.text[cursor..segment.start].matches('\n').count();
        cursor = segment.start;
        let text: String = book.text[segment]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let opening: String = text.chars().take(70).collect();
        let more = if opening.len() < text.len() {
            "..."
        } else {
            ""
        };
        writeln!(out, "line {line}: {opening}{more}")?;
        for c in &e.candidates {
            let name = c.name.as_deref().unwrap_or("(someone unnamed)");
            let features: Vec<String> = c
                .features
                .iter()
                .map(|(f, v)| format!("{f} {v:+.2}"))
                .collect();
            let why = e
                .rule
                .map_or_else(|| features.join(", "), |r| format!("({r})"));
            writeln!(out, "  {:5.3}  {name:<28} {why}", c.probability)?;
        }
    }
    Ok(())
}

/// First line of an editable script; how `render` tells a script from a story.
pub const HEADER: &str = "# castbook script v1";

/// A script read back: the book text it spells out and its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedScript {
    /// From the `# title:` line, when there is one.
    pub title: Option<String>,
    /// From `# author:` and `# language:` lines.
    pub author: Option<String>,
    pub language: Option<String>,
    /// From `# chapter:` lines: where each chapter starts in `text`, and its title.
    pub chapters: Vec<(usize, String)>,
    /// From `# speaker NAME: GENDER` lines, so auto-casting matches the story's.
    pub genders: BTreeMap<String, Gender>,
    pub text: String,
    /// Byte range in `text`, kind, and speaker (dialogue only).
    pub segments: Vec<(Range<usize>, SegmentKind, Option<String>)>,
    /// The 0-based line of the source each segment was read from, so a
    /// tool can change one line and leave the rest of the file alone.
    pub lines: Vec<usize>,
    /// Skipped matter, from `# [LABEL] ` lines: its range in `text` and label.
    pub matter: Vec<(Range<usize>, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: the script is not UTF-8 text; expected the file `castbook script` wrote")]
    NotUtf8 { path: PathBuf },
    #[error(
        "{path}:1:1: a .script file must start with `{HEADER}`; expected a script written by `castbook script --format text`"
    )]
    NoHeader { path: PathBuf },
}

/// Writes the editable script: a header, then one line per segment.
///
/// `= ` marks a chapter heading, `| ` narration, `@NAME: ` dialogue spoken
/// by NAME and `@?: ` dialogue nobody was found for. The rest of the line is
/// the segment's exact text with `\n`, `\r`, `\t`, `\\`, other control
/// characters as `\u{..}`, and whitespace at the end of the line as `\s`
/// (spaces) or `\u{..}`, so editors that trim lines can't change the book.
///
/// Matter that `reading` skips is shown as comments, `# [summary] | ...`:
/// delete the `# [summary] ` in front to have the line read. `# chapter:`
/// lines mark where chapters start and give their titles.
pub fn write_text(
    book: &Book,
    attributed: &Attributed,
    reading: Reading,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "{HEADER}")?;
    writeln!(out, "# title: {}", escape(&book.title))?;
    if let Some(author) = &book.meta.author {
        writeln!(out, "# author: {}", escape(author))?;
    }
    if let Some(language) = &book.meta.language {
        writeln!(out, "# language: {}", escape(language))?;
    }
    writeln!(
        out,
        "# Each line is one piece of the story. `@NAME: ` is dialogue spoken by NAME (`@?: ` when"
    )?;
    writeln!(
        out,
        "# no speaker was found): change NAME to recast the line, with any name you like."
    )?;
    writeln!(
        out,
        "# `| ` is narration, `= ` a chapter heading. In the text, \\n is a line break, \\s a"
    )?;
    writeln!(
        out,
        "# space at the end of a line and \\\\ a backslash. Lines starting with # are comments,"
    )?;
    writeln!(
        out,
        "# except `# speaker NAME: female` (or male), which guides auto-casting for NAME,"
    )?;
    writeln!(
        out,
        "# `# chapter: TITLE`, which starts a chapter, and `# [WHAT] ...`, a part that is not"
    )?;
    writeln!(
        out,
        "# read (front matter, notes): delete `# [WHAT] ` to have it read."
    )?;
    for character in &attributed.characters {
        let gender = match character.gender {
            Some(Gender::Female) => "female",
            Some(Gender::Male) => "male",
            _ => continue,
        };
        writeln!(out, "# speaker {}: {gender}", character.name)?;
    }
    let mut chapter = None;
    for segment in &attributed.segments {
        let text = escape(segment.text(&book.text));
        if chapter != Some(segment.chapter)
            && let Some(c) = book.chapters.get(segment.chapter)
            && !book.chapter_skipped(segment.chapter, reading)
        {
            writeln!(out, "# chapter: {}", escape(&c.title))?;
            chapter = Some(segment.chapter);
        }
        if let Some(matter) = book.skipped_at(segment.range.clone(), reading) {
            write!(out, "# [{}] ", matter.label)?;
        }
        match segment.kind {
            SegmentKind::Heading => writeln!(out, "= {text}")?,
            SegmentKind::Narration => writeln!(out, "| {text}")?,
            SegmentKind::Dialogue => match &segment.speaker {
                Some(name) => writeln!(out, "@{name}: {text}")?,
                None => writeln!(out, "@?: {text}")?,
            },
        }
    }
    Ok(())
}

fn escape(text: &str) -> String {
    let keep = text.trim_end_matches(|c: char| c.is_whitespace() && c != '\n' && c != '\r');
    let mut out = String::with_capacity(text.len() + 8);
    for c in keep.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    for c in text[keep.len()..].chars() {
        match c {
            ' ' => out.push_str("\\s"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// Undoes [`escape`]; on a bad escape returns the char offset where it starts.
fn unescape(text: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().enumerate().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().map(|(_, c)| c) {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('s') => out.push(' '),
            Some('u') => {
                let mut hex = String::new();
                let closed = chars.next().is_some_and(|(_, c)| c == '{') && {
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        hex.push(c);
                    }
                    closed
                };
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) if closed => out.push(c),
                    _ => {
                        return Err((
                            at,
                            format!(
                                "bad escape \\u{{{hex}}}; expected \\u{{HEX}} naming a character"
                            ),
                        ));
                    }
                }
            }
            other => {
                let shown = other.map_or_else(|| "end of line".to_owned(), |c| format!("\\{c}"));
                return Err((
                    at,
                    format!(
                        "unknown escape {shown}; expected \\n, \\r, \\t, \\s, \\\\ or \\u{{HEX}} (write a backslash as \\\\)"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// The script in `path` when its first line is [`HEADER`]; None for a story.
pub fn read_if_script(path: &Path) -> Result<Option<ParsedScript>, ScriptError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None); // ingest reports unreadable files
    };
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if first.trim_ascii_end() != HEADER.as_bytes() {
        // A .script file without its header was most likely damaged in
        // editing; reading it as a story would voice the markers.
        if path.extension().is_some_and(|e| e == "script") {
            return Err(ScriptError::NoHeader {
                path: path.to_owned(),
            });
        }
        return Ok(None);
    }
    let source = std::str::from_utf8(bytes).map_err(|_| ScriptError::NotUtf8 {
        path: path.to_owned(),
    })?;
    parse_text(path, source).map(Some)
}

/// Parses a script written by [`write_text`] (and perhaps edited since).
pub fn parse_text(path: &Path, source: &str) -> Result<ParsedScript, ScriptError> {
    let at = |line: usize, column: usize, message: String| ScriptError::At {
        path: path.to_owned(),
        line,
        column,
        message,
    };
    let mut script = ParsedScript {
        title: None,
        author: None,
        language: None,
        chapters: Vec::new(),
        matter: Vec::new(),
        genders: BTreeMap::new(),
        text: String::new(),
        segments: Vec::new(),
        lines: Vec::new(),
    };
    for (n, raw) in source.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let number = n + 1;
        if n == 0 {
            continue; // the header, checked by the caller
        }
        if let Some(title) = line.strip_prefix("# title: ")
            && script.title.is_none()
        {
            script.title = Some(unescape(title).map_err(|(c, m)| at(number, c + 10, m))?);
            continue;
        }
        if let Some(author) = line.strip_prefix("# author: ")
            && script.author.is_none()
        {
            script.author = Some(unescape(author).map_err(|(c, m)| at(number, c + 11, m))?);
            continue;
        }
        if let Some(language) = line.strip_prefix("# language: ")
            && script.language.is_none()
        {
            script.language = Some(unescape(language).map_err(|(c, m)| at(number, c + 13, m))?);
            continue;
        }
        if let Some(title) = line.strip_prefix("# chapter: ") {
            let title = unescape(title).map_err(|(c, m)| at(number, c + 12, m))?;
            script.chapters.push((script.text.len(), title));
            continue;
        }
        if let Some(declared) = line.strip_prefix("# speaker ")
            && let Some((name, gender)) = declared.rsplit_once(':')
        {
            let gender = match gender.trim() {
                "female" => Gender::Female,
                "male" => Gender::Male,
                other => {
                    return Err(at(
                        number,
                        line.len() - gender.len() + 1,
                        format!("unknown gender {other:?}; expected female or male"),
                    ));
                }
            };
            script.genders.insert(name.trim().to_owned(), gender);
            continue;
        }
        // `# [summary] | text`: a segment that is kept but not read.
        let mut line = line;
        let mut label_column = 0;
        let mut matter_label = None;
        if let Some(rest) = line.strip_prefix("# [")
            && let Some((label, body)) = rest.split_once("] ")
            && body.starts_with(['@', '|', '='])
        {
            matter_label = Some(label.to_owned());
            label_column = line.len() - body.len();
            line = body;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, speaker, body, body_column) = if let Some(rest) = line.strip_prefix('@') {
            let Some((name, body)) = rest.split_once(':') else {
                return Err(at(
                    number,
                    1,
                    "dialogue line has no `:` after the speaker; expected `@NAME: text`".to_owned(),
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(at(
                    number,
                    2,
                    "dialogue line has no speaker name; expected `@NAME: text` (or `@?: ` for none)"
                        .to_owned(),
                ));
            }
            let speaker = (name != "?").then(|| name.to_owned());
            let column = rest[..rest.len() - body.len()].chars().count() + 2;
            (SegmentKind::Dialogue, speaker, body, column)
        } else if let Some(body) = line.strip_prefix('|') {
            (SegmentKind::Narration, None, body, 2)
        } else if let Some(body) = line.strip_prefix('=') {
            (SegmentKind::Heading, None, body, 2)
        } else {
            let start: String = line.chars().take(12).collect();
            return Err(at(
                number,
                1,
                format!(
                    "line starts with {start:?}; expected `@NAME: ` (dialogue), `| ` (narration), `= ` (heading) or `#` (comment)"
                ),
            ));
        };
        let (body, body_column) = match body.strip_prefix(' ') {
            Some(rest) => (rest, body_column + 1),
            None => (body, body_column),
        };
        let body_column = body_column + label_column;
        let text = unescape(body).map_err(|(c, m)| at(number, body_column + c, m))?;
        if text.is_empty() {
            return Err(at(
                number,
                body_column,
                "the line has no text; expected the words after the marker (delete the line to drop it)"
                    .to_owned(),
            ));
        }
        let start = script.text.len();
        script.text.push_str(&text);
        script
            .segments
            .push((start..script.text.len(), kind, speaker));
        script.lines.push(n);
        if let Some(label) = matter_label {
            script.matter.push((start..script.text.len(), label));
        }
    }
    if script.segments.is_empty() {
        return Err(at(
            1,
            1,
            "the script has no story lines; expected lines starting with `@`, `|` or `=`"
                .to_owned(),
        ));
    }
    Ok(script)
}

/// Why `name` can't be written as a speaker in a script line, if it can't.
///
/// A name ends at the first `:` of an `@NAME: ` line, is trimmed, and `?`
/// means nobody; a line break would end the line.
pub fn check_speaker_name(name: &str) -> Result<(), String> {
    if name.trim() != name || name.is_empty() {
        return Err(format!(
            "speaker name {name:?} is empty or starts or ends with a space; expected a name such as \"Ann\""
        ));
    }
    if name == "?" {
        return Err("`?` means no speaker; expected a name".to_owned());
    }
    if let Some(bad) = name.chars().find(|&c| c == ':' || c.is_control()) {
        return Err(format!(
            "speaker name {name:?} contains {bad:?}; expected a name without `:` or control characters"
        ));
    }
    if name.chars().count() > 100 {
        return Err(format!(
            "speaker name {name:?} is longer than 100 characters; expected a name"
        ));
    }
    Ok(())
}

/// `line` (an `@NAME: text` dialogue line of a script) with its speaker
/// changed to `speaker` (None: `@?`), the text kept byte for byte; None
/// when `line` is not a dialogue line. The name must pass
/// [`check_speaker_name`].
pub fn with_speaker(line: &str, speaker: Option<&str>) -> Option<String> {
    // A line of skipped matter keeps its `# [LABEL] ` in front.
    let rest = line
        .strip_prefix("# [")
        .and_then(|rest| rest.split_once("] "))
        .map_or(line, |(_, body)| body);
    let prefix = &line[..line.len() - rest.len()];
    let (_, body) = rest.strip_prefix('@')?.split_once(':')?;
    Some(format!("{prefix}@{}:{body}", speaker.unwrap_or("?")))
}

impl ParsedScript {
    /// The book and tagged segments this script stands for. Chapters and
    /// paragraphs come from the rebuilt text; segment bounds and speakers
    /// come from the script, exactly as written.
    pub fn into_book(self, path: &Path, known: &[KnownCharacter]) -> (Book, Attributed) {
        // A script is read as the user left it: no matter is looked for.
        let mut book = if self.chapters.is_empty() {
            crate::ingest::plain_book(path, "UTF-8", self.text)
        } else {
            let headings: Vec<Range<usize>> = self
                .segments
                .iter()
                .filter(|(_, kind, _)| *kind == SegmentKind::Heading)
                .map(|(range, _, _)| range.clone())
                .collect();
            crate::ingest::book_with_chapters(path, self.text, &self.chapters, &headings)
        };
        if let Some(title) = self.title {
            book.title = title;
        }
        book.meta.author = self.author;
        book.meta.language = self.language;
        book.matter = crate::ingest::matter_from_labels(&self.matter);
        let mut segments = Vec::new();
        for (range, kind, speaker) in self.segments {
            let chapter = book
                .chapters
                .iter()
                .position(|c| c.span.contains(&range.start))
                .unwrap_or(book.chapters.len().saturating_sub(1));
            let paragraph = book.chapters.get(chapter).and_then(|c| {
                c.paragraphs
                    .iter()
                    .position(|p| p.start <= range.start && range.start < p.end.max(p.start + 1))
            });
            segments.push(Segment {
                range,
                kind,
                chapter,
                paragraph: if kind == SegmentKind::Heading {
                    None
                } else {
                    paragraph
                },
                continues_quote: false,
                speaker,
            });
        }
        let characters = characters_of(&book.text, &segments, known, &self.genders);
        (
            book,
            Attributed {
                segments,
                characters,
            },
        )
    }
}

/// Every speaker in the segments, in order of first appearance, with
/// aliases and gender from voices.toml when it lists them.
fn characters_of(
    text: &str,
    segments: &[Segment],
    known: &[KnownCharacter],
    genders: &BTreeMap<String, Gender>,
) -> Vec<Character> {
    let mut characters: Vec<Character> = Vec::new();
    for segment in segments {
        let Some(name) = &segment.speaker else {
            continue;
        };
        let words = segment.text(text).split_whitespace().count();
        match characters.iter_mut().find(|c| &c.name == name) {
            Some(c) => {
                c.lines += 1;
                c.words += words;
            }
            None => {
                let listed = known.iter().find(|k| &k.name == name);
                characters.push(Character {
                    name: name.clone(),
                    aliases: listed.map(|k| k.aliases.clone()).unwrap_or_default(),
                    gender: listed
                        .and_then(|k| k.gender)
                        .or_else(|| genders.get(name).copied()),
                    lines: 1,
                    words,
                });
            }
        }
    }
    characters
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    fn tagged(text: &str, names: &[Option<&str>]) -> (Book, Attributed) {
        let book = book_from_text(Path::new("story.txt"), "UTF-8", text.to_owned());
        let mut segments = segment_book(&book);
        let mut n = 0;
        for segment in &mut segments {
            if segment.kind == SegmentKind::Dialogue {
                segment.speaker = names
                    .get(n % names.len().max(1))
                    .copied()
                    .flatten()
                    .map(str::to_owned);
                n += 1;
            }
        }
        let characters = characters_of(&book.text, &segments, &[], &BTreeMap::new());
        (
            book,
            Attributed {
                segments,
                characters,
            },
        )
    }

    fn round_trip(book: &Book, attributed: &Attributed) -> ParsedScript {
        let mut out = Vec::new();
        write_text(book, attributed, Reading::default(), &mut out).unwrap();
        let source = String::from_utf8(out).unwrap();
        assert!(source.starts_with(HEADER));
        parse_text(Path::new("s.script"), &source).unwrap()
    }

    #[test]
    fn json_lines_cover_the_text_in_code_points_and_mark_skipped_matter() {
        let text = "Title\n\n“Où?” Émile asked.\n\n“Hi,” said Ann.\n";
        let (mut book, attributed) = tagged(text, &[Some("Émile"), Some("Ann")]);
        let notes = text.find("“Hi").unwrap()..text.len();
        book.matter = crate::ingest::matter_from_labels(&[(notes, "notes".to_owned())]);
        let mut out = Vec::new();
        write_jsonl(&book, &attributed, Reading::default(), &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), attributed.segments.len());
        let chars: Vec<char> = text.chars().collect();
        let mut end = 0;
        for line in &lines {
            let (start, stop) = (
                line["start"].as_u64().unwrap(),
                line["end"].as_u64().unwrap(),
            );
            assert_eq!(start, end, "{line}");
            let spelled: String = chars[start as usize..stop as usize].iter().collect();
            assert_eq!(line["text"], spelled.as_str(), "{line}");
            end = stop;
        }
        assert_eq!(end as usize, chars.len());
        let said = |quote: &str| lines.iter().find(|l| l["text"] == quote).unwrap();
        assert_eq!(said("“Où?”")["kind"], "dialogue");
        assert_eq!(said("“Où?”")["speaker"], "Émile");
        assert!(said("“Où?”").get("skipped").is_none());
        // In skipped notes, dialogue is written as narration, no one's.
        assert_eq!(said("“Hi,”")["kind"], "narration");
        assert_eq!(said("“Hi,”")["speaker"], serde_json::Value::Null);
        assert_eq!(said("“Hi,”")["skipped"], "notes");
    }

    #[test]
    fn explanations_give_each_quotes_line_opening_and_candidates() {
        use crate::attribute::{Explanation, Ranked};
        let long = format!("“{}.”", "word ".repeat(20).trim_end());
        let text = format!("Title\n\n“Hi,” she said.\n\nThen:\n{long}\n");
        let book = book_from_text(Path::new("story.txt"), "UTF-8", text.clone());
        let at = |quote: &str| {
            let start = text.find(quote).unwrap();
            start..start + quote.len()
        };
        let explanations = [
            Explanation {
                segment: 1,
                range: at("“Hi,”"),
                candidates: vec![
                    Ranked {
                        name: Some("Ann".to_owned()),
                        probability: 0.9,
                        features: vec![("said_after", 1.5), ("turn", -0.25)],
                    },
                    Ranked {
                        name: None,
                        probability: 0.1,
                        features: Vec::new(),
                    },
                ],
                rule: None,
            },
            Explanation {
                segment: 4,
                range: at(&long),
                candidates: vec![Ranked {
                    name: Some("Ann".to_owned()),
                    probability: 1.0,
                    features: Vec::new(),
                }],
                rule: Some("carries on the quote left open in the paragraph before"),
            },
        ];
        let mut out = Vec::new();
        write_explanations(&book, &explanations, &mut out).unwrap();
        let opening: String = long.chars().take(70).collect();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "line 3: “Hi,”\n\
                 \x20 0.900  Ann                          said_after +1.50, turn -0.25\n\
                 \x20 0.100  (someone unnamed)            \n\
                 line 6: {opening}...\n\
                 \x20 1.000  Ann                          \
                 (carries on the quote left open in the paragraph before)\n"
            )
        );
    }

    #[test]
    fn each_chapter_read_gets_one_chapter_line() {
        let text = "Chapter 1\n\nHi.\n\nMore.\n\nChapter 2\n\nBye.\n";
        let (mut book, attributed) = tagged(text, &[]);
        assert_eq!(book.chapters.len(), 2);
        let chapter_lines = |book: &Book| {
            let mut out = Vec::new();
            write_text(book, &attributed, Reading::default(), &mut out).unwrap();
            String::from_utf8(out)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("# chapter: "))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let titles: Vec<String> = book
            .chapters
            .iter()
            .map(|c| format!("# chapter: {}", c.title))
            .collect();
        assert_eq!(chapter_lines(&book), titles);
        // A chapter that is all skipped notes opens no chapter of its own.
        let second = book.chapters[1].span.clone();
        book.matter = crate::ingest::matter_from_labels(&[(second, "notes".to_owned())]);
        assert_eq!(chapter_lines(&book), titles[..1]);
    }

    #[test]
    fn control_and_separator_characters_are_escaped() {
        let text = "a\u{7}b\u{2028}c\u{2029}d\u{feff}e";
        let escaped = escape(text);
        assert_eq!(escaped, "a\\u{7}b\\u{2028}c\\u{2029}d\\u{feff}e");
        assert_eq!(unescape(&escaped).unwrap(), text);
    }

    #[test]
    fn script_lines_are_readable_and_marked() {
        let (book, attributed) = tagged(
            "Night\n\nChapter 1\n\n\"Hi,\" said Ann. \"Tea?\"  \n\n\"No.\"\n",
            &[Some("Ann"), Some("Ann"), None],
        );
        let mut out = Vec::new();
        write_text(&book, &attributed, Reading::default(), &mut out).unwrap();
        let body: Vec<&str> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert_eq!(
            body,
            [
                "= Night\\n\\nChapter 1\\n\\n",
                "@Ann: \"Hi,\"",
                "|  said Ann.\\s",
                "@Ann: \"Tea?\"  \\n\\n",
                "@?: \"No.\"\\n",
            ]
        );
    }

    #[test]
    fn edited_speakers_and_unknown_names_are_kept() {
        let (book, attributed) = tagged("\"Hi,\" said Ines.\n", &[Some("Ines")]);
        let mut out = Vec::new();
        write_text(&book, &attributed, Reading::default(), &mut out).unwrap();
        let edited = String::from_utf8(out)
            .unwrap()
            .replace("@Ines:", "@Nobody Else:");
        let parsed = parse_text(Path::new("s.script"), &edited).unwrap();
        let (book2, attributed2) = parsed.into_book(Path::new("s.script"), &[]);
        assert_eq!(book2.text, book.text);
        assert_eq!(attributed2.characters.len(), 1);
        assert_eq!(attributed2.characters[0].name, "Nobody Else");
        assert_eq!(
            attributed2.segments[0].speaker.as_deref(),
            Some("Nobody Else")
        );
    }

    #[test]
    fn a_script_read_back_places_segments_in_their_chapters_and_paragraphs() {
        let text = "Chapter 1\n\n\"Hi,\" said Ann.\n\nShe left.\n\nChapter 2\n\nBye.\n\n\"Go.\"\n";
        let (book, attributed) = tagged(text, &[Some("Ann")]);
        assert_eq!(book.chapters.len(), 2);
        let parsed = round_trip(&book, &attributed);
        let (book2, attributed2) = parsed.into_book(Path::new("s.script"), &[]);
        let place = |segments: &[Segment]| -> Vec<_> {
            segments
                .iter()
                .map(|s| (s.range.clone(), s.kind, s.chapter, s.paragraph))
                .collect()
        };
        assert_eq!(place(&attributed2.segments), place(&attributed.segments));
        // The heading lines are chapter headings again (with the blank
        // lines after them, which the script keeps in the heading's line).
        assert!(book2.chapters.iter().all(|c| c.heading.is_some()));
    }

    #[test]
    fn a_script_line_of_blank_lines_belongs_to_no_paragraph() {
        let source = "# castbook script v1\n| Hi.\n| \\n\\n\n| Bye.\n";
        let parsed = parse_text(Path::new("s.script"), source).unwrap();
        let (_, attributed) = parsed.into_book(Path::new("s.script"), &[]);
        let paragraphs: Vec<_> = attributed.segments.iter().map(|s| s.paragraph).collect();
        assert_eq!(paragraphs, [Some(0), None, Some(1)]);
    }

    #[test]
    fn characters_count_their_lines_and_words() {
        let (_, attributed) = tagged(
            "Title\n\n\"Hi there,\" said Ann. \"Go now, please.\"\n",
            &[Some("Ann")],
        );
        let ann = &attributed.characters[0];
        assert_eq!((ann.name.as_str(), ann.lines, ann.words), ("Ann", 2, 5));
    }

    #[test]
    fn speaker_names_are_up_to_a_hundred_characters() {
        assert!(check_speaker_name(&"a".repeat(100)).is_ok());
        let err = check_speaker_name(&"a".repeat(101)).unwrap_err();
        assert!(err.contains("longer than 100 characters"), "{err}");
    }

    #[test]
    fn bad_lines_name_line_and_column() {
        let err = parse_text(Path::new("s.script"), "# castbook script v1\n| ok\nhello\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s.script:3:1: line starts with \"hello\""),
            "{err}"
        );
        let err = parse_text(Path::new("s.script"), "# castbook script v1\n| a\\qb\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.script:2:4: unknown escape \\q"), "{err}");
        let err = parse_text(
            Path::new("s.script"),
            "# castbook script v1\n# speaker Ann: fem\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("s.script:2:15: unknown gender \"fem\""),
            "{err}"
        );
        // Columns in the header lines count from the line's start.
        for (line, column) in [
            ("# title: a\\qb", 11),
            ("# author: \\q", 11),
            ("# language: \\q", 13),
            ("# chapter: \\q", 12),
        ] {
            let source = format!("# castbook script v1\n{line}\n");
            let err = parse_text(Path::new("s.script"), &source)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("s.script:2:{column}: unknown escape \\q")),
                "{line}: {err}"
            );
        }
        let err = parse_text(Path::new("s.script"), "# castbook script v1\n| a\\u{41\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.script:2:4: bad escape \\u{41}"), "{err}");
        // ... past a dialogue line's speaker ...
        let err = parse_text(Path::new("s.script"), "# castbook script v1\n@Ann: a\\qb\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.script:2:8: unknown escape \\q"), "{err}");
        // ... and in a line of skipped matter, past its `# [LABEL] `.
        let err = parse_text(
            Path::new("s.script"),
            "# castbook script v1\n# [notes] | a\\qb\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("s.script:2:14: unknown escape \\q"),
            "{err}"
        );
    }

    #[test]
    fn a_file_is_a_script_when_its_first_line_is_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let read = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            read_if_script(&path)
        };
        let script = b"# castbook script v1\n| Hi.\n";
        let parsed = read("a.script", script).unwrap().unwrap();
        assert_eq!(parsed.text, "Hi.");
        assert!(read("a.txt", script).unwrap().is_some());
        // A byte order mark and a Windows line end are an editor's doing.
        let edited = b"\xef\xbb\xbf# castbook script v1 \r\n| Hi.\r\n";
        assert!(read("b.txt", edited).unwrap().is_some());
        // A story is no script; a .script file without its header is an error.
        assert!(read("story.txt", b"Hi.\n").unwrap().is_none());
        assert!(matches!(
            read("c.script", b"| Hi.\n"),
            Err(ScriptError::NoHeader { .. })
        ));
        assert!(
            read_if_script(&dir.path().join("missing.txt"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn characters_in_voices_toml_lend_their_aliases_and_gender() {
        let source = "# castbook script v1\n@Ann: \"Hi,\"\n@Bob: \"Yo.\"\n";
        let parsed = parse_text(Path::new("s.script"), source).unwrap();
        let known = [
            KnownCharacter {
                name: "Bob".into(),
                aliases: vec!["Robert".into()],
                gender: Some(Gender::Male),
            },
            KnownCharacter {
                name: "Ann".into(),
                aliases: vec!["Annie".into()],
                gender: Some(Gender::Female),
            },
        ];
        let (_, attributed) = parsed.into_book(Path::new("s.script"), &known);
        let found: Vec<(&str, &[String], Option<Gender>)> = attributed
            .characters
            .iter()
            .map(|c| (c.name.as_str(), c.aliases.as_slice(), c.gender))
            .collect();
        assert_eq!(
            found,
            [
                ("Ann", &["Annie".to_owned()][..], Some(Gender::Female)),
                ("Bob", &["Robert".to_owned()][..], Some(Gender::Male)),
            ]
        );
    }

    #[test]
    fn declared_genders_are_written_and_read_back() {
        let (book, mut attributed) = tagged(
            "\"Hi,\" said Ann. \"Yo,\" said Bob. \"Eh,\" said Kit.\n",
            &[Some("Ann"), Some("Bob"), Some("Kit")],
        );
        for character in &mut attributed.characters {
            character.gender = match character.name.as_str() {
                "Ann" => Some(Gender::Female),
                "Bob" => Some(Gender::Male),
                _ => None,
            };
        }
        let mut out = Vec::new();
        write_text(&book, &attributed, Reading::default(), &mut out).unwrap();
        let source = String::from_utf8(out).unwrap();
        let mut declared: Vec<&str> = source
            .lines()
            .filter(|l| l.starts_with("# speaker "))
            .collect();
        declared.sort_unstable();
        assert_eq!(declared, ["# speaker Ann: female", "# speaker Bob: male"]);
        let parsed = parse_text(Path::new("s.script"), &source).unwrap();
        assert_eq!(
            parsed.genders,
            BTreeMap::from([
                ("Ann".to_owned(), Gender::Female),
                ("Bob".to_owned(), Gender::Male)
            ])
        );
    }

    #[test]
    fn a_line_changes_speaker_and_keeps_its_text() {
        let source = "# castbook script v1\n# title: T\n= T\\n\\n\n@Ann: \"Hi: you,\"\n|  said Ann.\\s\n\n@?: \"No.\"\n";
        let parsed = parse_text(Path::new("s.script"), source).unwrap();
        assert_eq!(parsed.lines, [2, 3, 4, 6]);
        let lines: Vec<&str> = source.split('\n').collect();
        assert_eq!(
            with_speaker(lines[3], Some("Bob Holt")).unwrap(),
            "@Bob Holt: \"Hi: you,\""
        );
        assert_eq!(
            with_speaker(lines[6], Some("Ann")).unwrap(),
            "@Ann: \"No.\""
        );
        assert_eq!(with_speaker(lines[3], None).unwrap(), "@?: \"Hi: you,\"");
        assert_eq!(with_speaker(lines[4], Some("Ann")), None);
        assert_eq!(
            with_speaker("# [notes] @Ann: \"Hi.\"", Some("Bob")).unwrap(),
            "# [notes] @Bob: \"Hi.\""
        );
        assert!(check_speaker_name("Mr. Holt").is_ok());
        for bad in ["", " Ann", "A:B", "?", "Ann\nBob"] {
            assert!(check_speaker_name(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn text_script_round_trips_exactly(
            text in "[a-zA-Z0-9 ,.!?é—’“”\"'\\\\\n\t\r\u{a0}\u{2028}#@|=:]{1,300}",
            names in proptest::collection::vec(
                proptest::option::of("[A-Z][a-z]{0,6}( [A-Z][a-z]{0,5})?"), 1..4),
        ) {
            let names: Vec<Option<&str>> = names.iter().map(|n| n.as_deref()).collect();
            let (book, attributed) = tagged(&text, &names);
            let parsed = round_trip(&book, &attributed);
            prop_assert_eq!(&parsed.text, &book.text);
            prop_assert_eq!(parsed.title.as_deref(), Some(book.title.as_str()));
            let expected: Vec<_> = attributed
                .segments
                .iter()
                .map(|s| (s.range.clone(), s.kind, s.speaker.clone()))
                .collect();
            prop_assert_eq!(&parsed.segments, &expected);
            let (book2, attributed2) = parsed.into_book(Path::new("story.txt"), &[]);
            prop_assert_eq!(book2.text, book.text);
            prop_assert_eq!(attributed2.characters, attributed.characters);
        }
    }
}
