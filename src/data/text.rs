//! Text to words the book's way (`dataset/ptb.py`): the words of each line,
//! split on whitespace, followed by `<eos>`. Files are read a line at a time,
//! never whole, so that a corpus of WikiText-103's size (540 MB) costs the
//! memory of its ids and not of its text.

use std::io::{BufRead, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::DataError;

/// The end-of-sentence token that ends every line.
pub const EOS: &str = "<eos>";

/// A file as a run records it: its name in the corpus folder, its size and
/// its SHA-256, which tell whether a later command reads the same text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file's name in the corpus folder.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// What one pass over a file's bytes finds: its record and how many tokens
/// (words and `<eos>`) it holds, so that its ids can be allocated once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survey {
    /// The file's name, size and SHA-256.
    pub record: FileRecord,
    /// Tokens it holds: words and `<eos>`.
    pub tokens: usize,
}

fn io_err(path: &Path, e: std::io::Error) -> DataError {
    DataError::Io { path: path.to_path_buf(), reason: e.to_string() }
}

/// The line as text, or which line of which file is not UTF-8.
fn line_text<'a>(path: &Path, number: usize, bytes: &'a [u8]) -> Result<&'a str, DataError> {
    std::str::from_utf8(bytes).map_err(|e| DataError::NotUtf8 {
        path: path.to_path_buf(),
        line: number,
        column: e.valid_up_to() + 1,
    })
}

/// Reads `reader` a line at a time (the `\n` removed), numbering lines from 1.
fn for_each_line(
    path: &Path,
    mut reader: impl BufRead,
    mut f: impl FnMut(usize, &[u8]) -> Result<(), DataError>,
) -> Result<u64, DataError> {
    let mut buf = Vec::new();
    let (mut number, mut bytes) = (0, 0u64);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            return Ok(bytes);
        }
        bytes += n as u64;
        number += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        f(number, line)?;
    }
}

/// The file's size, SHA-256 and token count, in one pass; bytes that are not
/// UTF-8 are found here, before any id is made. The record names the file
/// by its name alone.
pub fn survey(path: &Path) -> Result<Survey, DataError> {
    let name = path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut hasher = Sha256::new();
    let mut tokens = 0;
    let reader = std::io::BufReader::with_capacity(1 << 20, Hashing { inner: file, hasher: &mut hasher });
    let bytes = for_each_line(path, reader, |number, line| {
        tokens += 1 + if line.is_ascii() {
            // The common case without decoding: ASCII whitespace is all the whitespace there is.
            line.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty()).count()
        } else {
            line_text(path, number, line)?.split_whitespace().count()
        };
        Ok(())
    })?;
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Survey { record: FileRecord { name, bytes, sha256 }, tokens })
}

/// A reader that hashes what passes through it.
struct Hashing<'h, R> {
    inner: R,
    hasher: &'h mut Sha256,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Calls `word(line, w)` for every token of the text in order: each line's
/// words, then [`EOS`]. `path` only names the file in errors. Returns how
/// many words there were, `<eos>` not counted.
pub fn for_each_word(
    path: &Path,
    reader: impl BufRead,
    mut word: impl FnMut(usize, &str) -> Result<(), DataError>,
) -> Result<usize, DataError> {
    let mut words = 0;
    for_each_line(path, reader, |number, line| {
        for w in line_text(path, number, line)?.split_whitespace() {
            words += 1;
            word(number, w)?;
        }
        word(number, EOS)
    })?;
    Ok(words)
}

/// Opens a text file for [`for_each_word`].
pub fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[u8]) -> Result<Vec<(usize, String)>, DataError> {
        let mut out = Vec::new();
        for_each_word(Path::new("f.txt"), text, |line, w| {
            out.push((line, w.to_string()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn every_line_ends_with_eos_and_whitespace_of_any_kind_splits() {
        let got = words(" a  b\t\n\nc\u{a0}d \r\ne".as_bytes()).unwrap();
        let want = [(1, "a"), (1, "b"), (1, EOS), (2, EOS), (3, "c"), (3, "d"), (3, EOS), (4, "e"), (4, EOS)];
        assert_eq!(got, want.map(|(l, w)| (l, w.to_string())));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_by_file_line_and_column() {
        let err = words(b"ok line\nab\xffc\n").unwrap_err();
        assert_eq!(err.to_string(), "f.txt line 2 is not UTF-8 text (byte 3 of the line)");
    }

    #[test]
    fn the_survey_counts_the_tokens_that_reading_makes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let text = " a  b\t\n\nc\u{a0}d \r\ne";
        std::fs::write(&path, text).unwrap();
        let s = survey(&path).unwrap();
        assert_eq!(s.record.name, "t.txt");
        assert_eq!(s.tokens, words(text.as_bytes()).unwrap().len());
        assert_eq!(s.record.bytes, text.len() as u64);
        assert_eq!(s.record.sha256, super::super::fetch::sha256_hex(text.as_bytes()));
        std::fs::write(&path, b"x\n\xc3(\n").unwrap();
        assert_eq!(
            survey(&path).unwrap_err().to_string(),
            format!("{} line 2 is not UTF-8 text (byte 1 of the line)", path.display())
        );
    }
}
