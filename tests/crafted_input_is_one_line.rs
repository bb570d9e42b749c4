//! Crafted files and flags, each once a panic, an abort or lost data: now one
//! `error:` line, exit 2, and nothing written or left behind.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::the_error_line;
use rnnlm::run::RunDir;

fn rnnlm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    cmd.env("PTB_DIR", common::ptb_dir()).env("RNNLM_KERNELS", "fixed");
    cmd
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = rnnlm();
    cmd.args(args).args(paths);
    cmd.output().unwrap()
}

/// A pickle of the list `[item]` whose item the opcodes `item` build.
fn pickle_of(item: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 3, b']', b'q', 0, b'('];
    p.extend(item);
    p.extend(b"e.");
    p
}

/// `eval --book-pkl` of the bytes `pkl`: its one error line.
fn eval_pickle(dir: &Path, name: &str, pkl: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pkl).unwrap();
    the_error_line(&run(&["eval", "--backend", "flex", "--book-pkl"], &[&path]))
}

#[test]
fn crafted_book_pickles_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // A shape whose byte count overflows, in the book's own layout of an array.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/three_arrays.numpy2.protocol3.pkl");
    let valid = std::fs::read(fixture).unwrap();
    let k = valid.windows(5).position(|w| w == b"K\x02K\x02\x86").expect("the first array's shape (2, 2)");
    let mut huge = valid[..k].to_vec();
    huge.extend(b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x87");
    huge.extend(&valid[k + 5..]);
    let line = eval_pickle(dir, "huge.pkl", &huge);
    assert!(line.contains("huge.pkl") && line.contains("more than this machine can address"), "{line}");

    // A value doubled 40 times through the memo: 2^40 copies if copied.
    let mut doubled = vec![b'N', b'q', 1];
    for _ in 0..40 {
        doubled.extend([b'h', 1, b'h', 1, 0x86, b'q', 1]);
    }
    let line = eval_pickle(dir, "doubled.pkl", &pickle_of(&doubled));
    assert!(line.contains("doubled.pkl") && line.contains("nest deeper than"), "{line}");

    // One memoised 1 MiB value fetched 500,000 times.
    let mut fetched = vec![b'B'];
    fetched.extend((1u32 << 20).to_le_bytes());
    fetched.extend(vec![0u8; 1 << 20]);
    fetched.extend([b'q', 1]);
    for _ in 0..500_000 {
        fetched.extend([b'h', 1]);
    }
    let line = eval_pickle(dir, "fetched.pkl", &pickle_of(&fetched));
    assert!(line.contains("fetched.pkl") && line.contains("not a NumPy array"), "{line}");

    // 1,000,000 nested TUPLE1.
    let mut nested = vec![b'N'];
    nested.extend(std::iter::repeat_n(0x85, 1_000_000));
    let line = eval_pickle(dir, "nested.pkl", &pickle_of(&nested));
    assert!(line.contains("nested.pkl") && line.contains("nest deeper than"), "{line}");
}

/// An `.npy` of float32 whose header claims `shape` (a Python tuple), with
/// `data` after it.
fn npy(shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(data);
    b
}

#[test]
fn an_npz_header_claiming_more_than_its_entry_holds_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("embed.W.npy", stored).unwrap();
    zip.write_all(&npy("(4398046511104,)", &[0; 16])).unwrap();
    zip.finish().unwrap();
    let line = the_error_line(&run(&["eval", "--backend", "flex", "--weights"], &[&path]));
    assert!(line.contains("w.npz") && line.contains("embed.W"), "{line}");
}

#[test]
fn a_safetensors_shape_too_large_for_a_model_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let header = r#"{"embed.W":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"lstm.Wh":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[16,16]}}"#;
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    b.extend([0u8; 16]);
    std::fs::write(&path, b).unwrap();
    let line = the_error_line(&run(&["eval", "--backend", "flex", "--weights"], &[&path]));
    assert!(line.contains("w.safetensors") && line.contains("more than a model may be"), "{line}");
}

const SMALL: [&str; 8] = ["--wordvec-size", "8", "--hidden-size", "8", "--batch-size", "4", "--time-size", "5"];

#[test]
fn sizes_past_what_can_be_allocated_are_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = common::tiny_corpus(dir.path());
    let artifacts = dir.path().join("run");
    let train = |extra: &[&str]| {
        let mut cmd = rnnlm();
        cmd.args(["train", "--backend", "flex", "--corpus"]).arg(&corpus);
        cmd.arg("--artifacts").arg(&artifacts).args(extra);
        cmd.output().unwrap()
    };
    let line = the_error_line(&train(&["--batch-size", "4294967296", "--time-size", "4294967296"]));
    assert!(line.contains("too short for one batch of 4294967296 x 4294967296"), "{line}");
    assert!(!artifacts.exists(), "nothing written");
    let line = the_error_line(&train(&["--hidden-size", "4611686018427387904"]));
    assert!(line.contains("more than a model may be"), "{line}");
    assert!(!artifacts.exists(), "nothing written");

    let line = the_error_line(&run(&["bench", "--backend", "flex", "--iters", "18446744073709551615"], &[]));
    assert!(line.contains("--iters must be at most"), "{line}");

    // A model to generate from, then a number of words past the limit.
    let out = train(&[&SMALL[..], &["--epochs", "1"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(
        &["generate", "--backend", "flex", "--start", "w1", "--words", "1000000000000", "--artifacts"],
        &[&artifacts],
    );
    let line = the_error_line(&out);
    assert!(line.contains("words") && line.contains("at most"), "{line}");

    // A damaged schedule's checkpoint: the resume names it.
    let scheduler = RunDir::new(&artifacts).scheduler_checkpoint(1);
    std::fs::write(&scheduler, b"not a record").unwrap();
    let line = the_error_line(&train(&[&SMALL[..], &["--epochs", "2", "--resume"]].concat()));
    assert!(line.contains("scheduler-1.bpk"), "{line}");
}

/// The run folder of one epoch of a small addition model.
fn seq2seq_run(dir: &Path) -> PathBuf {
    let run = dir.join("add");
    let mut cmd = rnnlm();
    cmd.args(["seq2seq", "train", "--epochs", "1", "--backend", "flex", "--wordvec-size", "8"]);
    cmd.args(["--hidden-size", "16", "--batch-size", "500", "--artifacts"]).arg(&run);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    run
}

#[test]
fn an_export_into_its_own_run_folder_is_refused_and_the_run_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let run_path = seq2seq_run(dir.path());
    let vocab = RunDir::new(&run_path).vocab();
    let before = std::fs::read(&vocab).unwrap();
    let out = run_path.join("w.safetensors");
    let line = the_error_line(&run(&["seq2seq", "export", "--artifacts"], &[&run_path, Path::new("--out"), &out]));
    assert!(line.contains("is a run folder"), "{line}");
    assert_eq!(std::fs::read(&vocab).unwrap(), before, "vocab.json kept");
    assert!(!out.exists());

    // Elsewhere it writes both files whole.
    let elsewhere = dir.path().join("out/w.safetensors");
    let done = run(&["seq2seq", "export", "--artifacts"], &[&run_path, Path::new("--out"), &elsewhere]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(std::fs::read(dir.path().join("out/vocab.json")).unwrap(), before);

    // A run folder whose files were changed by hand: one line, not an index panic.
    let config = RunDir::new(&run_path).config();
    let saved = std::fs::read_to_string(&config).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&saved).unwrap();
    cfg["answer_size"] = 0.into();
    std::fs::write(&config, cfg.to_string()).unwrap();
    let line = the_error_line(&run(
        &["seq2seq", "answer", "--backend", "flex", "--artifacts"],
        &[&run_path, Path::new("16+75")],
    ));
    assert!(line.contains("config.json") && line.contains("answer_size"), "{line}");
    std::fs::write(&config, saved).unwrap();
    std::fs::write(&vocab, br#"["1","2"]"#).unwrap();
    let line = the_error_line(&run(
        &["seq2seq", "answer", "--backend", "flex", "--artifacts"],
        &[&run_path, Path::new("16+75")],
    ));
    assert!(line.contains("vocab.json") && line.contains("2 characters"), "{line}");
}
