//! Downloading Penn Treebank for real, from an HTTP server on 127.0.0.1 that
//! serves the corpus's files (one of them truncated on request).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use common::{closed_port_url, files_in, serve, serve_logged};
use rnnlm::data::corpus::{DataError, Split};
use rnnlm::data::fetch::{FetchError, sha256_hex};
use rnnlm::data::ptb;

#[test]
fn missing_files_are_downloaded_verified_and_loaded() {
    let base = serve(common::ptb_dir());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ptb");
    ptb::ensure_files(&target, &base).unwrap();
    assert_eq!(files_in(&target), ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]);
    let p = ptb::load(Some(&target), "http://127.0.0.1:9/never-used", None).unwrap();
    assert_eq!(p.train.len(), 929_589);
}

#[test]
fn a_truncated_download_is_refused_and_not_kept() {
    let base = serve(common::ptb_dir());
    let dir = tempfile::tempdir().unwrap();
    // train and valid arrive whole, test arrives cut in half
    std::fs::copy(common::ptb_dir().join("ptb.train.txt"), dir.path().join("ptb.train.txt")).unwrap();
    std::fs::copy(common::ptb_dir().join("ptb.valid.txt"), dir.path().join("ptb.valid.txt")).unwrap();
    let err = ptb::ensure_files(dir.path(), &format!("{base}/trunc")).unwrap_err();
    assert!(matches!(err, DataError::Fetch(FetchError::BadDownload { .. })), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{base}/trunc/ptb.test.txt")), "{msg}");
    assert!(msg.contains(&format!("expected {}", ptb::sha256(Split::Test))), "{msg}");
    let half = std::fs::read(common::ptb_dir().join("ptb.test.txt")).unwrap();
    assert!(msg.contains(&format!("found {}", sha256_hex(&half[..half.len() / 2]))), "{msg}");
    assert!(msg.contains("found "), "{msg}");
    assert_eq!(files_in(dir.path()), ["ptb.train.txt", "ptb.valid.txt"], "nothing half-written is left");
}

#[test]
fn a_corrupt_file_on_disk_is_refused_with_both_checksums() {
    let dir = tempfile::tempdir().unwrap();
    for split in Split::ALL {
        std::fs::copy(common::ptb_dir().join(ptb::file_name(split)), dir.path().join(ptb::file_name(split))).unwrap();
    }
    let valid = dir.path().join("ptb.valid.txt");
    let text = std::fs::read(&valid).unwrap();
    std::fs::write(&valid, &text[..text.len() - 100]).unwrap();
    let msg = ptb::ensure_files(dir.path(), "http://127.0.0.1:9").unwrap_err().to_string();
    assert!(msg.starts_with(&format!("{} is corrupt or truncated", valid.display())), "{msg}");
    assert!(msg.contains(&format!("expected {}", ptb::sha256(Split::Valid))), "{msg}");
    assert!(msg.contains(&format!("found {}", sha256_hex(&text[..text.len() - 100]))), "{msg}");
    assert!(msg.contains("delete it"), "{msg}");
}

#[test]
fn an_unreachable_server_names_the_folder_to_fill() {
    let base = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let err = ptb::ensure_files(dir.path(), &base).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Fetch(FetchError::Download { .. })), "{msg}");
    assert!(msg.contains(&format!("{base}/ptb.train.txt")), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn the_data_dir_flag_wins_over_ptb_dir() {
    assert_eq!(ptb::resolve_dir(Some(Path::new("/x/y"))), PathBuf::from("/x/y"));
}

/// The tests' own lookup, run in a child process by the test below: with
/// `PTB_DIR` unset it must fill `data/ptb` under the working folder.
#[test]
#[ignore = "run in a child process by the_tests_fill_an_empty_data_folder_once_and_read_it"]
fn child_finds_ptb_as_the_tests_do() {
    let dir = common::ptb_dir();
    assert_eq!(dir, std::env::current_dir().unwrap().join(ptb::DEFAULT_DIR));
    assert_eq!(ptb::load_dir(&dir).unwrap().train.len(), 929_589);
}

#[test]
fn the_tests_fill_an_empty_data_folder_once_and_read_it() {
    let (base, requests) = serve_logged(common::ptb_dir());
    let work = tempfile::tempdir().unwrap();
    // Two test binaries at once, as `cargo test` may run them: each file must
    // be downloaded once, and neither may read a half-written one.
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["child_finds_ptb_as_the_tests_do", "--exact", "--ignored", "--test-threads", "1"])
                .env_remove("PTB_DIR")
                .env("PTB_URL", &base)
                .current_dir(work.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(files_in(&work.path().join(ptb::DEFAULT_DIR)), ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]);
    let mut served = requests.lock().unwrap().clone();
    served.sort();
    assert_eq!(served, ["/ptb.test.txt", "/ptb.train.txt", "/ptb.valid.txt"], "each file downloaded once");
}

#[test]
fn concurrent_downloads_into_one_folder_fetch_each_file_once() {
    let (base, requests) = serve_logged(common::ptb_dir());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ptb");
    thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| ptb::prepare(Some(&target), &base))).collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), target);
        }
    });
    let mut served = requests.lock().unwrap().clone();
    served.sort();
    assert_eq!(served, ["/ptb.test.txt", "/ptb.train.txt", "/ptb.valid.txt"], "each file downloaded once");
    assert_eq!(files_in(&target), ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]);
}

#[test]
fn the_data_url_flag_wins_over_ptb_url() {
    assert_eq!(ptb::resolve_url(Some("http://mirror/x")), "http://mirror/x");
}
