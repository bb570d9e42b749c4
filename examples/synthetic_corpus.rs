//! Writes a corpus of WikiText-103's shape for measuring `rnnlm corpus` and
//! `train --corpus` at scale: `train.txt` of WORDS words, `valid.txt` and
//! `test.txt` of WORDS / 400 each (WikiText-103: 103 M, 218 k, 246 k), words
//! drawn by Zipf's law from a vocabulary of 267,735 (WikiText-103's), each
//! written as four letters ("aaaa", "aaab", ...: five bytes with its space,
//! WikiText-103's 5.2), in lines of 20 to 180 words.
//!
//! ```text
//! cargo run --example synthetic_corpus -- /var/tmp/wt103-like 100000000
//! ```
//! The same arguments always write the same files.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

const VOCAB: usize = 267_735;

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The word of rank `r`: its number in base 26, as four letters.
fn word(mut r: usize) -> String {
    let mut letters = [b'a'; 4];
    for l in letters.iter_mut().rev() {
        *l = b'a' + (r % 26) as u8;
        r /= 26;
    }
    String::from_utf8(letters.to_vec()).expect("ASCII")
}

fn write_split(path: &PathBuf, words: usize, seed: u64, cumulative: &[f64], names: &[String]) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng(seed);
    let mut written = 0;
    while written < words {
        let line = (20 + rng.next() % 161) as usize;
        for i in 0..line.min(words - written) {
            let u = rng.unit() * cumulative[cumulative.len() - 1];
            let r = cumulative.partition_point(|&c| c <= u).min(names.len() - 1);
            if i > 0 {
                out.write_all(b" ")?;
            }
            out.write_all(names[r].as_bytes())?;
        }
        out.write_all(b"\n")?;
        written += line;
    }
    out.flush()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(Ok(words))) = (args.get(1), args.get(2).map(|w| w.parse::<usize>())) else {
        eprintln!("usage: synthetic_corpus DIR WORDS");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let names: Vec<String> = (0..VOCAB).map(word).collect();
    let mut cumulative = Vec::with_capacity(VOCAB);
    let mut total = 0.0;
    for r in 0..VOCAB {
        total += 1.0 / (r + 1) as f64;
        cumulative.push(total);
    }
    for (name, n, seed) in [("train.txt", words, 1), ("valid.txt", words / 400, 2), ("test.txt", words / 400, 3)] {
        write_split(&dir.join(name), n.max(1), seed, &cumulative, &names)?;
    }
    Ok(())
}
