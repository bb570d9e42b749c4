//! Every file rnnlm reads from outside — the book's `.pkl`, `.npz`,
//! `.safetensors`, a run's `config.json`, `vocab.json`, `metrics.csv`,
//! `layouts.json` and checkpoints — made valid, then mutated at random (a
//! fixed seed, a bounded count), is read back as `Ok` or `Err`: never a
//! panic, an abort, or an allocation over 1 GiB (the allocator below refuses
//! one, which aborts the test with "memory allocation of N bytes failed").

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rnnlm::run::RunDir;

/// The system allocator, refusing any one allocation over 1 GiB: a reader
/// that trusted a size from a file would ask for more.
struct AtMostOneGiB;

const LIMIT: usize = 1 << 30;

// SAFETY: every call is passed to the system allocator unchanged, or refused
// with a null pointer, which GlobalAlloc allows.
unsafe impl GlobalAlloc for AtMostOneGiB {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: as alloc.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from System with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: AtMostOneGiB = AtMostOneGiB;

/// Mutations of each file.
const MUTATIONS: usize = 300;

/// `valid` with one to four changes: a byte replaced, a bit flipped, the
/// file cut short, a byte inserted, a run of 0xff (a huge length or count),
/// or a chunk of the file repeated elsewhere.
fn mutate(valid: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = valid.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        if b.is_empty() {
            b.push(rng.random());
            continue;
        }
        let i = rng.random_range(0..b.len());
        match rng.random_range(0..6) {
            0 => b[i] = rng.random(),
            1 => b[i] ^= 1 << rng.random_range(0..8),
            2 => b.truncate(i),
            3 => b.insert(i, rng.random()),
            4 => {
                let n = rng.random_range(1..=8).min(b.len() - i);
                b[i..i + n].fill(0xff);
            }
            _ => {
                let j = rng.random_range(0..b.len());
                let chunk = b[j..(j + rng.random_range(1..=64)).min(b.len())].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    b
}

/// Writes mutations of the file at `path` over it, one at a time, and reads
/// each with `read`, which must return (its result is not looked at: `Ok`
/// is right where the mutation kept the file valid). The valid file is put
/// back at the end.
fn each_mutation(path: &Path, seed: u64, count: usize, read: impl Fn(&Path)) {
    let valid = std::fs::read(path).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for k in 0..count {
        let bytes = mutate(&valid, &mut rng);
        std::fs::write(path, &bytes).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let read = std::panic::AssertUnwindSafe(&read);
        if std::panic::catch_unwind(|| read(path)).is_err() {
            let kept = std::env::temp_dir().join(format!("rnnlm-panic-{k}-{name}"));
            std::fs::write(&kept, &bytes).unwrap();
            panic!("mutation {k} of {name} (seed {seed}) panicked; the file is kept as {}", kept.display());
        }
    }
    std::fs::write(path, valid).unwrap();
}

#[test]
fn mutated_book_pickles_are_errors_never_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for (seed, name) in
        ["three_arrays.numpy2.protocol3.pkl", "three_arrays.numpy1.protocol4.pkl", "three_arrays.numpy2.protocol5.pkl"]
            .into_iter()
            .enumerate()
    {
        let path = dir.path().join(name);
        std::fs::copy(data.join(name), &path).unwrap();
        assert!(rnnlm::weights::book_pickle::read_file(&path).is_ok(), "{name} reads before it is mutated");
        each_mutation(&path, seed as u64, 2 * MUTATIONS, |p| {
            let _ = rnnlm::weights::book_pickle::read_file(p);
            let _ = rnnlm::weights::book_pickle::read_weights(p);
        });
    }
}

#[test]
fn mutated_weight_files_are_errors_never_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let weights = rnnlm::weights::RnnlmWeights::simple(12, 3, 4, 1);
    for (seed, name) in [(10, "w.safetensors"), (11, "w.npz")] {
        let path = dir.path().join(name);
        rnnlm::weights::files::write(&path, &weights, &[]).unwrap();
        assert!(rnnlm::weights::files::read_any(&path).is_ok(), "{name} reads before it is mutated");
        each_mutation(&path, seed, 2 * MUTATIONS, |p| {
            let _ = rnnlm::weights::files::read_any(p);
        });
    }
}

/// A finished run of a small model on a corpus of its own, two epochs.
fn small_run(dir: &Path) -> std::path::PathBuf {
    let corpus = common::tiny_corpus(dir);
    let run = dir.join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .env("PTB_DIR", "/nonexistent-ptb")
        .env("RNNLM_KERNELS", "fixed")
        .args(["train", "--backend", "flex", "--epochs", "2", "--wordvec-size", "8", "--hidden-size", "8"])
        .args(["--batch-size", "4", "--time-size", "5", "--corpus"])
        .arg(&corpus)
        .arg("--artifacts")
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    run
}

#[test]
fn a_mutated_run_folder_is_errors_never_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let run = small_run(dir.path());
    let run_dir = RunDir::new(&run);
    let device = common::flex();
    let load = |_: &Path| {
        let _ = rnnlm::train::load_trained(&run, Some(2), &device);
    };
    assert!(rnnlm::train::load_trained(&run, Some(2), &device).is_ok(), "the run loads before it is mutated");
    let cfg = rnnlm::train::read_config(&run_dir).unwrap();
    let arch = cfg.model().architecture();
    each_mutation(&run_dir.config(), 20, MUTATIONS, load);
    each_mutation(&run_dir.vocab(), 21, MUTATIONS, |p| {
        let _ = rnnlm::run::vocab::read_vocab(p);
    });
    each_mutation(&run_dir.metrics(), 22, MUTATIONS, |p| {
        let _ = rnnlm::run::metrics::read_metrics(p);
    });
    each_mutation(&run_dir.layouts(), 23, MUTATIONS, |p| {
        let _ = rnnlm::run::layouts::read_layouts(p);
    });
    each_mutation(&run_dir.model_checkpoint(2), 24, MUTATIONS / 3, load);
    let records = |_: &Path| {
        let _ = rnnlm::run::checkpoint::check_records_readable(&run_dir, 2);
    };
    each_mutation(&run_dir.optim_checkpoint(2), 25, MUTATIONS, records);
    each_mutation(&run_dir.scheduler_checkpoint(2), 26, MUTATIONS, records);
    each_mutation(&run_dir.state(2), 27, MUTATIONS, |p| {
        let _ = rnnlm::run::checkpoint::load_state(p, &arch, cfg.batch_size, &device);
    });
}
