//! Chapter 7: the book's addition data set split as the book splits it, the
//! encoder-decoders trained as the book's Trainer trains them, resumed,
//! evaluated, asked and exported.

mod common;

use common::{rnnlm, seq2seq};

use std::path::Path;

use rnnlm::data::fetch::sha256_hex;
use rnnlm::data::sequence::SequenceSet;
use rnnlm::run::RunDir;

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

/// A run small enough for a test: D 8, H 24, batches of 500.
const SMALL: [&str; 8] = ["--wordvec-size", "8", "--hidden-size", "24", "--batch-size", "500", "--backend", "flex"];

/// `seq2seq train` with [`SMALL`] and `args` in `run`.
fn train_small(run: &Path, args: &[&str]) -> String {
    let mut all = vec!["train", "--artifacts", run.to_str().unwrap()];
    all.extend(SMALL);
    all.extend(args);
    seq2seq(&all)
}

/// The printed epoch lines, less their seconds.
fn without_seconds(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| epoch "))
        .map(|l| l.rsplitn(3, '|').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn a_resumed_run_prints_the_uninterrupted_runs_numbers_to_every_digit() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    let one = without_seconds(&train_small(&whole, &["--epochs", "4", "--seed", "3", "--reverse"]));
    let mut two = without_seconds(&train_small(&parts, &["--epochs", "2", "--seed", "3", "--reverse"]));
    two.extend(without_seconds(&train_small(&parts, &["--epochs", "4", "--seed", "3", "--reverse", "--resume"])));
    assert_eq!(one.len(), 4);
    assert_eq!(one, two);
    let csv = |run: &Path| {
        let rows = rnnlm::run::metrics::read_answer_metrics(&RunDir::new(run).metrics()).unwrap();
        rows.iter().map(|r| (r.epoch, r.train_loss, r.valid_accuracy)).collect::<Vec<_>>()
    };
    assert_eq!(csv(&whole), csv(&parts));

    // Another order or direction is another run.
    let mut all = vec!["seq2seq", "train", "--artifacts", parts.to_str().unwrap()];
    all.extend(SMALL);
    all.extend(["--epochs", "5", "--seed", "4", "--reverse", "--resume"]);
    let stderr = common::one_line_error(rnnlm().args(&all), "another seed");
    assert!(stderr.contains("seed is 3 there, 4 here"), "{stderr}");
}

#[test]
fn eval_shows_the_books_ten_questions_and_scores_the_test_split_as_training_did() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--epochs", "1", "--seed", "5"]);
    let out = seq2seq(&["eval", "--backend", "flex", "--artifacts", run.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    // a header, then Q, T, the mark with the answer, and --- per question
    assert_eq!(lines.iter().filter(|l| l.starts_with("Q ")).count(), 10, "{out}");
    // the book's first test question and its answer, padding kept
    assert_eq!(lines[1], "Q 77+85  ", "{out}");
    assert_eq!(lines[2], "T 162 ", "{out}");
    assert!(lines[3].starts_with('☑') || lines[3].starts_with('☒'), "{out}");
    let last = lines.iter().find(|l| l.starts_with("test accuracy: ")).unwrap();
    assert!(lines.last().unwrap().starts_with("test loss (teacher forcing): "), "{out}");
    let acc: f64 = last.strip_prefix("test accuracy: ").unwrap().split('%').next().unwrap().parse().unwrap();
    let rows = rnnlm::run::metrics::read_answer_metrics(&RunDir::new(&run).metrics()).unwrap();
    assert!((acc - 100.0 * rows[0].valid_accuracy).abs() < 1e-9, "eval {acc}% vs training's {:?}", rows[0]);

    // A run folder whose vocabulary is not the data set's, or not one character a word, is refused in one line.
    let vocab_path = RunDir::new(&run).vocab();
    let vocab = rnnlm::run::vocab::read_vocab(&vocab_path).unwrap();
    for (command, change, says) in [("eval", 0, "another vocabulary"), ("answer", 1, "is not one character")] {
        let mut words = vocab.clone();
        match change {
            0 => words.swap(0, 1),
            _ => words[0].push('x'),
        }
        rnnlm::run::vocab::write_vocab(&vocab_path, &words).unwrap();
        let stderr = common::one_line_error(
            rnnlm()
                .args(["seq2seq", command, "--backend", "flex", "--artifacts", run.to_str().unwrap()])
                .args(if command == "eval" { &[][..] } else { &["1+1"][..] }),
            command,
        );
        assert!(stderr.contains(says), "{command}: {stderr}");
    }
}

#[test]
fn a_typed_question_is_answered_and_bad_ones_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--epochs", "1", "--seed", "6", "--reverse"]);
    let out = seq2seq(&["answer", "--backend", "flex", "--artifacts", run.to_str().unwrap(), "16+75", "1+1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("16+75 ") && lines[1].starts_with("1+1 "), "{out}");
    for (question, says) in [("16*75", "'*'"), ("1234+5678", "9 characters"), ("", "")] {
        let out = rnnlm()
            .args(["seq2seq", "answer", "--backend", "flex", "--artifacts", run.to_str().unwrap(), question])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if question.is_empty() {
            // an empty question is seven spaces: a question like any other
            assert!(out.status.success(), "{stderr}");
            continue;
        }
        assert!(!out.status.success(), "{question:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says) && !stderr.contains("panicked"), "{question:?}: {stderr}");
    }
}

#[test]
fn exported_weights_carry_the_books_names_and_start_a_run_with_init() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--epochs", "1", "--model", "peeky-seq2seq"]);
    let npz = dir.path().join("peeky.npz");
    seq2seq(&["export", "--artifacts", run.to_str().unwrap(), "--out", npz.to_str().unwrap()]);
    let named = rnnlm::weights::files::read(&npz).unwrap();
    let names: Vec<&str> = named.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "encoder.embed.W",
            "encoder.lstm.Wx",
            "encoder.lstm.Wh",
            "encoder.lstm.b",
            "decoder.embed.W",
            "decoder.lstm.Wx",
            "decoder.lstm.Wh",
            "decoder.lstm.b",
            "decoder.affine.W",
            "decoder.affine.b"
        ]
    );
    // Peeky: the decoder's LSTM reads [h, x], its affine layer [h, h_t]
    assert_eq!(named[5].1, [24 + 8, 4 * 24]);
    assert_eq!(named[8].1, [2 * 24, 13]);

    let again = dir.path().join("again");
    train_small(&again, &["--epochs", "1", "--model", "peeky-seq2seq", "--init", npz.to_str().unwrap()]);
    // (a .safetensors file keeps its tensors in an order of its own)
    let mut kept = rnnlm::weights::files::read(&RunDir::new(&again).init_weights()).unwrap();
    let mut exported = named.clone();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    exported.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(kept, exported, "the run starts from the exported weights");

    // The same file cannot start the other model.
    let mut all = vec!["seq2seq", "train", "--artifacts"];
    let other = dir.path().join("other");
    all.push(other.to_str().unwrap());
    all.extend(SMALL);
    all.extend(["--epochs", "1", "--init", npz.to_str().unwrap()]);
    let stderr = common::one_line_error(rnnlm().args(&all), "weights of other sizes");
    assert!(stderr.contains("decoder.lstm.Wx is [32, 96]"), "{stderr}");
    assert!(!other.join("config.json").exists());
}

/// Each write of an epoch in turn fails (a full disk, injected with
/// `RNNLM_FAIL_WRITE`): the run stops with one line naming the file, and
/// `--resume` then ends where the uninterrupted run ends, to every digit.
#[test]
fn a_failed_write_then_resume_ends_where_the_uninterrupted_run_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--epochs", "2", "--seed", "8"];
    let whole = tmp.path().join("whole");
    train_small(&whole, &args);
    let rows = |run: &Path| {
        let rows = rnnlm::run::metrics::read_answer_metrics(&RunDir::new(run).metrics()).unwrap();
        rows.iter().map(|r| (r.epoch, r.train_loss, r.valid_accuracy)).collect::<Vec<_>>()
    };
    for fault in ["model-2.bpk", "optim-1.bpk", "state-2.json", "metrics.csv#2", "accuracy.png#1", "init.safetensors"] {
        let dir = tmp.path().join(fault.replace(['#', '.'], "-"));
        let mut all = vec!["seq2seq", "train", "--artifacts", dir.to_str().unwrap()];
        all.extend(SMALL);
        all.extend(args);
        let stderr = common::one_line_error(rnnlm().args(&all).env(rnnlm::atomic::FAIL_WRITE, fault), fault);
        assert!(
            stderr.starts_with("error: cannot write ") && stderr.contains(fault.split('#').next().unwrap()),
            "{stderr}"
        );
        if fault == "init.safetensors" {
            // nothing began: the same command again
            assert!(stderr.trim().ends_with("run the command again"), "{stderr}");
            train_small(&dir, &args);
        } else {
            assert!(stderr.trim().ends_with("continue the run with --resume"), "{fault}: {stderr}");
            train_small(&dir, &["--epochs", "2", "--seed", "8", "--resume"]);
        }
        assert_eq!(rows(&dir), rows(&whole), "{fault}");
    }
}

/// As a user's clone runs it (no `BOOK_DIR`): `addition.txt` is downloaded
/// once from the book's repository (a server on 127.0.0.1 here) into
/// `data/book/dataset/`, checked, and used; a damaged copy there is one line.
#[test]
fn addition_txt_is_downloaded_once_and_checked() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("dataset")).unwrap();
    let file = SequenceSet::Addition.load().map(|_| SequenceSet::Addition.path()).unwrap();
    std::fs::copy(std::path::absolute(&file).unwrap(), repo.path().join("dataset/addition.txt")).unwrap();
    let (base, requests) = common::serve_logged(repo.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        rnnlm().args(args).current_dir(work.path()).env_remove("BOOK_DIR").env("BOOK_URL", &base).output().unwrap()
    };
    let mut args = vec!["seq2seq", "train", "--epochs", "1", "--artifacts", "run"];
    args.extend(SMALL);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("downloading {base}/dataset/addition.txt")), "{stderr}");
    let kept = work.path().join("data/book/dataset");
    assert_eq!(common::files_in(&kept), ["addition.txt"], "no temporary file left");
    let out = run(&["seq2seq", "eval", "--backend", "flex", "--artifacts", "run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(*requests.lock().unwrap(), ["/dataset/addition.txt"], "downloaded once");

    std::fs::write(kept.join("addition.txt"), "16+75  _91  \n").unwrap();
    let out = run(&["seq2seq", "eval", "--backend", "flex", "--artifacts", "run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is corrupt or truncated"), "{stderr}");
}

/// A resumed run takes the layouts its folder records (`layouts.json`), not
/// ones chosen anew: the tests' processes fix every product's layout to its
/// first (`RNNLM_KERNELS=fixed`), and a folder that records another for the
/// steps' `h·Wh` keeps it through a resumption.
#[test]
fn a_resumed_run_takes_the_layouts_its_folder_records() {
    use rnnlm::run::layouts::read_layouts;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_small(&run, &["--epochs", "1"]);
    let recorded = common::record_steps_by_columns(&run);
    train_small(&run, &["--epochs", "2", "--resume"]);
    assert_eq!(read_layouts(&RunDir::new(&run).layouts()).unwrap(), recorded);
}
