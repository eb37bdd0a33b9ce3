//! File helpers that every writer of user-visible files shares: atomic
//! writes, finished-file permissions, folder locks, and sweeping what a
//! killed run left behind.
//!
//! Outputs (chapter WAVs, manifest.json, scripts, voices.toml) are written
//! to a `.partial-*` temporary file in the destination folder and renamed
//! into place when complete, so a crash never leaves a truncated file under
//! its final name. A run that writes into a folder holds its lock, so the
//! leftovers it sweeps can't belong to a live run.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The prefix of temporary files in an output folder.
pub const PARTIAL_PREFIX: &str = ".partial-";

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: another castbook render is using this folder")]
    Busy { path: PathBuf },
}

/// Maps an I/O error on `path` to a [`FileError`] that names it.
pub fn io_error(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `path` through a temporary file in the same folder and renames it.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = io_error(path);
    let mut temp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .map_err(&io)?;
    write(temp.as_file_mut()).map_err(&io)?;
    temp.as_file().sync_all().map_err(&io)?;
    make_readable(temp.as_file()).map_err(&io)?;
    temp.persist(path).map_err(|err| io(err.error))?;
    Ok(())
}

/// Temporary files are private (0600); finished output is an ordinary file.
pub fn make_readable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

/// Removes the `.partial-*` files a killed run left in `dir`; the caller
/// holds the folder's lock, so none of them belongs to a live run.
pub fn sweep_partials(dir: &Path) -> Result<(), FileError> {
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(PARTIAL_PREFIX)
        {
            std::fs::remove_file(entry.path()).map_err(io_error(&entry.path()))?;
        }
    }
    Ok(())
}

/// An exclusive advisory lock on a file, released when dropped (or when the
/// process dies, however it dies).
pub struct Lock {
    _file: File,
}

/// Takes the lock on `path` (created if missing), or reports its folder as
/// [`FileError::Busy`] when another process holds it.
pub fn lock_file(path: &Path) -> Result<Lock, FileError> {
    use std::os::fd::AsRawFd;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    // SAFETY: flock on a descriptor we own; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(if err.kind() == std::io::ErrorKind::WouldBlock {
            FileError::Busy {
                path: path.parent().unwrap_or(path).to_owned(),
            }
        } else {
            FileError::Io {
                path: path.to_owned(),
                source: err,
            }
        });
    }
    Ok(Lock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = lock_file(&path).unwrap();
        assert!(matches!(lock_file(&path), Err(FileError::Busy { .. })));
        drop(first);
        assert!(lock_file(&path).is_ok());
    }

    #[test]
    fn atomic_writes_leave_a_readable_file_and_no_partials() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, |f| std::io::Write::write_all(f, b"hello")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let failed = write_atomically(&path, |_| Err(std::io::Error::other("disk full")));
        assert!(failed.unwrap_err().to_string().contains("out.txt"));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello", "left alone");
        std::fs::write(dir.path().join(".partial-x"), b"half").unwrap();
        sweep_partials(dir.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
    }
}
