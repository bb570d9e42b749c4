//! Penn Treebank, the book's corpus: Mikolov's three files, downloaded once
//! and verified by their published SHA-256, read the book's way
//! (`dataset/ptb.py`, see [`super::corpus`]) into the book's ids.

use std::path::{Path, PathBuf};

use super::corpus::{Corpus, DataError, Split, SplitText};
use super::fetch;
use super::vocab::Vocab;

/// Where the book (and everyone else) gets Mikolov's PTB split: the `data/`
/// folder of github.com/tomsercu/lstm.
pub const DEFAULT_BASE_URL: &str = "https://raw.githubusercontent.com/tomsercu/lstm/master/data";

/// The folder used when neither `--data-dir` nor `PTB_DIR` is given.
pub const DEFAULT_DIR: &str = "data/ptb";

/// The file of a split.
pub fn file_name(split: Split) -> &'static str {
    match split {
        Split::Train => "ptb.train.txt",
        Split::Valid => "ptb.valid.txt",
        Split::Test => "ptb.test.txt",
    }
}

/// The SHA-256 of a split's file, as published with the data.
pub fn sha256(split: Split) -> &'static str {
    match split {
        Split::Train => "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
        Split::Valid => "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
        Split::Test => "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    }
}

/// The data folder: `--data-dir` if given, else `PTB_DIR`, else [`DEFAULT_DIR`].
pub fn resolve_dir(data_dir: Option<&Path>) -> PathBuf {
    if let Some(dir) = data_dir {
        return dir.to_path_buf();
    }
    match std::env::var_os("PTB_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_DIR),
    }
}

/// Where missing files come from: `--data-url` if given, else `PTB_URL`, else
/// [`DEFAULT_BASE_URL`].
pub fn resolve_url(data_url: Option<&str>) -> String {
    if let Some(url) = data_url {
        return url.to_string();
    }
    match std::env::var("PTB_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => DEFAULT_BASE_URL.to_string(),
    }
}

/// Reads a split's file and checks its SHA-256 (no download).
pub fn read_verified(dir: &Path, split: Split) -> Result<Vec<u8>, DataError> {
    Ok(fetch::read_verified(&dir.join(file_name(split)), sha256(split))?)
}

/// Makes sure the three files are in `dir`, downloading the missing ones from
/// `base_url` (the file name is appended). Files already there are verified,
/// never replaced.
pub fn ensure_files(dir: &Path, base_url: &str) -> Result<(), DataError> {
    for split in Split::ALL {
        ensure_file(dir, base_url, split)?;
    }
    Ok(())
}

/// One split's verified bytes, downloaded first if the file is missing
/// ([`fetch::ensure`]: under a lock on the folder, written atomically).
fn ensure_file(dir: &Path, base_url: &str, split: Split) -> Result<Vec<u8>, DataError> {
    let path = dir.join(file_name(split));
    let remote = fetch::Remote {
        url: format!("{}/{}", base_url.trim_end_matches('/'), file_name(split)),
        sha256: sha256(split),
        mirror: "with --data-url".into(),
        offline: format!(
            "copy ptb.train.txt, ptb.valid.txt and ptb.test.txt into {} (or point --data-dir / PTB_DIR at a folder that has them)",
            fetch::shown(dir).display()
        ),
    };
    Ok(fetch::ensure(&path, &remote)?)
}

/// The corpus from the three verified files' bytes. `limit`: see [`Corpus::read`].
fn from_bytes(dir: &Path, bytes: [Vec<u8>; 3], limit: Option<usize>) -> Result<Corpus, DataError> {
    let [train, valid, test] = &bytes;
    Corpus::read(
        [
            split_text(dir, Split::Train, train),
            split_text(dir, Split::Valid, valid),
            split_text(dir, Split::Test, test),
        ],
        limit,
    )
}

fn split_text<'a>(dir: &Path, split: Split, bytes: &'a [u8]) -> SplitText<&'a [u8]> {
    // PTB's words average 5.6 bytes with their space: room for all at once.
    SplitText { path: dir.join(file_name(split)), reader: bytes, tokens: bytes.len() / 4 }
}

/// Loads and verifies the three files in `dir` (no download), with the book's vocabulary.
pub fn load_dir(dir: &Path) -> Result<Corpus, DataError> {
    let [train, valid, test] = Split::ALL.map(|s| read_verified(dir, s));
    from_bytes(dir, [train?, valid?, test?], None)
}

/// Finds the data (`--data-dir` > `PTB_DIR` > [`DEFAULT_DIR`]), downloads what
/// is missing from `base_url`, and loads it; `limit` as `Corpus::read`
/// (`None`: the book's vocabulary of 10,000 words).
pub fn load(data_dir: Option<&Path>, base_url: &str, limit: Option<usize>) -> Result<Corpus, DataError> {
    let dir = resolve_dir(data_dir);
    // Each file is read and hashed once: the bytes that passed the check are the ones loaded.
    let mut bytes = Vec::new();
    for split in Split::ALL {
        bytes.push(ensure_file(&dir, base_url, split)?);
    }
    from_bytes(&dir, bytes.try_into().expect("three splits"), limit)
}

/// One split of the data (found, downloaded and verified as [`load`] does)
/// as ids of `vocab`, and how many of its tokens were read as `<unk>`.
pub fn encode_split(
    data_dir: Option<&Path>,
    base_url: &str,
    split: Split,
    vocab: &Vocab,
) -> Result<(Vec<u32>, usize), DataError> {
    let dir = resolve_dir(data_dir);
    let bytes = ensure_file(&dir, base_url, split)?;
    super::corpus::encode(split_text(&dir, split, &bytes), vocab)
}

/// The folder [`load`] would read (`--data-dir` > `PTB_DIR` > [`DEFAULT_DIR`]),
/// with every file in it, downloaded from `base_url` if missing and verified.
/// For code that passes the folder on (a child process, [`load_dir`]), such as
/// the tests.
pub fn prepare(data_dir: Option<&Path>, base_url: &str) -> Result<PathBuf, DataError> {
    let dir = resolve_dir(data_dir);
    ensure_files(&dir, base_url)?;
    Ok(dir)
}
