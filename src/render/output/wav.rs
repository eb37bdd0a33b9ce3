//! Chapter WAVs: 16-bit mono at the book's rate, written in bulk, and the
//! one-clip WAV of `castbook say`.

use std::io::Write;
use std::path::Path;

use crate::cache::CachedClip;
use crate::core::Clip;
use crate::fsio;

use super::super::RenderError;
use super::super::assemble::{scale, trim_silence};

/// The format of every WAV castbook writes.
pub fn wav_spec(sample_rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// writer (far cheaper than a checked call per sample), in bounded chunks
/// so that its buffer does not grow to the longest clip.
pub fn write_bulk<W: std::io::Write + std::io::Seek>(
    writer: &mut hound::WavWriter<W>,
    count: u64,
    mut sample: impl FnMut(usize) -> i16,
) -> Result<(), hound::Error> {
    const CHUNK: u64 = 16 * 1024;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(CHUNK);
        let mut chunk = writer.get_i16_writer(n as u32);
        for index in done..done + n {
            chunk.write_sample(sample(index as usize));
        }
        chunk.flush()?;
        done += n;
    }
    Ok(())
}

/// Whether `new` and `old` hold the same bytes (false if `old` is missing).
pub fn same_contents(new: &Path, old: &Path) -> std::io::Result<bool> {
    let Ok(old_meta) = std::fs::metadata(old) else {
        return Ok(false);
    };
    if !old_meta.is_file() || old_meta.len() != std::fs::metadata(new)?.len() {
        return Ok(false);
    }
    let hash = |path: &Path| -> std::io::Result<blake3::Hash> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(path)?)?;
        Ok(hasher.finalize())
    };
    Ok(hash(new)? == hash(old)?)
}

/// Writes one clip as a 16-bit mono WAV (for `castbook say`), trimmed of the
/// engine's padding and scaled by `volume`.
pub fn write_clip(path: &Path, clip: Clip, volume: f32) -> Result<(), RenderError> {
    let segment = CachedClip::from_clip(clip);
    let mut bytes = std::io::Cursor::new(Vec::new());
    let wav_err = |source| RenderError::Wav {
        path: path.to_owned(),
        source,
    };
    let mut writer =
        hound::WavWriter::new(&mut bytes, wav_spec(segment.sample_rate)).map_err(wav_err)?;
    for &sample in trim_silence(&segment) {
        writer
            .write_sample(scale(sample, volume))
            .map_err(wav_err)?;
    }
    writer.finalize().map_err(wav_err)?;
    Ok(fsio::write_atomically(path, |file| {
        file.write_all(bytes.get_ref())
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Samples;

    #[test]
    fn a_folder_in_the_old_files_place_is_not_the_same_contents() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.wav");
        std::fs::create_dir(&old).unwrap();
        // As long as the folder's size, so that only its being no file
        // tells them apart.
        let new = dir.path().join("new.wav");
        let len = std::fs::metadata(&old).unwrap().len() as usize;
        std::fs::write(&new, vec![0u8; len]).unwrap();
        assert!(!same_contents(&new, &old).unwrap());
        assert!(same_contents(&new, &new).unwrap());
    }

    #[test]
    fn a_said_clip_is_a_trimmed_scaled_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("say.wav");
        // 1000 Hz: a 10-sample margin around the speech, 30 samples of it.
        let mut samples = vec![0_i16; 200];
        samples[100..130].fill(2000);
        let clip = Clip {
            samples: Samples::I16(samples),
            sample_rate: 1000,
        };
        write_clip(&path, clip, 0.5).unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec(), wav_spec(1000));
        let written: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        let mut expected = vec![0_i16; 50];
        expected[10..40].fill(1000);
        assert_eq!(written, expected);
    }
}
