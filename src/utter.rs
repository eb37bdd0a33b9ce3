//! Utter: turn tagged segments into the list of things to say, chapter by
//! chapter, each with its voice and the pause that comes before it.
//!
//! Segments are cut into sentences so that pauses between sentences are
//! ours (engines pad inconsistently), the manifest has sentence-level
//! timings, and long narration never becomes one huge synthesis call.

use std::collections::HashMap;
use std::sync::Arc;

use unicode_segmentation::UnicodeSegmentation;

use crate::attribute::Attributed;
use crate::cast::Cast;
use crate::core::Voice;
use crate::ingest::Book;
use crate::segment::SegmentKind;

/// Silence, in milliseconds, at each kind of boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pauses {
    pub lead_in: u32,
    pub lead_out: u32,
    pub after_heading: u32,
    /// Between sentences of one segment, or between a quote and its tag.
    pub sentence: u32,
    pub paragraph: u32,
    /// Added when the voice changes.
    pub turn: u32,
}

impl Default for Pauses {
    fn default() -> Pauses {
        Pauses {
            lead_in: 600,
            lead_out: 1200,
            after_heading: 1000,
            sentence: 280,
            paragraph: 650,
            turn: 200,
        }
    }
}

/// One thing to say.
///
/// A book has one of these per sentence, all alive for the whole render,
/// so what repeats is shared: each voice and speaker name is allocated
/// once per book, and `shown` is shared with the manifest entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// What the engine is given: `shown` after the pronunciation dictionary
    /// (the same allocation when the dictionary changes nothing).
    pub text: Arc<str>,
    /// The sentence as the story has it, for the manifest.
    pub shown: Arc<str>,
    pub kind: SegmentKind,
    pub speaker: Option<Arc<str>>,
    pub voice: Arc<Voice>,
    /// Silence before this utterance.
    pub pause_ms: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChapterScript {
    /// 1-based chapter number.
    pub index: usize,
    pub title: String,
    pub utterances: Vec<Utterance>,
    /// Silence after the last utterance.
    pub lead_out_ms: u32,
}

/// Lays out every chapter's utterances.
pub fn utterances(
    book: &Book,
    attributed: &Attributed,
    cast: &Cast,
    pauses: &Pauses,
) -> Vec<ChapterScript> {
    let mut chapters: Vec<ChapterScript> = book
        .chapters
        .iter()
        .map(|c| ChapterScript {
            index: c.index,
            title: c.title.clone(),
            utterances: Vec::new(),
            lead_out_ms: pauses.lead_out,
        })
        .collect();
    let mut previous: Option<(usize, Option<usize>, SegmentKind, String)> = None;
    // Keyed by everything in a voice (two characters may share an id at
    // different pitches).
    let mut voices: HashMap<(String, [u32; 3]), Arc<Voice>> = HashMap::new();
    let mut speakers: HashMap<&str, Arc<str>> = HashMap::new();
    for segment in &attributed.segments {
        let spoken = segment.spoken(&book.text);
        if !spoken.chars().any(char::is_alphanumeric) {
            continue;
        }
        let speaker = if segment.kind == SegmentKind::Dialogue {
            segment.speaker.as_deref()
        } else {
            None
        };
        let voice = cast.voice_for(speaker);
        let voice = voices
            .entry((
                voice.label(),
                [voice.rate, voice.pitch, voice.volume].map(f32::to_bits),
            ))
            .or_insert_with(|| Arc::new(voice.clone()))
            .clone();
        let speaker = speaker.map(|name| {
            speakers
                .entry(name)
                .or_insert_with(|| Arc::from(name))
                .clone()
        });
        let chapter = &mut chapters[segment.chapter];
        for (n, sentence) in sentences(&spoken).into_iter().enumerate() {
            let pause = if n > 0 {
                pauses.sentence
            } else {
                match &previous {
                    None => pauses.lead_in,
                    Some((ch, _, _, _)) if *ch != segment.chapter => pauses.lead_in,
                    Some((_, _, SegmentKind::Heading, _)) => pauses.after_heading,
                    Some((_, paragraph, _, label)) => {
                        let boundary = if *paragraph == segment.paragraph {
                            pauses.sentence
                        } else {
                            pauses.paragraph
                        };
                        boundary
                            + if *label != voice.label() {
                                pauses.turn
                            } else {
                                0
                            }
                    }
                }
            };
            let shown: Arc<str> = Arc::from(sentence);
            let spoken = cast.lexicon.apply(sentence, voice.engine);
            chapter.utterances.push(Utterance {
                text: if spoken == sentence {
                    shown.clone()
                } else {
                    spoken.into()
                },
                shown,
                kind: segment.kind,
                speaker: speaker.clone(),
                voice: voice.clone(),
                pause_ms: pause,
            });
        }
        previous = Some((
            segment.chapter,
            segment.paragraph,
            segment.kind,
            voice.label(),
        ));
    }
    chapters.retain(|c| !c.utterances.is_empty());
    chapters
}

/// Unicode sentences, except that a break after a title or an initial
/// ("Mr. Holt", "J. Smith") is no break.
fn sentences(text: &str) -> Vec<&str> {
    const ABBREVIATIONS: [&str; 16] = [
        "mr", "mrs", "ms", "dr", "st", "prof", "capt", "col", "gen", "lt", "sgt", "rev", "jr",
        "sr", "vs", "messrs",
    ];
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (offset, piece) in text.split_sentence_bound_indices() {
        end = offset + piece.len();
        let word = piece
            .trim_end()
            .strip_suffix('.')
            .and_then(|p| p.rsplit(|c: char| !c.is_alphanumeric()).next())
            .unwrap_or("");
        let joins_next = !word.is_empty()
            && (ABBREVIATIONS.contains(&word.to_lowercase().as_str())
                || (word.chars().count() == 1 && word.chars().all(char::is_uppercase)));
        if !joins_next {
            out.push(text[start..end].trim());
            start = end;
        }
    }
    if start < end {
        out.push(text[start..end].trim());
    }
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    use crate::{attribute, cast, ingest, segment};

    #[test]
    fn pauses_mark_headings_paragraphs_and_turns() {
        let text =
            "Chapter 1\n\nAnn sat. She waited.\n\n\"Hello,\" said Ann.\n\n\"Hi,\" said Bob.\n";
        let book = ingest::book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let attributed = attribute::attribute(&book, segment::segment_book(&book), &[]);
        let cast = cast::cast(&attributed.characters, &cast::VoicesFile::default()).unwrap();
        let pauses = Pauses::default();
        let chapters = utterances(&book, &attributed, &cast, &pauses);
        let got: Vec<(&str, u32)> = chapters[0]
            .utterances
            .iter()
            .map(|u| (&*u.text, u.pause_ms))
            .collect();
        assert_eq!(
            got,
            [
                ("Chapter 1", pauses.lead_in),
                ("Ann sat.", pauses.after_heading),
                ("She waited.", pauses.sentence),
                ("Hello,", pauses.paragraph + pauses.turn),
                ("said Ann.", pauses.sentence + pauses.turn),
                ("Hi,", pauses.paragraph + pauses.turn),
                ("said Bob.", pauses.sentence + pauses.turn),
            ]
        );
        assert_eq!(chapters[0].utterances[3].speaker.as_deref(), Some("Ann"));
        assert_ne!(
            chapters[0].utterances[3].voice,
            chapters[0].utterances[5].voice
        );
    }

    #[test]
    fn sentences_keep_titles_and_initials_together() {
        assert_eq!(
            sentences("Somebody wants it, Mr. Holt. They think J. R. Smith is right! Do they?"),
            [
                "Somebody wants it, Mr. Holt.",
                "They think J. R. Smith is right!",
                "Do they?"
            ]
        );
    }
}
