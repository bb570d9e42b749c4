//! A corpus: three splits as id streams with the training split's
//! vocabulary. Penn Treebank is one ([`super::ptb`] fetches and verifies
//! it); any folder holding `train.txt`, `valid.txt` and `test.txt`, or
//! WikiText's `wiki.{train,valid,test}.tokens`, is another ([`load`]).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::error::DataError;
use super::text::{self, FileRecord};
use super::vocab::{UNK, Vocab, VocabBuilder};
use crate::choice::{Choice, display_as_name};

/// A split of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training split.
    Train,
    /// The validation split.
    Valid,
    /// The test split.
    Test,
}

impl Split {
    /// Train, valid and test.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];
}

impl Choice for Split {
    const NAMES: &'static [(Self, &'static str)] =
        &[(Split::Train, "train"), (Split::Valid, "valid"), (Split::Test, "test")];
}

display_as_name!(Split);

/// How a corpus folder names its three files.
const LAYOUTS: [[&str; 3]; 2] =
    [["train.txt", "valid.txt", "test.txt"], ["wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"]];

/// Where a corpus came from, as `config.json` records it: the folder as
/// given, and each split's file by name, size and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusRecord {
    /// The corpus folder, as given.
    pub dir: String,
    /// Train, valid, test.
    pub files: Vec<FileRecord>,
}

/// The three splits as id streams, with the training split's vocabulary.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The training split's words (or its most frequent, and `<unk>`).
    pub vocab: Vocab,
    /// The training split as ids.
    pub train: Vec<u32>,
    /// The validation split as ids.
    pub valid: Vec<u32>,
    /// The test split as ids.
    pub test: Vec<u32>,
    /// Tokens of each split (train, valid, test; words and `<eos>`), and
    /// how many of them were read as `<unk>`, not being in the vocabulary
    /// (the corpus's own `<unk>` tokens not counted).
    pub tokens: [usize; 3],
    /// Tokens of each split read as `<unk>`, not being in the vocabulary.
    pub unknown: [usize; 3],
    /// The files it was read from; `None` for Penn Treebank, which is
    /// known by its published checksums.
    pub source: Option<CorpusRecord>,
}

/// One split to read: the file's path (named in errors), the text, and how
/// many tokens to make room for.
pub(crate) struct SplitText<R> {
    pub path: PathBuf,
    pub reader: R,
    pub tokens: usize,
}

impl Corpus {
    /// Builds the corpus from its three texts, in order train, valid, test.
    /// `limit`: the vocabulary's size at most, `<unk>` included (see
    /// [`VocabBuilder::finish`]); `None` keeps every word of train.
    pub(crate) fn read<R: BufRead>(splits: [SplitText<R>; 3], limit: Option<usize>) -> Result<Corpus, DataError> {
        check_limit(limit)?;
        let [train, valid, test] = splits;
        let mut builder = VocabBuilder::default();
        let mut train_ids = Vec::with_capacity(train.tokens);
        let train_words = text::for_each_word(&train.path, train.reader, |_, w| {
            train_ids.push(builder.add(w));
            Ok(())
        })?;
        if train_words == 0 {
            return Err(DataError::Empty { path: train.path });
        }
        let (vocab, rare) = builder.finish(limit, &mut train_ids);
        let (valid_ids, valid_unknown) = encode(valid, &vocab)?;
        let (test_ids, test_unknown) = encode(test, &vocab)?;
        Ok(Corpus {
            vocab,
            tokens: [train_ids.len(), valid_ids.len(), test_ids.len()],
            train: train_ids,
            valid: valid_ids,
            test: test_ids,
            unknown: [rare, valid_unknown, test_unknown],
            source: None,
        })
    }

    /// The first `corpus_size` tokens of train (the notebook's
    /// `corpus[:corpus_size]`), or all of it for 0. The vocabulary stays the
    /// full one.
    pub fn training_corpus(&self, corpus_size: usize) -> Result<&[u32], DataError> {
        match corpus_size {
            0 => Ok(&self.train),
            n if n <= self.train.len() => Ok(&self.train[..n]),
            n => Err(DataError::CorpusSize { asked: n, tokens: self.train.len() }),
        }
    }

    /// The ids of `split`.
    pub fn split(&self, split: Split) -> &[u32] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// One line on the words outside the vocabulary, e.g. "vocabulary 5,000
    /// words; read as `<unk>`: train 1,204 of 90,000 tokens, valid 31 of 9,000,
    /// test 40 of 9,500".
    pub fn unknown_line(&self) -> String {
        let [train, valid, test] =
            [0, 1, 2].map(|i| format!("{} of {}", group(self.unknown[i]), group(self.tokens[i])));
        format!(
            "vocabulary {} words; read as {UNK}: train {train} tokens, valid {valid}, test {test}",
            group(self.vocab.len())
        )
    }
}

/// A vocabulary limit must hold one word and `<unk>`.
fn check_limit(limit: Option<usize>) -> Result<(), DataError> {
    match limit {
        Some(k) if k < 2 => Err(DataError::VocabLimit(k)),
        _ => Ok(()),
    }
}

/// `1234567` as `1,234,567`.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A text as ids of `vocab`, and how many of its tokens were read as
/// `<unk>`; a word outside a vocabulary without `<unk>` is an error naming it.
pub(crate) fn encode<R: BufRead>(split: SplitText<R>, vocab: &Vocab) -> Result<(Vec<u32>, usize), DataError> {
    let unk = vocab.unk();
    let mut ids = Vec::with_capacity(split.tokens);
    let mut unknown = 0;
    let path = &split.path;
    let words = text::for_each_word(path, split.reader, |line, w| {
        let id = match (vocab.id(w), unk) {
            (Some(id), _) => id,
            (None, Some(unk)) => {
                unknown += 1;
                unk
            }
            (None, None) => {
                return Err(DataError::UnknownWord { path: path.clone(), line, word: w.to_string() });
            }
        };
        ids.push(id);
        Ok(())
    })?;
    if words == 0 {
        return Err(DataError::Empty { path: split.path });
    }
    Ok((ids, unknown))
}

/// Any text file as ids of `vocab` (`eval`), how many of its tokens were
/// read as `<unk>`, and the file's record (size, SHA-256).
pub fn encode_file(path: &Path, vocab: &Vocab) -> Result<(Vec<u32>, usize, FileRecord), DataError> {
    let survey = text::survey(path)?;
    let (ids, unknown) =
        encode(SplitText { path: path.to_path_buf(), reader: text::open(path)?, tokens: survey.tokens }, vocab)?;
    Ok((ids, unknown, survey.record))
}

/// The three files of the corpus in `dir`, in order train, valid, test.
pub fn split_files(dir: &Path) -> Result<[PathBuf; 3], DataError> {
    for names in LAYOUTS {
        let paths = names.map(|name| dir.join(name));
        if !paths[0].is_file() {
            continue;
        }
        if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
            let (needs, has) = (names[1..].join(" and "), names[0]);
            return Err(DataError::MissingSplit { path: missing.clone(), needs, has: has.to_string() });
        }
        return Ok(paths);
    }
    Err(DataError::NoCorpus { dir: dir.to_path_buf() })
}

/// The file of one split of the corpus in `dir`.
pub fn split_file(dir: &Path, split: Split) -> Result<PathBuf, DataError> {
    let [train, valid, test] = split_files(dir)?;
    Ok(match split {
        Split::Train => train,
        Split::Valid => valid,
        Split::Test => test,
    })
}

/// Reads the corpus in `dir`: two passes over each file, the first for its
/// size, checksum and token count (and any bytes that are not text), the
/// second for its ids, so that the ids are allocated once and the text is
/// never held whole.
pub fn load(dir: &Path, limit: Option<usize>) -> Result<Corpus, DataError> {
    // Before the files are read: a bad limit should not cost a pass over 500 MB.
    check_limit(limit)?;
    let paths = split_files(dir)?;
    let mut records = Vec::new();
    let mut splits = Vec::new();
    for path in paths {
        let survey = text::survey(&path)?;
        records.push(survey.record);
        splits.push(SplitText { reader: text::open(&path)?, path, tokens: survey.tokens });
    }
    let splits: [SplitText<_>; 3] = splits.try_into().ok().expect("three splits");
    let mut corpus = Corpus::read(splits, limit)?;
    // Absolute: `eval` finds the run's corpus from wherever it is run.
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    corpus.source = Some(CorpusRecord { dir: dir.display().to_string(), files: records });
    Ok(corpus)
}

impl CorpusRecord {
    /// The first file in which `other` (a later command's corpus) differs
    /// from this one (the run's), said as "train.txt has SHA-256 X there,
    /// Y here"; the folder may have moved.
    pub fn difference(&self, other: &CorpusRecord) -> Option<String> {
        if self.files.len() != other.files.len() {
            return Some("the number of files differs".into());
        }
        self.files.iter().zip(&other.files).find(|(a, b)| a != b).map(|(a, b)| {
            if a.name != b.name {
                format!("its training files are {} there, {} here", a.name, b.name)
            } else {
                format!(
                    "{} has {} bytes and SHA-256 {} there, {} bytes and {} here",
                    a.name, a.bytes, a.sha256, b.bytes, b.sha256
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_texts(train: &str, valid: &str, test: &str, limit: Option<usize>) -> Result<Corpus, DataError> {
        let split =
            |name: &str, t: &'static str| SplitText { path: PathBuf::from(name), reader: t.as_bytes(), tokens: 0 };
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        Corpus::read([split("d/train", leak(train)), split("d/valid", leak(valid)), split("d/test", leak(test))], limit)
    }

    #[test]
    fn ids_follow_first_appearance_and_each_line_ends_with_eos() {
        let p = from_texts(" a b a \n c \n", " c a \n", " b \n", None).unwrap();
        assert_eq!(p.vocab.id_to_word, ["a", "b", "<eos>", "c"]);
        assert_eq!(p.train, [0, 1, 0, 2, 3, 2]);
        assert_eq!(p.valid, [3, 0, 2]);
        assert_eq!(p.test, [1, 2]);
        assert_eq!((p.tokens, p.unknown), ([6, 3, 2], [0, 0, 0]));
    }

    #[test]
    fn an_unknown_word_without_unk_is_named_with_its_line() {
        let err = from_texts(" a b \n", " a \n a zebra \n", " a \n", None).unwrap_err();
        assert_eq!(err.to_string(), "d/valid line 2: the word \"zebra\" is not in the vocabulary, which has no <unk>");
    }

    #[test]
    fn unknown_words_are_read_as_unk_when_the_vocabulary_has_it() {
        let p = from_texts("a <unk> a b\n", "a zebra\n", "c d b\n", None).unwrap();
        assert_eq!(p.valid, [0, 1, 3]);
        assert_eq!((p.tokens, p.unknown), ([5, 3, 4], [0, 1, 2]));
        // <eos> is a word like the others: here it is one of the rare ones.
        let p = from_texts("a a b c\n", "a zebra c\n", "b\n", Some(3)).unwrap();
        assert_eq!(p.vocab.id_to_word, ["a", "b", "<unk>"]);
        assert_eq!((&p.train[..], &p.valid[..], &p.test[..]), (&[0, 0, 1, 2, 2][..], &[0, 2, 2, 2][..], &[1, 2][..]));
        assert_eq!(p.unknown, [2, 3, 1]);
        assert_eq!(
            p.unknown_line(),
            "vocabulary 3 words; read as <unk>: train 2 of 5 tokens, valid 3 of 4, test 1 of 2"
        );
    }

    #[test]
    fn an_empty_file_and_a_limit_below_two_are_refused() {
        let err = from_texts(" a \n", " a \n", "\n\n", None).unwrap_err();
        assert_eq!(err.to_string(), "d/test holds no words");
        let err = from_texts("", " a \n", " a \n", None).unwrap_err();
        assert_eq!(err.to_string(), "d/train holds no words");
        let err = from_texts("a\n", "a\n", "a\n", Some(1)).unwrap_err();
        assert!(matches!(err, DataError::VocabLimit(1)));
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!([0, 999, 1000, 1234567].map(group), ["0", "999", "1,000", "1,234,567"]);
    }
}
