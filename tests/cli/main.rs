//! The one integration test binary: runs the real `castbook` command.
//!
//! [`Test`] builds a scratch folder with a story (and optionally a
//! voices.toml), runs a command in it, and checks the outcome, in the style
//! of just's test builder. Each area of the CLI has its own module.

mod casting;
mod errors;
mod novel;
mod piper;
mod render;
mod script;
mod studio;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

pub struct Test {
    dir: TempDir,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    _keep: TempDir,
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            stdin: None,
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

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(self) -> Outcome {
        let mut command = Command::cargo_bin("castbook").expect("castbook binary");
        command
            .current_dir(self.dir.path())
            .args(&self.args)
            .env_remove("ORT_DYLIB_PATH");
        if let Some(input) = &self.stdin {
            command.write_stdin(input.clone());
        }
        let output = command.output().expect("run castbook");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir: self.dir.path().to_owned(),
            _keep: self.dir,
        }
    }

    /// Runs and asserts success, returning the outcome.
    pub fn succeeds(self) -> Outcome {
        let outcome = self.run();
        assert_eq!(outcome.code, 0, "stderr: {}", outcome.stderr);
        outcome
    }

    /// Runs and asserts exit `code` with a single-line error on stderr.
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
        Test {
            dir: self._keep,
            args: Vec::new(),
            stdin: None,
        }
    }

    /// stderr with the scratch folder replaced by `[DIR]`, for snapshots.
    pub fn stderr_redacted(&self) -> String {
        self.stderr
            .replace(&self.dir.display().to_string(), "[DIR]")
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// The repo's bundled sample story.
pub fn sample_story() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/the-lighthouse-keepers.txt"),
    )
    .expect("sample story")
}
