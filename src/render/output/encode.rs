//! Encoders: the chapter WAVs (the master) → the formats listeners use,
//! through ffmpeg (Debian's `ffmpeg` package).
//!
//! - MP3, Opus, FLAC: one file per chapter with title, album, track and
//!   artist tags (and the cover, in MP3 and FLAC), each encoded as soon as
//!   its chapter's WAV is final, while later chapters render. MP3 is
//!   192 kbps CBR at 44.1 kHz, as ACX asks.
//! - M4B: one AAC file for the book with a chapter mark per chapter, the
//!   title and author, and the cover. The audio is streamed to one ffmpeg
//!   as chapters finish (one continuous encode, so the marks sit exactly
//!   where the manifest says); chapter marks, tags and cover are added at
//!   the end by a copy, without encoding again.
//!
//! Nothing is written under a final name until it is complete (a
//! `.partial-` file is renamed into place), and an output whose inputs
//! (the WAV's bytes, the tags, the settings) are unchanged since it was
//! made is not made again: `.castbook-encoded.json` records what each
//! output was made from.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::manifest::ChapterEntry;
use crate::fsio::PARTIAL_PREFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Wav,
    M4b,
    Mp3,
    Opus,
    Flac,
}

impl AudioFormat {
    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::M4b => "m4b",
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Opus => "opus",
            AudioFormat::Flac => "flac",
        }
    }

    /// ffmpeg's arguments for the codec, and the container it writes.
    fn codec(self) -> (&'static [&'static str], &'static str) {
        match self {
            AudioFormat::Mp3 => (
                &[
                    "-c:a",
                    "libmp3lame",
                    "-b:a",
                    "192k",
                    "-ar",
                    "44100",
                    "-id3v2_version",
                    "3",
                ],
                "mp3",
            ),
            AudioFormat::Opus => (&["-c:a", "libopus", "-b:a", "48k"], "opus"),
            AudioFormat::Flac => (&["-c:a", "flac"], "flac"),
            // 128 kbps: at 64 the AAC encoder overshoots peaks by 2 dB.
            AudioFormat::M4b => (&["-c:a", "aac", "-b:a", "128k", "-ar", "44100"], "ipod"),
            AudioFormat::Wav => (&[], "wav"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "ffmpeg not found; --format {0} needs it: install the Debian package ffmpeg (scripts/setup does)"
    )]
    NoFfmpeg(&'static str),
    /// Shown as `PATH: CAUSE` by error chains (the cause is `source`).
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: ffmpeg failed: {message}")]
    Ffmpeg { path: PathBuf, message: String },
}

/// Checks once, before a render starts, that ffmpeg runs.
pub fn check_ffmpeg(format: AudioFormat) -> Result<(), EncodeError> {
    let runs = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        Ok(())
    } else {
        Err(EncodeError::NoFfmpeg(format.extension()))
    }
}

/// What the tags say.
#[derive(Debug, Clone, Default)]
pub struct Tags {
    pub title: String,
    pub author: Option<String>,
    pub cover: Option<PathBuf>,
    pub chapters_in_book: usize,
}

/// One output file, made or kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub file: String,
    /// True when it was already up to date.
    pub kept: bool,
}

const STATE_FILE: &str = ".castbook-encoded.json";

/// Encodes chapters as they are finished (see the module docs).
pub struct Encoder {
    format: AudioFormat,
    out_dir: PathBuf,
    tags: Tags,
    /// Output file → what it was made from, from the last run.
    previous: BTreeMap<String, String>,
    current: BTreeMap<String, String>,
    /// The chapter encode running now (one at a time, beside synthesis).
    running: Option<Running>,
    done: Vec<Encoded>,
    book: Option<BookStream>,
    /// For M4B: each chapter's entry and WAV digest, in order.
    chapters: Vec<(ChapterEntry, String)>,
}

struct Running {
    child: Child,
    temp: tempfile::TempPath,
    file: String,
    key: String,
}

/// The M4B's audio, streaming into ffmpeg.
struct BookStream {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    temp: tempfile::TempPath,
    rate: u32,
}

impl Encoder {
    pub fn new(format: AudioFormat, out_dir: &Path, tags: Tags) -> Encoder {
        let previous = std::fs::read(out_dir.join(STATE_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Encoder {
            format,
            out_dir: out_dir.to_owned(),
            tags,
            previous,
            current: BTreeMap::new(),
            running: None,
            done: Vec::new(),
            book: None,
            chapters: Vec::new(),
        }
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> EncodeError {
        let path = path.to_owned();
        move |source| EncodeError::Io {
            path: path.clone(),
            source,
        }
    }

    /// A chapter's WAV is final: encode it (or, for an M4B, stream it).
    pub fn chapter(&mut self, entry: &ChapterEntry) -> Result<(), EncodeError> {
        let wav = self.out_dir.join(&entry.file);
        let digest = file_digest(&wav).map_err(self.io(&wav))?;
        match self.format {
            AudioFormat::Wav => Ok(()),
            AudioFormat::M4b => self.stream_chapter(entry, digest),
            _ => self.encode_chapter(entry, &wav, &digest),
        }
    }

    fn encode_chapter(
        &mut self,
        entry: &ChapterEntry,
        wav: &Path,
        digest: &str,
    ) -> Result<(), EncodeError> {
        let file = Path::new(&entry.file)
            .with_extension(self.format.extension())
            .to_string_lossy()
            .into_owned();
        let track = format!("{}/{}", entry.index, self.tags.chapters_in_book);
        let key = format!(
            "{digest} {:?} {} {:?} {track} {}",
            self.format, self.tags.title, self.tags.author, entry.title
        );
        self.current.insert(file.clone(), key.clone());
        if self.previous.get(&file) == Some(&key) && self.out_dir.join(&file).is_file() {
            self.done.push(Encoded { file, kept: true });
            return Ok(());
        }
        self.wait_running()?;
        let temp = self.temp_path()?;
        let mut args: Vec<String> = vec!["-i".into(), wav.to_string_lossy().into_owned()];
        let cover = self
            .tags
            .cover
            .clone()
            .filter(|_| matches!(self.format, AudioFormat::Mp3 | AudioFormat::Flac));
        if let Some(cover) = &cover {
            args.extend(["-i".into(), cover.to_string_lossy().into_owned()]);
            args.extend(
                [
                    "-map",
                    "0:a",
                    "-map",
                    "1:v",
                    "-c:v",
                    "copy",
                    "-disposition:v",
                    "attached_pic",
                ]
                .map(String::from),
            );
        }
        let (codec, container) = self.format.codec();
        args.extend(codec.iter().map(|s| (*s).to_owned()));
        let mut metadata = vec![
            ("title", entry.title.clone()),
            ("album", self.tags.title.clone()),
            ("track", track),
            ("genre", "Audiobook".to_owned()),
        ];
        if let Some(author) = &self.tags.author {
            metadata.push(("artist", author.clone()));
            metadata.push(("album_artist", author.clone()));
        }
        for (key, value) in metadata {
            args.extend(["-metadata".into(), format!("{key}={value}")]);
        }
        args.extend([
            "-f".into(),
            container.into(),
            temp.to_string_lossy().into_owned(),
        ]);
        let child = ffmpeg(&args)
            .spawn()
            .map_err(|_| EncodeError::NoFfmpeg(self.format.extension()))?;
        self.running = Some(Running {
            child,
            temp,
            file,
            key,
        });
        Ok(())
    }

    fn temp_path(&self) -> Result<tempfile::TempPath, EncodeError> {
        Ok(tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .suffix(&format!(".{}", self.format.extension()))
            .tempfile_in(&self.out_dir)
            .map_err(self.io(&self.out_dir))?
            .into_temp_path())
    }

    /// Waits for the encode in flight and renames its output into place.
    fn wait_running(&mut self) -> Result<(), EncodeError> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        let path = self.out_dir.join(&running.file);
        let output = running.child.wait_with_output().map_err(self.io(&path))?;
        if !output.status.success() {
            return Err(EncodeError::Ffmpeg {
                path,
                message: last_line(&output.stderr),
            });
        }
        make_readable(&running.temp).map_err(self.io(&path))?;
        running.temp.persist(&path).map_err(|e| EncodeError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        self.current.insert(running.file.clone(), running.key);
        self.done.push(Encoded {
            file: running.file,
            kept: false,
        });
        Ok(())
    }

    /// M4B: the book's audio goes to one ffmpeg, in chapter order. It is
    /// started at the first chapter that differs from the last M4B made
    /// (with the chapters before it); if none differs, nothing is encoded.
    fn stream_chapter(&mut self, entry: &ChapterEntry, digest: String) -> Result<(), EncodeError> {
        let position = self.chapters.len();
        self.chapters.push((entry.clone(), digest.clone()));
        let unchanged = self.previous.get(&format!("chapter {position}")) == Some(&digest);
        if self.book.is_none() && unchanged {
            return Ok(());
        }
        if self.book.is_none() {
            let earlier: Vec<String> = self.chapters[..position]
                .iter()
                .map(|(e, _)| e.file.clone())
                .collect();
            self.start_book(entry)?;
            for file in earlier {
                self.feed(&file)?;
            }
        }
        self.feed(&entry.file)
    }

    fn start_book(&mut self, entry: &ChapterEntry) -> Result<(), EncodeError> {
        let wav = self.out_dir.join(&entry.file);
        let rate = hound::WavReader::open(&wav)
            .map(|r| r.spec().sample_rate)
            .map_err(|e| EncodeError::Io {
                path: wav.clone(),
                source: std::io::Error::other(e),
            })?;
        let temp = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .suffix(".m4a")
            .tempfile_in(&self.out_dir)
            .map_err(self.io(&self.out_dir))?
            .into_temp_path();
        let (codec, _) = self.format.codec();
        let mut args: Vec<String> = [
            "-f",
            "s16le",
            "-ar",
            &rate.to_string(),
            "-ac",
            "1",
            "-i",
            "pipe:0",
        ]
        .map(String::from)
        .to_vec();
        args.extend(codec.iter().map(|s| (*s).to_owned()));
        args.extend([
            "-f".into(),
            "ipod".into(),
            temp.to_string_lossy().into_owned(),
        ]);
        let mut child = ffmpeg(&args)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|_| EncodeError::NoFfmpeg("m4b"))?;
        let stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        self.book = Some(BookStream {
            child,
            stdin,
            temp,
            rate,
        });
        Ok(())
    }

    /// Sends one chapter WAV's samples to the M4B's ffmpeg.
    fn feed(&mut self, file: &str) -> Result<(), EncodeError> {
        let wav = self.out_dir.join(file);
        let hound_io = |e: hound::Error| EncodeError::Io {
            path: wav.clone(),
            source: std::io::Error::other(e),
        };
        let mut reader = hound::WavReader::open(&wav).map_err(hound_io)?;
        let book = self.book.as_mut().expect("started");
        if reader.spec().sample_rate != book.rate {
            return Err(EncodeError::Ffmpeg {
                path: wav.clone(),
                message: format!(
                    "sample rate {} differs from the book's {}",
                    reader.spec().sample_rate,
                    book.rate
                ),
            });
        }
        for sample in reader.samples::<i16>() {
            let sample = sample.map_err(hound_io)?;
            if let Err(source) = book.stdin.write_all(&sample.to_le_bytes()) {
                return Err(EncodeError::Io {
                    path: wav.clone(),
                    source,
                });
            }
        }
        Ok(())
    }

    /// Waits for the last encodes, adds the M4B's chapters, tags and
    /// cover, and records what was made. Returns the outputs.
    pub fn finish(mut self) -> Result<Vec<Encoded>, EncodeError> {
        self.wait_running()?;
        if self.format == AudioFormat::M4b {
            self.finish_book()?;
        }
        let state = self.out_dir.join(STATE_FILE);
        let json = serde_json::to_vec_pretty(&self.current).expect("plain map");
        crate::fsio::write_atomically(&state, |f| f.write_all(&json)).map_err(|e| {
            EncodeError::Io {
                path: state.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        Ok(self.done)
    }

    fn finish_book(&mut self) -> Result<(), EncodeError> {
        let file = format!("{}.m4b", crate::ingest::slug(&self.tags.title));
        let path = self.out_dir.join(&file);
        let key = format!(
            "{} {:?} {:?}",
            self.tags.title,
            self.tags.author,
            self.tags.cover.as_ref().and_then(|c| file_digest(c).ok())
        );
        for (n, (_, digest)) in self.chapters.iter().enumerate() {
            self.current.insert(format!("chapter {n}"), digest.clone());
        }
        let titles: Vec<String> = self.chapters.iter().map(|(e, _)| e.title.clone()).collect();
        let key = format!("{key} {titles:?}");
        self.current.insert(file.clone(), key.clone());
        let same_chapters = self
            .previous
            .keys()
            .filter(|k| k.starts_with("chapter "))
            .count()
            == self.chapters.len();
        if self.book.is_none()
            && same_chapters
            && self.previous.get(&file) == Some(&key)
            && path.is_file()
        {
            self.done.push(Encoded { file, kept: true });
            return Ok(());
        }
        // Tags or chapter titles changed, or chapters were removed: the
        // audio is streamed again.
        if self.book.is_none() {
            let first = self.chapters.first().map(|(e, _)| e.clone());
            let Some(first) = first else {
                return Ok(());
            };
            self.start_book(&first)?;
            let files: Vec<String> = self.chapters.iter().map(|(e, _)| e.file.clone()).collect();
            for f in files {
                self.feed(&f)?;
            }
        }
        let book = self.book.take().expect("started");
        let BookStream {
            child, stdin, temp, ..
        } = book;
        drop(stdin.into_inner().map_err(|e| EncodeError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?);
        let output = child.wait_with_output().map_err(self.io(&path))?;
        if !output.status.success() {
            return Err(EncodeError::Ffmpeg {
                path,
                message: last_line(&output.stderr),
            });
        }
        // Chapter marks from the manifest's durations.
        let mut metadata = String::from(";FFMETADATA1\n");
        metadata.push_str(&format!(
            "title={}\nalbum={}\ngenre=Audiobook\n",
            escape_meta(&self.tags.title),
            escape_meta(&self.tags.title)
        ));
        if let Some(author) = &self.tags.author {
            metadata.push_str(&format!(
                "artist={0}\nalbum_artist={0}\n",
                escape_meta(author)
            ));
        }
        let mut start = 0.0;
        for (entry, _) in &self.chapters {
            let end = start + entry.duration_s;
            metadata.push_str(&format!(
                "[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={}\n",
                (start * 1000.0).round() as u64,
                (end * 1000.0).round() as u64,
                escape_meta(&entry.title)
            ));
            start = end;
        }
        let meta_file = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .suffix(".txt")
            .tempfile_in(&self.out_dir)
            .map_err(self.io(&self.out_dir))?;
        std::fs::write(meta_file.path(), metadata).map_err(self.io(meta_file.path()))?;
        let final_temp = self.temp_path()?;
        let mut args: Vec<String> = vec![
            "-i".into(),
            temp.to_string_lossy().into_owned(),
            "-i".into(),
            meta_file.path().to_string_lossy().into_owned(),
        ];
        if let Some(cover) = &self.tags.cover {
            args.extend(["-i".into(), cover.to_string_lossy().into_owned()]);
            args.extend(
                [
                    "-map",
                    "0:a",
                    "-map",
                    "2:v",
                    "-disposition:v",
                    "attached_pic",
                ]
                .map(String::from),
            );
        } else {
            args.extend(["-map", "0:a"].map(String::from));
        }
        args.extend(
            [
                "-map_metadata",
                "1",
                "-map_chapters",
                "1",
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                "-f",
                "ipod",
            ]
            .map(String::from),
        );
        args.push(final_temp.to_string_lossy().into_owned());
        let output = ffmpeg(&args)
            .output()
            .map_err(|_| EncodeError::NoFfmpeg("m4b"))?;
        if !output.status.success() {
            return Err(EncodeError::Ffmpeg {
                path,
                message: last_line(&output.stderr),
            });
        }
        make_readable(&final_temp).map_err(self.io(&path))?;
        final_temp.persist(&path).map_err(|e| EncodeError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        self.done.push(Encoded { file, kept: false });
        Ok(())
    }
}

fn ffmpeg(args: &[String]) -> Command {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_owned()
}

/// FFMETADATA escapes `=`, `;`, `#`, `\` and newlines.
fn escape_meta(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '=' | ';' | '#' | '\\' | '\n') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

fn make_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_escaped() {
        assert_eq!(escape_meta("A=B; #1\\"), "A\\=B\\; \\#1\\\\");
    }
}
