//! Audio: make clips from different engines sit together in one chapter.
//!
//! Engines return mono clips at their own sample rate and their own level
//! (espeak is loud and flat, Piper models vary). Before a clip is written,
//! [`Conformer::conform`] resamples it to the book's rate with rubato's
//! synchronous FFT resampler and scales it so every voice reaches the same
//! EBU R128 loudness. Loudness is measured per voice over everything that
//! voice has said so far (not per clip), so a voice's own dynamics survive
//! (a shout stays louder than a whisper) while no character is much louder
//! than another. A peak limit keeps the gain from clipping.

use std::collections::HashMap;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::synth::Clip;

/// Speech loudness every voice is brought to, in LUFS.
pub const TARGET_LUFS: f64 = -20.0;
/// Highest sample magnitude after gain (about -0.5 dBFS).
const PEAK_LIMIT: f32 = 0.944;
/// Gain never goes beyond ±20 dB: a near-silent clip is not blown up into noise.
const MAX_GAIN_DB: f64 = 20.0;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot resample {from} Hz to {to} Hz: {reason}")]
    Resample { from: u32, to: u32, reason: String },
    #[error("cannot measure loudness at {rate} Hz: {reason}")]
    Loudness { rate: u32, reason: String },
}

/// Brings clips to one sample rate and one loudness, voice by voice.
pub struct Conformer {
    rate: u32,
    resamplers: HashMap<u32, Fft<f32>>,
    meters: HashMap<String, ebur128::EbuR128>,
}

impl Conformer {
    /// Output at `rate` Hz: the highest rate among the book's voices, so
    /// nothing is ever downsampled.
    pub fn new(rate: u32) -> Conformer {
        Conformer {
            rate,
            resamplers: HashMap::new(),
            meters: HashMap::new(),
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Resamples `clip` to the output rate and applies `voice_key`'s loudness gain.
    pub fn conform(&mut self, clip: Clip, voice_key: &str) -> Result<Clip, AudioError> {
        let mut samples = self.resample(clip)?;
        let gain = self.gain(voice_key, &samples)?;
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        let gain = if peak * gain > PEAK_LIMIT {
            PEAK_LIMIT / peak
        } else {
            gain
        };
        for sample in &mut samples {
            *sample *= gain;
        }
        Ok(Clip {
            samples,
            sample_rate: self.rate,
        })
    }

    fn resample(&mut self, clip: Clip) -> Result<Vec<f32>, AudioError> {
        let (from, to) = (clip.sample_rate, self.rate);
        if from == to || clip.samples.is_empty() {
            return Ok(clip.samples);
        }
        let fail = |reason: String| AudioError::Resample { from, to, reason };
        let resampler = match self.resamplers.entry(from) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
                    .map_err(|err| fail(err.to_string()))?,
            ),
        };
        let frames = clip.samples.len();
        let input =
            InterleavedSlice::new(&clip.samples, 1, frames).map_err(|err| fail(err.to_string()))?;
        let output = resampler
            .process_all(&input, frames, None)
            .map_err(|err| fail(err.to_string()))?;
        Ok(output.take_data())
    }

    /// The linear gain that brings this voice to [`TARGET_LUFS`], measured
    /// over all of the voice's audio so far including `samples`.
    fn gain(&mut self, voice_key: &str, samples: &[f32]) -> Result<f32, AudioError> {
        let rate = self.rate;
        let fail = |err: ebur128::Error| AudioError::Loudness {
            rate,
            reason: err.to_string(),
        };
        let meter = match self.meters.entry(voice_key.to_owned()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(ebur128::EbuR128::new(1, rate, ebur128::Mode::I).map_err(fail)?)
            }
        };
        meter.add_frames_f32(samples).map_err(fail)?;
        let measured = meter.loudness_global().map_err(fail)?;
        // Under 0.4 s of audio the gated measure has no block yet: fall back
        // to the clip's plain mean-square level.
        let loudness = if measured.is_finite() && measured > -70.0 {
            measured
        } else {
            mean_square_lufs(samples)
        };
        if !loudness.is_finite() {
            return Ok(1.0);
        }
        let db = (TARGET_LUFS - loudness).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
        Ok(10f64.powf(db / 20.0) as f32)
    }
}

/// Unweighted loudness estimate, for clips too short for the gated measure.
fn mean_square_lufs(samples: &[f32]) -> f64 {
    let squares: Vec<f64> = samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .collect();
    if squares.is_empty() {
        return f64::NEG_INFINITY;
    }
    let mean = squares.iter().sum::<f64>() / squares.len() as f64;
    -0.691 + 10.0 * mean.log10()
}

/// Integrated loudness of a whole clip in LUFS (for tests and reports).
pub fn loudness(samples: &[f32], rate: u32) -> Result<f64, AudioError> {
    let fail = |err: ebur128::Error| AudioError::Loudness {
        rate,
        reason: err.to_string(),
    };
    let mut meter = ebur128::EbuR128::new(1, rate, ebur128::Mode::I).map_err(fail)?;
    meter.add_frames_f32(samples).map_err(fail)?;
    meter.loudness_global().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A warbling tone with syllable-like bursts, at `amplitude`.
    fn speechy(rate: u32, seconds: f32, amplitude: f32) -> Clip {
        let n = (rate as f32 * seconds) as usize;
        let samples = (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let envelope = (std::f32::consts::PI * 4.0 * t).sin().abs();
                amplitude
                    * envelope
                    * ((std::f32::consts::TAU * 220.0 * t).sin()
                        + 0.5 * (std::f32::consts::TAU * 1100.0 * t).sin())
                    / 1.5
            })
            .collect();
        Clip {
            samples,
            sample_rate: rate,
        }
    }

    #[test]
    fn resampling_keeps_duration_and_pitch() {
        let mut conformer = Conformer::new(24000);
        let clip = speechy(16000, 2.0, 0.3);
        let out = conformer.conform(clip, "a").unwrap();
        assert_eq!(out.sample_rate, 24000);
        let seconds = out.duration_s();
        assert!((seconds - 2.0).abs() < 0.01, "{seconds} s");
        // Zero crossings per second of the 220 Hz component are kept: count
        // sign changes of the whole signal in both versions.
        let crossings = |c: &Clip| {
            c.samples
                .windows(2)
                .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
                .count() as f64
                / c.duration_s()
        };
        let original = speechy(16000, 2.0, 0.3);
        let ratio = crossings(&out) / crossings(&original);
        assert!((0.97..1.03).contains(&ratio), "{ratio}");
    }

    #[test]
    fn loud_and_quiet_voices_end_up_at_the_same_loudness() {
        let mut conformer = Conformer::new(22050);
        let loud = conformer
            .conform(speechy(22050, 3.0, 0.9), "espeak:en-us")
            .unwrap();
        let quiet = conformer
            .conform(speechy(16000, 3.0, 0.05), "piper:joe")
            .unwrap();
        let a = loudness(&loud.samples, 22050).unwrap();
        let b = loudness(&quiet.samples, 22050).unwrap();
        assert!((a - TARGET_LUFS).abs() < 1.0, "{a}");
        assert!((a - b).abs() < 1.0, "{a} vs {b}");
    }

    #[test]
    fn a_voice_keeps_its_own_dynamics() {
        let mut conformer = Conformer::new(22050);
        let normal = conformer.conform(speechy(22050, 4.0, 0.2), "v").unwrap();
        let shout = conformer.conform(speechy(22050, 2.0, 0.4), "v").unwrap();
        let a = loudness(&normal.samples, 22050).unwrap();
        let b = loudness(&shout.samples, 22050).unwrap();
        assert!(b > a + 2.0, "shout {b} vs normal {a}");
    }

    proptest! {
        #[test]
        fn output_never_clips(amplitude in 0.001f32..4.0, rate in prop::sample::select(vec![16000u32, 22050, 24000])) {
            let mut conformer = Conformer::new(24000);
            let out = conformer.conform(speechy(rate, 0.5, amplitude), "v").unwrap();
            prop_assert!(out.samples.iter().all(|s| s.is_finite() && s.abs() <= PEAK_LIMIT + 1e-6));
        }
    }
}
