//! Training through burn-train's Learner on Flex (the default CPU backend;
//! ndarray and wgpu are held to it below): the notebook's numbers, agreement
//! with the manual-backward reference, artifacts, resume, errors.

mod common;

use std::process::Command;

use rnnlm::backend::Backend;
use rnnlm::data::batches::StreamBatches;
use rnnlm::data::corpus::Corpus;
use rnnlm::data::ptb;
use rnnlm::reference;
use rnnlm::run::{self, RunDir, metrics};
use rnnlm::train::{self, Progress, TrainConfig};
use rnnlm::weights::RnnlmWeights;

fn notebook_config(epochs: usize) -> TrainConfig {
    TrainConfig { epochs, ..TrainConfig::notebook(10_000) }
}

fn ptb() -> Corpus {
    ptb::load_dir(&common::ptb_dir()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn three_epochs_match_the_notebook_and_the_reference() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let cfg = notebook_config(3);
    let rows = train::train(&cfg, Backend::Flex, &data, &run, false, Progress::EpochLines).unwrap();
    assert_eq!(rows.len(), 3);

    // The notebook printed 1506.5, 392.5, 263.2 for epochs 1-3 from its own
    // random initialisation. The manual-backward reference over seeds 0-4
    // (`rnnlm reference --epochs 3 --seed S`, docs/chapter5.md) gave 1148-1288,
    // 389-398 and 260-273: from epoch 2 on within 4% of the notebook, epoch 1
    // 15-24% below it. The bands are those spreads with a margin: 30% for
    // epoch 1, 6% after.
    let notebook = [(1506.539646, 0.30), (392.480824, 0.06), (263.249077, 0.06)];
    for (row, (expected, band)) in rows.iter().zip(notebook) {
        assert!(
            rel(row.train_perplexity, expected) < band,
            "epoch {}: {} vs the notebook's {expected}",
            row.epoch,
            row.train_perplexity
        );
        assert!(row.valid_perplexity.is_finite() && row.valid_perplexity > 1.0);
    }

    // The same algorithm by hand: the book's layers, Adam and clip_grads.
    let corpus = data.training_corpus(cfg.corpus_size).unwrap();
    let train_b = StreamBatches::train(corpus, 10, 5).unwrap();
    let valid_b = StreamBatches::eval(&data.valid, 10, 35).unwrap();
    let w = RnnlmWeights::simple(10_000, 100, 100, 0);
    let mut model = reference::Rnnlm::<f32>::from_weights(&w, 0.0, 0).unwrap();
    let mut adam = reference::Adam::new(0.001);
    let ref_rows = reference::train::train(&mut model, &train_b, &valid_b, &mut adam, 5.0, 3, |_| {}).unwrap();
    for (b, r) in rows.iter().zip(&ref_rows) {
        assert!(
            rel(b.train_perplexity, r.train_perplexity()) < 0.005,
            "epoch {}: burn {} vs reference {}",
            b.epoch,
            b.train_perplexity,
            r.train_perplexity()
        );
        assert!(
            rel(b.valid_perplexity, r.valid_perplexity()) < 0.005,
            "epoch {}: burn {} vs reference {}",
            b.epoch,
            b.valid_perplexity,
            r.valid_perplexity()
        );
    }

    // Artifacts
    let rd = RunDir::new(&run);
    let saved = metrics::read_metrics(&rd.metrics()).unwrap();
    assert_eq!(saved.len(), 3);
    assert_eq!(saved[2].train_perplexity, rows[2].train_perplexity);
    assert_eq!(&std::fs::read(rd.plot()).unwrap()[..4], b"\x89PNG");
    assert_eq!(train::read_config(&rd).unwrap(), cfg);
    // The last two epochs' checkpoints are kept, and the best (here the last).
    assert_eq!(rd.complete_epochs(), [2, 3]);

    // What docs/run-folder.md lists, and nothing else: burn-train's own
    // per-iteration logs (train/, valid/, experiment.log) are not written.
    assert_eq!(
        common::files_in(&run),
        ["checkpoint", "config.json", "layouts.json", "metrics.csv", "perplexity.png", "vocab.json"]
    );
}

#[test]
fn two_epochs_then_resume_equals_four_straight() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    let straight =
        train::train(&notebook_config(4), Backend::Flex, &data, &dir.path().join("a"), false, Progress::EpochLines)
            .unwrap();
    let b = dir.path().join("b");
    let first = train::train(&notebook_config(2), Backend::Flex, &data, &b, false, Progress::EpochLines).unwrap();
    assert_eq!(first.len(), 2);
    let environment = std::env::var_os("BURN_DEVICE");
    let resumed = train::train(&notebook_config(4), Backend::Flex, &data, &b, true, Progress::EpochLines).unwrap();
    assert_eq!(resumed.len(), 4);
    // The optimizer's state is read onto the run's own device, with no
    // environment variable written while other threads run.
    assert_eq!(std::env::var_os("BURN_DEVICE"), environment, "resuming writes no environment variable");
    for epoch in [2, 3] {
        let (s, r) = (&straight[epoch], &resumed[epoch]);
        assert_eq!(s.epoch, r.epoch);
        assert!(
            rel(r.train_perplexity, s.train_perplexity) < 1e-6,
            "epoch {}: {} vs {}",
            s.epoch,
            r.train_perplexity,
            s.train_perplexity
        );
        assert!(
            rel(r.valid_perplexity, s.valid_perplexity) < 1e-6,
            "epoch {}: {} vs {}",
            s.epoch,
            r.valid_perplexity,
            s.valid_perplexity
        );
    }
    assert_eq!(metrics::read_metrics(&RunDir::new(&b).metrics()).unwrap().len(), 4);
}

fn small_config(epochs: usize) -> TrainConfig {
    TrainConfig { corpus_size: 2_000, eval_batch_size: 10, eval_time_size: 35, ..notebook_config(epochs) }
}

#[test]
fn resuming_another_configuration_is_refused() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    train::train(&small_config(1), Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
    let other = TrainConfig { hidden_size: 50, epochs: 2, ..small_config(1) };
    let err =
        train::train(&other, Backend::Flex, &data, dir.path(), true, Progress::EpochLines).unwrap_err().to_string();
    assert!(err.contains("holds a run of another configuration (hidden_size is 100 there, 50 here)"), "{err}");
    // Starting a new run over it is refused too: nothing already written is lost.
    let err = train::train(&small_config(2), Backend::Flex, &data, dir.path(), false, Progress::EpochLines)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("already holds a run"), "{err}");
    assert_eq!(RunDir::new(dir.path()).complete_epochs(), [1]);
}

#[test]
fn an_unreadable_checkpoint_is_an_error() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    train::train(&small_config(1), Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap();
    let model = RunDir::new(dir.path()).model_checkpoint(1);
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 3]).unwrap();
    let err = train::train(&small_config(2), Backend::Flex, &data, dir.path(), true, Progress::EpochLines)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("checkpoint {} cannot be read", model.display())), "{err}");
}

#[test]
fn a_diverging_loss_stops_training_with_the_iteration() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { lr: 1e37, ..small_config(2) };
    let err =
        train::train(&cfg, Backend::Flex, &data, dir.path(), false, Progress::EpochLines).unwrap_err().to_string();
    assert!(
        err.starts_with("the loss became NaN at epoch 1, iteration ")
            || err.starts_with("the loss became inf at epoch 1, iteration "),
        "{err}"
    );
    assert!(RunDir::new(dir.path()).complete_epochs().is_empty(), "no checkpoint of a diverged epoch");
}

#[test]
fn impossible_hyperparameters_are_refused() {
    let data = ptb();
    let dir = tempfile::tempdir().unwrap();
    for (cfg, msg) in [
        (TrainConfig { batch_size: 0, ..small_config(1) }, "batch_size must be at least 1"),
        (TrainConfig { time_size: 0, ..small_config(1) }, "time_size must be at least 1"),
        (TrainConfig { lr: -1.0, ..small_config(1) }, "lr must be a positive number, not -1"),
        (TrainConfig { max_grad: f64::NAN, ..small_config(1) }, "max_grad must be a positive number, not NaN"),
        (
            TrainConfig { corpus_size: 30, ..small_config(1) },
            "a corpus of 30 tokens is too short for one batch of 10 x 5",
        ),
    ] {
        let err = train::train(&cfg, Backend::Flex, &data, &dir.path().join("x"), false, Progress::EpochLines)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(msg), "{err}");
    }
    assert!(!dir.path().join("x").exists(), "nothing written for a refused run");
}

fn rnnlm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    // Layouts fixed, not measured: runs in separate processes print the same digits.
    cmd.env("PTB_DIR", common::ptb_dir()).env("RNNLM_KERNELS", "fixed");
    cmd
}

fn assert_same_epochs(a: &[run::EpochMetrics], b: &[run::EpochMetrics], what: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(
            rel(x.train_perplexity, y.train_perplexity) < 1e-4,
            "{what}, epoch {}: {} vs {}",
            x.epoch,
            x.train_perplexity,
            y.train_perplexity
        );
        assert!(
            rel(x.valid_perplexity, y.valid_perplexity) < 1e-4,
            "{what}, epoch {}: {} vs {}",
            x.epoch,
            x.valid_perplexity,
            y.valid_perplexity
        );
    }
}

#[test]
fn piped_training_prints_one_line_per_epoch() {
    piped_training_on(Some("ndarray"));
}

#[test]
fn the_default_backend_is_named_first_and_trains_as_ndarray_does() {
    // No --backend: a hardware GPU if wgpu finds one, else the fastest CPU
    // backend; the first line says which and why.
    let (first, rows) = piped_training(None);
    assert!(
        first == "no hardware GPU found; running on the CPU (flex)" || first.starts_with("hardware GPU found ("),
        "{first}"
    );
    if first.starts_with("no hardware GPU") {
        assert_same_epochs(&rows, &piped_training_on(Some("ndarray")), "flex vs ndarray");
    }
}

#[test]
fn piped_training_on_wgpu_prints_one_line_per_epoch_and_matches_flex() {
    if common::wgpu().is_some() {
        let gpu = piped_training_on(Some("wgpu"));
        let cpu = piped_training_on(Some("flex"));
        assert_same_epochs(&gpu, &cpu, "wgpu vs flex");
    }
}

fn piped_training_on(backend: Option<&str>) -> Vec<run::EpochMetrics> {
    piped_training(backend).1
}

/// `rnnlm train` with stdout piped, 2 short epochs; returns its first line
/// and the metrics it wrote.
fn piped_training(backend: Option<&str>) -> (String, Vec<run::EpochMetrics>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rnnlm();
    cmd.args(["train", "--epochs", "2", "--corpus-size", "2000", "--artifacts"]).arg(dir.path().join("run"));
    if let Some(backend) = backend {
        cmd.args(["--backend", backend]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let epoch_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| epoch ")).collect();
    assert_eq!(epoch_lines.len(), 2, "{stdout}");
    for (i, line) in epoch_lines.iter().enumerate() {
        assert!(line.starts_with(&format!("| epoch {} |", i + 1)), "{line}");
        assert!(line.contains("train perplexity ") && line.contains("valid perplexity "), "{line}");
    }
    assert_eq!(stdout.lines().count(), 4, "the backend line, a header line and the epoch lines only:\n{stdout}");
    let first = stdout.lines().next().unwrap_or_default().to_string();
    (first, metrics::read_metrics(&RunDir::new(dir.path().join("run")).metrics()).unwrap())
}

#[test]
fn kill_9_during_training_then_resume_works() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = ["train", "--backend", "flex", "--corpus-size", "2000"];
    let mut child = rnnlm()
        .args(args)
        .args(["--epochs", "50", "--artifacts"])
        .arg(&run)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rd = RunDir::new(&run);
    let start = std::time::Instant::now();
    while rd.complete_epochs().len() < 2 {
        assert!(start.elapsed().as_secs() < 300, "no checkpoint after 300 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = rd.complete_epochs();
    let last = *done.last().unwrap();
    let out = rnnlm()
        .args(args)
        .args(["--epochs", &(last + 1).to_string(), "--resume", "--artifacts"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = metrics::read_metrics(&rd.metrics()).unwrap();
    assert_eq!(rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), (1..=last + 1).collect::<Vec<_>>());
    // no temporary files left behind under a checkpoint's name
    for entry in std::fs::read_dir(rd.checkpoints()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".bpk") || name.ends_with(".json") || name.ends_with(".tmp"), "{name}");
    }
}

#[test]
fn bad_command_line_input_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for (args, msg) in [
        (vec!["train", "--backend", "ndarray", "--batch-size", "0"], "error: --batch-size must be at least 1"),
        (
            vec!["train", "--backend", "ndarray", "--corpus-size", "99999999"],
            "error: --corpus-size 99999999 is larger than the training split",
        ),
        (
            vec!["eval", "--backend", "ndarray", "--artifacts", "/nonexistent/run"],
            "error: cannot read /nonexistent/run/config.json",
        ),
    ] {
        let out = rnnlm().args(&args).current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(msg), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
