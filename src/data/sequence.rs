//! The book's sequence data sets (`dataset/sequence.py`): `addition.txt`
//! (chapter 7, "16+75  _91  ") and `date.txt` (chapter 8), read as
//! `sequence.load_data` reads them.
//!
//! - Each line is split at its first `_`: the question before it, the answer
//!   from it on (the `_` is the decoder's start mark), trailing spaces kept.
//! - One character vocabulary, ids in order of first appearance: each line's
//!   question, then its answer.
//! - The rows are shuffled by `numpy.random.seed(1984)` and
//!   `numpy.random.shuffle` ([`super::numpy_random`]); the last tenth is the
//!   test split.
//!
//! The files are found as the book's trained model is ([`super::book`]):
//! `$BOOK_DIR/dataset/NAME` when `BOOK_DIR` is set, else `data/book/dataset/NAME`,
//! downloaded there once from the book's repository and checked against its
//! SHA-256.

use std::path::{Path, PathBuf};

use super::book;
use super::error::DataError;
use super::fetch::{self, FetchError};
use super::numpy_random::LegacyRandom;
use crate::choice::{Choice, display_as_name};

/// The seed `sequence.load_data` shuffles with.
pub const SPLIT_SEED: u32 = 1984;

/// One of the book's two sequence data sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SequenceSet {
    /// `addition.txt`: "16+75" → "91" (chapter 7).
    Addition,
    /// `date.txt`: "september 27, 1994" → "1994-09-27" (chapter 8).
    Date,
}

impl Choice for SequenceSet {
    const NAMES: &'static [(Self, &'static str)] = &[(SequenceSet::Addition, "addition"), (SequenceSet::Date, "date")];
}

display_as_name!(SequenceSet);

impl SequenceSet {
    /// The file's name in the book's `dataset/`.
    pub fn file_name(self) -> &'static str {
        match self {
            SequenceSet::Addition => "addition.txt",
            SequenceSet::Date => "date.txt",
        }
    }

    /// SHA-256 of the file at the book's pinned commit ([`book::COMMIT`]).
    pub fn sha256(self) -> &'static str {
        match self {
            SequenceSet::Addition => "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
            SequenceSet::Date => "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
        }
    }

    /// Where the file is looked for: `$BOOK_DIR/dataset/NAME`, else `data/book/dataset/NAME`.
    pub fn path(self) -> PathBuf {
        let dir = match std::env::var_os("BOOK_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from("data/book"),
        };
        dir.join("dataset").join(self.file_name())
    }

    /// The checked bytes of the file at `path`, downloaded from the book's
    /// repository at `base_url` first if it is missing.
    pub fn fetch(self, path: &Path, base_url: &str) -> Result<Vec<u8>, FetchError> {
        let name = self.file_name();
        let remote = fetch::Remote {
            url: format!("{}/dataset/{name}", base_url.trim_end_matches('/')),
            sha256: self.sha256(),
            mirror: "of the book's repository with BOOK_URL".into(),
            offline: format!(
                "copy the book's dataset/{name} to {} (or point BOOK_DIR at a copy of the book's code)",
                fetch::shown(path).display()
            ),
        };
        fetch::ensure(path, &remote)
    }

    /// The data set, found ([`SequenceSet::path`]), fetched if missing and read.
    pub fn load(self) -> Result<SequenceData, DataError> {
        let path = self.path();
        let bytes = self.fetch(&path, &book::resolve_url())?;
        SequenceData::parse(&bytes, &path)
    }
}

/// Rows of equal length of character ids, row-major `[rows, cols]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    /// Rows: questions or answers.
    pub rows: usize,
    /// Characters per row.
    pub cols: usize,
    /// The ids, row-major.
    pub data: Vec<u32>,
}

impl Ids {
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// The rows at `indices`, in that order (NumPy's `x[indices]`).
    pub fn select(&self, indices: &[u32]) -> Ids {
        let data = indices.iter().flat_map(|&r| self.row(r as usize).iter().copied()).collect();
        Ids { rows: indices.len(), cols: self.cols, data }
    }

    /// Rows `from..to`.
    pub fn range(&self, from: usize, to: usize) -> Ids {
        Ids { rows: to - from, cols: self.cols, data: self.data[from * self.cols..to * self.cols].to_vec() }
    }

    /// Each row back to front (`x[:, ::-1]`, the book's `is_reverse`).
    pub fn reversed(&self) -> Ids {
        let data = (0..self.rows).flat_map(|r| self.row(r).iter().rev().copied()).collect();
        Ids { rows: self.rows, cols: self.cols, data }
    }

    /// The ids as little-endian int32 bytes (`x.astype('<i4').tobytes()`), what the split's hashes are of.
    pub fn le_i32_bytes(&self) -> Vec<u8> {
        self.data.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect()
    }
}

/// Questions `x` and answers `t` (each answer starting with `_`), row for row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairs {
    /// The questions.
    pub x: Ids,
    /// The answers, each starting with `_`.
    pub t: Ids,
}

impl Pairs {
    /// The number of question–answer pairs.
    pub fn len(&self) -> usize {
        self.x.rows
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.x.rows == 0
    }

    /// The questions reversed (`--reverse`), the answers as they are.
    pub fn reversed(&self) -> Pairs {
        Pairs { x: self.x.reversed(), t: self.t.clone() }
    }
}

/// A sequence data set as `sequence.load_data` returns it, with its vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceData {
    /// Id → character, in order of first appearance.
    pub chars: Vec<char>,
    /// The training split (90% of the rows, as the book splits them).
    pub train: Pairs,
    /// The test split.
    pub test: Pairs,
}

impl SequenceData {
    /// The data set in `bytes` (the file at `path`, named in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<SequenceData, DataError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            let start = bytes[..e.valid_up_to()].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            DataError::NotUtf8 { path: path.to_path_buf(), line, column: e.valid_up_to() - start + 1 }
        })?;
        let bad = |line: usize, reason: String| DataError::Sequence { path: path.to_path_buf(), line, reason };
        let mut chars: Vec<char> = Vec::new();
        let mut id = |c: char| match chars.iter().position(|&k| k == c) {
            Some(i) => i as u32,
            None => {
                chars.push(c);
                chars.len() as u32 - 1
            }
        };
        let (mut x, mut t) = (Vec::new(), Vec::new());
        let (mut x_cols, mut t_cols) = (0, 0);
        let mut rows = 0;
        // `line[:-1]` in the book drops each line's newline.
        for (k, line) in text.strip_suffix('\n').unwrap_or(text).split('\n').enumerate() {
            let Some(at) = line.find('_') else {
                return Err(bad(k + 1, "has no '_' between question and answer".into()));
            };
            let (q, a) = (&line[..at], &line[at..]);
            let (qn, an) = (q.chars().count(), a.chars().count());
            if rows == 0 {
                (x_cols, t_cols) = (qn, an);
            } else if (qn, an) != (x_cols, t_cols) {
                return Err(bad(
                    k + 1,
                    format!(
                        "has a question of {qn} and an answer of {an} characters, line 1 {x_cols} and {t_cols} \
                         (the book pads every line to one length)"
                    ),
                ));
            }
            x.extend(q.chars().map(&mut id));
            t.extend(a.chars().map(&mut id));
            rows += 1;
        }
        if rows == 0 || x_cols == 0 {
            return Err(DataError::Empty { path: path.to_path_buf() });
        }
        let x = Ids { rows, cols: x_cols, data: x };
        let t = Ids { rows, cols: t_cols, data: t };

        let mut indices: Vec<u32> = (0..rows as u32).collect();
        LegacyRandom::seed(SPLIT_SEED).shuffle(&mut indices);
        let (x, t) = (x.select(&indices), t.select(&indices));
        let split_at = rows - rows / 10;
        Ok(SequenceData {
            chars,
            train: Pairs { x: x.range(0, split_at), t: t.range(0, split_at) },
            test: Pairs { x: x.range(split_at, rows), t: t.range(split_at, rows) },
        })
    }

    /// The id of `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<u32> {
        self.chars.iter().position(|&k| k == c).map(|i| i as u32)
    }
}

/// The text of `ids` in the vocabulary `chars`.
pub fn text(chars: &[char], ids: &[u32]) -> String {
    ids.iter().map(|&i| chars.get(i as usize).copied().unwrap_or('�')).collect()
}

/// A question typed by a user as the ids of a model's input: each character
/// in `chars`, padded with spaces to `cols` as the data set pads its
/// questions (`"16+75"` → `"16+75  "`), reversed when the model was trained
/// on reversed questions.
pub fn encode_question(chars: &[char], question: &str, cols: usize, reverse: bool) -> Result<Vec<u32>, String> {
    let n = question.chars().count();
    if n > cols {
        return Err(format!("the question {question:?} has {n} characters; the model reads at most {cols}"));
    }
    let padded = question.chars().chain(std::iter::repeat_n(' ', cols - n));
    let mut ids = Vec::with_capacity(cols);
    for c in padded {
        match chars.iter().position(|&k| k == c) {
            Some(i) => ids.push(i as u32),
            None => return Err(format!("the character {c:?} is not in the model's vocabulary")),
        }
    }
    if reverse {
        ids.reverse();
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SequenceData, DataError> {
        SequenceData::parse(text.as_bytes(), Path::new("t.txt"))
    }

    #[test]
    fn lines_split_at_the_first_underscore_with_ids_by_first_appearance() {
        let d = parse("1+2_3 \n4+5_9 \n").unwrap();
        assert_eq!(d.chars, ['1', '+', '2', '_', '3', ' ', '4', '5', '9']);
        assert_eq!(d.train.len() + d.test.len(), 2);
    }

    #[test]
    fn ragged_lines_and_lines_without_an_underscore_are_errors_naming_the_line() {
        let e = parse("1+2_3 \n4+55_9 \n").unwrap_err().to_string();
        assert!(e.contains("t.txt line 2") && e.contains("question of 4"), "{e}");
        let e = parse("1+2_3 \n4+5 9 \n").unwrap_err().to_string();
        assert!(e.contains("t.txt line 2") && e.contains("no '_'"), "{e}");
    }

    #[test]
    fn a_question_is_padded_checked_and_reversed() {
        let chars = ['1', '+', '2', ' '];
        assert_eq!(encode_question(&chars, "1+2", 4, false).unwrap(), [0, 1, 2, 3]);
        assert_eq!(encode_question(&chars, "1+2", 4, true).unwrap(), [3, 2, 1, 0]);
        assert!(encode_question(&chars, "1+2+1", 4, false).unwrap_err().contains("5 characters"));
        assert!(encode_question(&chars, "1-2", 4, false).unwrap_err().contains("'-'"));
    }
}
