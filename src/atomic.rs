//! Writing files so that a crash never leaves one half-written: the bytes go
//! to a temporary file beside the target, are flushed to disk, and the
//! temporary file is renamed over the target (an atomic step on POSIX
//! filesystems). A reader sees the old file or the new one, never a mix.

use std::fs;
use std::io::Write;
use std::path::Path;

/// The folder a file is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Deletes `path`; one already gone counts as deleted.
pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The switch the tests use to prove that a failed write leaves a run that
/// continues: with `RNNLM_FAIL_WRITE=NAME` in the environment, writing a file
/// named NAME (`optim-2.bpk`) fails as on a full disk and leaves the file as
/// it was; `NAME#K` fails only the K-th write of that name (`metrics.csv#2`,
/// the second epoch's row).
pub const FAIL_WRITE: &str = "RNNLM_FAIL_WRITE";

fn injected_failure(path: &Path) -> Option<std::io::Error> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let switch = std::env::var(FAIL_WRITE).ok()?;
    let (name, nth) = match switch.split_once('#') {
        Some((name, k)) => (name.to_string(), k.parse::<usize>().ok()),
        None => (switch, None),
    };
    if path.file_name()? != name.as_str() {
        return None;
    }
    let k = WRITES.fetch_add(1, Ordering::Relaxed) + 1;
    nth.is_none_or(|n| n == k).then(|| std::io::Error::from_raw_os_error(28)) // ENOSPC
}

/// The temporary file [`write_atomic`] writes `name` through, in `dir`.
fn temporary(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Deletes what writes killed mid-way left in `dir` (the temporaries of
/// [`write_atomic`]); a missing folder has none. Only the folder's one
/// writer may call it, or it could delete another's write in progress.
pub fn remove_temporaries(dir: &Path) -> std::io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        entries => entries?,
    };
    for entry in entries {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            remove_if_present(&dir.join(&*name))?;
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(e) = injected_failure(path) {
        return Err(e);
    }
    let dir = folder_of(path);
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = temporary(dir, &name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
