//! A run folder is safe from a second writer and from a failed write: one
//! `train` at a time holds it, a write that fails (a full disk, injected here
//! with `RNNLM_FAIL_WRITE`) stops the run with one line naming the file, and
//! `--resume` then ends where an uninterrupted run ends; readers see complete
//! epochs while a run trains.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rnnlm::run::{RunDir, metrics};

const EPOCHS: &str = "2";
const CORPUS: &str = "3000";

fn rnnlm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    cmd.env("PTB_DIR", common::ptb_dir()).env_remove(rnnlm::atomic::FAIL_WRITE);
    // Layouts fixed, not measured: a run and its resumption print the same digits.
    cmd.env("RNNLM_KERNELS", "fixed");
    cmd
}

/// `train` of the tests' small run into `dir`, with `extra` arguments.
fn train(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = rnnlm();
    cmd.args(["train", "--epochs", EPOCHS, "--corpus-size", CORPUS, "--artifacts"]).arg(dir).args(extra);
    cmd
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect()
}

/// What a finished run folder holds that a second run must reproduce: each
/// epoch's perplexities to six digits, and the checkpoint files kept.
fn outcome(dir: &Path) -> (Vec<String>, Vec<String>) {
    let run = RunDir::new(dir);
    let rows = metrics::read_metrics(&run.metrics()).expect("metrics.csv");
    let rows =
        rows.iter().map(|r| format!("{} {:.6e} {:.6e}", r.epoch, r.train_perplexity, r.valid_perplexity)).collect();
    (rows, common::files_in(&run.checkpoints()))
}

fn uninterrupted() -> (Vec<String>, Vec<String>) {
    static RUN: std::sync::OnceLock<(Vec<String>, Vec<String>)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = train(&dir.path().join("run"), &[]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        outcome(&dir.path().join("run"))
    })
    .clone()
}

/// Two processes started at once on one folder: the one that gets the folder
/// trains, the other stops with one line and a non-zero exit.
fn race(dir: &Path, extra: &[&str]) {
    let spawn = || train(dir, extra).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let winners = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "exactly one trains: {:?}", outs.iter().map(stderr_lines).collect::<Vec<_>>());
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let lines = stderr_lines(loser);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("error: another rnnlm process is training in "), "{}", lines[0]);
    assert!(lines[0].contains(&dir.display().to_string()), "{}", lines[0]);
}

#[test]
fn two_trains_on_one_folder_one_trains_and_the_folder_is_a_single_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    race(&dir, &[]);
    assert_eq!(outcome(&dir), uninterrupted());

    // The same for two resumes of a run that has trained one epoch.
    let dir = tmp.path().join("resumed");
    let out =
        rnnlm().args(["train", "--epochs", "1", "--corpus-size", CORPUS, "--artifacts"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    race(&dir, &["--resume"]);
    assert_eq!(outcome(&dir), uninterrupted());
}

/// Each write of the last epoch in turn (and of the first, where a resume
/// must start again from the run's first weights) fails; the error names the
/// file in one line; `--resume` then ends as the uninterrupted run does.
#[test]
fn a_failed_write_at_each_position_then_resume_equals_the_uninterrupted_run() {
    let want = uninterrupted();
    for fault in [
        "model-2.bpk",
        "optim-2.bpk",
        "scheduler-2.bpk",
        "state-2.json",
        "metrics.csv#2",
        "perplexity.png#2",
        "state-1.json",
        "optim-1.bpk",
        "layouts.json",
        "layouts.json#2",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let out = train(&dir, &[]).env(rnnlm::atomic::FAIL_WRITE, fault).output().unwrap();
        assert!(!out.status.success(), "{fault}: the run stops");
        let lines = stderr_lines(&out);
        let file = fault.split('#').next().unwrap();
        assert_eq!(lines.len(), 1, "{fault}: {lines:?}");
        assert!(lines[0].starts_with("error: cannot write ") && lines[0].contains(file), "{fault}: {}", lines[0]);
        assert!(lines[0].ends_with("continue the run with --resume"), "{fault}: {}", lines[0]);

        // metrics.csv never lists an epoch whose checkpoint is incomplete once resumed
        let out = train(&dir, &["--resume"]).output().unwrap();
        assert!(out.status.success(), "{fault}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(outcome(&dir), want, "{fault}");
    }
}

/// A run begun from `--init` whose first epoch never completed starts again
/// from the weights it kept (`init.safetensors`), not from its seed's.
#[test]
fn a_first_epoch_cut_by_a_failed_write_resumes_from_the_runs_own_init() {
    let tmp = tempfile::tempdir().unwrap();
    let (source, weights) = (tmp.path().join("source"), tmp.path().join("init.safetensors"));
    let one_epoch = ["--epochs", "1", "--corpus-size", CORPUS, "--artifacts"];
    assert!(rnnlm().arg("train").args(one_epoch).arg(&source).status().unwrap().success());
    let export = rnnlm().args(["export", "--artifacts"]).arg(&source).arg("--out").arg(&weights).status();
    assert!(export.unwrap().success());
    let init = ["--init", weights.to_str().unwrap()];

    let plain = tmp.path().join("plain");
    assert!(train(&plain, &init).status().unwrap().success());
    let cut = tmp.path().join("cut");
    let out = train(&cut, &init).env(rnnlm::atomic::FAIL_WRITE, "optim-1.bpk").output().unwrap();
    assert!(!out.status.success());
    assert!(RunDir::new(&cut).complete_epochs().is_empty(), "no epoch completed");
    // resumed without --init: the folder holds what the run began from
    let out = train(&cut, &["--resume"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(outcome(&cut), outcome(&plain));
    assert_ne!(outcome(&cut).0, uninterrupted().0, "the seed's run is another run");
}

#[test]
fn eval_reads_a_complete_epoch_while_a_run_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut child = rnnlm()
        .args(["train", "--epochs", "4", "--corpus-size", CORPUS, "--artifacts"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = RunDir::new(&dir);
    let start = Instant::now();
    while run.complete_epochs().is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its first epoch was complete");
        assert!(start.elapsed() < Duration::from_secs(300), "no complete epoch after 5 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = rnnlm().args(["eval", "--artifacts"]).arg(&dir).output().unwrap();
    let still_training = child.try_wait().unwrap().is_none();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("evaluating epoch "), "{stdout}");
    assert!(stdout.contains("valid perplexity: "), "{stdout}");
    assert!(still_training, "eval ran while the run trained");
    assert!(child.wait().unwrap().success());
}

/// A resumed run takes the layouts its folder records (`layouts.json`), not
/// ones chosen anew, so that its products run with the kernels of the run it
/// continues. The tests' processes fix every product's layout to its first
/// (`RNNLM_KERNELS=fixed`); a folder that records another for the steps'
/// `h·Wh` keeps it through a resumption.
#[test]
fn a_resumed_run_takes_the_layouts_its_folder_records() {
    use rnnlm::run::layouts::read_layouts;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out =
        rnnlm().args(["train", "--epochs", "1", "--corpus-size", CORPUS, "--artifacts"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recorded = common::record_steps_by_columns(&dir);
    let out = train(&dir, &["--resume"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read_layouts(&RunDir::new(&dir).layouts()).unwrap(), recorded);
}
