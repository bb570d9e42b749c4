//! Penn Treebank on the real files (found through `PTB_DIR`): the book's
//! vocabulary and ids, and the notebook's batches through Burn's DataLoader.

mod common;

use burn::data::dataloader::DataLoaderBuilder;
use rnnlm::data::batches::{BatchIds, StreamBatches, TbpttBatcher};
use rnnlm::data::corpus::{Corpus, Split};
use rnnlm::data::ptb;
use sha2::{Digest, Sha256};

fn load() -> Corpus {
    ptb::load_dir(&common::ptb_dir()).expect("PTB loads")
}

#[test]
fn ptb_has_the_books_sizes_ids_and_checksum() {
    let p = load();
    assert_eq!(p.train.len(), 929_589);
    assert_eq!(p.vocab.len(), 10_000);
    assert_eq!(p.valid.len(), 73_760);
    assert_eq!(p.test.len(), 82_430);
    assert_eq!(&p.train[..5], &[0, 1, 2, 3, 4]);
    assert_eq!(p.vocab.word(p.train[0]), Some("aer"));
    assert_eq!(p.vocab.id("<eos>").map(|id| p.train.iter().filter(|&&x| x == id).count()), Some(42_068));
    let mut hasher = Sha256::new();
    for id in &p.train {
        hasher.update((*id as i32).to_le_bytes());
    }
    let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "b9488a18b214862469a298e9054553287d157d2e196e3ed3345ab343bfc59549");
}

#[test]
fn corpus_size_keeps_the_first_tokens_and_the_full_vocabulary() {
    let p = load();
    let c = p.training_corpus(10_000).unwrap();
    assert_eq!(c, &p.train[..10_000]);
    assert_eq!(p.training_corpus(0).unwrap().len(), 929_589);
    assert_eq!(p.vocab.len(), 10_000);
    assert_eq!(
        rnnlm::Error::from(p.training_corpus(1_000_000).unwrap_err()).to_string(),
        "corpus_size 1000000 is larger than the training split (929589 tokens); use 0 for all of it"
    );
}

/// The notebook's loop, ported line for line: one epoch of (batch_x, batch_t).
fn notebook_epoch(corpus: &[u32], batch_size: usize, time_size: usize) -> Vec<(Vec<u32>, Vec<u32>)> {
    let corpus_size = corpus.len();
    let xs = &corpus[..corpus_size - 1];
    let ts = &corpus[1..];
    let data_size = xs.len();
    let max_iters = data_size / (batch_size * time_size);
    let jump = (corpus_size - 1) / batch_size;
    let offsets: Vec<usize> = (0..batch_size).map(|i| i * jump).collect();
    let mut time_idx = 0;
    let mut out = Vec::new();
    for _ in 0..max_iters {
        let mut batch_x = vec![0; batch_size * time_size];
        let mut batch_t = vec![0; batch_size * time_size];
        for t in 0..time_size {
            for (i, offset) in offsets.iter().enumerate() {
                batch_x[i * time_size + t] = xs[(offset + time_idx) % data_size];
                batch_t[i * time_size + t] = ts[(offset + time_idx) % data_size];
            }
            time_idx += 1;
        }
        out.push((batch_x, batch_t));
    }
    out
}

#[test]
fn seed_configuration_batches_equal_the_notebooks_loop() {
    let p = load();
    let corpus = p.training_corpus(10_000).unwrap();
    let expected = notebook_epoch(corpus, 10, 5);
    let batches = StreamBatches::train(corpus, 10, 5).unwrap();
    assert_eq!(batches.iters(), 199);
    assert_eq!(expected.len(), 199);
    for k in [0, 1, 2, 198] {
        let b = batches.batch(k).unwrap();
        assert_eq!((b.xs.clone(), b.ts.clone()), expected[k], "batch {k}");
    }
}

#[test]
fn the_dataloader_yields_the_notebooks_batches_in_order_every_epoch() {
    let p = load();
    let corpus = p.training_corpus(10_000).unwrap();
    let expected = notebook_epoch(corpus, 10, 5);
    let device = common::ndarray();
    let loader = DataLoaderBuilder::new(TbpttBatcher)
        .batch_size(1)
        .set_device(device)
        .build(StreamBatches::train(corpus, 10, 5).unwrap());
    for epoch in 0..2 {
        let mut n = 0;
        for (k, batch) in loader.iter().enumerate() {
            let batch = batch.expect("batch loads");
            let xs: Vec<u32> = batch.xs.try_into_vec_as::<i64>().unwrap().iter().map(|&x| x as u32).collect();
            let ts: Vec<u32> = batch.ts.try_into_vec_as::<i64>().unwrap().iter().map(|&x| x as u32).collect();
            assert_eq!((xs, ts), expected[k], "epoch {epoch} batch {k}");
            assert_eq!(batch.first, k == 0);
            n += 1;
        }
        assert_eq!(n, 199, "epoch {epoch}");
    }
}

#[test]
fn evaluation_batches_cover_the_stream_contiguously() {
    let p = load();
    let valid = &p.valid;
    let b = StreamBatches::eval(valid, 10, 35).unwrap();
    let jump = (valid.len() - 1) / 10;
    assert_eq!(b.iters(), (valid.len() - 1) / 350);
    // row i of batch k starts at i*jump + k*35, as in the book's eval_perplexity
    for k in [0, 1, b.iters() - 1] {
        let BatchIds { xs, ts, .. } = b.batch(k).unwrap();
        for i in 0..10 {
            for t in 0..35 {
                let j = (i * jump + k * 35 + t) % valid.len();
                assert_eq!(xs[i * 35 + t], valid[j]);
                assert_eq!(ts[i * 35 + t], valid[(j + 1) % valid.len()]);
            }
        }
    }
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = ptb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("ptb.train.txt"), "{err}");
    assert!(err.starts_with("cannot use "), "{err}");
}

#[test]
fn split_checksums_are_the_published_ones() {
    let dir = common::ptb_dir();
    for split in Split::ALL {
        ptb::read_verified(&dir, split).unwrap();
    }
}
