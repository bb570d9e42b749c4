//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use burn::tensor::Device;
use rnnlm::backend::Backend;
use rnnlm::data::{book, ptb};

/// The Flex CPU device.
pub fn flex() -> Device {
    Backend::Flex.device().expect("this build has the flex backend")
}

/// The ndarray CPU device.
pub fn ndarray() -> Device {
    Backend::Ndarray.device().expect("this build has the ndarray backend")
}

/// The wgpu device, or `None` (with a note) when this machine has no adapter.
/// With `RNNLM_REQUIRE_WGPU=1` (as in CI) a missing adapter fails the test
/// instead, so the GPU path cannot be skipped silently there.
pub fn wgpu() -> Option<Device> {
    match Backend::Wgpu.device() {
        Ok(device) => Some(device),
        Err(reason) if std::env::var("RNNLM_REQUIRE_WGPU").as_deref() == Ok("1") => {
            panic!("RNNLM_REQUIRE_WGPU=1 but: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the wgpu half of this test: {reason}");
            None
        }
    }
}

/// Three tests of one check, one per backend: `check(&device, tolerance)`
/// on Flex, on ndarray and on wgpu (as [`wgpu`] finds it), each at the
/// backend's tolerance (`rnnlm::check::tolerance_for`).
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($check:ident: $flex:ident, $ndarray:ident, $wgpu:ident) => {
        #[test]
        fn $flex() {
            $check(&crate::common::flex(), rnnlm::check::tolerance_for(rnnlm::backend::Backend::Flex));
        }

        #[test]
        fn $ndarray() {
            $check(&crate::common::ndarray(), rnnlm::check::tolerance_for(rnnlm::backend::Backend::Ndarray));
        }

        #[test]
        fn $wgpu() {
            if let Some(device) = crate::common::wgpu() {
                $check(&device, rnnlm::check::tolerance_for(rnnlm::backend::Backend::Wgpu));
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_every_backend;

/// The Penn Treebank folder, found as the program finds it: `PTB_DIR` if set,
/// else `data/ptb` in the repository (the tests run from its root), with
/// missing files downloaded there once (from `PTB_URL` if set) and verified.
///
/// Without the files and without network this ends the test binary with one
/// line saying which folder to fill or which variable to set, instead of a
/// panic in every test that needs the corpus.
pub fn ptb_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match ptb::prepare(None, &ptb::resolve_url(None)) {
        // Absolute, so that it can be handed to a child process in another folder.
        Ok(dir) => std::path::absolute(&dir).unwrap_or(dir),
        Err(message) => stop(&format!("these tests need Penn Treebank: {message}")),
    })
    .clone()
}

/// The book's trained model, found as the program finds it
/// (`rnnlm::data::book`): `$BOOK_DIR/ch06/Rnnlm.pkl` if `BOOK_DIR` is set,
/// else `data/book/Rnnlm.pkl` in the repository, downloaded there once (from
/// `BOOK_URL` if set) and verified. Without the file and without network it
/// ends the test binary with one line saying which file to put where.
pub fn book_pkl() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| match book::trained_model() {
        Ok(path) => std::path::absolute(&path).unwrap_or(path),
        Err(message) => stop(&format!("these tests need the book's trained model: {message}")),
    })
    .clone()
}

/// Ends the test binary with one line. Called inside a `OnceLock`
/// initialiser, so that the other test threads wait there and the line is
/// printed once; written straight to the stream, because the test harness
/// captures eprintln!.
fn stop(message: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    std::process::exit(1)
}

/// The one `error:` line of a failed command, which must exit with 2; the
/// only other line allowed is the note of a download it tried.
pub fn the_error_line(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let (errors, others): (Vec<&str>, Vec<&str>) = stderr.lines().partition(|l| l.starts_with("error: "));
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(others.iter().all(|l| l.starts_with("downloading ")), "{stderr}");
    errors[0].to_string()
}

/// A corpus folder (`train.txt`, `valid.txt`, `test.txt`, the same 300 lines
/// of a dozen words) in `dir`, for runs that need no Penn Treebank.
pub fn tiny_corpus(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let text: String = (0..300).map(|i| format!("w{} w{} w{} w{}\n", i % 7, i % 5, i % 3, i % 11)).collect();
    for split in ["train", "valid", "test"] {
        std::fs::write(corpus.join(format!("{split}.txt")), &text).unwrap();
    }
    corpus
}

/// The names in `dir`, sorted (none for a folder that does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// An address on 127.0.0.1 where nothing listens: a listener is bound, then
/// dropped, so a connection there is refused.
pub fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

/// Serves the files under `root` over HTTP/1.0 on a free port of 127.0.0.1;
/// `/trunc/PATH` serves the first half of PATH. Returns the base URL.
pub fn serve(root: PathBuf) -> String {
    serve_logged(root).0
}

/// [`serve`], also returning the path of every request it answered.
pub fn serve_logged(root: PathBuf) -> (String, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let requests = log.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            requests.lock().unwrap().push(path.clone());
            let (truncate, name) = match path.strip_prefix("/trunc/") {
                Some(name) => (true, name.to_string()),
                None => (false, path.trim_start_matches('/').to_string()),
            };
            let response = match std::fs::read(root.join(&name)) {
                Ok(mut body) => {
                    if truncate {
                        body.truncate(body.len() / 2);
                    }
                    let mut r = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
                    r.extend(body);
                    r
                }
                Err(_) => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    (format!("http://{addr}"), log)
}

/// The `rnnlm` binary under test, its products' layouts fixed rather than
/// measured, so that runs in separate processes (a run and its resumption,
/// say) print the same digits.
pub fn rnnlm() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    cmd.env("RNNLM_KERNELS", "fixed");
    cmd
}

/// Runs `cmd`, which must fail with a one-line error (`what` names the case
/// in a failed assertion), and returns its stderr.
pub fn one_line_error(cmd: &mut std::process::Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{what}: it should fail");
    assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
    stderr
}

/// Runs `rnnlm seq2seq ARGS` and returns its stdout; fails the test on a non-zero exit.
pub fn seq2seq(args: &[&str]) -> String {
    let out = rnnlm().arg("seq2seq").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Rewrites the `layouts.json` of the run folder `run` as if its process had
/// measured `Wh` by columns the faster for the steps' `h·Wh` (the tests'
/// processes fix every product to its first layout, row-major, which the
/// file must show), and returns the (product, layout) pairs it wrote.
pub fn record_steps_by_columns(run: &Path) -> Vec<(String, String)> {
    use rnnlm::run::layouts::{read_layouts, write_layouts};
    let path = rnnlm::run::RunDir::new(run).layouts();
    let first = read_layouts(&path).unwrap();
    let is_step = |product: &str| product.starts_with("step h·Wh");
    assert!(first.iter().any(|(p, l)| is_step(p) && l == "Wh row-major"), "{first:?}");
    let recorded: Vec<(String, String)> =
        first.into_iter().map(|(p, l)| if is_step(&p) { (p, "Wh by columns".to_string()) } else { (p, l) }).collect();
    write_layouts(&path, &recorded).unwrap();
    recorded
}
