//! Output: the files a render leaves for listeners and tools, one chapter
//! WAV each ([`wav`]) and `manifest.json` ([`manifest`]), which stay the
//! master; ACX mastering of the WAVs ([`master`]); and what is made from
//! them: M4B, MP3, Opus and FLAC through ffmpeg ([`encode`]) and SRT/WebVTT
//! subtitles ([`subtitles`]).

pub mod encode;
pub mod manifest;
pub mod master;
pub mod subtitles;
pub mod wav;
