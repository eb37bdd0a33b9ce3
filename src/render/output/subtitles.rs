//! Subtitles from the manifest's segment times: SRT or WebVTT, one file
//! per chapter and one for the whole book (for an M4B), optionally with
//! who speaks (`Ines: ...`).

use std::fmt::Write as _;

use super::manifest::ChapterEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    Srt,
    Vtt,
}

impl SubtitleFormat {
    pub fn extension(self) -> &'static str {
        match self {
            SubtitleFormat::Srt => "srt",
            SubtitleFormat::Vtt => "vtt",
        }
    }
}

/// Subtitles for `chapters` laid end to end, each shifted by its start in
/// the book (0 for a single chapter's file).
pub fn subtitles(
    chapters: &[(f64, &ChapterEntry)],
    format: SubtitleFormat,
    speakers: bool,
) -> String {
    let mut out = String::new();
    if format == SubtitleFormat::Vtt {
        out.push_str("WEBVTT\n\n");
    }
    let mut cue = 0;
    for (offset, chapter) in chapters {
        for segment in &chapter.segments {
            let text = segment.text.trim();
            if text.is_empty() {
                continue;
            }
            cue += 1;
            let start = offset + segment.start_s;
            let end = (offset + segment.end_s).max(start + 0.001);
            let line = match (&segment.speaker, speakers) {
                (Some(name), true) => format!("{name}: {text}"),
                _ => text.to_owned(),
            };
            // A blank line would end the cue early.
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            match format {
                SubtitleFormat::Srt => {
                    let _ = write!(
                        out,
                        "{cue}\n{} --> {}\n{line}\n\n",
                        stamp(start, ','),
                        stamp(end, ',')
                    );
                }
                SubtitleFormat::Vtt => {
                    let line = line.replace('&', "&amp;").replace('<', "&lt;");
                    let _ = write!(
                        out,
                        "{} --> {}\n{line}\n\n",
                        stamp(start, '.'),
                        stamp(end, '.')
                    );
                }
            }
        }
    }
    out
}

/// `01:02:03,456`
fn stamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::render::output::manifest::SegmentEntry;

    fn chapter() -> ChapterEntry {
        let segment = |start_s, end_s, speaker: Option<&str>, text: &str| SegmentEntry {
            start_s,
            end_s,
            kind: "dialogue".into(),
            speaker: speaker.map(Arc::from),
            voice: Arc::from("espeak:en-us"),
            text: Arc::from(text),
        };
        ChapterEntry {
            index: 1,
            title: "One".to_owned(),
            file: "01-one.wav".to_owned(),
            duration_s: 5.0,
            segments: vec![
                segment(0.6, 1.5, None, "Chapter One"),
                segment(2.0, 3725.25, Some("Ann"), "\"Hi <there>,\" she said."),
            ],
        }
    }

    #[test]
    fn srt_and_vtt() {
        let chapter = chapter();
        let srt = subtitles(&[(0.0, &chapter)], SubtitleFormat::Srt, true);
        assert_eq!(
            srt,
            "1\n00:00:00,600 --> 00:00:01,500\nChapter One\n\n2\n00:00:02,000 --> 01:02:05,250\nAnn: \"Hi <there>,\" she said.\n\n"
        );
        let vtt = subtitles(&[(10.0, &chapter)], SubtitleFormat::Vtt, false);
        assert!(
            vtt.starts_with("WEBVTT\n\n00:00:10.600 --> 00:00:11.500\nChapter One\n\n"),
            "{vtt}"
        );
        assert!(vtt.contains("\"Hi &lt;there>,\" she said."), "{vtt}");
    }
}
