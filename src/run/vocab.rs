//! `vocab.json`: the words in id order, as a run folder and an export keep
//! them (the ids a model's embedding rows stand for).

use std::path::Path;

use crate::atomic::{folder_of, write_atomic};

/// Reads a `vocab.json`.
pub fn read_vocab(path: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a vocabulary (a JSON list of words): {e}", path.display()))
}

/// Writes a `vocab.json`, atomically.
pub fn write_vocab(path: &Path, words: &[String]) -> Result<(), String> {
    let json = serde_json::to_vec(words).expect("vocab serializes");
    write_atomic(path, &json).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The vocabulary in the `vocab.json` beside a weights file, if there is one
/// (as `export` writes it).
pub fn vocab_beside(weights: &Path) -> Result<Option<Vec<String>>, String> {
    let path = folder_of(weights).join("vocab.json");
    if !path.exists() {
        return Ok(None);
    }
    read_vocab(&path).map(Some)
}
