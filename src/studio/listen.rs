//! Hearing lines: a line of the script, or a sample of a character's
//! voice, made through the segment cache by the studio's one worker
//! process ([`crate::render::preview`]) and returned as a WAV.

use crate::attribute::Attributed;
use crate::cache::SegmentCache;
use crate::cast;
use crate::core::Voice;
use crate::render::worker::{Client, WorkerSpec};
use crate::render::{self, preview};
use crate::segment::SegmentKind;
use crate::synth::Engines;
use crate::utter::{self, Pauses, Utterance};

use super::service::{Failure, Studio, lock};

/// Synthesis for previews: engines (for cache keys and sample rates) and
/// the worker that speaks.
pub(super) struct Synth {
    pub(super) engines: Engines,
    /// The voices.toml version the engines were set up for.
    pub(super) settings_of: String,
    /// The worker, and the arguments it was started with.
    pub(super) client: Option<(Client, Vec<std::ffi::OsString>)>,
}

impl Studio {
    /// A WAV of segment `index`, in its speaker's voice.
    pub fn line_audio(&self, index: usize) -> Result<Vec<u8>, Failure> {
        let (utterances, settings) = {
            let state = self.state();
            let script = &state.script;
            let segment = script
                .attributed
                .segments
                .get(index)
                .ok_or_else(|| Failure::NotFound(format!("there is no line {index}")))?;
            let one = Attributed {
                segments: vec![segment.clone()],
                characters: Vec::new(),
            };
            let cast = state.cast()?;
            let utterances: Vec<Utterance> =
                utter::utterances(&script.book, &one, cast, &Pauses::default())
                    .into_iter()
                    .flat_map(|c| c.utterances)
                    .collect();
            (utterances, state.voices.version.clone())
        };
        self.speak(&utterances, &settings)
    }

    /// A WAV of a sample line in `name`'s voice (the narrator's when None):
    /// one of their own lines, or a sentence naming them.
    pub fn sample_audio(&self, name: Option<&str>) -> Result<Vec<u8>, Failure> {
        let index = {
            let state = self.state();
            if let Some(name) = name
                && !state
                    .script
                    .attributed
                    .characters
                    .iter()
                    .any(|c| c.name == name)
                && cast::write::entry_key(&state.voices.file, name).is_none()
            {
                return Err(Failure::NotFound(format!(
                    "no character is called {name:?}"
                )));
            }
            let segments = &state.script.attributed.segments;
            let text = &state.script.book.text;
            let words = |i: &usize| segments[*i].spoken(text).split_whitespace().count();
            let theirs: Vec<usize> = (0..segments.len())
                .filter(|&i| match name {
                    None => segments[i].kind == SegmentKind::Narration,
                    Some(name) => segments[i].speaker.as_deref() == Some(name),
                })
                .take(200)
                .collect();
            theirs
                .iter()
                .copied()
                .find(|i| (6..=30).contains(&words(i)))
                .or_else(|| theirs.iter().copied().find(|i| words(i) > 0))
        };
        if let Some(index) = index {
            return self.line_audio(index);
        }
        let (utterance, settings) = {
            let state = self.state();
            let cast = state.cast()?;
            let voice: Voice = cast.voice_for(name).clone();
            let text = format!("My name is {}.", name.unwrap_or("the narrator"));
            (
                Utterance {
                    text: text.as_str().into(),
                    shown: text.as_str().into(),
                    kind: SegmentKind::Dialogue,
                    speaker: name.map(Into::into),
                    voice: voice.into(),
                    pause_ms: 0,
                },
                state.voices.version.clone(),
            )
        };
        self.speak(&[utterance], &settings)
    }

    /// Synthesises (through the cache) and mixes `utterances`.
    fn speak(&self, utterances: &[Utterance], voices_version: &str) -> Result<Vec<u8>, Failure> {
        let internal = |e: &dyn std::fmt::Display| Failure::Internal(e.to_string());
        let settings = lock(&self.state).voices.file.engine_settings();
        let mut synth = lock(&self.synth);
        if synth.settings_of != voices_version {
            synth.engines = Engines::new().with_settings(settings);
            synth.settings_of = voices_version.to_owned();
        }
        let _gate = lock(&self.cache_gate);
        let cache = SegmentCache::open(&self.cache_dir).map_err(|e| internal(&e))?;
        let Synth {
            engines, client, ..
        } = &mut *synth;
        let program = &self.program;
        let root = cache.root().to_owned();
        let mut synthesize = |job: &render::worker::Job| {
            // Started on first use, and again once this process has found
            // ONNX Runtime (a Piper voice), so the worker loads the same.
            let spec = WorkerSpec::castbook(program.clone());
            if client.as_ref().is_none_or(|(_, args)| *args != spec.args) {
                *client = Some((Client::start(&spec, &root)?, spec.args));
            }
            let result = client.as_mut().expect("started").0.synthesize(job);
            if result.is_err() {
                // Start afresh next time: the worker may have died.
                *client = None;
            }
            result
        };
        preview::preview(utterances, engines, &cache, &mut synthesize).map_err(|e| match e {
            render::RenderError::Synth(e) => Failure::Bad(e.to_string()),
            e => internal(&e),
        })
    }
}
