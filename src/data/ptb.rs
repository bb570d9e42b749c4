//! Loading Penn Treebank with the book's conventions (`dataset/ptb.py`): the
//! words of each line followed by `<eos>`, ids in order of first appearance in
//! ptb.train.txt, valid and test mapped with the train vocabulary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::fetch::{self, FetchError};
use crate::choice::{Choice, display_as_name};

/// Where the book (and everyone else) gets Mikolov's PTB split: the `data/`
/// folder of github.com/tomsercu/lstm.
pub const DEFAULT_BASE_URL: &str = "https://raw.githubusercontent.com/tomsercu/lstm/master/data";

/// The folder used when neither `--data-dir` nor `PTB_DIR` is given.
pub const DEFAULT_DIR: &str = "data/ptb";

/// The end-of-sentence token that replaces every newline.
pub const EOS: &str = "<eos>";

/// A split of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    pub fn file_name(self) -> &'static str {
        match self {
            Split::Train => "ptb.train.txt",
            Split::Valid => "ptb.valid.txt",
            Split::Test => "ptb.test.txt",
        }
    }

    /// The SHA-256 of the file, as published with the data.
    pub fn sha256(self) -> &'static str {
        match self {
            Split::Train => "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
            Split::Valid => "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
            Split::Test => "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
        }
    }
}

impl Choice for Split {
    const TABLE: &'static [(Self, &'static str, &'static str)] = &[
        (Split::Train, "train", "ptb.train.txt, the words the model learns from"),
        (Split::Valid, "valid", "ptb.valid.txt, scored after every epoch"),
        (Split::Test, "test", "ptb.test.txt, held out for the final score"),
    ];
}

display_as_name!(Split);

/// Everything that can go wrong getting the data; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be had: missing and not downloadable, or damaged.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A file is not text.
    #[error("cannot use {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    /// A file holds no words.
    #[error("{} holds no words", path.display())]
    Empty { path: PathBuf },
    /// A word of valid/test is not in the train vocabulary.
    #[error("{} line {line}: the word {word:?} is not in the train vocabulary", path.display())]
    UnknownWord { path: PathBuf, line: usize, word: String },
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

fn text(path: &Path, bytes: Vec<u8>) -> Result<String, DataError> {
    String::from_utf8(bytes).map_err(|e| DataError::Io { path: path.to_path_buf(), reason: e.to_string() })
}

/// Reads a split's file and checks its SHA-256.
pub fn read_verified(dir: &Path, split: Split) -> Result<String, DataError> {
    let path = dir.join(split.file_name());
    text(&path, fetch::read_verified(&path, split.sha256())?)
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

/// One split's verified text, downloaded first if it is missing
/// ([`fetch::ensure`]: under a lock on the folder, written atomically).
fn ensure_file(dir: &Path, base_url: &str, split: Split) -> Result<String, DataError> {
    let path = dir.join(split.file_name());
    let remote = fetch::Remote {
        url: format!("{}/{}", base_url.trim_end_matches('/'), split.file_name()),
        sha256: split.sha256(),
        mirror: "with --data-url".into(),
        offline: format!(
            "copy ptb.train.txt, ptb.valid.txt and ptb.test.txt into {} (or point --data-dir / PTB_DIR at a folder that has them)",
            fetch::shown(dir).display()
        ),
    };
    text(&path, fetch::ensure(&path, &remote)?)
}

/// Words to ids and back.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vocab {
    pub id_to_word: Vec<String>,
    #[serde(skip)]
    word_to_id: HashMap<String, u32>,
}

impl Vocab {
    /// Builds the vocabulary in order of first appearance.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v = Vocab::default();
        for w in words {
            if !v.word_to_id.contains_key(w) {
                v.word_to_id.insert(w.to_string(), v.id_to_word.len() as u32);
                v.id_to_word.push(w.to_string());
            }
        }
        v
    }

    /// The vocabulary from a list of words in id order (e.g. read back from JSON).
    pub fn from_id_to_word(id_to_word: Vec<String>) -> Self {
        let word_to_id = id_to_word.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
        Vocab { id_to_word, word_to_id }
    }

    pub fn id(&self, word: &str) -> Option<u32> {
        self.word_to_id.get(word).copied()
    }

    pub fn word(&self, id: u32) -> Option<&str> {
        self.id_to_word.get(id as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.id_to_word.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id_to_word.is_empty()
    }
}

/// The words of a text, each line's words followed by `<eos>`.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .flat_map(|(i, line)| line.split_whitespace().chain(std::iter::once(EOS)).map(move |w| (i + 1, w)))
}

/// The three splits as id streams, with the train vocabulary.
#[derive(Clone, Debug)]
pub struct Ptb {
    pub vocab: Vocab,
    pub train: Vec<u32>,
    pub valid: Vec<u32>,
    pub test: Vec<u32>,
}

impl Ptb {
    /// Loads and verifies the three files in `dir` (no download).
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let train_text = read_verified(dir, Split::Train)?;
        Self::from_texts(dir, &train_text, &read_verified(dir, Split::Valid)?, &read_verified(dir, Split::Test)?)
    }

    /// Builds the corpus from the three texts; `dir` only names files in errors.
    pub fn from_texts(dir: &Path, train: &str, valid: &str, test: &str) -> Result<Self, DataError> {
        let train_path = dir.join(Split::Train.file_name());
        if train.split_whitespace().next().is_none() {
            return Err(DataError::Empty { path: train_path });
        }
        let vocab = Vocab::from_words(tokens(train).map(|(_, w)| w));
        let ids = |text: &str, split: Split| -> Result<Vec<u32>, DataError> {
            let path = dir.join(split.file_name());
            if text.split_whitespace().next().is_none() {
                return Err(DataError::Empty { path });
            }
            tokens(text)
                .map(|(line, w)| {
                    vocab.id(w).ok_or_else(|| DataError::UnknownWord { path: path.clone(), line, word: w.to_string() })
                })
                .collect()
        };
        Ok(Ptb {
            train: ids(train, Split::Train)?,
            valid: ids(valid, Split::Valid)?,
            test: ids(test, Split::Test)?,
            vocab,
        })
    }

    /// The first `corpus_size` tokens of train (the notebook's
    /// `corpus[:corpus_size]`), or all of it for 0. The vocabulary stays the
    /// full one.
    pub fn training_corpus(&self, corpus_size: usize) -> crate::Result<&[u32]> {
        match corpus_size {
            0 => Ok(&self.train),
            n if n <= self.train.len() => Ok(&self.train[..n]),
            n => Err(crate::Error::setting(
                "corpus_size",
                format!("{n} is larger than ptb.train.txt ({} tokens); use 0 for all of it", self.train.len()),
            )),
        }
    }

    pub fn split(&self, split: Split) -> &[u32] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }
}

/// Finds the data (`--data-dir` > `PTB_DIR` > [`DEFAULT_DIR`]), downloads what
/// is missing from `base_url`, and loads it.
pub fn load(data_dir: Option<&Path>, base_url: &str) -> Result<Ptb, DataError> {
    let dir = resolve_dir(data_dir);
    // Each file is read and hashed once: the text that passed the check is the one loaded.
    let train = ensure_file(&dir, base_url, Split::Train)?;
    let valid = ensure_file(&dir, base_url, Split::Valid)?;
    let test = ensure_file(&dir, base_url, Split::Test)?;
    Ptb::from_texts(&dir, &train, &valid, &test)
}

/// The folder [`load`] would read (`--data-dir` > `PTB_DIR` > [`DEFAULT_DIR`]),
/// with every file in it, downloaded from `base_url` if missing and verified.
/// For code that passes the folder on (a child process, `Ptb::load`), such as
/// the tests.
pub fn prepare(data_dir: Option<&Path>, base_url: &str) -> Result<PathBuf, DataError> {
    let dir = resolve_dir(data_dir);
    ensure_files(&dir, base_url)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_first_appearance_and_each_line_ends_with_eos() {
        let p = Ptb::from_texts(Path::new("x"), " a b a \n c \n", " c a \n", " b \n").unwrap();
        assert_eq!(p.vocab.id_to_word, ["a", "b", "<eos>", "c"]);
        assert_eq!(p.train, [0, 1, 0, 2, 3, 2]);
        assert_eq!(p.valid, [3, 0, 2]);
        assert_eq!(p.test, [1, 2]);
    }

    #[test]
    fn an_unknown_word_is_named_with_its_line() {
        let err = Ptb::from_texts(Path::new("d"), " a b \n", " a \n a zebra \n", " a \n").unwrap_err();
        assert_eq!(err.to_string(), "d/ptb.valid.txt line 2: the word \"zebra\" is not in the train vocabulary");
    }

    #[test]
    fn an_empty_file_is_refused() {
        let err = Ptb::from_texts(Path::new("d"), " a \n", " a \n", "\n\n").unwrap_err();
        assert_eq!(err.to_string(), "d/ptb.test.txt holds no words");
        let err = Ptb::from_texts(Path::new("d"), "", " a \n", " a \n").unwrap_err();
        assert_eq!(err.to_string(), "d/ptb.train.txt holds no words");
    }
}
