//! Using a trained model: `eval` against a hand computation, `generate`'s
//! determinism and its errors.

mod common;

use std::process::Command;

use ndarray::Array2;
use rnnlm::backend::Backend;
use rnnlm::data::batches::StreamBatches;
use rnnlm::data::corpus::{Corpus, Split};
use rnnlm::data::ptb;
use rnnlm::infer;
use rnnlm::reference;
use rnnlm::train::{self, Progress, TrainConfig};

fn trained_run(dir: &std::path::Path) -> Corpus {
    let data = ptb::load_dir(&common::ptb_dir()).unwrap();
    let cfg = TrainConfig { corpus_size: 2_000, epochs: 1, seed: 3, ..TrainConfig::notebook(10_000) };
    train::train(&cfg, Backend::Flex, &data, dir, false, Progress::EpochLines).unwrap();
    data
}

#[test]
fn eval_equals_a_hand_computation_and_the_command_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = trained_run(dir.path());
    let device = common::ndarray();
    let (_, model, epoch) = train::load_trained(dir.path(), None, &device).unwrap();
    assert_eq!(epoch, 1);
    // The first 7,001 test tokens: 20 batches of 10 x 35, enough to carry the
    // state through many batches, few enough to score by hand in f64.
    let test = &data.test[..7_001];
    let batches = StreamBatches::eval(test, 10, 35).unwrap();
    assert_eq!(batches.iters(), 20);
    let burn_loss = infer::eval_loss(&model, &batches, &device);

    // By hand, with the book's layers in f64 and the trained weights: rows
    // jump = (len-1)//10 apart, 35 steps a batch, the state carried.
    let mut book = reference::Rnnlm::<f64>::from_weights(&model.weights(), 0.0, 0).unwrap();
    let jump = (test.len() - 1) / 10;
    let iters = (test.len() - 1) / 350;
    let mut total = 0.0;
    for k in 0..iters {
        let xs = Array2::from_shape_fn((10, 35), |(i, t)| test[(i * jump + k * 35 + t) % test.len()] as usize);
        let ts = Array2::from_shape_fn((10, 35), |(i, t)| test[(i * jump + k * 35 + t + 1) % test.len()] as usize);
        total += book.forward(&xs, &ts);
    }
    let hand = total / iters as f64;
    assert!(((burn_loss - hand) / hand).abs() < 1e-5, "burn {burn_loss} vs hand {hand}");

    let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .env("PTB_DIR", common::ptb_dir())
        .args(["eval", "--backend", "ndarray", "--split", "test", "--artifacts"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap();
    let value: f64 = last.strip_prefix("test perplexity: ").unwrap_or_else(|| panic!("{last}")).parse().unwrap();
    let full = infer::eval_loss(&model, &StreamBatches::eval(data.split(Split::Test), 10, 35).unwrap(), &device).exp();
    assert!((value - full).abs() / full < 1e-4, "printed {value} vs {full}");
}

fn generate(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .args(["generate", "--backend", "ndarray", "--words", "40", "--artifacts"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn generate_is_reproducible_skips_unk_and_refuses_unknown_words() {
    let dir = tempfile::tempdir().unwrap();
    let data = trained_run(dir.path());
    let a = generate(dir.path(), &["--start", "the", "--seed", "7"]);
    let b = generate(dir.path(), &["--start", "the", "--seed", "7"]);
    let c = generate(dir.path(), &["--start", "the", "--seed", "8"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let text = String::from_utf8_lossy(&a.stdout).into_owned();
    assert_eq!(text, String::from_utf8_lossy(&b.stdout), "same seed, same text");
    assert_ne!(text, String::from_utf8_lossy(&c.stdout), "another seed, other text");
    assert!(text.starts_with("the "), "{text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() <= 41 && words.len() > 5, "{text}");
    assert!(words.iter().all(|w| *w != "<unk>" && *w != "N" && data.vocab.id(w).is_some()), "{text}");

    let bad = generate(dir.path(), &["--start", "zyzzyva"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.trim(), "error: the start word \"zyzzyva\" is not in the vocabulary of 10000 words");
}

#[test]
fn sampling_respects_temperature_and_skips() {
    let device = common::ndarray();
    let w = rnnlm::weights::RnnlmWeights::simple(50, 8, 7, 1);
    let model =
        rnnlm::model::RnnlmConfig::new(50).with_wordvec_size(8).with_hidden_size(7).init_with(&w, &device).unwrap();
    let opts = infer::SampleOptions { words: 200, temperature: 1.0, seed: 1, skip: (0..40).collect() };
    let ids = infer::generate(&model, 3, &opts, &device).unwrap();
    assert_eq!(ids.len(), 200);
    assert!(ids.iter().all(|&i| i >= 40), "skipped ids never appear");
    let err =
        infer::generate(&model, 3, &infer::SampleOptions { temperature: 0.0, ..opts.clone() }, &device).unwrap_err();
    assert_eq!(err.to_string(), "temperature must be a positive number, not 0");
    let err =
        infer::generate(&model, 3, &infer::SampleOptions { skip: (0..50).collect(), ..opts }, &device).unwrap_err();
    assert_eq!(err.to_string(), "every word the model can produce is skipped");
}

#[test]
fn generate_refuses_weights_whose_vocabulary_is_not_the_one_read() {
    // A model of 50 words beside no vocab.json: the vocabulary read is PTB's 10,000.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.safetensors");
    rnnlm::weights::files::write(&file, &rnnlm::weights::RnnlmWeights::simple(50, 8, 7, 1), &[]).unwrap();
    let vocab = ptb::load_dir(&common::ptb_dir()).unwrap().vocab;
    // A start word whose id the model has no row for.
    let start = vocab.word(9_999).unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .env("PTB_DIR", common::ptb_dir())
        .args(["generate", "--backend", "ndarray", "--words", "5", "--start", &start, "--weights"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim(), "error: the model has V=50, its vocabulary 10000 words");
}
