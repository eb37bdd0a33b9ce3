//! castbook turns a story into a multi-voice audiobook, offline.
//!
//! The crate is a pipeline; each module is one stage and hands plain data to
//! the next:
//!
//! ```text
//! ingest     path            -> Book      (decoded text, chapters, paragraphs)
//! segment    &Book           -> Segment*  (narration / dialogue spans that tile the text)
//! attribute  &Book, Segment* -> Attributed (a speaker for each dialogue segment)
//! cast       characters, cfg -> Cast      (a voice for the narrator and each character)
//! utter      Attributed,Cast -> Utterance* (what to say, in which voice, after which pause)
//! synth      Utterance       -> Clip      (mono PCM from a speech engine)
//! mix        Utterance*,Clip*-> chapter WAVs + manifest.json
//! ```
//!
//! `script` is a side exit after `attribute`: it prints the tagged story.
//! `cache` keeps synthesised segments between renders, and `worker` runs
//! synthesis in child processes (espeak-ng allows one engine per process).

pub mod attribute;
pub mod audio;
pub mod cache;
pub mod cast;
pub mod ingest;
pub mod mix;
pub mod script;
pub mod segment;
pub mod synth;
pub mod utter;
pub mod worker;
