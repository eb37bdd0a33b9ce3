//! The one integration test binary: runs the real `castbook` command.
//!
//! [`Test`] builds a scratch folder with a story (and optionally a
//! voices.toml), runs a command in it, and checks the outcome, in the style
//! of just's test builder; [`Outcome`] reads what the command left (its
//! manifest, its WAVs). Every module uses them. Each area of the CLI has
//! its own module.

mod books;
mod casting;
mod errors;
mod formats;
mod kokoro;
mod novel;
mod output;
mod piper;
mod render;
mod script;
mod studio;

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub struct Test {
    dir: TempDir,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    stdout_closed: bool,
    stderr: Option<String>,
    env: Vec<(String, String)>,
    kokoro: bool,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    expected_stderr: Option<String>,
    pub dir: PathBuf,
    kokoro: bool,
    _keep: TempDir,
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        Test::in_dir(tempfile::tempdir().expect("temp dir"))
    }

    fn in_dir(dir: TempDir) -> Test {
        Test {
            dir,
            args: Vec::new(),
            stdin: None,
            stdout_closed: false,
            stderr: None,
            env: Vec::new(),
            kokoro: false,
        }
    }

    /// Writes `contents` to `name` inside the scratch folder.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(path, contents).expect("write test file");
        self
    }

    pub fn story(self, text: &str) -> Test {
        self.file("story.txt", text)
    }

    pub fn voices(self, toml: &str) -> Test {
        self.file("voices.toml", toml)
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(input.into());
        self
    }

    /// Runs with standard output connected to a pipe whose reader has
    /// already gone, as when `| head` stops reading.
    pub fn stdout_closed(mut self) -> Test {
        self.stdout_closed = true;
        self
    }

    /// Expects exactly `text` on stderr (checked by [`Test::succeeds`]).
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = Some(text.to_owned());
        self
    }

    /// Lets castbook find the project's Kokoro install. Without it, tests
    /// run as on a machine without Kokoro, so the auto-cast default (which
    /// is Kokoro's where it is installed) is espeak's whatever the machine.
    pub fn with_kokoro(mut self) -> Test {
        self.kokoro = true;
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The castbook command, in the scratch folder, with the test's
    /// arguments, for tests that need to start it themselves (to kill it).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_castbook"));
        command
            .current_dir(self.dir.path())
            .args(&self.args)
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("CASTBOOK_ATTRIBUTION_MODEL")
            // The project's local installs (ONNX Runtime, voices), also
            // when the binary is built elsewhere (CARGO_TARGET_DIR).
            .env("CASTBOOK_VENV", project_venv());
        if !self.kokoro {
            command.env("CASTBOOK_KOKORO_DIR", NO_KOKORO);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    #[track_caller]
    pub fn run(self) -> Outcome {
        use std::io::Write;
        use std::process::Stdio;
        let mut command = self.command();
        command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        command.stderr(Stdio::piped());
        if self.stdout_closed {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            command.stdout(writer);
        } else {
            command.stdout(Stdio::piped());
        }
        let mut child = command.spawn().expect("run castbook");
        if let Some(input) = &self.stdin {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(input).expect("write stdin");
        }
        // The command owns the pipe's writer: drop it so nothing here
        // keeps the closed pipe open.
        drop(command);
        let output = child.wait_with_output().expect("wait for castbook");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            expected_stderr: self.stderr,
            dir: self.dir.path().to_owned(),
            kokoro: self.kokoro,
            _keep: self.dir,
        }
    }

    /// Runs and asserts success (and the expected stderr, if given).
    #[track_caller]
    pub fn succeeds(self) -> Outcome {
        let outcome = self.run();
        assert_eq!(outcome.code, 0, "stderr: {}", outcome.stderr);
        if let Some(expected) = &outcome.expected_stderr {
            assert_eq!(&outcome.stderr, expected, "stderr");
        }
        outcome
    }

    /// Runs and asserts exit `code` with a single-line error on stderr.
    #[track_caller]
    pub fn fails(self, code: i32) -> Outcome {
        let outcome = self.run();
        assert_eq!(
            outcome.code, code,
            "stdout: {}\nstderr: {}",
            outcome.stdout, outcome.stderr
        );
        assert_eq!(
            outcome.stderr.trim_end().lines().count(),
            1,
            "one-line error expected: {}",
            outcome.stderr
        );
        assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
        outcome
    }
}

impl Outcome {
    /// A new command in the same scratch folder, to run after this one.
    pub fn then(self) -> Test {
        let test = Test::in_dir(self._keep);
        if self.kokoro {
            test.with_kokoro()
        } else {
            test
        }
    }

    /// stderr with the scratch folder replaced by `[DIR]`, for snapshots.
    pub fn stderr_redacted(&self) -> String {
        self.stderr
            .replace(&self.dir.display().to_string(), "[DIR]")
    }

    #[track_caller]
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `<out>/manifest.json`, parsed.
    #[track_caller]
    pub fn manifest(&self, out: &str) -> serde_json::Value {
        serde_json::from_slice(&self.read(&format!("{out}/manifest.json"))).expect("manifest JSON")
    }

    /// The WAV at `name` (a 16-bit mono file, as castbook writes).
    #[track_caller]
    pub fn wav(&self, name: &str) -> Wav {
        Wav::read(&self.read(name))
    }

    /// The chapter WAVs in folder `out` (see [`wavs`]).
    pub fn wavs(&self, out: &str) -> Vec<(String, Vec<u8>)> {
        wavs(&self.dir.join(out))
    }
}

/// The WAV files in `dir` (file name → bytes), by name.
pub fn wavs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A 16-bit mono WAV's samples.
pub struct Wav {
    pub rate: u32,
    pub samples: Vec<i16>,
}

impl Wav {
    #[track_caller]
    pub fn read(bytes: &[u8]) -> Wav {
        let reader = hound::WavReader::new(bytes).expect("a WAV file");
        let spec = reader.spec();
        assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
        Wav {
            rate: spec.sample_rate,
            samples: reader.into_samples::<i16>().map(Result::unwrap).collect(),
        }
    }

    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }

    /// Root mean square level (full scale 1.0) from `from_s` to `to_s`.
    pub fn rms(&self, from_s: f64, to_s: f64) -> f64 {
        let part = &self.samples[((from_s * f64::from(self.rate)) as usize).min(self.samples.len())
            ..((to_s * f64::from(self.rate)) as usize).min(self.samples.len())];
        (part
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum::<f64>()
            / part.len().max(1) as f64)
            .sqrt()
    }

    /// The largest sample magnitude.
    pub fn peak(&self) -> i32 {
        self.samples
            .iter()
            .map(|s| i32::from(s.unsigned_abs()))
            .max()
            .unwrap_or(0)
    }
}

/// A Kokoro folder that does not exist: castbook as on a machine without it.
pub const NO_KOKORO: &str = "/nonexistent/castbook-tests-without-kokoro";

/// The project's `.venv` (where scripts/setup installs ONNX Runtime and
/// voices; Kokoro's files are beside it).
pub fn project_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv")
}

/// The repo's bundled sample story.
pub fn sample_story() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/the-lighthouse-keepers.txt"),
    )
    .expect("sample story")
}

/// The eval kit's second-chances text: `CASTBOOK_SHARED` or `../shared`.
pub fn shared_text() -> Option<PathBuf> {
    let root = std::env::var_os("CASTBOOK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join("eval/attribution/dev/second-chances/text.txt");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found (set CASTBOOK_SHARED)",
            path.display()
        );
        None
    }
}
