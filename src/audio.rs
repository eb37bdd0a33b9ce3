//! Audio: make clips from different engines sit together in one chapter.
//!
//! Engines return mono clips at their own sample rate and their own level
//! (espeak is loud and flat, Piper models vary). Before a clip is written,
//! [`Conformer::conform`] resamples it to the book's rate with rubato's
//! synchronous FFT resampler and scales it to the same EBU R128 loudness
//! whatever the voice, so no character is much louder than another. A peak
//! limit keeps the gain from clipping.
//!
//! Each clip is levelled on its own, from its own loudness: the result must
//! not depend on which other clips this run happens to render (chapters are
//! rendered selectively, resumed and cached; see `render`). The price
//! is that a voice's line-to-line dynamics are flattened too.
//!
//! A clip already at the book's rate needs only its gain ([`level_gain`]),
//! which workers measure (with the ebur128 crate) as they synthesise and
//! store with the clip, so the mixing process, which competes with the
//! workers for the same cores, just applies it.

use std::collections::HashMap;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::cache::{CachedClip, quantise};
use crate::core::Clip;

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
}

/// Brings clips to one sample rate and one loudness.
pub struct Conformer {
    rate: u32,
    resamplers: HashMap<u32, Fft<f32>>,
}

impl Conformer {
    /// Output at `rate` Hz: the highest rate among the book's voices, so
    /// nothing is ever downsampled.
    pub fn new(rate: u32) -> Conformer {
        Conformer {
            rate,
            resamplers: HashMap::new(),
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// [`Conformer::conform`] for a cached 16-bit segment, with the same
    /// result sample for sample. A segment already at the output rate is
    /// levelled in place: a long book's longest sentence is then held once,
    /// as 16-bit samples, not also as two float copies (that was the
    /// render's peak memory).
    ///
    /// `gain` is [`level_gain`] of the segment at its own rate, if already
    /// known (workers measure it when they synthesise, so the mixing
    /// process need not); it is used only when no resampling is needed.
    pub fn conform_segment(
        &mut self,
        mut segment: CachedClip,
        gain: Option<f32>,
    ) -> Result<CachedClip, AudioError> {
        if segment.sample_rate != self.rate && !segment.samples.is_empty() {
            let clip = Clip::from_f32(
                segment.samples.iter().map(|&s| to_float(s)).collect(),
                segment.sample_rate,
            );
            let clip = self.conform(clip)?;
            return Ok(CachedClip {
                sample_rate: clip.sample_rate,
                samples: clip.into_f32().iter().map(|&s| to_int(s)).collect(),
            });
        }
        let gain = match gain {
            Some(gain) => gain,
            None => level_gain(&segment.samples, self.rate),
        };
        if gain != 1.0 {
            // One multiply and a rounding per sample, vectorised: this is
            // most of what the mixing process does per sample.
            for sample in segment.samples.iter_mut() {
                *sample = to_int(to_float(*sample) * gain);
            }
        }
        segment.sample_rate = self.rate;
        Ok(segment)
    }

    /// Resamples `clip` to the output rate and brings it to [`TARGET_LUFS`].
    pub fn conform(&mut self, clip: Clip) -> Result<Clip, AudioError> {
        let mut samples = self.resample(clip)?;
        let gain = self.gain(&samples);
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        let gain = limit(gain, peak);
        for sample in &mut samples {
            *sample *= gain;
        }
        Ok(Clip::from_f32(samples, self.rate))
    }

    fn resample(&mut self, clip: Clip) -> Result<Vec<f32>, AudioError> {
        let (from, to) = (clip.sample_rate, self.rate);
        let samples = clip.into_f32();
        if from == to || samples.is_empty() {
            return Ok(samples);
        }
        let fail = |reason: String| AudioError::Resample { from, to, reason };
        let resampler = match self.resamplers.entry(from) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
                    .map_err(|err| fail(err.to_string()))?,
            ),
        };
        let frames = samples.len();
        let input =
            InterleavedSlice::new(&samples, 1, frames).map_err(|err| fail(err.to_string()))?;
        let output = resampler
            .process_all(&input, frames, None)
            .map_err(|err| fail(err.to_string()))?;
        Ok(output.take_data())
    }

    /// The linear gain that brings `samples` to [`TARGET_LUFS`].
    fn gain(&self, samples: &[f32]) -> f32 {
        let measured = loudness(samples, self.rate);
        gain_for(measured, || mean_square_lufs(samples.iter().copied()))
    }
}

/// The gain [`Conformer::conform`] gives a 16-bit clip at `rate` when no
/// resampling is needed: to [`TARGET_LUFS`], peak-limited.
pub fn level_gain(samples: &[i16], rate: u32) -> f32 {
    // ebur128 reads i16 as s / 32768, exactly what `to_float` gives.
    let measured = integrated_loudness(rate, |meter| meter.add_frames_i16(samples));
    let gain = gain_for(measured, || {
        mean_square_lufs(samples.iter().map(|&s| to_float(s)))
    });
    let peak = samples.iter().fold(0f32, |m, &s| m.max(to_float(s).abs()));
    limit(gain, peak)
}

/// Integrated loudness in LUFS (EBU R128 / ITU-R BS.1770) of a mono clip
/// that `add` feeds to the meter; -inf when no 400 ms block passes the
/// gates (too short or too quiet), and for a rate the meter refuses (no
/// engine has one), so that the clip falls back to the plain mean square.
fn integrated_loudness(
    rate: u32,
    add: impl FnOnce(&mut ebur128::EbuR128) -> Result<(), ebur128::Error>,
) -> f64 {
    ebur128::EbuR128::new(1, rate, ebur128::Mode::I)
        .and_then(|mut meter| {
            add(&mut meter)?;
            meter.loudness_global()
        })
        .unwrap_or(f64::NEG_INFINITY)
}

#[inline]
fn to_float(sample: i16) -> f32 {
    f32::from(sample) / 32768.0
}

#[inline]
fn to_int(sample: f32) -> i16 {
    quantise(sample)
}

/// `gain`, lowered if it would push `peak` past [`PEAK_LIMIT`].
fn limit(gain: f32, peak: f32) -> f32 {
    if peak * gain > PEAK_LIMIT {
        PEAK_LIMIT / peak
    } else {
        gain
    }
}

/// The gain from a gated loudness measure; `fallback` is the level used
/// when the clip is too short for it.
fn gain_for(measured: f64, fallback: impl FnOnce() -> f64) -> f32 {
    // Under 0.4 s of audio the gated measure has no block: fall back to
    // the clip's plain mean-square level.
    let level = if measured.is_finite() && measured > -70.0 {
        measured
    } else {
        fallback()
    };
    if !level.is_finite() {
        return 1.0;
    }
    let db = (TARGET_LUFS - level).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
    10f64.powf(db / 20.0) as f32
}

/// Unweighted loudness estimate, for clips too short for the gated measure.
fn mean_square_lufs(samples: impl Iterator<Item = f32>) -> f64 {
    let (mut sum, mut count) = (0f64, 0usize);
    for s in samples {
        sum += f64::from(s) * f64::from(s);
        count += 1;
    }
    if count == 0 {
        return f64::NEG_INFINITY;
    }
    -0.691 + 10.0 * (sum / count as f64).log10()
}

/// Integrated loudness of a whole clip in LUFS (-inf when silent).
pub fn loudness(samples: &[f32], rate: u32) -> f64 {
    integrated_loudness(rate, |meter| meter.add_frames_f32(samples))
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
        Clip::from_f32(samples, rate)
    }

    #[test]
    fn resampling_keeps_duration_and_pitch() {
        let mut conformer = Conformer::new(24000);
        let clip = speechy(16000, 2.0, 0.3);
        let out = conformer.conform(clip).unwrap();
        assert_eq!(out.sample_rate, 24000);
        let seconds = out.duration_s();
        assert!((seconds - 2.0).abs() < 0.01, "{seconds} s");
        // Zero crossings per second of the 220 Hz component are kept: count
        // sign changes of the whole signal in both versions.
        let crossings = |c: &Clip| {
            c.to_f32()
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
        let loud = conformer.conform(speechy(22050, 3.0, 0.9)).unwrap();
        let quiet = conformer.conform(speechy(16000, 3.0, 0.05)).unwrap();
        let a = loudness(&loud.into_f32(), 22050);
        let b = loudness(&quiet.into_f32(), 22050);
        assert!((a - TARGET_LUFS).abs() < 1.0, "{a}");
        assert!((a - b).abs() < 1.0, "{a} vs {b}");
    }

    #[test]
    fn segments_round_trip_and_short_clips_are_levelled() {
        let mut conformer = Conformer::new(22050);
        let clip = speechy(22050, 0.2, 0.01);
        let segment = CachedClip::from_clip(clip);
        let out = conformer.conform_segment(segment.clone(), None).unwrap();
        assert_eq!(out.sample_rate, 22050);
        assert_eq!(out.samples.len(), segment.samples.len());
        let peak = |s: &CachedClip| s.samples.iter().map(|x| x.unsigned_abs()).max().unwrap();
        assert!(
            peak(&out) > 5 * peak(&segment),
            "a quiet short clip is raised"
        );
        // Same input, same output: nothing carries over between clips.
        assert_eq!(
            conformer.conform_segment(segment.clone(), None).unwrap(),
            out
        );
    }

    #[test]
    fn segments_at_the_output_rate_are_levelled_as_float_clips_are() {
        // The in-place path must give the bytes the float path gives.
        for (seconds, amplitude) in [(2.0, 0.3), (0.2, 0.01), (1.0, 0.99), (0.0, 0.5)] {
            let segment = CachedClip::from_clip(speechy(22050, seconds, amplitude));
            let mut conformer = Conformer::new(22050);
            let via_float = conformer
                .conform(Clip::from_f32(
                    segment.samples.iter().map(|&s| to_float(s)).collect(),
                    22050,
                ))
                .unwrap();
            let expected: Vec<i16> = via_float.into_f32().iter().map(|&s| to_int(s)).collect();
            assert_eq!(
                conformer.conform_segment(segment, None).unwrap().samples,
                expected
            );
        }
    }

    proptest! {
        #[test]
        fn output_never_clips(amplitude in 0.001f32..4.0, rate in prop::sample::select(vec![16000u32, 22050, 24000])) {
            let mut conformer = Conformer::new(24000);
            let out = conformer.conform(speechy(rate, 0.5, amplitude)).unwrap();
            prop_assert!(out.into_f32().iter().all(|s| s.is_finite() && s.abs() <= PEAK_LIMIT + 1e-6));
        }
    }
}
