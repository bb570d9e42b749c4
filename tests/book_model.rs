//! `--book-model`: the book's trained `ch06/Rnnlm.pkl` found as Penn Treebank
//! is found, downloaded once into `data/book/` from an HTTP server on
//! 127.0.0.1 that serves the real file (cut in half on request), checked, and
//! every way of not getting it a one-line error that says what to do.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{closed_port_url, files_in, the_error_line};
use rnnlm::data::book;

/// What the book's `ch06/eval.py` prints for `Rnnlm.pkl` (tests/chapter6.rs).
const BOOK_TEST_PERPLEXITY: f64 = 136.07758971706056;

/// A folder laid out as the book's repository, holding only `ch06/Rnnlm.pkl`.
fn book_repo() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("ch06")).unwrap();
    std::fs::copy(common::book_pkl(), root.path().join(book::MODEL_IN_REPO)).unwrap();
    root
}

/// `rnnlm ARGS` in `work`, as a user's clone runs it: no `BOOK_DIR`, the
/// model fetched from `book_url`.
fn rnnlm_in(work: &Path, book_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .args(args)
        .current_dir(work)
        .env_remove("BOOK_DIR")
        .env("BOOK_URL", book_url)
        .env("PTB_DIR", common::ptb_dir())
        .output()
        .unwrap()
}

#[test]
fn the_book_model_is_downloaded_once_checked_and_evaluated() {
    let repo = book_repo();
    let (base, requests) = common::serve_logged(repo.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();

    let out = rnnlm_in(work.path(), &base, &["eval", "--backend", "flex", "--split", "test", "--book-model"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("downloading {base}/ch06/Rnnlm.pkl")), "{stderr}");
    assert!(stdout.starts_with("evaluating Rnnlm (lstm, V=10000 D=100 H=100) from data/book/Rnnlm.pkl"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    let value: f64 = last.strip_prefix("test perplexity: ").unwrap_or_else(|| panic!("{last}")).parse().unwrap();
    assert!(((value - BOOK_TEST_PERPLEXITY) / BOOK_TEST_PERPLEXITY).abs() < 1e-4, "{value}");

    let kept = work.path().join(book::DEFAULT_MODEL_PATH);
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(common::book_pkl()).unwrap());
    assert_eq!(files_in(kept.parent().unwrap()), ["Rnnlm.pkl"], "no temporary file left");

    // The second use reads the kept file: nothing is downloaded again.
    let out = rnnlm_in(
        work.path(),
        &base,
        &["generate", "--backend", "flex", "--start", "you", "--words", "5", "--book-model"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("you "));
    assert_eq!(*requests.lock().unwrap(), ["/ch06/Rnnlm.pkl"], "downloaded once");
}

#[test]
fn book_dir_is_read_without_a_download() {
    let repo = book_repo();
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .args(["generate", "--backend", "flex", "--start", "you", "--words", "5", "--book-model"])
        .current_dir(work.path())
        .env("BOOK_DIR", repo.path())
        .env("BOOK_URL", closed_port_url())
        .env("PTB_DIR", common::ptb_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!work.path().join("data").exists());
}

#[test]
fn a_truncated_download_of_the_book_model_is_refused_and_not_kept() {
    let repo = book_repo();
    let base = common::serve(repo.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let out = rnnlm_in(work.path(), &format!("{base}/trunc"), &["eval", "--backend", "flex", "--book-model"]);
    let msg = the_error_line(&out);
    assert!(msg.contains(&format!("the download of {base}/trunc/ch06/Rnnlm.pkl is corrupt or truncated")), "{msg}");
    assert!(msg.contains(&format!("expected {}", book::MODEL_SHA256)) && msg.contains("BOOK_URL"), "{msg}");
    assert!(files_in(&work.path().join("data/book")).is_empty(), "nothing half-written is left");
}

#[test]
fn without_network_the_error_says_which_file_to_put_where() {
    let work = tempfile::tempdir().unwrap();
    let out = rnnlm_in(work.path(), &closed_port_url(), &["eval", "--backend", "flex", "--book-model"]);
    let msg = the_error_line(&out);
    let want: PathBuf = std::path::absolute(work.path().join(book::DEFAULT_MODEL_PATH)).unwrap();
    assert!(msg.contains("could not download http://127.0.0.1:"), "{msg}");
    assert!(
        msg.contains(&format!("copy the book's ch06/Rnnlm.pkl to {}", want.display())) && msg.contains("BOOK_DIR"),
        "{msg}"
    );
    assert!(files_in(&work.path().join("data/book")).is_empty());
}

#[test]
fn a_damaged_book_model_on_disk_names_the_file_and_the_way_out() {
    let work = tempfile::tempdir().unwrap();
    let kept = work.path().join(book::DEFAULT_MODEL_PATH);
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    let pkl = std::fs::read(common::book_pkl()).unwrap();
    std::fs::write(&kept, &pkl[..pkl.len() - 1]).unwrap();
    let out = rnnlm_in(work.path(), &closed_port_url(), &["eval", "--backend", "flex", "--book-model"]);
    let msg = the_error_line(&out);
    assert!(msg.contains("data/book/Rnnlm.pkl is corrupt or truncated") && msg.contains("delete it"), "{msg}");
}
