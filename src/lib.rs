//! castbook turns a story into a multi-voice audiobook, offline.
//!
//! The crate is a pipeline; each module is one stage, with one entry
//! function, and hands plain data to the next:
//!
//! ```text
//! ingest     path             -> Book        ingest::read_book
//! segment    &Book            -> Segment*    segment::segment_book (narration / dialogue spans)
//! attribute  &Book, Segment*  -> Attributed  attribute::attribute (a speaker for each quote)
//! cast       characters, cfg  -> Cast        cast::cast (a voice for the narrator and each character)
//! utter      Attributed, Cast -> ChapterScript*  utter::utterances (what to say, in which voice)
//! synth      text, Voice      -> Clip        synth::Engines::synthesize (mono PCM from an engine)
//! render     ChapterScript*   -> chapter WAVs + manifest.json   render::render_book
//! ```
//!
//! `script` is a side exit after `attribute`: it prints the tagged story.
//! `cache` keeps synthesised clips between renders, and `audio` brings
//! clips from different engines to one rate and loudness.
//!
//! # Layers: imports point down
//!
//! The modules, top to bottom. A module may use only modules listed below
//! it, never one above it; the `layers` test reads this list and every
//! `crate::` path in `src/`, and fails on an import that points up. Plain types that several stages share live in
//! `core`, at the bottom.
//!
//! ```text
//! studio     src/studio/       `castbook studio`: the review page, its server, its two files
//! render     src/render/       plan, schedule (worker processes), assemble, output (WAV, manifest)
//! audio      src/audio.rs      resampling and loudness levelling of clips
//! cache      src/cache.rs      synthesised clips on disk, by content key
//! synth      src/synth/        engines: espeak, piper, kokoro (with onnx); one trait, one registry
//! utter      src/utter.rs      utterances per chapter, with voices and pauses
//! cast       src/cast/         voices.toml, auto-casting, pronunciation
//! script     src/script.rs     JSON lines and the editable script
//! attribute  src/attribute/    speakers for quotes
//! segment    src/segment.rs    narration and dialogue spans
//! ingest     src/ingest/       decoding, chapters, paragraphs
//! fsio       src/fsio.rs       atomic writes, locks, sweeping partial files
//! core       src/core.rs       Gender, EngineKind, Voice, Clip, EngineSettings
//! ```
//!
//! The binary (`main.rs`, `cli.rs`, `commands.rs`) sits above them all;
//! `studio` is the one library module that, like the commands, drives the
//! whole pipeline.

pub mod attribute;
pub mod audio;
pub mod cache;
pub mod cast;
pub mod core;
pub mod fsio;
pub mod ingest;
pub mod render;
pub mod script;
pub mod segment;
pub mod studio;
pub mod synth;
pub mod utter;

#[cfg(test)]
mod layers;
