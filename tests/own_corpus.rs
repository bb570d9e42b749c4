//! A corpus of one's own: a folder of three text files trains, resumes and
//! evaluates as Penn Treebank does; `--vocab-size` reads the rare words as
//! `<unk>` and says how many; `eval --text` scores any file; the run
//! remembers its corpus; and bad input is one line that writes nothing.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rnnlm::data::corpus::group;
use rnnlm::run::{RunDir, metrics, vocab};
use sha2::{Digest, Sha256};

/// A small model, so that each run takes a second or two.
const SMALL: [&str; 10] =
    ["--wordvec-size", "16", "--hidden-size", "16", "--batch-size", "4", "--time-size", "5", "--seed", "3"];

fn rnnlm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    // Penn Treebank is not needed: a PTB_DIR pointing nowhere proves it is not read.
    cmd.env("PTB_DIR", "/nonexistent-ptb").env("PTB_URL", common::closed_port_url());
    // Layouts fixed, not measured: a run and its resumption print the same digits.
    cmd.env("RNNLM_KERNELS", "fixed");
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("rnnlm starts")
}

fn ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `train --corpus DIR` of the small model into `run`.
fn train(corpus: &Path, run: &Path, epochs: usize, extra: &[&str]) -> Command {
    let mut cmd = rnnlm();
    cmd.arg("train").arg("--corpus").arg(corpus).arg("--artifacts").arg(run);
    cmd.args(SMALL).args(["--epochs", &epochs.to_string()]).args(extra);
    cmd
}

/// Deterministic text: `lines` lines of 3-12 words drawn from `w0..w{n}`,
/// low numbers far more often (a word's weight is 1 / (rank + 1)).
fn text(seed: u64, lines: usize, n: usize, extra_word: Option<&str>) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let total: f64 = (0..n).map(|r| 1.0 / (r + 1) as f64).sum();
    let mut out = String::new();
    for line in 0..lines {
        let words = 3 + (next() * 10.0) as usize;
        for i in 0..words {
            let mut u = next() * total;
            let mut r = 0;
            while r + 1 < n && u > 1.0 / (r + 1) as f64 {
                u -= 1.0 / (r + 1) as f64;
                r += 1;
            }
            let word = match extra_word {
                Some(w) if line % 7 == 3 && i == 0 => w.to_string(),
                _ => format!("w{r}"),
            };
            out.push_str(if i == 0 { "" } else { " " });
            out.push_str(&word);
        }
        out.push('\n');
    }
    out
}

/// A corpus folder of `train.txt`, `valid.txt`, `test.txt` with the given texts.
fn corpus(dir: &Path, train: &str, valid: &str, test: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, t) in [("train.txt", train), ("valid.txt", valid), ("test.txt", test)] {
        std::fs::write(dir.join(name), t).unwrap();
    }
    dir.to_path_buf()
}

/// The tests' corpus: 40 words of which valid and test use some train never has
/// (`zeta`, and w38/w39 which the train text's 30 words lack).
fn standard(dir: &Path) -> PathBuf {
    corpus(dir, &text(1, 400, 30, None), &text(2, 60, 40, Some("zeta")), &text(3, 60, 40, None))
}

/// A corpus whose valid and test words are all in train.
fn plain(dir: &Path) -> PathBuf {
    corpus(dir, &text(1, 400, 30, None), &text(2, 60, 30, None), &text(3, 60, 30, None))
}

/// The number printed after `label` on stdout, e.g. "test perplexity: 12.3456".
fn value_after(out: &str, label: &str) -> f64 {
    let line = out.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label:?} in {out}"));
    line[label.len()..].trim().parse().unwrap()
}

fn perplexities(run: &Path) -> Vec<String> {
    let rows = metrics::read_metrics(&RunDir::new(run).metrics()).unwrap();
    rows.iter().map(|r| format!("{} {:.6e} {:.6e}", r.epoch, r.train_perplexity, r.valid_perplexity)).collect()
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_corpus_folder_trains_resumes_and_evaluates_with_its_own_vocabulary() {
    let work = tempfile::tempdir().unwrap();
    let dir =
        corpus(&work.path().join("mine"), &text(1, 400, 30, None), &text(2, 60, 30, None), &text(3, 60, 30, None));

    // Three epochs in one go, and two then one more with --resume: the same run.
    let whole = work.path().join("whole");
    let out = ok(&mut train(&dir, &whole, 3, &[]));
    assert!(out.contains(": mine, corpus "), "{out}");
    let cut = work.path().join("cut");
    ok(&mut train(&dir, &cut, 2, &[]));
    ok(&mut train(&dir, &cut, 3, &["--resume"]));
    assert_eq!(perplexities(&cut), perplexities(&whole));
    assert_eq!(perplexities(&whole).len(), 3);

    // The vocabulary is the training split's, in order of first appearance; the run records its files.
    let words = vocab::read_vocab(&RunDir::new(&whole).vocab()).unwrap();
    let mut first_seen: Vec<String> = Vec::new();
    for line in std::fs::read_to_string(dir.join("train.txt")).unwrap().lines() {
        for w in line.split_whitespace().chain(["<eos>"]) {
            if !first_seen.iter().any(|s| s == w) {
                first_seen.push(w.to_string());
            }
        }
    }
    assert_eq!(words, first_seen);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(RunDir::new(&whole).config()).unwrap()).unwrap();
    let files = config["corpus"]["files"].as_array().unwrap();
    for (file, name) in files.iter().zip(["train.txt", "valid.txt", "test.txt"]) {
        assert_eq!(file["name"], name);
        assert_eq!(file["sha256"], sha256(&dir.join(name)));
        assert_eq!(file["bytes"], std::fs::metadata(dir.join(name)).unwrap().len());
    }
    assert_eq!(config["corpus"]["dir"], std::path::absolute(&dir).unwrap().display().to_string());
    assert_eq!(config["vocab_size"], words.len());
    assert_eq!(config["corpus_size"], 0, "a corpus of one's own trains on all of it");

    // eval finds the run's corpus by itself (PTB_DIR points nowhere) and scores
    // the best epoch's validation perplexity that the run recorded.
    let out = ok(rnnlm().args(["eval", "--split", "valid", "--artifacts"]).arg(&whole));
    let rows = metrics::read_metrics(&RunDir::new(&whole).metrics()).unwrap();
    let best = rows.iter().map(|r| r.valid_perplexity).fold(f64::INFINITY, f64::min);
    let got = value_after(&out, "valid perplexity:");
    assert!((got - best).abs() <= 1e-4 * best, "eval {got}, metrics.csv {best}");
    assert!(out.contains("0 read as <unk>"), "{out}");

    // generate and export use the run's vocabulary: w-words, which PTB does not have.
    let out = ok(rnnlm().args(["generate", "--start", "w5", "--words", "12", "--artifacts"]).arg(&whole));
    assert!(out.split_whitespace().all(|w| words.iter().any(|v| v == w)), "{out}");
    // "N" is PTB's number token, which the book never samples; in one's own text it is a word.
    let n_corpus =
        corpus(&work.path().join("n"), &"N N w1 N\n".repeat(200), &"N w1\n".repeat(200), &"w1 N\n".repeat(200));
    let n_run = work.path().join("n-run");
    ok(&mut train(&n_corpus, &n_run, 1, &[]));
    let out = ok(rnnlm().args(["generate", "--start", "w1", "--words", "30", "--artifacts"]).arg(&n_run));
    assert!(out.split_whitespace().any(|w| w == "N"), "{out}");
    let exported = work.path().join("export/model.safetensors");
    ok(rnnlm().args(["export", "--artifacts"]).arg(&whole).arg("--out").arg(&exported));
    assert_eq!(vocab::read_vocab(&work.path().join("export/vocab.json")).unwrap(), words);
    let out = ok(rnnlm().args(["eval", "--split", "valid", "--corpus"]).arg(&dir).arg("--weights").arg(&exported));
    assert_eq!(value_after(&out, "valid perplexity:"), got);

    // WikiText's names for the same texts make the same run.
    let wiki = work.path().join("wiki");
    std::fs::create_dir_all(&wiki).unwrap();
    for (from, to) in
        [("train.txt", "wiki.train.tokens"), ("valid.txt", "wiki.valid.tokens"), ("test.txt", "wiki.test.tokens")]
    {
        std::fs::copy(dir.join(from), wiki.join(to)).unwrap();
    }
    let wiki_run = work.path().join("wiki-run");
    ok(&mut train(&wiki, &wiki_run, 3, &[]));
    assert_eq!(perplexities(&wiki_run), perplexities(&whole));
}

#[test]
fn vocab_size_reads_rare_and_unseen_words_as_unk_and_says_how_many() {
    let work = tempfile::tempdir().unwrap();
    let dir = standard(&work.path().join("c"));
    let run = work.path().join("run");
    let out = ok(&mut train(&dir, &run, 1, &["--vocab-size", "12"]));

    // What the issue asks, counted here from the texts themselves.
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let tokens = |t: &str| -> Vec<String> {
        t.lines().flat_map(|l| l.split_whitespace().map(str::to_string).chain(["<eos>".to_string()])).collect()
    };
    let train_tokens = tokens(&read("train.txt"));
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new(); // word -> (count, first position)
    for (i, w) in train_tokens.iter().enumerate() {
        counts.entry(w.as_str()).or_insert((0, i)).0 += 1;
    }
    let mut ranked: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    ranked.sort_by_key(|&(_, (count, first))| (std::cmp::Reverse(count), first));
    let kept: Vec<&str> = ranked.iter().take(11).map(|&(w, _)| w).collect();
    let unknown = |t: &[String]| t.iter().filter(|w| !kept.contains(&w.as_str())).count();
    let test_tokens = tokens(&read("test.txt"));
    let valid_tokens = tokens(&read("valid.txt"));
    let expected = format!(
        "vocabulary 12 words; read as <unk>: train {} of {} tokens, valid {} of {}, test {} of {}",
        group(unknown(&train_tokens)),
        group(train_tokens.len()),
        group(unknown(&valid_tokens)),
        group(valid_tokens.len()),
        group(unknown(&test_tokens)),
        group(test_tokens.len())
    );
    assert!(out.lines().any(|l| l == expected), "expected {expected:?} in\n{out}");
    assert!(valid_tokens.iter().any(|w| w == "zeta") && unknown(&valid_tokens) > 0);

    let words = vocab::read_vocab(&RunDir::new(&run).vocab()).unwrap();
    assert_eq!(words.len(), 12);
    let mut sorted_kept: Vec<&str> = kept.clone();
    sorted_kept.push("<unk>");
    sorted_kept.sort();
    let mut sorted_words: Vec<&str> = words.iter().map(String::as_str).collect();
    sorted_words.sort();
    assert_eq!(sorted_words, sorted_kept);

    // eval counts the unseen words of any text the same way.
    let out = ok(rnnlm().args(["eval", "--split", "valid", "--artifacts"]).arg(&run));
    assert!(
        out.contains(&format!("({} tokens, {} read as <unk>;", valid_tokens.len(), unknown(&valid_tokens))),
        "{out}"
    );
}

#[test]
fn eval_text_of_a_copy_of_the_test_split_prints_the_perplexity_of_eval_split_test() {
    let work = tempfile::tempdir().unwrap();
    let dir = standard(&work.path().join("c"));
    let run = work.path().join("run");
    ok(&mut train(&dir, &run, 1, &["--vocab-size", "20"]));
    let copy = work.path().join("elsewhere.txt");
    std::fs::copy(dir.join("test.txt"), &copy).unwrap();
    let split = ok(rnnlm().args(["eval", "--split", "test", "--artifacts"]).arg(&run));
    let text = ok(rnnlm().args(["eval", "--artifacts"]).arg(&run).arg("--text").arg(&copy));
    assert_eq!(value_after(&text, "text perplexity:"), value_after(&split, "test perplexity:"));
    assert_eq!(value_after(&text, "text loss:"), value_after(&split, "test loss:"));

    // A text with words the model never saw: each one is counted.
    let other = work.path().join("other.txt");
    std::fs::write(&other, "w1 w2 brand new words w3\nw1 w1 again\n".repeat(40)).unwrap();
    let out = ok(rnnlm().args(["eval", "--artifacts"]).arg(&run).arg("--text").arg(&other));
    assert!(out.contains("(440 tokens, 160 read as <unk>;"), "{out}");

    // The run's test split changed since it trained: eval --split says so, and --text still scores it.
    std::fs::write(dir.join("test.txt"), "w1 w2\n".repeat(200)).unwrap();
    let mut eval = rnnlm();
    eval.args(["eval", "--split", "test", "--artifacts"]).arg(&run);
    fails_in_one_line(&mut eval, &["test.txt has changed since the run trained on it ("]);
    ok(rnnlm().args(["eval", "--artifacts"]).arg(&run).arg("--text").arg(dir.join("test.txt")));
}

/// Runs `cmd` and checks that it fails with one line, `error: ...`, holding each of `what`.
fn fails_in_one_line(cmd: &mut Command, what: &[&str]) {
    let out = output(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!out.status.success(), "{cmd:?} succeeded");
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
    for w in what {
        assert!(lines[0].contains(w), "{:?} lacks {w:?}", lines[0]);
    }
}

/// Runs `train` with `extra` and checks it fails with one line containing `what`, writing nothing.
fn refused(work: &Path, corpus_dir: &Path, extra: &[&str], what: &str) {
    let run = work.join("never");
    fails_in_one_line(&mut train(corpus_dir, &run, 1, extra), &[what]);
    assert!(!run.exists(), "a run folder was written for {what:?}");
}

#[test]
fn each_bad_input_is_one_line_and_writes_no_run_folder() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let good = text(1, 400, 30, None);

    let c = corpus(&w.join("missing"), &good, "w1\n", "w1\n");
    std::fs::remove_file(c.join("valid.txt")).unwrap();
    refused(w, &c, &[], "valid.txt is missing: a corpus folder holds valid.txt and test.txt beside train.txt");

    std::fs::create_dir_all(w.join("nothing")).unwrap();
    refused(w, &w.join("nothing"), &[], "holds no corpus: it needs train.txt, valid.txt and test.txt");

    let c = corpus(&w.join("empty"), &good, "w1\n", " \n\n");
    refused(w, &c, &[], "empty/test.txt holds no words");

    let c = corpus(&w.join("bytes"), &good, "w1 w2\nw3\nw4 \u{e9}t\u{e9}\n", "w1\n");
    let mut bytes = std::fs::read(c.join("valid.txt")).unwrap();
    let at = bytes.len() - 3;
    bytes[at] = 0xff; // the first byte of the second é, after 6 good bytes
    std::fs::write(c.join("valid.txt"), bytes).unwrap();
    refused(w, &c, &[], "bytes/valid.txt line 3 is not UTF-8 text (byte 7 of the line)");

    let c = corpus(&w.join("short"), "w1 w2 w3\n", "w1\n", "w1\n");
    refused(w, &c, &[], "a corpus of 4 tokens is too short for one batch of 4 x 5");

    let c = corpus(&w.join("ok"), &good, &text(2, 60, 30, None), &text(3, 60, 30, None));
    refused(w, &c, &["--vocab-size", "1"], "--vocab-size must be at least 2 (one word and <unk>), not 1");

    let c = standard(&w.join("unseen"));
    refused(
        w,
        &c,
        &[],
        "valid.txt line 1: the word \"w32\" is not in the vocabulary, which has no <unk>; give --vocab-size",
    );
}

#[test]
fn resume_refuses_another_corpus_or_vocabulary_in_one_line() {
    let work = tempfile::tempdir().unwrap();
    let dir = plain(&work.path().join("c"));
    let run = work.path().join("run");
    ok(&mut train(&dir, &run, 1, &["--vocab-size", "20"]));
    let before = perplexities(&run);

    // The same texts in another folder resume; one changed file does not.
    let moved = work.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    let read = |name: &str| std::fs::read_to_string(moved.join(name)).unwrap();
    let other =
        corpus(&work.path().join("other"), &(read("train.txt") + "w1 w2\n"), &read("valid.txt"), &read("test.txt"));
    let resume = ["--vocab-size", "20", "--resume"];
    fails_in_one_line(
        &mut train(&other, &run, 2, &resume),
        &["holds a run trained on another corpus (the corpus in ", ": train.txt has ", " bytes and SHA-256 "],
    );
    fails_in_one_line(
        &mut train(&moved, &run, 2, &["--vocab-size", "30", "--resume"]),
        &["vocab_limit is 20 there, 30 here"],
    );
    fails_in_one_line(&mut train(&moved, &run, 2, &["--resume"]), &["vocab_limit is 20 there, null here"]);
    let mut ptb = rnnlm();
    ptb.env("PTB_DIR", common::ptb_dir()).args(["train", "--resume", "--epochs", "2", "--artifacts"]).arg(&run);
    ptb.args(SMALL).args(["--vocab-size", "20"]);
    fails_in_one_line(
        &mut ptb,
        &["holds a run trained on another corpus (the corpus in ", " there, Penn Treebank here)"],
    );
    assert_eq!(perplexities(&run), before, "a refused resume changed the run");
    ok(&mut train(&moved, &run, 2, &resume));
    assert_eq!(perplexities(&run).len(), 2);
}
