//! Weights that travel: `export` to .safetensors and .npz read back to the
//! run's perplexity, `train --init` continuing from an export, checkpoint
//! retention, and one-line errors for every bad input with nothing written.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use rnnlm::data::batches::StreamBatches;
use rnnlm::data::ptb;
use rnnlm::export::ExportInfo;
use rnnlm::infer;
use rnnlm::model::RnnlmConfig;
use rnnlm::run::{RunDir, metrics};
use rnnlm::train;
use rnnlm::weights::files;

/// `rnnlm ARGS`, its layouts fixed rather than measured: runs in separate
/// processes print the same digits.
fn rnnlm(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    cmd.env("PTB_DIR", common::ptb_dir()).env("RNNLM_KERNELS", "fixed");
    cmd.args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one line a failed command prints, after checking it failed as errors do.
fn error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}{stderr}", String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const SMALL: [&str; 6] = ["--corpus-size", "2000", "--seed", "3", "--backend", "flex"];

/// One notebook-sized run of 3 epochs on 2,000 words, with the default
/// retention, shared by the tests (trained once).
fn run() -> &'static Path {
    static RUN: OnceLock<tempfile::TempDir> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        stdout(&rnnlm(&[&["train", "--epochs", "3", "--artifacts", s(dir.path())][..], &SMALL].concat()));
        dir
    })
    .path()
}

fn last_line(out: &Output) -> String {
    stdout(out).lines().last().unwrap().to_string()
}

#[test]
fn an_export_read_back_gives_the_runs_perplexity_in_both_formats() {
    let run = run();
    let out = tempfile::tempdir().unwrap();
    let npz = out.path().join("model.npz");
    let st = out.path().join("model.safetensors");
    let printed = stdout(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&npz)]));
    assert!(printed.contains(&format!("wrote {}", npz.display())), "{printed}");
    stdout(&rnnlm(&["export", "--artifacts", s(run), "--epoch", "2", "--out", s(&st)]));

    // The files hold the checkpoints' weights exactly, by the book's names.
    let device = common::flex();
    let (_, model, _) = train::load_trained(run, None, &device).unwrap();
    let from_npz = files::read_any(&npz).unwrap();
    assert_eq!(from_npz, model.weights());
    let (_, model2, _) = train::load_trained(run, Some(2), &device).unwrap();
    assert_eq!(files::read_any(&st).unwrap(), model2.weights());
    assert_eq!(from_npz.named().map(|(n, _, _)| n).collect::<Vec<_>>(), rnnlm::weights::PARAM_NAMES);

    // Read back into a model, the file scores the test split as the run does.
    let data = ptb::load_dir(&common::ptb_dir()).unwrap();
    let batches = StreamBatches::eval(&data.test, 10, 35).unwrap();
    let back = RnnlmConfig::for_architecture(from_npz.arch).init_with(&from_npz, &device).unwrap();
    assert_eq!(infer::eval_loss(&back, &batches, &device), infer::eval_loss(&model, &batches, &device));
    // And through the command line: the same printed perplexity.
    let by_run = last_line(&rnnlm(&["eval", "--backend", "flex", "--split", "test", "--artifacts", s(run)]));
    let by_file = last_line(&rnnlm(&["eval", "--backend", "flex", "--split", "test", "--weights", s(&npz)]));
    assert!(by_run.starts_with("test perplexity: "), "{by_run}");
    assert_eq!(by_run, by_file);

    // Beside it: the run's vocabulary and a config naming the epoch.
    assert_eq!(std::fs::read(out.path().join("vocab.json")).unwrap(), std::fs::read(RunDir::new(run).vocab()).unwrap());
    let info: ExportInfo = serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(info.epoch, 2, "the last export wrote the config");
    assert_eq!((info.book_class.as_str(), info.architecture), ("SimpleRnnlm", from_npz.arch));
    let rows = metrics::read_metrics(&RunDir::new(run).metrics()).unwrap();
    assert_eq!(info.valid_perplexity, Some(rows[1].valid_perplexity));
}

#[test]
fn the_run_keeps_the_last_two_epochs_and_the_best_and_every_metric() {
    let run = RunDir::new(run());
    let complete = run.complete_epochs();
    let best = run.best_epoch().unwrap();
    assert!(complete.ends_with(&[2, 3]) && complete.contains(&best) && complete.len() <= 3, "{complete:?}");
    assert_eq!(run.checkpoint_epochs(), complete, "no stray files");
    assert_eq!(metrics::read_metrics(&run.metrics()).unwrap().len(), 3);
}

#[test]
fn retention_is_chosen_and_resume_works_after_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all");
    let one = dir.path().join("one");
    stdout(&rnnlm(
        &[&["train", "--epochs", "3", "--keep-checkpoints", "all", "--artifacts", s(&all)][..], &SMALL].concat(),
    ));
    assert_eq!(RunDir::new(&all).complete_epochs(), [1, 2, 3]);
    stdout(&rnnlm(
        &[&["train", "--epochs", "3", "--keep-checkpoints", "1", "--artifacts", s(&one)][..], &SMALL].concat(),
    ));
    let best = RunDir::new(&one).best_epoch().unwrap();
    let mut expected = vec![best, 3];
    expected.dedup();
    assert_eq!(RunDir::new(&one).complete_epochs(), expected);
    // A crash part-way through pruning leaves an epoch without its model file
    // (deleted first) but with the others: resume ignores it, pruning removes it.
    let rd = RunDir::new(&one);
    let stray = (1..3).find(|e| !rd.complete_epochs().contains(e)).unwrap();
    std::fs::copy(rd.optim_checkpoint(3), rd.optim_checkpoint(stray)).unwrap();
    std::fs::copy(rd.state(3), rd.state(stray)).unwrap();
    assert!(rd.checkpoint_epochs().contains(&stray) && !rd.complete_epochs().contains(&stray));
    // Resuming from the one kept epoch gives what the unpruned run gives.
    stdout(&rnnlm(
        &[&["train", "--epochs", "4", "--keep-checkpoints", "1", "--resume", "--artifacts", s(&one)][..], &SMALL]
            .concat(),
    ));
    assert_eq!(rd.checkpoint_epochs(), rd.complete_epochs(), "the stray files are gone");
    stdout(&rnnlm(
        &[&["train", "--epochs", "4", "--keep-checkpoints", "all", "--resume", "--artifacts", s(&all)][..], &SMALL]
            .concat(),
    ));
    let a = metrics::read_metrics(&RunDir::new(&all).metrics()).unwrap();
    let b = metrics::read_metrics(&RunDir::new(&one).metrics()).unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a[3].valid_perplexity, b[3].valid_perplexity);
    assert_eq!(RunDir::new(&all).complete_epochs(), [1, 2, 3, 4]);

    // A pruned epoch is an error naming the kept ones.
    let kept = RunDir::new(&one).complete_epochs();
    let pruned = (1..=4).find(|e| !kept.contains(e)).unwrap().to_string();
    let list = kept.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ");
    let err = error(&rnnlm(&["eval", "--backend", "flex", "--checkpoint", &pruned, "--artifacts", s(&one)]));
    assert!(err.ends_with(&format!("has no checkpoint of epoch {pruned}; it keeps epochs {list}")), "{err}");
    let err =
        error(&rnnlm(&["export", "--artifacts", s(&one), "--epoch", &pruned, "--out", s(&dir.path().join("x/m.npz"))]));
    assert!(err.contains(&format!("has no checkpoint of epoch {pruned}; it keeps epochs")), "{err}");
    assert!(!dir.path().join("x").exists(), "nothing written");
}

#[test]
fn train_init_from_an_export_continues_with_the_same_loss() {
    let run = run();
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("export/model.npz");
    stdout(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&npz)]));
    let best = RunDir::new(run).best_epoch().unwrap();
    let rows = metrics::read_metrics(&RunDir::new(run).metrics()).unwrap();

    // A learning rate too small to move the weights: epoch 1 of the new run
    // is validated at the exported weights, so it scores what the old run
    // scored at that epoch.
    let b = dir.path().join("b");
    let line = last_line(&rnnlm(
        &[&["train", "--epochs", "1", "--lr", "1e-12", "--init", s(&npz), "--artifacts", s(&b)][..], &SMALL].concat(),
    ));
    let new = metrics::read_metrics(&RunDir::new(&b).metrics()).unwrap();
    let old = rows[best - 1].valid_perplexity;
    assert!(((new[0].valid_perplexity - old) / old).abs() < 1e-5, "{line}: {} vs {old}", new[0].valid_perplexity);

    // The run folder keeps the starting weights and where they came from.
    assert_eq!(files::read_any(&RunDir::new(&b).init_weights()).unwrap(), files::read_any(&npz).unwrap());
    let cfg = train::read_config(&RunDir::new(&b)).unwrap();
    assert_eq!(cfg.init.as_deref(), Some(s(&npz)));
}

#[test]
fn bad_init_files_are_one_line_errors_and_nothing_is_written() {
    let run = run();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good/model.safetensors");
    stdout(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&good)]));
    let target = dir.path().join("never");
    let init = |file: &Path, extra: &[&str]| {
        error(&rnnlm(
            &[&["train", "--epochs", "1", "--init", s(file), "--artifacts", s(&target)][..], extra, &SMALL].concat(),
        ))
    };

    let err = init(&good, &["--hidden-size", "50"]);
    assert!(err.contains("rnn.Wx is [100, 100], a rnn V=10000 D=100 H=50 model needs [100, 50]"), "{err}");
    let err = init(&good, &["--model", "lstm"]);
    assert!(err.contains("has no tensor lstm.Wx, which a lstm V=10000 D=100 H=100 model needs"), "{err}");

    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(init(&cut, &[]).contains("is not a readable safetensors file"));
    let text = dir.path().join("text.npz");
    std::fs::write(&text, "not an archive").unwrap();
    assert!(init(&text, &[]).contains("is not a readable .npz archive"));
    assert!(init(&dir.path().join("absent.npz"), &[]).contains("cannot read"));
    assert!(init(&dir.path().join("model.bin"), &[]).contains("must end in .safetensors or .npz"));

    // float64 arrays, as NumPy makes by default.
    let f64s = dir.path().join("f64/model.npz");
    std::fs::create_dir_all(f64s.parent().unwrap()).unwrap();
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&f64s).unwrap());
    for (name, shape, values) in files::read_any(&good).unwrap().named() {
        let a = ndarray::ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as f64).collect()).unwrap();
        npz.add_array(name, &a).unwrap();
    }
    npz.finish().unwrap();
    let err = init(&f64s, &[]);
    assert!(err.contains("has dtype '<f8'; rnnlm reads float32"), "{err}");

    // A vocabulary beside the file that is not the data's.
    let mut words: Vec<String> =
        serde_json::from_slice(&std::fs::read(dir.path().join("good/vocab.json")).unwrap()).unwrap();
    words.swap(5, 6);
    std::fs::write(dir.path().join("good/vocab.json"), serde_json::to_vec(&words).unwrap()).unwrap();
    let err = init(&good, &[]);
    assert!(err.contains("differs from the data's at id 5"), "{err}");

    assert!(!target.exists(), "a refused --init wrote the run folder");
    // Refused by the argument parser (its usage message is several lines).
    let out = rnnlm(&["train", "--resume", "--init", s(&good), "--artifacts", s(run)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn bad_exports_are_one_line_errors_and_nothing_is_written() {
    let run = run();
    let dir = tempfile::tempdir().unwrap();
    let err = error(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&dir.path().join("m.pt"))]));
    assert!(err.contains("must end in .safetensors or .npz"), "{err}");
    let err = error(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&run.join("m.npz"))]));
    assert!(err.contains("is a run folder"), "{err}");
    let err = error(&rnnlm(&[
        "export",
        "--artifacts",
        s(&dir.path().join("nothing")),
        "--out",
        s(&dir.path().join("m.npz")),
    ]));
    assert!(err.contains("cannot read"), "{err}");
    std::fs::write(dir.path().join("config.json"), "{\"mine\": 1}").unwrap();
    let err = error(&rnnlm(&["export", "--artifacts", s(run), "--out", s(&dir.path().join("m.npz"))]));
    assert!(err.contains("is not an export's"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the config.json put there");
    assert!(!run.join("m.npz").exists());
}
