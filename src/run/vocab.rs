//! `vocab.json`: the words in id order, as a run folder and an export keep
//! them (the ids a model's embedding rows stand for).

use std::path::Path;

use crate::atomic::{folder_of, write_atomic};
use crate::error::{Error, Result};

/// Reads a `vocab.json`.
pub fn read_vocab(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("{} is not a vocabulary (a JSON list of words): {e}", path.display())))
}

/// Writes a `vocab.json`, atomically.
pub fn write_vocab(path: &Path, words: &[String]) -> Result<()> {
    let json = serde_json::to_vec(words).expect("vocab serializes");
    write_atomic(path, &json).map_err(|e| Error::write(path, e))
}

/// The vocabulary in the `vocab.json` beside a weights file, if there is one
/// (as `export` writes it).
pub fn vocab_beside(weights: &Path) -> Result<Option<Vec<String>>> {
    let path = folder_of(weights).join("vocab.json");
    if !path.exists() {
        return Ok(None);
    }
    read_vocab(&path).map(Some)
}
