//! Files known by their SHA-256 and fetched once: Penn Treebank's three
//! splits and the book's trained model go through this one path.
//!
//! A file already on disk is read and checked, never replaced. A missing one
//! is downloaded under an exclusive lock on its folder (whoever gets the lock
//! second finds it there), checked, and written atomically, so no reader ever
//! sees a half file under the real name.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where a file comes from, and what to tell a user who cannot get it.
#[derive(Clone, Debug)]
pub struct Remote {
    /// The full address of the file.
    pub url: String,
    /// Its published SHA-256, in hex.
    pub sha256: &'static str,
    /// How to name another source, e.g. "with --data-url or PTB_URL".
    pub mirror: String,
    /// What to do without network, e.g. "copy ... into data/ptb".
    pub offline: String,
}

/// Everything that can go wrong getting a file; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A file is on disk but its checksum is wrong (truncated, corrupt or another file).
    #[error(
        "{} is corrupt or truncated: SHA-256 expected {expected}, found {found}; delete it and run again to download it afresh",
        path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The SHA-256 it should have.
        expected: String,
        /// The SHA-256 it has.
        found: String,
    },
    /// A download arrived, but with the wrong checksum.
    #[error(
        "the download of {url} is corrupt or truncated: SHA-256 expected {expected}, found {found}; nothing was written; \
         run again, or use another mirror {mirror}"
    )]
    BadDownload {
        /// Where it came from.
        url: String,
        /// The SHA-256 it should have.
        expected: String,
        /// The SHA-256 it had.
        found: String,
        /// Another address of the same file.
        mirror: String,
    },
    /// A download failed, or no network.
    #[error("could not download {url} ({reason}); without network, {offline}")]
    Download {
        /// The address.
        url: String,
        /// Why it failed.
        reason: String,
        /// How to do without the network.
        offline: String,
    },
    /// A file or folder could not be read, written or locked.
    #[error("cannot use {}: {reason}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why, as the system says it.
        reason: String,
    },
}

fn io_err(path: &Path, e: impl fmt::Display) -> FetchError {
    FetchError::Io { path: path.to_path_buf(), reason: e.to_string() }
}

/// Hex SHA-256 of a file's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `path` and checks its SHA-256 against `sha256`.
pub fn read_verified(path: &Path, sha256: &str) -> Result<Vec<u8>, FetchError> {
    let bytes = fs::read(path).map_err(|e| io_err(path, e))?;
    let found = sha256_hex(&bytes);
    if found != sha256 {
        return Err(FetchError::Checksum { path: path.to_path_buf(), expected: sha256.into(), found });
    }
    Ok(bytes)
}

/// The checked bytes of `path`, downloaded from `remote` first if it is missing.
///
/// Several processes may want the same file at once (the test binaries,
/// their threads, two runs): the download happens under an exclusive lock on
/// the folder, and whoever gets the lock second finds the file already there.
pub fn ensure(path: &Path, remote: &Remote) -> Result<Vec<u8>, FetchError> {
    if path.exists() {
        return read_verified(path, remote.sha256);
    }
    let dir = crate::atomic::folder_of(path);
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let _lock = lock_dir(dir)?;
    if path.exists() {
        // Another process downloaded it while we waited for the lock.
        return read_verified(path, remote.sha256);
    }
    eprintln!("downloading {}", remote.url);
    let bytes = download(&remote.url).map_err(|reason| FetchError::Download {
        url: remote.url.clone(),
        reason,
        offline: remote.offline.clone(),
    })?;
    let found = sha256_hex(&bytes);
    if found != remote.sha256 {
        return Err(FetchError::BadDownload {
            url: remote.url.clone(),
            expected: remote.sha256.into(),
            found,
            mirror: remote.mirror.clone(),
        });
    }
    crate::atomic::write_atomic(path, &bytes).map_err(|e| io_err(path, e))?;
    Ok(bytes)
}

/// An exclusive lock on the folder itself (flock on its descriptor), held
/// until the returned handle is dropped; no lock file is left behind.
fn lock_dir(dir: &Path) -> Result<fs::File, FetchError> {
    let handle = fs::File::open(dir).map_err(|e| io_err(dir, e))?;
    handle.lock().map_err(|e| io_err(dir, format!("cannot lock the folder for the download: {e}")))?;
    Ok(handle)
}

fn download(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(120))).build().into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .reader()
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// An absolute form of `path` for messages, so that the user knows which
/// folder is meant whatever the working folder.
pub(crate) fn shown(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
