//! Piper inference on the shared session pool ([`crate::synth::onnx::pool`]):
//! each pool thread keeps one session per model, with one intra-op thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ort::session::Session;
use ort::value::Tensor;

use super::graph;
use super::model::Model;
use crate::core::error_chain;
use crate::synth::onnx::pool::{Inference, session_from_bytes};

/// Memory one session of a medium model needs, for bounding the pool.
pub(super) const SESSION_BYTES: u64 = 512 * 1024 * 1024;

/// One utterance's model inputs, prepared on the caller's thread.
pub(super) struct Prepared {
    pub(super) sample_rate: u32,
    pub(super) model: Arc<Model>,
    pub(super) sentences: Vec<Vec<i64>>,
    pub(super) scales: [f32; 3],
    pub(super) speaker: Option<i64>,
}

impl Inference for Prepared {
    type Sessions = HashMap<PathBuf, Session>;

    fn infer(&self, sessions: &mut Self::Sessions) -> Result<Vec<f32>, String> {
        let session = match sessions.entry(self.model.path.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(open_session(&self.model.path)?)
            }
        };
        let mut audio = Vec::new();
        for ids in &self.sentences {
            audio.extend(
                infer(session, ids, self.scales, self.speaker).map_err(|err| err.to_string())?,
            );
        }
        Ok(audio)
    }

    fn cost(&self) -> usize {
        self.sentences.iter().map(Vec::len).sum()
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
}

/// A session for the model at `path`, its convolutions made 2-D first
/// (see [`graph`]: same audio, less CPU).
fn open_session(path: &Path) -> Result<Session, String> {
    let fail = |err: String| format!("{}: cannot load the model: {err}", path.display());
    let original = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let rewritten = graph::convolutions_as_2d(&original).map_err(|e| fail(error_chain(&e)))?;
    session_from_bytes(rewritten.as_deref().unwrap_or(&original), 1, false).map_err(fail)
}

fn infer(
    session: &mut Session,
    ids: &[i64],
    scales: [f32; 3],
    speaker: Option<i64>,
) -> ort::Result<Vec<f32>> {
    let input = Tensor::from_array(([1usize, ids.len()], ids.to_vec()))?;
    let lengths = Tensor::from_array(([1usize], vec![ids.len() as i64]))?;
    let scales = Tensor::from_array(([3usize], scales.to_vec()))?;
    let outputs = match speaker {
        Some(speaker) => session.run(ort::inputs![
            "input" => input,
            "input_lengths" => lengths,
            "scales" => scales,
            "sid" => Tensor::from_array(([1usize], vec![speaker]))?,
        ])?,
        None => session.run(ort::inputs![
            "input" => input,
            "input_lengths" => lengths,
            "scales" => scales,
        ])?,
    };
    let (_, audio) = outputs[0].try_extract_tensor::<f32>()?;
    Ok(audio.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::onnx::environment;
    use crate::synth::piper::joe;

    #[test]
    fn two_d_convolutions_give_the_same_audio() {
        let path = joe();
        environment(None).unwrap();
        let original = std::fs::read(&path).unwrap();
        let rewritten = graph::convolutions_as_2d(&original).unwrap().unwrap();
        let model = Model::open(&path).unwrap();
        let ids = &model.phoneme_ids("Well, I never said that!").unwrap()[0];
        // No noise, so each model gives one answer.
        let scales = [0.0, 1.0, 0.0];
        let run = |bytes: &[u8]| {
            let mut session = session_from_bytes(bytes, 1, false).unwrap();
            infer(&mut session, ids, scales, None).unwrap()
        };
        let (before, after) = (run(&original), run(&rewritten));
        assert_eq!(before.len(), after.len());
        let peak = before.iter().fold(0f32, |m, s| m.max(s.abs()));
        let worst = before
            .iter()
            .zip(&after)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(peak > 0.05, "silent: {peak}");
        assert!(worst < peak * 1e-3, "differs by {worst} (peak {peak})");
    }
}
