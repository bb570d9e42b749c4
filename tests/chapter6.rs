//! Chapter 6's models through the Learner and the command line: LSTM and GRU
//! trained as the reference trains them, BetterRnnlm's dropout and schedule,
//! runs of one model refusing another, and the book's own trained model.

mod common;

use std::process::Command;

use rnnlm::arch::ModelKind;
use rnnlm::backend::Backend;
use rnnlm::data::batches::StreamBatches;
use rnnlm::data::corpus::Corpus;
use rnnlm::data::ptb;
use rnnlm::reference;
use rnnlm::run::{self, RunDir, metrics};
use rnnlm::train::{self, OptimizerKind, Progress, TrainConfig, TrainPreset};

fn ptb() -> Corpus {
    ptb::load_dir(&common::ptb_dir()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

fn rnnlm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    // Layouts fixed, not measured: runs in separate processes print the same digits.
    cmd.env("PTB_DIR", common::ptb_dir()).env("RNNLM_KERNELS", "fixed");
    cmd
}

/// The notebook's settings (Adam, 10,000 words, batches of 10 x 5) with another model.
fn short_run(model: ModelKind, epochs: usize) -> TrainConfig {
    TrainConfig { model, epochs, ..TrainConfig::notebook(10_000) }
}

/// The Learner and the manual-backward reference, trained from the same
/// weights on the same batches, give the same perplexities: the reference
/// is the band. 0.5% leaves room for f32 rounding compounded over 400 steps
/// (the two sum in different orders); a wrong gate, bias or state hand-over
/// moves the first epoch by far more.
#[test]
fn lstm_and_gru_train_as_the_reference_does() {
    let data = ptb();
    for model in [ModelKind::Lstm, ModelKind::Gru] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = short_run(model, 2);
        let rows = train::train(&cfg, Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
        assert_eq!(rows.len(), 2);

        let corpus = data.training_corpus(cfg.corpus_size).unwrap();
        let train_b = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).unwrap();
        let valid_b = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size).unwrap();
        let mut reference = reference::Rnnlm::<f32>::from_weights(&cfg.initial_weights(), 0.0, 0).unwrap();
        let mut adam = reference::Adam::new(cfg.lr as f32);
        let ref_rows =
            reference::train::train(&mut reference, &train_b, &valid_b, &mut adam, cfg.max_grad as f32, 2, |_| {})
                .unwrap();
        for (b, r) in rows.iter().zip(&ref_rows) {
            println!(
                "{model} epoch {}: burn {:.3}/{:.3}, reference {:.3}/{:.3}",
                b.epoch,
                b.train_perplexity,
                b.valid_perplexity,
                r.train_perplexity(),
                r.valid_perplexity()
            );
            assert!(
                rel(b.train_perplexity, r.train_perplexity()) < 0.005,
                "{model} epoch {}: burn {} vs reference {}",
                b.epoch,
                b.train_perplexity,
                r.train_perplexity()
            );
            assert!(
                rel(b.valid_perplexity, r.valid_perplexity()) < 0.005,
                "{model} epoch {}: burn {} vs reference {}",
                b.epoch,
                b.valid_perplexity,
                r.valid_perplexity()
            );
        }
        // It learns: training perplexity falls, validation is far below the
        // 10,000 of a uniform guess (on 10,000 words it soon memorises, so
        // validation need not fall).
        assert!(rows[1].train_perplexity < rows[0].train_perplexity && rows[1].valid_perplexity < 2_000.0, "{rows:?}");
    }
}

#[test]
fn resuming_a_run_of_another_model_is_refused() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { corpus_size: 2_000, ..short_run(ModelKind::Rnn, 1) };
    train::train(&cfg, Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
    let other = TrainConfig { model: ModelKind::Lstm, epochs: 2, ..cfg.clone() };
    let err =
        train::train(&other, Backend::Flex, &data, dir.path(), true, Progress::EpochLines).unwrap_err().to_string();
    assert!(err.contains("holds a run of another configuration (model is \"rnn\" there, \"lstm\" here)"), "{err}");
}

#[test]
fn the_plot_is_titled_with_the_model_trained() {
    assert_eq!(short_run(ModelKind::Rnn, 1).title(), "SimpleRnnlm (rnn) on Penn Treebank");
    assert_eq!(TrainPreset::Ch6Better.config(10_000).title(), "BetterRnnlm (better-lstm) on Penn Treebank");
    assert_eq!(short_run(ModelKind::Gru, 1).title(), "Rnnlm (GRU) (gru) on Penn Treebank");
}

#[test]
fn presets_are_the_books_scripts() {
    let rnnlm = TrainPreset::Ch6Rnnlm.config(10_000);
    assert_eq!((rnnlm.model, rnnlm.wordvec_size, rnnlm.hidden_size), (ModelKind::Lstm, 100, 100));
    assert_eq!(
        (rnnlm.optimizer, rnnlm.lr, rnnlm.max_grad, rnnlm.batch_size, rnnlm.time_size),
        (OptimizerKind::Sgd, 20.0, 0.25, 20, 35)
    );
    assert_eq!((rnnlm.epochs, rnnlm.corpus_size, rnnlm.lr_decay), (4, 0, false));
    let better = TrainPreset::Ch6Better.config(10_000);
    assert_eq!(
        (better.model, better.wordvec_size, better.hidden_size, better.dropout),
        (ModelKind::BetterLstm, 650, 650, 0.5)
    );
    assert_eq!((better.epochs, better.lr_decay, better.lr), (40, true, 20.0));
    assert_eq!(TrainPreset::Ch5.config(10_000), TrainConfig::notebook(10_000));
}

#[test]
fn dropout_belongs_to_better_lstm_and_tying_needs_equal_sizes() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    for (cfg, msg) in [
        (
            TrainConfig { dropout: 0.5, ..short_run(ModelKind::Lstm, 1) },
            "dropout is for the better-lstm model; lstm has no dropout layers",
        ),
        (
            TrainConfig { dropout: 1.0, ..short_run(ModelKind::BetterLstm, 1) },
            "dropout must be at least 0 and below 1, not 1",
        ),
        (
            TrainConfig { hidden_size: 50, dropout: 0.5, ..short_run(ModelKind::BetterLstm, 1) },
            "wordvec_size must equal the hidden size for tied weights",
        ),
    ] {
        let err = train::train(&cfg, Backend::Flex, &data, &dir.path().join("x"), false, Progress::EpochLines)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(msg), "{err}");
    }
    assert!(!dir.path().join("x").exists());
}

/// BetterRnnlm trains through the Learner with dropout and the book's
/// schedule; its checkpoints resume, and `eval` picks the best epoch.
#[test]
fn better_lstm_trains_with_dropout_and_the_books_schedule() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    // Small: D = H = 64, 2,000 words, SGD lr 20 and clip 0.25 as the book.
    let cfg = TrainConfig {
        wordvec_size: 64,
        hidden_size: 64,
        corpus_size: 2_000,
        epochs: 3,
        ..TrainPreset::Ch6Better.config(10_000)
    };
    let cfg = TrainConfig { batch_size: 10, time_size: 5, ..cfg };
    let rows = train::train(&cfg, Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert!(
            r.train_perplexity.is_finite() && r.valid_perplexity.is_finite() && r.valid_perplexity < 10_000.0,
            "{rows:?}"
        );
    }
    let best = rows.iter().min_by(|a, b| a.valid_perplexity.total_cmp(&b.valid_perplexity)).unwrap().epoch;
    assert_eq!(RunDir::new(dir.path()).best_epoch().unwrap(), best);
    let (_, _, epoch) = train::load_trained(dir.path(), None, &common::flex()).unwrap();
    assert_eq!(epoch, best, "eval and generate use the best epoch by default");
}

#[test]
fn piped_lstm_training_prints_one_line_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = rnnlm()
        .args(["train", "--model", "lstm", "--epochs", "2", "--corpus-size", "2000", "--artifacts"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().nth(1).unwrap().starts_with("training Rnnlm (lstm) on "), "{stdout}");
    let epochs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| epoch ")).collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    assert_eq!(metrics::read_metrics(&RunDir::new(dir.path().join("run")).metrics()).unwrap().len(), 2);
}

/// The book's own trained chapter-6 model, evaluated here and by the book's
/// `ch06/eval.py` on the same file: `cd ch06 && python eval.py` printed
/// "test perplexity:  136.07758971706056" (docs/chapter6.md). Float16 weights read
/// as f32 on both sides; the two differ only in f32 summation order.
#[test]
fn the_books_trained_rnnlm_evaluates_to_the_books_number() {
    let pkl = common::book_pkl();
    let out = rnnlm().args(["eval", "--backend", "flex", "--split", "test", "--book-pkl"]).arg(&pkl).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("evaluating Rnnlm (lstm, V=10000 D=100 H=100) from "), "{stdout}");
    let last = stdout.lines().last().unwrap();
    let value: f64 = last.strip_prefix("test perplexity: ").unwrap_or_else(|| panic!("{last}")).parse().unwrap();
    assert!(rel(value, BOOK_TEST_PERPLEXITY) < 1e-4, "rnnlm {value} vs the book's eval.py {BOOK_TEST_PERPLEXITY}");

    let out = rnnlm()
        .args(["generate", "--backend", "flex", "--start", "you", "--words", "30", "--book-pkl"])
        .arg(&pkl)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("you ") && text.split_whitespace().count() >= 25, "{text}");
    assert!(!text.contains("<unk>"), "{text}");
}

/// What the book's `ch06/eval.py` prints for `Rnnlm.pkl`.
const BOOK_TEST_PERPLEXITY: f64 = 136.07758971706056;

/// A Python with NumPy: `$RNNLM_PYTHON` (CI installs one; then a missing
/// NumPy fails the test), else `python3` if it imports numpy, else none.
fn python_with_numpy() -> Option<String> {
    let chosen = std::env::var("RNNLM_PYTHON").ok();
    let python = chosen.clone().unwrap_or_else(|| "python3".to_string());
    let ok =
        std::process::Command::new(&python).args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success());
    match (ok, chosen) {
        (true, _) => Some(python),
        (false, Some(p)) => panic!("RNNLM_PYTHON={p} cannot import numpy"),
        (false, None) => None,
    }
}

/// What `save_params` writes today: `pickle.dump` at Python's default
/// protocol, 4 since Python 3.8 and 5 from 3.14, with numpy 2's `numpy._core`
/// names. The book's file, loaded and dumped again at protocols 4 and 5,
/// evaluates to the book's number as the original does.
#[test]
fn the_books_model_pickled_at_protocols_4_and_5_evaluates_to_the_books_number() {
    let Some(python) = python_with_numpy() else {
        eprintln!("skipping: no Python with NumPy to re-pickle the book's model (set RNNLM_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for protocol in [4, 5] {
        let path = dir.path().join(format!("Rnnlm.protocol{protocol}.pkl"));
        let script = format!(
            "import pickle, sys; pickle.dump(pickle.load(open(sys.argv[1], 'rb')), open(sys.argv[2], 'wb'), protocol={protocol})"
        );
        let made = std::process::Command::new(&python)
            .args(["-c", &script])
            .arg(common::book_pkl())
            .arg(&path)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        assert_eq!(std::fs::read(&path).unwrap()[..2], [0x80, protocol], "written at protocol {protocol}");
        let out =
            rnnlm().args(["eval", "--backend", "flex", "--split", "test", "--book-pkl"]).arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let last = stdout.lines().last().unwrap();
        let value: f64 = last.strip_prefix("test perplexity: ").unwrap_or_else(|| panic!("{last}")).parse().unwrap();
        assert!(rel(value, BOOK_TEST_PERPLEXITY) < 1e-4, "protocol {protocol}: {value} vs {BOOK_TEST_PERPLEXITY}");
        println!("protocol {protocol}: test perplexity {value}");
    }
}

#[test]
fn damaged_book_files_are_one_line_errors() {
    let pkl = std::fs::read(common::book_pkl()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut flipped = pkl.clone();
    flipped[6] = b'i'; // the first GLOBAL becomes INST, an opcode that could run code
    let not_pickle = b"hello, world".to_vec();
    for (name, bytes, msg) in [
        ("truncated.pkl", pkl[..pkl.len() / 2].to_vec(), "truncated"),
        ("flipped.pkl", flipped, "is not one a NumPy array pickle uses"),
        ("text.pkl", not_pickle, ""),
        ("empty.pkl", Vec::new(), "truncated"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = rnnlm().args(["eval", "--backend", "flex", "--book-pkl"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains("is not a model saved by the book's save_params") && stderr.contains(msg),
            "{name}: {stderr}"
        );
    }
}

/// BetterRnnlm's architecture (two LSTM layers, the affine layer tied to the
/// embedding) with the book's SGD (lr 20, clipping at 0.25), through the
/// Learner and by hand: the same perplexities. Dropout is off here so that
/// both draw nothing at random; its masks are proven apart (`rnnlm check`
/// gives both the same masks; `tests/dropout_masks.rs` tests Burn's
/// statistics). One epoch: at lr 20 the two f32 trajectories part
/// exponentially (measured after epoch 1: train 1.5e-5 and valid 1.2e-4
/// apart; after epoch 2: 2.7e-3 and 1.0e-2), while 50 SGD steps at lr 1
/// agree to 3e-8 in `rnnlm check`. The band is 1e-3, eight times what
/// epoch 1 showed.
#[test]
fn better_lstm_without_dropout_trains_as_the_reference_does() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        model: ModelKind::BetterLstm,
        wordvec_size: 64,
        hidden_size: 64,
        dropout: 0.0,
        optimizer: OptimizerKind::Sgd,
        lr: 20.0,
        max_grad: 0.25,
        ..short_run(ModelKind::BetterLstm, 1)
    };
    let rows = train::train(&cfg, Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
    let corpus = data.training_corpus(cfg.corpus_size).unwrap();
    let train_b = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).unwrap();
    let valid_b = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size).unwrap();
    let mut reference = reference::Rnnlm::<f32>::from_weights(&cfg.initial_weights(), 0.0, 0).unwrap();
    let mut sgd = reference::Sgd { lr: cfg.lr as f32 };
    let ref_rows =
        reference::train::train(&mut reference, &train_b, &valid_b, &mut sgd, cfg.max_grad as f32, 1, |_| {}).unwrap();
    let (b, r) = (&rows[0], &ref_rows[0]);
    println!(
        "better-lstm epoch 1: burn {:.3}/{:.3}, reference {:.3}/{:.3}",
        b.train_perplexity,
        b.valid_perplexity,
        r.train_perplexity(),
        r.valid_perplexity()
    );
    assert!(
        rel(b.train_perplexity, r.train_perplexity()) < 1e-3,
        "burn {} vs reference {}",
        b.train_perplexity,
        r.train_perplexity()
    );
    assert!(
        rel(b.valid_perplexity, r.valid_perplexity()) < 1e-3,
        "burn {} vs reference {}",
        b.valid_perplexity,
        r.valid_perplexity()
    );
    assert!(b.valid_perplexity < 2_000.0, "{rows:?}");
}

#[test]
fn the_learning_rate_falls_by_4_after_each_epoch_that_does_not_improve() {
    let row = |epoch, valid_perplexity| run::EpochMetrics {
        epoch,
        train_loss: 0.0,
        train_perplexity: 0.0,
        valid_loss: 0.0,
        valid_perplexity,
        seconds: 0.0,
    };
    assert_eq!(train::decayed_lr(20.0, &[]), 20.0);
    // better, worse (/4), better than ever, equal to the best (/4)
    let rows = [row(1, 300.0), row(2, 310.0), row(3, 250.0), row(4, 250.0)];
    assert_eq!(train::decayed_lr(20.0, &rows[..2]), 5.0);
    assert_eq!(train::decayed_lr(20.0, &rows[..3]), 5.0);
    assert_eq!(train::decayed_lr(20.0, &rows), 1.25);
}
