//! ACX mastering and its check: each chapter's RMS brought to −20 dB and
//! its true peak held under a ceiling by a look-ahead limiter (never by
//! clipping), and the figures ACX asks about measured: true peak, RMS,
//! silence at the head and the tail.
//!
//! The limiter streams: it reads the chapter twice (once to measure the
//! RMS, once to master it) and holds only a window of samples, so a
//! three-hour chapter costs no more memory than a short one. Its gain is
//! the minimum over ±`LOOKAHEAD` of the gain each sample needs (judged
//! on a 4× oversampled signal, the way true peak is measured), then
//! averaged over the same span: every sample's gain is at most what it
//! needs, and the gain moves smoothly.
//!
//! RMS is of the whole chapter, pauses included, in dB of full scale (a
//! full-scale square wave is 0 dB), as `ffmpeg astats` and ACX's checkers
//! report it.

use std::collections::VecDeque;
use std::path::Path;

/// Changes whenever mastering changes the bytes it writes.
pub const VERSION: &str = "acx-v1";

/// ACX: peaks at most −3 dBFS, RMS −23..−18 dB, 0.5–1 s of room tone at
/// the head and 1–5 s at the tail.
pub const ACX_PEAK_DB: f64 = -3.0;
pub const ACX_RMS_DB: (f64, f64) = (-23.0, -18.0);
pub const ACX_HEAD_S: (f64, f64) = (0.5, 1.0);
pub const ACX_TAIL_S: (f64, f64) = (1.0, 5.0);

/// Where mastering puts the RMS.
const TARGET_RMS_DB: f64 = -20.0;
/// The limiter's true-peak ceiling: a dB under ACX's, for the overshoot
/// of lossy encoders.
const CEILING_DB: f64 = -4.5;
/// Half the limiter's window.
const LOOKAHEAD_S: f64 = 0.004;
/// Above this (−50 dBFS) a sample is sound, not silence.
const SILENCE: f64 = 0.003_162;

/// A chapter's figures, as ACX asks about them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// True peak, dBFS (4× oversampled, as ITU BS.1770).
    pub peak_db: f64,
    pub rms_db: f64,
    /// Silence before the first sound and after the last, seconds.
    pub head_s: f64,
    pub tail_s: f64,
}

impl Figures {
    /// What falls outside ACX's limits, in words; empty when it passes.
    pub fn acx_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.peak_db > ACX_PEAK_DB {
            problems.push(format!("peak {:.1} dB > {ACX_PEAK_DB} dB", self.peak_db));
        }
        if !(ACX_RMS_DB.0..=ACX_RMS_DB.1).contains(&self.rms_db) {
            problems.push(format!(
                "RMS {:.1} dB outside {}..{} dB",
                self.rms_db, ACX_RMS_DB.0, ACX_RMS_DB.1
            ));
        }
        if !(ACX_HEAD_S.0..=ACX_HEAD_S.1).contains(&self.head_s) {
            problems.push(format!(
                "head silence {:.2} s outside {}..{} s",
                self.head_s, ACX_HEAD_S.0, ACX_HEAD_S.1
            ));
        }
        if !(ACX_TAIL_S.0..=ACX_TAIL_S.1).contains(&self.tail_s) {
            problems.push(format!(
                "tail silence {:.2} s outside {}..{} s",
                self.tail_s, ACX_TAIL_S.0, ACX_TAIL_S.1
            ));
        }
        problems
    }

    /// `peak -4.6 dB  RMS -20.1 dB  head 0.61 s  tail 1.21 s`
    pub fn describe(&self) -> String {
        format!(
            "peak {:.1} dB  RMS {:.1} dB  head {:.2} s  tail {:.2} s",
            self.peak_db, self.rms_db, self.head_s, self.tail_s
        )
    }
}

/// Measures a 16-bit mono WAV.
pub fn measure(path: &Path) -> Result<Figures, hound::Error> {
    let mut reader = hound::WavReader::open(path)?;
    let rate = reader.spec().sample_rate;
    let mut meter = Meter::new(rate);
    for sample in reader.samples::<i16>() {
        meter.add(f64::from(sample?) / 32768.0);
    }
    Ok(meter.figures())
}

/// Running figures over a stream of samples.
struct Meter {
    rate: u32,
    peak: TruePeak,
    squares: f64,
    count: u64,
    first_sound: Option<u64>,
    last_sound: Option<u64>,
}

impl Meter {
    fn new(rate: u32) -> Meter {
        Meter {
            rate,
            peak: TruePeak::default(),
            squares: 0.0,
            count: 0,
            first_sound: None,
            last_sound: None,
        }
    }

    fn add(&mut self, x: f64) {
        self.peak.add(x);
        self.squares += x * x;
        if x.abs() > SILENCE {
            self.first_sound.get_or_insert(self.count);
            self.last_sound = Some(self.count);
        }
        self.count += 1;
    }

    fn figures(mut self) -> Figures {
        let peak = self.peak.finish();
        let rate = f64::from(self.rate);
        let rms = (self.squares / self.count.max(1) as f64).sqrt();
        let (head, tail) = match (self.first_sound, self.last_sound) {
            (Some(first), Some(last)) => (first, self.count - 1 - last),
            _ => (self.count, self.count),
        };
        Figures {
            peak_db: db(peak),
            rms_db: db(rms),
            head_s: head as f64 / rate,
            tail_s: tail as f64 / rate,
        }
    }
}

fn db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        -200.0
    }
}

/// Taps each side of an interpolated point.
const HALF_TAPS: usize = 8;

/// 4× oversampling filters for the points 1/4, 2/4 and 3/4 of the way
/// between two samples: a Hann-windowed sinc over 16 samples.
fn phases() -> &'static [[f64; 2 * HALF_TAPS]; 3] {
    static PHASES: std::sync::OnceLock<[[f64; 2 * HALF_TAPS]; 3]> = std::sync::OnceLock::new();
    PHASES.get_or_init(|| {
        let mut out = [[0.0; 2 * HALF_TAPS]; 3];
        for (p, phase) in out.iter_mut().enumerate() {
            let frac = (p + 1) as f64 / 4.0;
            for (k, tap) in phase.iter_mut().enumerate() {
                // Sample k sits at offset k - (HALF_TAPS - 1) from the left neighbour.
                let t = k as f64 - (HALF_TAPS as f64 - 1.0) - frac;
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                };
                let window =
                    0.5 + 0.5 * (std::f64::consts::PI * t / (HALF_TAPS as f64 + 0.5)).cos();
                *tap = sinc * window;
            }
        }
        out
    })
}

/// The largest magnitude at and between sample `at` and `at + 1` of `x`
/// (values outside `x` are silence).
fn peak_near(x: &[f64], at: usize, base: isize) -> f64 {
    let get = |i: isize| -> f64 {
        let j = i - base;
        if j < 0 || j as usize >= x.len() {
            0.0
        } else {
            x[j as usize]
        }
    };
    let at = at as isize;
    let mut peak = get(at).abs();
    for phase in phases() {
        let mut sum = 0.0;
        for (k, tap) in phase.iter().enumerate() {
            sum += tap * get(at + k as isize - (HALF_TAPS as isize - 1));
        }
        peak = peak.max(sum.abs());
    }
    peak
}

/// True peak over a stream, through a sliding window of samples.
#[derive(Default)]
struct TruePeak {
    window: VecDeque<f64>,
    peak: f64,
}

impl TruePeak {
    fn add(&mut self, x: f64) {
        self.window.push_back(x);
        if self.window.len() == 2 * HALF_TAPS {
            self.measure_middle();
            self.window.pop_front();
        }
    }

    fn measure_middle(&mut self) {
        let (a, b) = self.window.as_slices();
        let joined: Vec<f64> = a.iter().chain(b).copied().collect();
        self.peak = self.peak.max(peak_near(&joined, HALF_TAPS - 1, 0));
    }

    fn finish(&mut self) -> f64 {
        // The last samples, with silence after them.
        for _ in 0..HALF_TAPS {
            self.window.push_back(0.0);
            if self.window.len() >= 2 * HALF_TAPS {
                self.measure_middle();
                self.window.pop_front();
            }
        }
        for &x in &self.window {
            self.peak = self.peak.max(x.abs());
        }
        self.peak
    }
}

/// Masters the WAV at `input` into `output` (16-bit mono, same rate) and
/// returns the output's figures.
pub fn master(input: &Path, output: &Path) -> Result<Figures, hound::Error> {
    let before = measure(input)?;
    let gain = 10f64.powf((TARGET_RMS_DB - before.rms_db) / 20.0);
    let gain = if before.rms_db < -150.0 { 1.0 } else { gain };
    let mut reader = hound::WavReader::open(input)?;
    let spec = reader.spec();
    let total = reader.duration() as usize;
    let lookahead = ((f64::from(spec.sample_rate) * LOOKAHEAD_S) as usize).max(1);
    let ceiling = 10f64.powf(CEILING_DB / 20.0);
    let mut writer = hound::WavWriter::create(output, spec)?;
    let mut samples = reader.samples::<i16>();

    // x holds samples [base, base + x.len()), gain applied.
    let margin = 2 * lookahead + HALF_TAPS + 1;
    let chunk = 1 << 16;
    let mut x: Vec<f64> = Vec::new();
    let mut base = 0usize;
    let mut next = 0usize;
    let mut meter = Meter::new(spec.sample_rate);
    while next < total {
        while base + x.len() < (next + chunk + margin).min(total) {
            match samples.next() {
                Some(s) => x.push(f64::from(s?) / 32768.0 * gain),
                None => break,
            }
        }
        let known = base + x.len();
        let end = (next + chunk).min(known).min(total);
        // Gains each sample needs, over [next - 2L, end + 2L).
        let g0 = next as isize - 2 * lookahead as isize;
        let g1 = (end + 2 * lookahead) as isize;
        let needed: Vec<f64> = (g0..g1)
            .map(|i| {
                if i < 0 || i as usize >= total {
                    1.0
                } else {
                    let peak = peak_near(&x, i as usize, base as isize);
                    if peak > ceiling { ceiling / peak } else { 1.0 }
                }
            })
            .collect();
        // Minimum over ±L: h[i] for i in [next - L, end + L).
        let held = sliding_min(&needed, lookahead);
        // held[j] corresponds to needed index j + L.
        let prefix: Vec<f64> = std::iter::once(0.0)
            .chain(held.iter().scan(0.0, |sum, &h| {
                *sum += h;
                Some(*sum)
            }))
            .collect();
        let width = (2 * lookahead + 1) as f64;
        for n in next..end {
            // h index for sample n is n - (next - L); average over ±L.
            let centre = n - next + lookahead;
            let smooth = (prefix[centre + lookahead + 1] - prefix[centre - lookahead]) / width;
            let y = x[n - base] * smooth;
            let out = (y * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            writer.write_sample(out)?;
            meter.add(f64::from(out) / 32768.0);
        }
        next = end;
        // Keep what the next chunk looks back at.
        let keep_from = next.saturating_sub(margin).max(base);
        x.drain(..keep_from - base);
        base = keep_from;
    }
    writer.finalize()?;
    Ok(meter.figures())
}

/// `out[j] = min(v[j .. j + 2L + 1])` for every full window.
fn sliding_min(v: &[f64], l: usize) -> Vec<f64> {
    let width = 2 * l + 1;
    let mut out = Vec::with_capacity(v.len().saturating_sub(width - 1));
    let mut deque: VecDeque<usize> = VecDeque::new();
    for (i, &value) in v.iter().enumerate() {
        while deque.back().is_some_and(|&b| v[b] >= value) {
            deque.pop_back();
        }
        deque.push_back(i);
        if deque.front().is_some_and(|&f| f + width <= i) {
            deque.pop_front();
        }
        if i + 1 >= width {
            out.push(v[*deque.front().expect("window")]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, rate: u32, samples: &[i16]) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &s in samples {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
    }

    /// Speech-like test signal: bursts of a loud, peaky tone with pauses.
    fn bursts(rate: u32, seconds: f64) -> Vec<i16> {
        let n = (f64::from(rate) * seconds) as usize;
        let head = rate as usize * 6 / 10;
        let tail = rate as usize * 12 / 10;
        (0..n)
            .map(|i| {
                if i < head || i >= n - tail || (i / (rate as usize / 3)) % 3 == 2 {
                    return 0;
                }
                let t = i as f64 / f64::from(rate);
                let tone = (2.0 * std::f64::consts::PI * 220.0 * t).sin() * 0.3
                    + (2.0 * std::f64::consts::PI * 3_100.0 * t).sin() * 0.6;
                (tone * 32000.0) as i16
            })
            .collect()
    }

    #[test]
    fn mastered_chapters_meet_acx_without_clipping() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, done) = (dir.path().join("raw.wav"), dir.path().join("done.wav"));
        let rate = 22050;
        write(&raw, rate, &bursts(rate, 12.0));
        let before = measure(&raw).unwrap();
        assert!(before.peak_db > ACX_PEAK_DB, "{before:?}");
        let after = master(&raw, &done).unwrap();
        assert_eq!(after, measure(&done).unwrap());
        assert!(after.acx_problems().is_empty(), "{after:?}");
        assert!(after.peak_db <= CEILING_DB + 0.2, "{after:?}");
        assert!((after.rms_db - TARGET_RMS_DB).abs() < 1.5, "{after:?}");
        // Timing is untouched: same length, same silences.
        let reader = hound::WavReader::open(&done).unwrap();
        assert_eq!(reader.duration(), (rate as f64 * 12.0) as u32);
        assert!((after.head_s - before.head_s).abs() < 0.01);
        // Limited, not clipped: no run of equal full-scale samples.
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        let ceiling = (10f64.powf(ACX_PEAK_DB / 20.0) * 32768.0) as i16;
        assert!(samples.iter().all(|s| s.unsigned_abs() < ceiling as u16));
    }

    #[test]
    fn true_peak_sees_between_samples() {
        // A quarter-rate sine sampled at ±45°: samples at 0.707, true peak 1.0.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wav");
        let samples: Vec<i16> = (0..4000)
            .map(|i| {
                let phase = std::f64::consts::FRAC_PI_4 + std::f64::consts::FRAC_PI_2 * i as f64;
                (phase.sin() * 0.5 * 32767.0) as i16
            })
            .collect();
        write(&path, 8000, &samples);
        let figures = measure(&path).unwrap();
        let sample_peak = db(0.5 * std::f64::consts::FRAC_1_SQRT_2);
        assert!(figures.peak_db > sample_peak + 2.0, "{figures:?}");
        assert!((figures.peak_db - db(0.5)).abs() < 0.3, "{figures:?}");
    }

    #[test]
    fn sliding_minimum() {
        assert_eq!(
            sliding_min(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0], 1),
            [1.0, 1.0, 1.0, 1.0, 2.0]
        );
    }
}
