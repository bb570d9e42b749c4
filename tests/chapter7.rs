//! Chapter 7: the book's addition data set, split as the book splits it.

use std::process::Command;

use rnnlm::data::fetch::sha256_hex;
use rnnlm::data::sequence::SequenceSet;

/// `python bench/sequence_split.py` (the book's own `dataset/sequence.py`)
/// printed these: x_train, t_train, x_test, t_test as little-endian int32.
const BOOK_SPLITS: [(SequenceSet, usize, [&str; 4]); 2] = [
    (
        SequenceSet::Addition,
        13,
        [
            "3e494f5986e06c7b3c52b9ea83567964f46afbbf52a49edbc89589c001b417dd",
            "9f62ef642415815859e5f45a01f36e0d59eadc7976e8e9744bdeb9fc0e0d858b",
            "73b2f6d03e52320959d27c7759f82e591cbfd03bdedd77546e18f89d2216817f",
            "58fae805bb8f75e3f046c7d1459dd409a84a477c8d618788acca8c8fc2790488",
        ],
    ),
    (
        SequenceSet::Date,
        59,
        [
            "43aa7bc8249037f34d95ec4d83055e9f90f9fdb72e0eb5e63626f293b5b990a5",
            "f8a88cd130201bf1efa18a2070ad885865392a8d1ce3d8bb0e4a47059752f892",
            "a7912619391c19aa71c43127f206de7ab9532019bf703529f7d4d5233f883cf9",
            "698f8407c618450d0aa00ee1d78cc5a9fee0c59ab0f879ddee4392dc8f661fb3",
        ],
    ),
];

#[test]
fn the_split_is_the_books_to_every_id() {
    for (set, vocab, hashes) in BOOK_SPLITS {
        let d = set.load().unwrap();
        assert_eq!(d.chars.len(), vocab, "{set}");
        let ours = [&d.train.x, &d.train.t, &d.test.x, &d.test.t].map(|a| sha256_hex(&a.le_i32_bytes()));
        assert_eq!(ours, hashes, "{set}");
        assert_eq!((d.train.len(), d.test.len()), (45_000, 5_000));
    }
}

fn rnnlm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rnnlm"))
}

/// Runs `rnnlm seq2seq ARGS` and returns its stdout; fails the test on a non-zero exit.
fn seq2seq(args: &[&str]) -> String {
    let out = rnnlm().arg("seq2seq").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The `| epoch N | ...` lines, without their seconds.
fn epoch_lines(stdout: &str) -> Vec<(f64, f64)> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| epoch "))
        .map(|l| {
            let field = |name: &str| {
                let rest = &l[l.find(name).unwrap_or_else(|| panic!("{l}")) + name.len()..];
                rest.split([' ', '%']).find(|s| !s.is_empty()).unwrap().parse::<f64>().unwrap()
            };
            (field("train loss "), field("valid accuracy "))
        })
        .collect()
}

/// The book's own code replaying two runs from their starting weights:
/// `python bench/seq2seq_book.py RUN/init.safetensors --seed S --epochs 2
/// [--reverse]` on the run folders of `rnnlm seq2seq train --seed 1` and
/// `--model peeky-seq2seq --reverse --seed 2` printed these (train loss, test
/// accuracy in %).
/// Per epoch: train loss and test accuracy in %.
type Epochs = [(f64, f64); 2];

const BOOK_REPLAYS: [(&[&str], Epochs); 2] = [
    (&["--seed", "1"], [(1.854112, 0.160), (1.655634, 0.260)]),
    (&["--model", "peeky-seq2seq", "--reverse", "--seed", "2"], [(1.843363, 0.240), (1.626227, 0.540)]),
];

/// The same weights and the same epoch order give the book's loss per epoch
/// (to the printed digits, less f32 summation order: 1e-5) and its accuracy
/// (to one question in 5,000, 0.02%: an answer whose scores tie within the
/// summation order may flip).
#[test]
fn training_replays_the_books_trainer_from_the_same_weights_and_seed() {
    for (args, book) in BOOK_REPLAYS {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut all = vec!["train", "--epochs", "2", "--backend", "flex", "--artifacts", run.to_str().unwrap()];
        all.extend(args);
        let ours = epoch_lines(&seq2seq(&all));
        assert_eq!(ours.len(), 2, "{args:?}");
        for ((loss, acc), (book_loss, book_acc)) in ours.iter().zip(book) {
            assert!(((loss - book_loss) / book_loss).abs() < 1e-5, "{args:?}: loss {loss} vs the book's {book_loss}");
            assert!((acc - book_acc).abs() <= 0.02 + 1e-9, "{args:?}: accuracy {acc}% vs the book's {book_acc}%");
        }
    }
}
