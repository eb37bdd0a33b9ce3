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
mod probes;
mod render;
mod script;
mod studio;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use assert_cmd::assert::Assert;
use tempfile::TempDir;

/// Longer than any test's command takes; a castbook that hangs is killed
/// and fails its test rather than stalling the suite.
const TIMEOUT: Duration = Duration::from_secs(600);

pub struct Test {
    dir: TempDir,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    stdout_closed: bool,
    stderr: Option<String>,
    env: Vec<(String, String)>,
    kokoro: bool,
    program: Option<PathBuf>,
    file_size_limit: Option<u64>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    output: std::process::Output,
    command_line: String,
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
            program: None,
            file_size_limit: None,
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

    /// Runs castbook as on a disk that fills up: no file it (or a worker)
    /// writes may grow past `bytes` (`RLIMIT_FSIZE`; the write then fails
    /// with EFBIG, as it would with ENOSPC on a full disk, since SIGXFSZ
    /// is ignored).
    ///
    /// espeak-ng opens a PulseAudio client (through libpcaudio) even when it
    /// renders to memory, and that client's shared memory would hit the
    /// limit too and print `ftruncate() failed` (a real full disk leaves
    /// memfd memory alone): the client is told to use none.
    pub fn file_size_limit(mut self, bytes: u64) -> Test {
        self.file_size_limit = Some(bytes);
        let conf = self.path().join(".pulse-client.conf");
        std::fs::write(
            &conf,
            "enable-shm = no\nenable-memfd = no\nautospawn = no\n",
        )
        .expect("write pulse client.conf");
        self.env("PULSE_CLIENTCONFIG", conf.to_str().expect("UTF-8 path"))
    }

    /// Runs this castbook executable instead of cargo's (see [`castbook_at`]).
    pub fn program(mut self, program: &Path) -> Test {
        self.program = Some(program.to_owned());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The castbook command, in the scratch folder, with the test's
    /// arguments, for tests that need to start it themselves (to kill it).
    pub fn command(&self) -> Command {
        let mut command = Command::new(
            self.program
                .as_deref()
                .unwrap_or(Path::new(env!("CARGO_BIN_EXE_castbook"))),
        );
        command
            .current_dir(self.dir.path())
            .args(&self.args)
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("CASTBOOK_ATTRIBUTION_MODEL")
            .env_remove("CASTBOOK_VENV");
        // The project's local installs (ONNX Runtime, voices), also when
        // the binary is built elsewhere (CARGO_TARGET_DIR); not for a
        // castbook placed by the test, which checks what it finds from
        // where it is.
        if self.program.is_none() {
            command.env("CASTBOOK_VENV", project_venv());
        }
        if !self.kokoro {
            command.env("CASTBOOK_KOKORO_DIR", NO_KOKORO);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(bytes) = self.file_size_limit {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            // SAFETY: runs in the forked child before exec and calls only
            // setrlimit and signal, which are async-signal-safe; an ignored
            // signal stays ignored across exec, in castbook and its workers.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        command
    }

    /// Makes the scratch folder a project folder, as a clone of castbook
    /// is: a `.git` and the repo's `.venv` (a link), so castbook finds ONNX
    /// Runtime and the installed voices from the folder it runs in (the git
    /// root rule), wherever cargo put its binary.
    pub fn in_project(self) -> Test {
        let venv = repo_venv();
        std::fs::create_dir_all(self.path().join(".git")).expect("create .git");
        std::os::unix::fs::symlink(venv, self.path().join(".venv")).expect("link .venv");
        self
    }

    #[track_caller]
    pub fn run(self) -> Outcome {
        let command_line = format!("{:?}", self.command());
        let output = if self.stdout_closed {
            self.run_with_stdout_closed()
        } else {
            assert_cmd::Command::from_std(self.command())
                .write_stdin(self.stdin.clone().unwrap_or_default())
                .timeout(TIMEOUT)
                .output()
                .expect("run castbook")
        };
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            output,
            command_line,
            expected_stderr: self.stderr,
            dir: self.dir.path().to_owned(),
            kokoro: self.kokoro,
            _keep: self.dir,
        }
    }

    /// assert_cmd always pipes standard output, so a closed pipe is set up
    /// here with plain `std::process`.
    fn run_with_stdout_closed(&self) -> std::process::Output {
        use std::io::Write;
        use std::process::Stdio;
        let mut command = self.command();
        command.stdin(Stdio::piped()).stderr(Stdio::piped());
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        command.stdout(writer);
        let mut child = command.spawn().expect("run castbook");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(self.stdin.as_deref().unwrap_or_default())
            .expect("write stdin");
        drop(stdin);
        // The command owns the pipe's writer: drop it so nothing here
        // keeps the closed pipe open.
        drop(command);
        child.wait_with_output().expect("wait for castbook")
    }

    /// Runs and asserts success (and the expected stderr, if given).
    #[track_caller]
    pub fn succeeds(self) -> Outcome {
        let outcome = self.run();
        let assert = outcome.assert().success();
        if let Some(expected) = &outcome.expected_stderr {
            assert.stderr(expected.clone());
        }
        outcome
    }

    /// Runs and asserts exit `code` with a single-line error on stderr.
    #[track_caller]
    pub fn fails(self, code: i32) -> Outcome {
        let outcome = self.run();
        outcome.assert().failure().code(code);
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
    /// assert_cmd's assertions on the command's output (its failure
    /// messages show the command, its status, stdout and stderr).
    pub fn assert(&self) -> Assert {
        Assert::new(self.output.clone())
            .append_context("command", self.command_line.clone())
            .append_context("in", self.dir.display().to_string())
    }

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
/// Tests that need it fail (never skip) without it.
#[track_caller]
pub fn shared_text() -> PathBuf {
    let root = std::env::var_os("CASTBOOK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join("eval/attribution/dev/second-chances/text.txt");
    assert!(
        path.is_file(),
        "{}: not found; this test needs the evaluation kit: put it at <repo>/../shared \
         or set CASTBOOK_SHARED to its folder",
        path.display()
    );
    path
}

/// The repo's `.venv` (ONNX Runtime, the joe voice, pocketsphinx), which
/// the Piper tests need: they fail, never skip, without it.
#[track_caller]
pub fn repo_venv() -> PathBuf {
    let venv = project_venv();
    assert!(
        venv.join("bin/python").is_file(),
        "{}: missing; run scripts/setup --piper (scripts/test does)",
        venv.display()
    );
    venv
}

/// The castbook executable placed at `dir/bin/castbook` (a hard link, or a
/// copy across file systems), for tests of what it finds from where it is.
pub fn castbook_at(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("create bin");
    let exe = bin.join("castbook");
    let built = Path::new(env!("CARGO_BIN_EXE_castbook"));
    if std::fs::hard_link(built, &exe).is_err() {
        std::fs::copy(built, &exe).expect("copy castbook");
    }
    exe
}

/// What pocketsphinx hears in a WAV, and its word error rate against
/// `text` (scripts/transcribe.py, in the repo's .venv).
#[track_caller]
pub fn word_error_rate(wav: &Path, text: &str) -> (f64, String) {
    let output = Command::new(repo_venv().join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/transcribe.py"))
        .arg(wav)
        .arg(text)
        .output()
        .expect("run scripts/transcribe.py");
    assert!(
        output.status.success(),
        "scripts/transcribe.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    (
        result["wer"].as_f64().expect("wer"),
        result["heard"].as_str().expect("heard").to_owned(),
    )
}
