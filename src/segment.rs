//! Segment: cut each chapter into headings, narration and dialogue.
//!
//! Segments tile the book text exactly (put back together they give the
//! input), so offsets stay meaningful for `script` and nothing is ever lost.
//! Whitespace between paragraphs belongs to the segment before it.
//!
//! Quotes: straight and curly double quotes, mixed pairs (`" haven--”`),
//! and British single quotes when the book uses them as its primary marks;
//! apostrophes (don't, 'em, the Smiths') are not quotes. A quote left open
//! at the end of a paragraph ends there; when the next paragraph opens with
//! a quote mark, that segment is marked as continuing the same utterance.
//!
//! Dialogue introduced by dashes, as in many European books and their
//! translations (`— Yes, he said.`, `―Sí ―dijo él―. Vamos.`, `-- Yes.`),
//! is recognised chapter by chapter (anthologies and fan-fiction collections
//! mix conventions) when many paragraphs open with a dash: the speech runs
//! from the paragraph's dash to the next dash set off from a word, or to a
//! speech tag after a comma, `?` or `!` (`, he said`); a later dash takes
//! it up again.

use std::ops::Range;

use serde::Serialize;

use crate::ingest::Book;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    Heading,
    Narration,
    Dialogue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Byte range in `Book::text`, quote marks included.
    pub range: Range<usize>,
    pub kind: SegmentKind,
    /// Index into `Book::chapters`.
    pub chapter: usize,
    /// Index into the chapter's paragraphs; `None` for headings and leading gaps.
    pub paragraph: Option<usize>,
    /// A dialogue segment that carries on a quote left open in the previous paragraph.
    pub continues_quote: bool,
    /// Filled in by `attribute` for dialogue.
    pub speaker: Option<String>,
}

impl Segment {
    pub fn text<'a>(&self, book_text: &'a str) -> &'a str {
        &book_text[self.range.clone()]
    }

    /// The words to speak: quote marks dropped, whitespace folded.
    pub fn spoken(&self, book_text: &str) -> String {
        let raw = self.text(book_text);
        let raw = if self.kind == SegmentKind::Dialogue {
            raw.trim().trim_matches(|c: char| {
                is_quote_mark(c) || is_dialogue_dash(c) || c == '-' || c.is_whitespace()
            })
        } else {
            raw
        };
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Dashes that open or interrupt dash-style dialogue (a hyphen only doubled).
fn is_dialogue_dash(c: char) -> bool {
    matches!(c, '—' | '―' | '–')
}

fn is_quote_mark(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»' | '\'' | '‘' | '’')
}

/// Which marks open and close dialogue in this book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteStyle {
    Double,
    Single,
    Dash,
}

/// Splits the whole book into segments.
pub fn segment_book(book: &Book) -> Vec<Segment> {
    let book_style = detect_style(&book.text);
    let marks = quote_mark_style(&book.text, count_double_marks(&book.text));
    let mut segments = Vec::new();
    for (chapter_index, chapter) in book.chapters.iter().enumerate() {
        let chapter_style = chapter_style(book_style, marks, &book.text[chapter.span.clone()]);
        let mut cursor = chapter.span.start;
        let push =
            |segments: &mut Vec<Segment>, range: Range<usize>, kind, paragraph, continues_quote| {
                if range.is_empty() {
                    return;
                }
                segments.push(Segment {
                    range,
                    kind,
                    chapter: chapter_index,
                    paragraph,
                    continues_quote,
                    speaker: None,
                });
            };
        let chapter_first = segments.len();
        if let Some(heading) = &chapter.heading {
            push(
                &mut segments,
                cursor..heading.end,
                SegmentKind::Heading,
                None,
                false,
            );
            cursor = heading.end;
        }
        let mut quote_open_at_end = false;
        for (paragraph_index, paragraph) in chapter.paragraphs.iter().enumerate() {
            if cursor < paragraph.start {
                extend_or_push(
                    &mut segments,
                    chapter_first,
                    cursor..paragraph.start,
                    chapter_index,
                );
            }
            let text = &book.text[paragraph.clone()];
            // A paragraph opening with a quote mark in a dash chapter is a
            // stretch in the other convention (a story without chapter
            // headings after one in quotes).
            let style = if chapter_style == QuoteStyle::Dash
                && text
                    .trim_start()
                    .starts_with(|c: char| is_quote_mark(c) && c != '\'')
            {
                marks
            } else {
                chapter_style
            };
            let quotes = find_quotes(text, style);
            let mut pos = 0;
            for (n, quote) in quotes.iter().enumerate() {
                push(
                    &mut segments,
                    offset(pos..quote.range.start, paragraph.start),
                    SegmentKind::Narration,
                    Some(paragraph_index),
                    false,
                );
                let continues = n == 0 && quote.range.start == 0 && quote_open_at_end;
                let kind = if style != QuoteStyle::Dash && is_embedded_phrase(text, quote) {
                    SegmentKind::Narration
                } else {
                    SegmentKind::Dialogue
                };
                push(
                    &mut segments,
                    offset(quote.range.clone(), paragraph.start),
                    kind,
                    Some(paragraph_index),
                    continues,
                );
                pos = quote.range.end;
            }
            push(
                &mut segments,
                offset(pos..text.len(), paragraph.start),
                SegmentKind::Narration,
                Some(paragraph_index),
                false,
            );
            quote_open_at_end = quotes
                .last()
                .is_some_and(|q| !q.closed && q.range.end == text.len());
            cursor = paragraph.end;
        }
        if cursor < chapter.span.end {
            extend_or_push(
                &mut segments,
                chapter_first,
                cursor..chapter.span.end,
                chapter_index,
            );
        }
    }
    // A long book has tens of thousands; growth by doubling leaves a quarter unused.
    segments.shrink_to_fit();
    segments
}

fn offset(range: Range<usize>, by: usize) -> Range<usize> {
    (range.start + by)..(range.end + by)
}

/// Gaps between paragraphs join the segment before them, within the chapter.
fn extend_or_push(
    segments: &mut Vec<Segment>,
    chapter_first: usize,
    gap: Range<usize>,
    chapter: usize,
) {
    let in_chapter = segments.len() > chapter_first;
    match segments.last_mut() {
        Some(last) if in_chapter && last.range.end == gap.start => last.range.end = gap.end,
        _ => segments.push(Segment {
            range: gap,
            kind: SegmentKind::Narration,
            chapter,
            paragraph: None,
            continues_quote: false,
            speaker: None,
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Quote {
    /// Byte range within the paragraph, marks included.
    range: Range<usize>,
    closed: bool,
}

fn count_double_marks(text: &str) -> usize {
    text.chars()
        .filter(|&c| matches!(c, '"' | '“' | '”'))
        .count()
}

/// Single-quote dialogue is recognised when single opening marks clearly
/// outnumber double quote marks.
fn detect_style(text: &str) -> QuoteStyle {
    let doubles = count_double_marks(text);
    // Lines opening with a dash and a word: dash-style dialogue when they
    // outnumber double-quoted stretches.
    let dash_lines = text
        .lines()
        .filter(|line| dash_opening(line.trim_start()).is_some())
        .count();
    if dash_lines > 4 && dash_lines * 2 > doubles {
        return QuoteStyle::Dash;
    }
    quote_mark_style(text, doubles)
}

/// The style of one chapter. Anthologies, translated collections and
/// fan-fiction chapters by different hands mix conventions, so each
/// chapter decides for itself whether its dialogue opens with dashes.
/// Only a dash opening a paragraph (or a line after a finished sentence)
/// counts here: a hard-wrapped line that happens to start with the dash
/// of `he went—and then` is no speech, and a quote-mark chapter keeps its
/// marks while its quoted stretches outnumber its dash openings. A chapter
/// of a book that is dash-style as a whole needs only one dash opening
/// (short chapters); otherwise it needs five, like a whole book. `marks` is
/// the book's quote-mark style, for chapters that are not dash-style.
fn chapter_style(book_style: QuoteStyle, marks: QuoteStyle, chapter: &str) -> QuoteStyle {
    let doubles = count_double_marks(chapter);
    let dash_openings = dash_openings_of_sentences(chapter);
    let enough = if book_style == QuoteStyle::Dash { 1 } else { 5 };
    if dash_openings >= enough && dash_openings * 2 > doubles {
        QuoteStyle::Dash
    } else {
        marks
    }
}

/// Lines opening with a dialogue dash after a blank line or a line that
/// ends a sentence.
fn dash_openings_of_sentences(text: &str) -> usize {
    let mut previous_ends = true;
    let mut count = 0;
    for line in text.lines() {
        let trimmed = line.trim();
        if previous_ends && dash_opening(trimmed).is_some() {
            count += 1;
        }
        previous_ends = trimmed.is_empty()
            || trimmed.ends_with(|c: char| {
                matches!(c, '.' | '!' | '?' | '…' | ':' | '"' | '”' | '»' | '’' | ')')
            });
    }
    count
}

/// Double or single quote marks, whichever the text uses for speech.
fn quote_mark_style(text: &str, doubles: usize) -> QuoteStyle {
    let chars: Vec<char> = text.chars().collect();
    let single_openers = chars
        .iter()
        .enumerate()
        .filter(|&(i, &c)| {
            (c == '‘' || c == '\'')
                && (i == 0
                    || chars[i - 1].is_whitespace()
                    || matches!(chars[i - 1], '(' | '—' | '–'))
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_alphanumeric() || matches!(n, '…' | '.' | '—'))
                && !is_elision(&chars[i + 1..])
        })
        .count();
    if single_openers > 4 && single_openers > doubles {
        QuoteStyle::Single
    } else {
        QuoteStyle::Double
    }
}

/// 'em, 'tis, 'twas, 'cause, '90s: an apostrophe at a word start.
fn is_elision(after: &[char]) -> bool {
    const ELISIONS: [&str; 12] = [
        "em", "tis", "twas", "til", "cause", "bout", "n", "round", "ere", "ow", "ave", "im",
    ];
    let word: String = after
        .iter()
        .take_while(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    word.chars().next().is_some_and(|c| c.is_ascii_digit()) || ELISIONS.contains(&word.as_str())
}

/// The byte length of a dialogue dash opening `line` (`—`, `―`, `–`, or
/// `--`, then a word after optional spaces), if it opens with one.
fn dash_opening(line: &str) -> Option<usize> {
    let len = if line.starts_with("--") {
        2
    } else {
        line.chars()
            .next()
            .filter(|&c| is_dialogue_dash(c))
            .map(char::len_utf8)?
    };
    line[len..]
        .trim_start_matches(' ')
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '¿' | '¡' | '…' | '.'))
        .then_some(len)
}

/// Verbs of a speech tag after a comma (`— Yes, he said.`). Segmenting
/// comes before attribution, so this is a short list of its own.
const TAG_VERBS: [&str; 20] = [
    "said",
    "says",
    "asked",
    "asks",
    "replied",
    "replies",
    "answered",
    "answers",
    "cried",
    "exclaimed",
    "added",
    "continued",
    "whispered",
    "shouted",
    "murmured",
    "muttered",
    "called",
    "began",
    "went",
    "repeated",
];

/// Dash-style dialogue in one paragraph (see the module docs).
fn find_dash_quotes(paragraph: &str) -> Vec<Quote> {
    let lead = paragraph.len() - paragraph.trim_start().len();
    if dash_opening(&paragraph[lead..]).is_none() {
        return Vec::new();
    }
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let is_dash_at = |i: usize| {
        at(i).is_some_and(is_dialogue_dash) || at(i) == Some('-') && at(i + 1) == Some('-')
    };
    let mut quotes = Vec::new();
    let mut open = Some(lead);
    let mut i = chars.iter().position(|&(b, _)| b >= lead).unwrap_or(0) + 1;
    if at(i - 1) == Some('-') {
        i += 1;
    }
    while i < chars.len() {
        let byte = chars[i].0;
        let dash = is_dash_at(i);
        let width = if dash && at(i) == Some('-') { 2 } else { 1 };
        // "I—I" is a stammer, not a change of voice.
        let between_letters = at(i.wrapping_sub(1)).is_some_and(char::is_alphabetic)
            && at(i + width).is_some_and(char::is_alphabetic);
        match open {
            Some(start) => {
                if dash && !between_letters {
                    quotes.push(Quote {
                        range: start..byte,
                        closed: true,
                    });
                    open = None;
                } else if matches!(at(i), Some(',' | '?' | '!'))
                    && tag_follows(&paragraph[byte + 1..])
                {
                    quotes.push(Quote {
                        range: start..byte + 1,
                        closed: true,
                    });
                    open = None;
                }
            }
            None => {
                if dash && !between_letters {
                    open = Some(byte);
                }
            }
        }
        i += width;
    }
    if let Some(start) = open {
        let end = paragraph.trim_end().len();
        if end > start {
            quotes.push(Quote {
                range: start..end,
                closed: true,
            });
        }
    }
    quotes.retain(|q| {
        paragraph[q.range.clone()]
            .chars()
            .any(char::is_alphanumeric)
    });
    quotes
}

/// Whether a speech tag starts within the next three words (`he said`,
/// `said Anna`, `the old man answered`).
fn tag_follows(rest: &str) -> bool {
    let rest = rest.trim_start();
    if rest.starts_with("--") || rest.starts_with(is_dialogue_dash) {
        // A dash comes first: it ends the speech itself.
        return false;
    }
    rest.split_whitespace()
        .take(3)
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .any(|w| TAG_VERBS.contains(&w.as_str()))
}

fn find_quotes(paragraph: &str, style: QuoteStyle) -> Vec<Quote> {
    if style == QuoteStyle::Dash {
        return find_dash_quotes(paragraph);
    }
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let before = |i: usize| if i == 0 { None } else { at(i - 1) };
    let is_open_context = |c: Option<char>| {
        c.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '[' | '—' | '–' | '-' | ':'))
    };
    let is_close_context = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());

    let mut quotes = Vec::new();
    let mut open: Option<usize> = None;
    for i in 0..chars.len() {
        let c = chars[i].1;
        let byte = chars[i].0;
        match open {
            None => {
                let opens = match style {
                    QuoteStyle::Double => match c {
                        '“' | '„' | '«' => true,
                        '"' => true,
                        // A closing curly mark used as an opener: `”Hi,” she said`.
                        '”' => {
                            is_open_context(before(i))
                                && at(i + 1).is_some_and(|n| !n.is_whitespace())
                        }
                        _ => false,
                    },
                    QuoteStyle::Dash => false,
                    QuoteStyle::Single => match c {
                        '‘' | '\'' => {
                            is_open_context(before(i))
                                && at(i + 1).is_some_and(|n| !n.is_whitespace())
                                && !is_elision(
                                    &chars[i + 1..].iter().map(|&(_, c)| c).collect::<Vec<_>>(),
                                )
                        }
                        _ => false,
                    },
                };
                if opens {
                    open = Some(byte);
                }
            }
            Some(start) => {
                let closes = match style {
                    QuoteStyle::Double => match c {
                        '”' | '»' | '"' => true,
                        // An opening curly mark used as a closer: `haven--“ she said`.
                        '“' => {
                            !before(i).is_none_or(char::is_whitespace)
                                && is_close_context(at(i + 1))
                        }
                        _ => false,
                    },
                    QuoteStyle::Dash => false,
                    QuoteStyle::Single => match c {
                        '’' | '\'' => {
                            let after_letter = before(i).is_some_and(char::is_alphanumeric);
                            is_close_context(at(i + 1))
                                && !before(i).is_none_or(char::is_whitespace)
                                && (!after_letter || !has_better_closer(&chars, i + 1))
                        }
                        _ => false,
                    },
                };
                if closes {
                    let end = byte + c.len_utf8();
                    quotes.push(Quote {
                        range: start..end,
                        closed: true,
                    });
                    open = None;
                }
            }
        }
    }
    if let Some(start) = open {
        quotes.push(Quote {
            range: start..paragraph.len(),
            closed: false,
        });
    }
    quotes
}

/// A short quoted phrase inside a sentence (`the elements of "the
/// branches"--by which`): a title or a term, not speech. Speech ends with
/// punctuation inside its marks; these end with a word and follow a word.
fn is_embedded_phrase(paragraph: &str, quote: &Quote) -> bool {
    if !quote.closed || quote.range.start == 0 {
        return false;
    }
    let inner = paragraph[quote.range.clone()]
        .trim_matches(|c: char| is_quote_mark(c) || c.is_whitespace());
    let ends_with_word = inner.chars().last().is_some_and(char::is_alphanumeric);
    let after_word = paragraph[..quote.range.start]
        .trim_end()
        .chars()
        .last()
        .is_some_and(char::is_alphanumeric);
    ends_with_word && after_word && inner.split_whitespace().count() <= 6
}

/// In single-quote books, `the Smiths’ car` has a closer-shaped apostrophe;
/// a later mark right after punctuation is the real closer.
fn has_better_closer(chars: &[(usize, char)], from: usize) -> bool {
    for i in from..chars.len() {
        let c = chars[i].1;
        if c == '‘' {
            return false;
        }
        if (c == '’' || c == '\'')
            && i > 0
            && matches!(
                chars[i - 1].1,
                ',' | '.' | '!' | '?' | ';' | ':' | '—' | '–' | '-' | '…'
            )
            && chars.get(i + 1).is_none_or(|&(_, n)| !n.is_alphanumeric())
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::ingest::book_from_text;

    fn segments_of(text: &str) -> Vec<(SegmentKind, String)> {
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        segment_book(&book)
            .into_iter()
            .map(|s| (s.kind, book.text[s.range].to_owned()))
            .collect()
    }

    fn dialogue_of(text: &str) -> Vec<String> {
        segments_of(text)
            .into_iter()
            .filter(|(k, _)| *k == SegmentKind::Dialogue)
            .map(|(_, t)| t.trim_end().to_owned())
            .collect()
    }

    #[test]
    fn straight_and_curly_and_mixed_pairs() {
        assert_eq!(
            dialogue_of("Title\n\n\"Hi,\" she said. \"Bye.\"\n"),
            ["\"Hi,\"", "\"Bye.\""]
        );
        assert_eq!(dialogue_of("Title\n\n“Hi,” she said.\n"), ["“Hi,”"]);
        assert_eq!(
            dialogue_of("Title\n\n\" haven--” she said.\n"),
            ["\" haven--”"]
        );
        assert_eq!(dialogue_of("Title\n\n“Wait,\" he said.\n"), ["“Wait,\""]);
    }

    #[test]
    fn a_few_lines_opening_with_a_dash_keep_a_book_in_double_quotes() {
        // Dash-style dialogue needs more than four such lines: two are a
        // list in the narration, and the book's speech stays in quotes.
        assert_eq!(
            dialogue_of(
                "Title\n\n\"Buy these,\" she said.\n\n— Bread, and fresh.\n\n— Milk, if any.\n"
            ),
            ["\"Buy these,\""]
        );
    }

    #[test]
    fn dash_dialogue_takes_five_lines_opening_with_a_dash() {
        let dashes = |n: usize| "Title\n\n".to_owned() + &"— Yes.\n\n".repeat(n);
        assert!(dialogue_of(&dashes(4)).is_empty());
        assert_eq!(dialogue_of(&dashes(5)).len(), 5);
    }

    #[test]
    fn dash_dialogue_needs_more_dash_lines_than_half_the_double_marks() {
        // Five dash lines against four quoted stretches (eight marks): dash
        // dialogue; against five (ten marks), the quotes win.
        let book = |quotes: usize| "— Yes.\n\n".repeat(5) + &"\"Hi,\" he said.\n\n".repeat(quotes);
        assert_eq!(detect_style(&book(4)), QuoteStyle::Dash);
        assert_ne!(detect_style(&book(5)), QuoteStyle::Dash);
    }

    #[test]
    fn each_chapter_decides_whether_its_dialogue_opens_with_dashes() {
        // An anthology: a quote-mark story long enough to outvote the dash
        // story's lines over the whole book, then a dash story.
        let text = "Chapter 1\n\n".to_owned()
            + &"\"Come in,\" she said.\n\n".repeat(12)
            + "Chapter 2\n\n"
            + &"— Not now, he said.\n\n".repeat(5);
        let dialogue = dialogue_of(&text);
        assert_eq!(dialogue.len(), 17, "{dialogue:?}");
        assert_eq!(dialogue[12], "— Not now,");
    }

    #[test]
    fn paragraphs_opening_with_a_quote_mark_in_a_dash_chapter_keep_their_marks() {
        // Two stories with no chapter headings between them: the quoted
        // one's paragraphs still speak, the dash one's too.
        let text = "Title\n\n".to_owned()
            + &"\"Come in,\" she said. \"Sit.\"\n\n".repeat(2)
            + &"— Not now, he said.\n\n".repeat(6)
            + "He read a sign saying \"Closed\" and left.\n";
        let dialogue = dialogue_of(&text);
        assert_eq!(
            &dialogue[..4],
            ["\"Come in,\"", "\"Sit.\"", "\"Come in,\"", "\"Sit.\""]
        );
        assert_eq!(dialogue.len(), 10, "{dialogue:?}");
    }

    #[test]
    fn a_quote_chapter_of_a_dash_book_keeps_its_marks_and_its_wrapped_dashes() {
        // The first chapter is dash dialogue; the second quotes its speech
        // and hard-wraps a sentence at an em-dash, which is no speech.
        let text = "Chapter 1\n\n".to_owned()
            + &"— Not now, he said.\n\n".repeat(6)
            + "Chapter 2\n\n\"Come in,\" she said.\n\n\
               He waited by the door\n—and then he left.\n\n\"Gone,\" she said.\n";
        let dialogue = dialogue_of(&text);
        assert_eq!(&dialogue[6..], ["\"Come in,\"", "\"Gone,\""]);
    }

    #[test]
    fn single_quote_dialogue_takes_five_openers_outnumbering_double_marks() {
        let singles = |n: usize| "'Go,' she said.\n\n".repeat(n);
        assert_eq!(detect_style(&singles(4)), QuoteStyle::Double);
        assert_eq!(detect_style(&singles(5)), QuoteStyle::Single);
        // Five openers against four double marks, then against five.
        let four_marks = singles(5) + "\"A\" and \"B\"\n";
        assert_eq!(detect_style(&four_marks), QuoteStyle::Single);
        assert_eq!(detect_style(&(four_marks + "\"C\n")), QuoteStyle::Double);
    }

    #[test]
    fn elisions_open_no_single_quote() {
        let text = "They took 'em. 'Tis late. 'Twas so. Back in '90s, 'round noon.\n";
        assert_eq!(detect_style(text), QuoteStyle::Double);
    }

    #[test]
    fn a_gap_opening_a_chapter_belongs_to_that_chapter() {
        // No headings: chapter two opens with the blank lines before its
        // first paragraph, right after chapter one's last segment.
        let text = "One.\n\n\n\nTwo.\n";
        let book = crate::ingest::book_with_chapters(
            Path::new("t.txt"),
            text.to_owned(),
            &[(0, "1".to_owned()), (5, "2".to_owned())],
            &[],
        );
        let segments = segment_book(&book);
        for segment in &segments {
            let span = &book.chapters[segment.chapter].span;
            assert!(
                span.start <= segment.range.start && segment.range.end <= span.end,
                "{segment:?} is outside chapter {} ({span:?})",
                segment.chapter
            );
        }
        assert_eq!(segments.last().unwrap().text(text), "Two.\n");
    }

    #[test]
    fn elisions_and_lone_marks_in_a_single_quote_book_open_nothing() {
        let text = "Title\n\n'Go,' said Ann.\n\n'Why?' asked Bob.\n\n'Now,' Ann said.\n\n\
                    'Fine.'\n\n'Yes.'\n\nThey took 'em home ' and slept.\n";
        assert_eq!(
            dialogue_of(text),
            ["'Go,'", "'Why?'", "'Now,'", "'Fine.'", "'Yes.'"]
        );
    }

    #[test]
    fn an_opening_curly_mark_after_a_word_closes_speech() {
        assert_eq!(
            dialogue_of("Title\n\n“I haven--“ she said. “Go.”\n"),
            ["“I haven--“", "“Go.”"]
        );
    }

    #[test]
    fn an_apostrophe_inside_a_word_closes_no_single_quote() {
        let text = "Title\n\n'Go,' said Ann.\n\n'Why?' asked Bob.\n\n'Now,' Ann said.\n\n\
                    'Fine.'\n\n'I don't know' she said.\n";
        assert_eq!(dialogue_of(text)[4], "'I don't know'");
    }

    #[test]
    fn speech_left_open_after_a_word_is_no_embedded_phrase() {
        // Short and after a word, like `the elements of "the branches"`,
        // but open: speech that goes on in the next paragraph.
        assert_eq!(
            dialogue_of("Title\n\nShe called \"come with me\n\n\"to the shore.\"\n"),
            ["\"come with me", "\"to the shore.\""]
        );
    }

    #[test]
    fn a_better_closer_follows_punctuation_and_ends_a_word() {
        let better = |text: &str| {
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            has_better_closer(&chars, 0)
        };
        assert!(better(" car, said.’ Then"));
        assert!(better(" car, said.’"));
        // An abbreviation's possessive is no closer.
        assert!(!better(" car in the U.S.’s capital"));
        assert!(!better(" car. ‘Stop.’"), "a new quote opens first");
    }

    #[test]
    fn a_closing_curly_mark_opens_speech_only_before_a_word() {
        assert_eq!(dialogue_of("Title\n\n”Hi,” she said.\n"), ["”Hi,”"]);
        // Stray closing marks in the narration open nothing.
        assert_eq!(
            dialogue_of("Title\n\nHe paused ” and left. \"Go.\"\n"),
            ["\"Go.\""]
        );
        assert_eq!(
            dialogue_of("Title\n\nHe left.”, she wrote. \"Go.\"\n"),
            ["\"Go.\""]
        );
    }

    #[test]
    fn an_opening_mark_after_a_dash_inside_speech_does_not_close_it() {
        // Speech cut off and started again: `“Wait—“Stop,”` is one quote.
        assert_eq!(
            dialogue_of("Title\n\n“Wait—“Stop,” he said.\n"),
            ["“Wait—“Stop,”"]
        );
    }

    #[test]
    fn possessives_in_the_narration_of_a_single_quote_book_open_nothing() {
        let text = "Title\n\n'Go,' said Ann.\n\n'Why?' asked Bob.\n\n'Now,' Ann said.\n\n'Fine.'\n\n'Yes.'\n\nAnn's dog barked at Bob's cat.\n";
        assert_eq!(
            dialogue_of(text),
            ["'Go,'", "'Why?'", "'Now,'", "'Fine.'", "'Yes.'"]
        );
    }

    #[test]
    fn a_later_possessive_is_no_better_closer_than_a_mark_after_a_word() {
        // `Smiths'` may close the quote: only a mark after punctuation
        // (`keys,'`) later on would close it better, not `Joneses'`.
        let text = "Title\n\n'Go,' said Ann.\n\n'Why?' asked Bob.\n\n'Now,' Ann said.\n\n'Fine.'\n\n'We saw the Smiths' said Ann, and the Joneses' dog.\n";
        assert_eq!(
            dialogue_of(text),
            [
                "'Go,'",
                "'Why?'",
                "'Now,'",
                "'Fine.'",
                "'We saw the Smiths'"
            ]
        );
    }

    #[test]
    fn apostrophes_are_not_quotes_in_double_quote_books() {
        assert_eq!(
            dialogue_of("Title\n\n\"Don't,\" she said, \"it's the Smiths' dog.\"\n"),
            ["\"Don't,\"", "\"it's the Smiths' dog.\""]
        );
    }

    #[test]
    fn british_single_quotes() {
        let text = "Title\n\n‘Don’t go,’ said Ann.\n\n‘Why not?’ asked Bob.\n\n‘Give ’em the Smiths’ keys,’ Ann said.\n\n‘Fine.’\n\n‘Now.’\n";
        assert_eq!(
            dialogue_of(text),
            [
                "‘Don’t go,’",
                "‘Why not?’",
                "‘Give ’em the Smiths’ keys,’",
                "‘Fine.’",
                "‘Now.’"
            ]
        );
    }

    #[test]
    fn straight_single_quotes_in_a_single_quote_book() {
        // Typed on a keyboard: one mark for quotes and apostrophes alike.
        let text = "Title\n\n'Don't go,' said Ann.\n\n'Why not?' asked Bob.\n\n'Give 'em the Smiths' keys,' Ann said.\n\n'Fine.'\n\n'Now.'\n\n'It's late,' Bob said. 'We'd better run.'\n";
        assert_eq!(
            dialogue_of(text),
            [
                "'Don't go,'",
                "'Why not?'",
                "'Give 'em the Smiths' keys,'",
                "'Fine.'",
                "'Now.'",
                "'It's late,'",
                "'We'd better run.'"
            ]
        );
    }

    #[test]
    fn quote_spanning_paragraphs_continues() {
        let text = "Title\n\n\"It was long ago,\" said Ann. \"We were young.\n\n\"And then it rained.\"\n\nThe end.\n";
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let dialogue: Vec<Segment> = segment_book(&book)
            .into_iter()
            .filter(|s| s.kind == SegmentKind::Dialogue)
            .collect();
        assert_eq!(dialogue.len(), 3);
        assert_eq!(dialogue[1].text(&book.text).trim_end(), "\"We were young.");
        assert!(!dialogue[1].continues_quote);
        assert_eq!(
            dialogue[2].text(&book.text).trim_end(),
            "\"And then it rained.\""
        );
        assert!(dialogue[2].continues_quote);
    }

    #[test]
    fn quoted_terms_inside_sentences_are_narration() {
        assert_eq!(
            dialogue_of(
                "Title\n\nThey studied \"the branches\"--by which Latin was meant. \"Hi,\" said Ann.\n"
            ),
            ["\"Hi,\""]
        );
        assert_eq!(
            dialogue_of("Title\n\nShe said \"Go!\" and left.\n"),
            ["\"Go!\""]
        );
    }

    #[test]
    fn heading_and_narration() {
        let segs = segments_of("Chapter 1\n\nShe ran. \"Go!\"\n");
        assert_eq!(segs[0], (SegmentKind::Heading, "Chapter 1\n\n".to_owned()));
        assert_eq!(segs[1], (SegmentKind::Narration, "She ran. ".to_owned()));
        assert_eq!(segs[2], (SegmentKind::Dialogue, "\"Go!\"\n".to_owned()));
    }

    #[test]
    fn spoken_text_drops_marks_and_folds_lines() {
        let text = "Title\n\n\"Go\nnow!\" he said.\n";
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segs = segment_book(&book);
        let dialogue = segs
            .iter()
            .find(|s| s.kind == SegmentKind::Dialogue)
            .unwrap();
        assert_eq!(dialogue.spoken(&book.text), "Go now!");
    }

    #[test]
    fn hyphens_that_cut_off_or_open_a_line_are_not_spoken() {
        let spoken = |text: &str| -> Vec<String> {
            let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
            segment_book(&book)
                .iter()
                .filter(|s| s.kind == SegmentKind::Dialogue)
                .map(|s| s.spoken(&book.text))
                .collect()
        };
        assert_eq!(spoken("Title\n\n\"I haven--\" she said.\n"), ["I haven"]);
        let dashed = spoken(&dash_book(&["-- Where to? -- asked Anna. -- Home."]));
        assert_eq!(&dashed[5..], ["Where to?", "Home."]);
    }

    /// A dash-dialogue chapter: enough dash paragraphs for the style.
    fn dash_book(paragraphs: &[&str]) -> String {
        let mut text = String::from("Title\n\n");
        for _ in 0..5 {
            text.push_str("— Yes.\n\n");
        }
        for p in paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
        }
        text
    }

    #[test]
    fn dash_dialogue_runs_to_the_next_dash() {
        let d = dialogue_of(&dash_book(&["―Sí ―dijo él―. Vamos."]));
        assert_eq!(&d[5..], ["―Sí", "―. Vamos."]);
        let d = dialogue_of(&dash_book(&["-- Where to? -- asked Anna. -- Home."]));
        assert_eq!(&d[5..], ["-- Where to?", "-- Home."]);
        let d = dialogue_of(&dash_book(&["— Where to? asked Anna."]));
        assert_eq!(&d[5..], ["— Where to?"]);
    }

    #[test]
    fn dash_dialogue_stops_at_a_speech_tag() {
        let text = dash_book(&["— Yes, he said, and turned away.", "He sat down."]);
        let d = dialogue_of(&text);
        assert_eq!(&d[5..], ["— Yes,"]);
        let narration: Vec<String> = segments_of(&text)
            .into_iter()
            .filter(|(k, _)| *k == SegmentKind::Narration)
            .map(|(_, t)| t.trim().to_owned())
            .collect();
        assert!(
            narration.iter().any(|t| t == "he said, and turned away."),
            "{narration:?}"
        );
        assert!(
            narration.iter().any(|t| t == "He sat down."),
            "{narration:?}"
        );
    }

    #[test]
    fn a_single_spaced_hyphen_in_dash_dialogue_is_no_dash() {
        let d = dialogue_of(&dash_book(&["— Ten - no, eleven."]));
        assert_eq!(&d[5..], ["— Ten - no, eleven."]);
    }

    #[test]
    fn an_indented_dash_paragraph_opens_at_its_dash() {
        let text = "  — Where to? — asked Anna.";
        let quotes = find_dash_quotes(text);
        let texts: Vec<&str> = quotes.iter().map(|q| &text[q.range.clone()]).collect();
        assert_eq!(texts, ["— Where to? "]);
    }

    #[test]
    fn a_dash_between_letters_is_a_stammer() {
        let d = dialogue_of(&dash_book(&["— I—I do not know."]));
        assert_eq!(&d[5..], ["— I—I do not know."]);
    }

    #[test]
    fn a_few_dashes_at_line_starts_do_not_make_a_dash_book() {
        let text = "Title\n\n\"Hi,\" she said. \"Go on.\"\n\n\"No.\"\n\n\"Yes.\"\n\n\
                    He went--\n--on and on.\n\n\"Well.\"\n\n\"Fine.\"\n";
        assert_eq!(dialogue_of(text)[0], "\"Hi,\"");
        let book = book_from_text(Path::new("t.txt"), "UTF-8", dash_book(&["— Go, he said."]));
        let dialogue = segment_book(&book)
            .into_iter()
            .find(|s| s.kind == SegmentKind::Dialogue)
            .unwrap();
        assert_eq!(dialogue.spoken(&book.text), "Yes.");
    }

    proptest! {
        #[test]
        fn segments_put_back_together_give_the_input(
            text in r#"([—―–]?[A-Za-z ,.!?'’‘"“”—―–\-]{0,40}(\n|\n\n|\r\n)?){0,12}"#,
            heading in proptest::option::of("(Chapter [0-9]|Prologue|# Part)"),
        ) {
            let text = match heading { Some(h) => format!("{h}\n\n{text}"), None => text };
            let book = book_from_text(Path::new("t.txt"), "UTF-8", text.clone());
            let segments = segment_book(&book);
            let rebuilt: String = segments.iter().map(|s| &text[s.range.clone()]).collect();
            prop_assert_eq!(rebuilt, text.clone());
            for pair in segments.windows(2) {
                prop_assert_eq!(pair[0].range.end, pair[1].range.start);
            }
            prop_assert!(segments.iter().all(|s| !s.range.is_empty()));
        }

        #[test]
        fn dash_dialogue_segments_tile_the_input(
            paragraphs in proptest::collection::vec(
                r#"(—|―|–|--)? ?[A-Za-z ,.!?'"—―–\-]{0,40}"#, 0..10),
        ) {
            let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
            let text = dash_book(&refs);
            let book = book_from_text(Path::new("t.txt"), "UTF-8", text.clone());
            let segments = segment_book(&book);
            let rebuilt: String = segments.iter().map(|s| &text[s.range.clone()]).collect();
            prop_assert_eq!(rebuilt, text.clone());
            for pair in segments.windows(2) {
                prop_assert_eq!(pair[0].range.end, pair[1].range.start);
            }
            prop_assert!(segments.iter().all(|s| !s.range.is_empty()));
        }
    }
}
