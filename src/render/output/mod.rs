//! Output: the files a render leaves for listeners and tools, one chapter
//! WAV each ([`wav`]) and `manifest.json` ([`manifest`]). The encoders to
//! come (M4B, MP3, Opus, subtitles) belong here too: they read the same
//! chapters and manifest.

pub mod manifest;
pub mod wav;
