//! The book's own trained models, `ch06/Rnnlm.pkl` (chapter 6) and
//! `ch08/AttentionSeq2seq.pkl` (chapter 8), found as Penn Treebank is found:
//! under `$BOOK_DIR` when `BOOK_DIR` names a copy of the book's code, else in
//! `data/book/`, downloaded there once from the book's repository at a pinned
//! commit and checked against its SHA-256.

use std::path::{Path, PathBuf};

use super::fetch::{self, FetchError};

/// The commit of github.com/oreilly-japan/deep-learning-from-scratch-2 the
/// file is taken from (its last commit, "NumPy 1.20以降に対応").
pub const COMMIT: &str = "842ae31c2bb070f5116275606ed90396626a2c17";

/// The repository's files at [`COMMIT`]; the file's path in it is appended.
pub const DEFAULT_BASE_URL: &str = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/842ae31c2bb070f5116275606ed90396626a2c17";

/// The model's path in the book's repository (and under `BOOK_DIR`).
pub const MODEL_IN_REPO: &str = "ch06/Rnnlm.pkl";

/// Where the model is kept when `BOOK_DIR` is not set.
pub const DEFAULT_MODEL_PATH: &str = "data/book/Rnnlm.pkl";

/// SHA-256 of `ch06/Rnnlm.pkl` at [`COMMIT`] (4,181,172 bytes).
pub const MODEL_SHA256: &str = "d872e609e328834f86a0de9fea7b2968bd95a22ea748880ccaee96923e9a5903";

/// Where the model is looked for: `$BOOK_DIR/ch06/Rnnlm.pkl`, else [`DEFAULT_MODEL_PATH`].
pub fn model_path() -> PathBuf {
    match std::env::var_os("BOOK_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(MODEL_IN_REPO),
        _ => PathBuf::from(DEFAULT_MODEL_PATH),
    }
}

/// Where a missing model comes from: `BOOK_URL` (a mirror of the book's
/// repository at [`COMMIT`]), else [`DEFAULT_BASE_URL`].
pub fn resolve_url() -> String {
    match std::env::var("BOOK_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => DEFAULT_BASE_URL.to_string(),
    }
}

/// Makes sure the model is at `path`, downloading it from `base_url` (the
/// repository path is appended) if missing; a file already there is checked,
/// never replaced.
pub fn ensure_model(path: &Path, base_url: &str) -> Result<(), FetchError> {
    let remote = fetch::Remote {
        url: format!("{}/{MODEL_IN_REPO}", base_url.trim_end_matches('/')),
        sha256: MODEL_SHA256,
        mirror: "of the book's repository with BOOK_URL".into(),
        offline: format!(
            "copy the book's {MODEL_IN_REPO} to {} (or point BOOK_DIR at a copy of the book's code)",
            fetch::shown(path).display()
        ),
    };
    fetch::ensure(path, &remote).map(drop)
}

/// The book's trained model, found ([`model_path`]) and fetched if missing
/// ([`resolve_url`]): the path of a checked file.
pub fn trained_model() -> Result<PathBuf, FetchError> {
    let path = model_path();
    ensure_model(&path, &resolve_url())?;
    Ok(path)
}

/// The chapter-8 model's path in the book's repository (and under `BOOK_DIR`).
pub const ATTENTION_MODEL_IN_REPO: &str = "ch08/AttentionSeq2seq.pkl";

/// Where the chapter-8 model is kept when `BOOK_DIR` is not set.
pub const DEFAULT_ATTENTION_MODEL_PATH: &str = "data/book/AttentionSeq2seq.pkl";

/// SHA-256 of `ch08/AttentionSeq2seq.pkl` at [`COMMIT`] (1,183,052 bytes).
pub const ATTENTION_MODEL_SHA256: &str = "e648820a02cdaccc599ffb2aef65e785f49fb0cfc99d4c461a847fe231fedd54";

/// The book's trained `AttentionSeq2seq` (chapter 8), found under
/// `$BOOK_DIR/ch08/`, else at [`DEFAULT_ATTENTION_MODEL_PATH`], and fetched
/// there if missing ([`resolve_url`]): the path of a checked file.
pub fn trained_attention_model() -> Result<PathBuf, FetchError> {
    let path = match std::env::var_os("BOOK_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(ATTENTION_MODEL_IN_REPO),
        _ => PathBuf::from(DEFAULT_ATTENTION_MODEL_PATH),
    };
    let remote = fetch::Remote {
        url: format!("{}/{ATTENTION_MODEL_IN_REPO}", resolve_url().trim_end_matches('/')),
        sha256: ATTENTION_MODEL_SHA256,
        mirror: "of the book's repository with BOOK_URL".into(),
        offline: format!(
            "copy the book's {ATTENTION_MODEL_IN_REPO} to {} (or point BOOK_DIR at a copy of the book's code)",
            fetch::shown(&path).display()
        ),
    };
    fetch::ensure(&path, &remote)?;
    Ok(path)
}
