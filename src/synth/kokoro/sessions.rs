//! Kokoro inference on the shared session pool ([`crate::synth::onnx::pool`]):
//! each pool thread keeps one session of the model, built from bytes the
//! engine prepared once for all of them.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ort::session::Session;
use ort::value::Tensor;

use super::install::SAMPLE_RATE;
use crate::synth::onnx::pool::{Inference, session_from_bytes};

/// The model file and what every session is built from.
#[derive(Debug)]
pub(super) struct Model {
    pub(super) path: PathBuf,
    /// blake3 of the file: part of every cache key.
    pub(super) fingerprint: String,
    /// The bytes sessions are built from, read on first use.
    bytes: OnceLock<Result<Arc<Vec<u8>>, String>>,
}

impl Model {
    pub(super) fn open(path: PathBuf) -> Result<Model, String> {
        let file =
            std::fs::File::open(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        let fingerprint = blake3::Hasher::new()
            .update_reader(file)
            .map_err(|err| format!("{}: {err}", path.display()))?
            .finalize()
            .to_hex()
            .to_string();
        Ok(Model {
            path,
            fingerprint,
            bytes: OnceLock::new(),
        })
    }

    fn bytes(&self) -> Result<Arc<Vec<u8>>, String> {
        self.bytes
            .get_or_init(|| {
                std::fs::read(&self.path)
                    .map(Arc::new)
                    .map_err(|err| format!("{}: {err}", self.path.display()))
            })
            .clone()
    }

    fn session(&self) -> Result<Session, String> {
        let fail = |err: String| format!("{}: cannot load the model: {err}", self.path.display());
        // Denormals as zero: the same audio here, about 10% less CPU.
        session_from_bytes(&self.bytes().map_err(fail)?, 1, true).map_err(fail)
    }
}

/// One model run: token ids (with the 0 pads) and the style for their count.
pub(super) struct Run {
    pub(super) tokens: Vec<i64>,
    pub(super) style: Vec<f32>,
}

/// One utterance's model inputs, prepared on the caller's thread.
pub(super) struct Prepared {
    pub(super) model: Arc<Model>,
    pub(super) runs: Vec<Run>,
    pub(super) speed: f32,
}

impl Inference for Prepared {
    type Sessions = Option<(PathBuf, Session)>;

    fn infer(&self, sessions: &mut Self::Sessions) -> Result<Vec<f32>, String> {
        if sessions
            .as_ref()
            .is_none_or(|(path, _)| *path != self.model.path)
        {
            *sessions = Some((self.model.path.clone(), self.model.session()?));
        }
        let (_, session) = sessions.as_mut().expect("set above");
        let mut audio = Vec::new();
        for run in &self.runs {
            audio.extend(infer(session, run, self.speed).map_err(|err| err.to_string())?);
        }
        Ok(audio)
    }

    fn cost(&self) -> usize {
        self.runs.iter().map(|run| run.tokens.len()).sum()
    }

    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }
}

fn infer(session: &mut Session, run: &Run, speed: f32) -> ort::Result<Vec<f32>> {
    let outputs = session.run(ort::inputs![
        "tokens" => Tensor::from_array(([1usize, run.tokens.len()], run.tokens.clone()))?,
        "style" => Tensor::from_array(([1usize, run.style.len()], run.style.clone()))?,
        "speed" => Tensor::from_array(([1usize], vec![speed]))?,
    ])?;
    let (_, audio) = outputs[0].try_extract_tensor::<f32>()?;
    Ok(audio.to_vec())
}
