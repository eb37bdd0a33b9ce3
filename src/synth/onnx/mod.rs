//! ONNX Runtime for the engines that run neural models (Piper now,
//! Kokoro next): where the library is, and loading it once per process.
//!
//! castbook links ONNX Runtime at run time (`ort`'s `load-dynamic`) from the
//! project's Python environment, where `scripts/setup` installs the PyPI
//! `onnxruntime` wheel; voice packages live in the same environment, so
//! [`project_venvs`] and [`site_packages`] serve model discovery too.

pub mod pool;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where libonnxruntime is, in this order:
/// 1. `configured` (voices.toml `[piper] onnxruntime = "PATH"`),
/// 2. the `ORT_DYLIB_PATH` environment variable,
/// 3. the project-local install made by `scripts/setup`:
///    `.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`
///    in the first folder above the castbook executable that has a `.venv`
///    (so `target/release/castbook` finds the repo's), else in the git root
///    of the current folder.
pub fn find_onnxruntime(configured: Option<&Path>) -> Result<PathBuf, String> {
    const HOW: &str = "install it with `scripts/setup` (pip install onnxruntime into the project's .venv) or set ORT_DYLIB_PATH";
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(format!(
                "{}: ONNX Runtime library not found (from voices.toml [piper] onnxruntime); {HOW}",
                path.display()
            ))
        };
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{}: ONNX Runtime library not found (from ORT_DYLIB_PATH); {HOW}",
                path.display()
            ))
        };
    }
    for venv in project_venvs() {
        for site in site_packages(&venv) {
            let capi = site.join("onnxruntime").join("capi");
            // The highest version when several are installed.
            if let Some(library) = entries_named(&capi, "libonnxruntime.so").into_iter().max() {
                return Ok(library);
            }
        }
    }
    let looked: Vec<String> = project_venvs()
        .iter()
        .map(|v| v.display().to_string())
        .collect();
    Err(format!(
        "the ONNX Runtime library (libonnxruntime.so) was not found (no [piper] onnxruntime in voices.toml, no ORT_DYLIB_PATH, no onnxruntime in {}); {HOW}",
        if looked.is_empty() {
            "a project .venv".to_owned()
        } else {
            looked.join(" or ")
        }
    ))
}

/// Candidate `.venv` folders: `CASTBOOK_VENV` if set (for a binary built
/// outside the project, as with `CARGO_TARGET_DIR`), above the executable,
/// then the git root of the current folder.
pub fn project_venvs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(venv) = std::env::var_os("CASTBOOK_VENV").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(venv));
    }
    if let Ok(exe) = std::env::current_exe() {
        let exe = exe.canonicalize().unwrap_or(exe);
        if let Some(venv) = exe
            .ancestors()
            .skip(1)
            .map(|dir| dir.join(".venv"))
            .find(|venv| venv.is_dir())
            && !out.contains(&venv)
        {
            out.push(venv);
        }
    }
    if let Ok(cwd) = std::env::current_dir()
        && let Some(root) = cwd.ancestors().find(|dir| dir.join(".git").exists())
    {
        let venv = root.join(".venv");
        if venv.is_dir() && !out.contains(&venv) {
            out.push(venv);
        }
    }
    out
}

/// The entries of `dir` whose file name starts with `prefix` (none if `dir` can't be read).
fn entries_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

/// The `site-packages` folders of `venv`, in order.
pub fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = entries_named(&venv.join("lib"), "python3")
        .into_iter()
        .map(|p| p.join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

static ENVIRONMENT: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> =
    OnceLock::new();

/// Loads ONNX Runtime once per process (from the first path asked for).
pub fn environment(
    configured: Option<&Path>,
) -> Result<&'static ort::environment::Environment, String> {
    let result = ENVIRONMENT.get_or_init(|| {
        let path = find_onnxruntime(configured)?;
        let builder = ort::init_from(&path).map_err(|err| {
            format!(
                "{}: cannot load ONNX Runtime: {err}; reinstall it with `scripts/setup`",
                path.display()
            )
        })?;
        let environment = builder
            .with_name("castbook")
            .build()
            .map_err(|err| format!("{}: ONNX Runtime failed to start: {err}", path.display()))?;
        environment.set_log_level(ort::logging::LogLevel::Error);
        Ok((environment, path))
    });
    match result {
        Ok((environment, _)) => Ok(environment),
        Err(reason) => Err(reason.clone()),
    }
}

/// The loaded ONNX Runtime library, if any (for `--verbose` and tests).
pub fn loaded_onnxruntime() -> Option<PathBuf> {
    ENVIRONMENT
        .get()
        .and_then(|r| r.as_ref().ok())
        .map(|(_, p)| p.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_runtime_is_a_clear_error() {
        let err = find_onnxruntime(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
        assert!(err.contains("scripts/setup"), "{err}");
    }
}
