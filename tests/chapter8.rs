//! Chapter 8: the book's trained `AttentionSeq2seq.pkl` scored as the book's
//! code scores it, found or fetched as a fresh clone would, drawn where it
//! looks; attention trained as the book's Trainer trains it.

mod common;

use common::{rnnlm, seq2seq};

use std::process::Output;

use rnnlm::data::book;
use rnnlm::data::sequence::SequenceSet;

/// The value after `name` in the line of `stdout` that holds it.
fn field(stdout: &str, name: &str) -> f64 {
    let line = stdout.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name} in {stdout}"));
    let rest = &line[line.find(name).unwrap() + name.len()..];
    rest.split([' ', '%']).find(|s| !s.is_empty()).unwrap().parse().unwrap_or_else(|_| panic!("{line}"))
}

/// `python bench/attention_book.py` (the book's own `AttentionSeq2seq`,
/// `load_params`, `eval_seq2seq` and `forward` on date.txt's reversed test
/// split) printed these for `ch08/AttentionSeq2seq.pkl`.
const BOOK_ACCURACY_PERCENT: f64 = 100.0;
const BOOK_TEST_LOSS: f64 = 0.00025770849227905275;

/// The book's model gives the book's accuracy to the question and its
/// teacher-forced loss to 1e-4 relative (f32 sums over 50,000 positions in
/// another order, and the book's `log(softmax)` against a log-sum-exp).
#[test]
fn the_books_trained_attention_model_scores_as_the_books_code() {
    let out = seq2seq(&["eval", "--book-model", "--backend", "flex"]);
    assert!(out.contains("AttentionSeq2seq on date.txt, reversed questions"), "{out}");
    assert_eq!(field(&out, "test accuracy: "), BOOK_ACCURACY_PERCENT, "{out}");
    let loss = field(&out, "test loss (teacher forcing): ");
    assert!(((loss - BOOK_TEST_LOSS) / BOOK_TEST_LOSS).abs() < 1e-4, "loss {loss} vs the book's {BOOK_TEST_LOSS}");
    // the ten questions shown, the book's way (reading order, then the answer)
    assert!(out.contains("☑ 1994-09-27") || out.matches("☑").count() == 10, "{out}");
}

/// As a user's clone runs it (no `BOOK_DIR`): the model and date.txt are
/// downloaded once from the book's repository (a server on 127.0.0.1 here)
/// into `data/book/`, checked, and used.
#[test]
fn the_books_attention_model_is_fetched_once_into_a_fresh_clone() {
    let repo = tempfile::tempdir().unwrap();
    for (from, to) in [
        (book::trained_attention_model().unwrap(), book::ATTENTION_MODEL_IN_REPO),
        (SequenceSet::Date.load().map(|_| SequenceSet::Date.path()).unwrap(), "dataset/date.txt"),
    ] {
        let to = repo.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(std::path::absolute(&from).unwrap(), to).unwrap();
    }
    let (base, requests) = common::serve_logged(repo.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> Output {
        rnnlm().args(args).current_dir(work.path()).env_remove("BOOK_DIR").env("BOOK_URL", &base).output().unwrap()
    };
    let ask = ["seq2seq", "answer", "--book-model", "--backend", "flex", "september 27, 1994", "2/10/93"];
    for _ in 0..2 {
        let out = run(&ask);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout.lines().collect::<Vec<_>>(), ["september 27, 1994 1994-09-27", "2/10/93 1993-02-10"]);
    }
    assert_eq!(common::files_in(&work.path().join("data/book")), ["AttentionSeq2seq.pkl", "dataset"]);
    let mut asked = requests.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["/ch08/AttentionSeq2seq.pkl", "/dataset/date.txt"], "downloaded once");
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn the_attention_heatmap_is_a_png_sized_by_the_question_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("attention.png");
    let out = seq2seq(&[
        "attention",
        "--book-model",
        "--backend",
        "flex",
        "TUESDAY, SEPTEMBER 27, 1994",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.starts_with("TUESDAY, SEPTEMBER 27, 1994 1994-09-27\n"), "{out}");
    // date.txt's questions are 29 characters, its answers 10 after the start mark
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), rnnlm::run::plot::attention_plot_size(10, 29));
    assert_eq!(common::files_in(dir.path()), ["attention.png"], "no temporary file left");

    let stderr = common::one_line_error(
        rnnlm()
            .args(["seq2seq", "attention", "--book-model", "--backend", "flex", "27 septembre 1994 ü", "--out"])
            .arg(dir.path().join("bad.png")),
        "a character outside the vocabulary",
    );
    assert!(stderr.contains("'ü'"), "{stderr}");
    assert!(!dir.path().join("bad.png").exists());

    let stderr = common::one_line_error(
        rnnlm()
            .args(["seq2seq", "attention", "--book-model", "--backend", "flex", "TUESDAY, SEPTEMBER 27, 1994", "--out"])
            .arg(dir.path().join("missing").join("attention.png")),
        "a folder that does not exist",
    );
    assert!(stderr.contains("attention.png") && !stderr.contains("Os {"), "{stderr}");

    let long = "x".repeat(30);
    let stderr = common::one_line_error(
        rnnlm().args(["seq2seq", "answer", "--book-model", "--backend", "flex", &long]),
        "a question too long",
    );
    assert!(stderr.contains("30") && stderr.contains("29"), "{stderr}");
}

/// The book's own code replaying a run from its starting weights:
/// `python bench/seq2seq_book.py RUN/init.safetensors --data date --reverse
/// --seed 1 --epochs 2` on the run folder of `rnnlm seq2seq train --model
/// attention-seq2seq --data date --reverse --seed 1 --epochs 2` printed these
/// (train loss, test accuracy in %) for its first epoch. Its second epoch
/// (0.708516, 87.320%) is where the model learns the task, and there the
/// two part (ours 0.707695, 89.380%): that epoch amplifies rounding, and the
/// book's code alone in float64 (`--float64`) gives 0.704988, 94.940%
/// (docs/chapter8.md).
const BOOK_REPLAY: [(f64, f64); 1] = [(1.305635, 0.000)];

/// The same weights and the same epoch order give the book's loss over the
/// epoch's 351 steps (to the printed digits, less f32 summation order:
/// 1e-5) and its accuracy (to one question in 5,000: an answer whose scores
/// tie within the summation order may flip).
#[test]
fn attention_training_replays_the_books_trainer_from_the_same_weights_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = seq2seq(&[
        "train",
        "--model",
        "attention-seq2seq",
        "--data",
        "date",
        "--reverse",
        "--seed",
        "1",
        "--epochs",
        "1",
        "--backend",
        "flex",
        "--artifacts",
        run.to_str().unwrap(),
    ]);
    let epochs: Vec<&str> = out.lines().filter(|l| l.starts_with("| epoch ")).collect();
    assert_eq!(epochs.len(), 1, "{out}");
    for (line, (book_loss, book_acc)) in epochs.iter().zip(BOOK_REPLAY) {
        let (loss, acc) = (field(line, "train loss "), field(line, "valid accuracy "));
        assert!(((loss - book_loss) / book_loss).abs() < 1e-5, "loss {loss} vs the book's {book_loss}");
        assert!((acc - book_acc).abs() <= 0.02 + 1e-9, "accuracy {acc}% vs the book's {book_acc}%");
    }
}
