//! Utter: turn tagged segments into the list of things to say, chapter by
//! chapter, each with its voice and the pause that comes before it.
//!
//! Segments are cut into sentences so that pauses between sentences are
//! ours (engines pad inconsistently), the manifest has sentence-level
//! timings, and long narration never becomes one huge synthesis call.

use unicode_segmentation::UnicodeSegmentation;

use crate::attribute::Attributed;
use crate::cast::Cast;
use crate::ingest::Book;
use crate::segment::SegmentKind;
use crate::synth::Voice;

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
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// What the engine is given: `shown` after the pronunciation dictionary.
    pub text: String,
    /// The sentence as the story has it, for the manifest.
    pub shown: String,
    pub kind: SegmentKind,
    pub speaker: Option<String>,
    pub voice: Voice,
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
    for segment in &attributed.segments {
        let spoken = segment.spoken(&book.text);
        if !spoken.chars().any(char::is_alphanumeric) {
            continue;
        }
        let speaker = if segment.kind == SegmentKind::Dialogue {
            segment.speaker.clone()
        } else {
            None
        };
        let voice = cast.voice_for(speaker.as_deref()).clone();
        let chapter = &mut chapters[segment.chapter];
        for (n, sentence) in spoken
            .unicode_sentences()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
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
            chapter.utterances.push(Utterance {
                text: cast.lexicon.apply(sentence, voice.engine),
                shown: sentence.to_owned(),
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
