//! Atomic file replacement: the bytes go to `<path>.tmp`, are fsynced, renamed over `path`, and
//! the directory is fsynced, so a crash leaves either the old file or the new one, never a mix.

use std::fs::{self, OpenOptions};
#[cfg(unix)]
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::CheckpointError;

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Test-only: sleep this long halfway through writing the temp file, so a test can kill the
    /// process while a save is in flight. `None` in normal use.
    pub pause_midway: Option<Duration>,
}

/// The temp file a save of `path` writes first: `<path>.tmp`, in the same directory (a rename
/// is atomic only within one file system).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> CheckpointError {
    CheckpointError::new(format!("{what} {}: {e}", path.display()))
}

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<(), CheckpointError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.file_name().is_none() {
        return Err(CheckpointError::new(format!("checkpoint path {} names no file", path.display())));
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
        let half = bytes.len() / 2;
        f.write_all(&bytes[..half]).map_err(|e| io_err("cannot write", &tmp, e))?;
        if let Some(pause) = options.pause_midway {
            f.flush().map_err(|e| io_err("cannot write", &tmp, e))?;
            std::thread::sleep(pause);
        }
        f.write_all(&bytes[half..]).map_err(|e| io_err("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("cannot fsync", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io_err("cannot rename the temp file onto", path, e))?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        // A failed save must not leave its half-written temp file behind (a killed one can;
        // the next save of the same path truncates it).
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes the rename itself durable. Directories cannot be opened for fsync on Windows, where
/// the rename (MoveFileEx) is already write-through.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err("cannot fsync directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), CheckpointError> {
    Ok(())
}
