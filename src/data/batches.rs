//! The notebook's truncated-BPTT batches as Burn datasets.
//!
//! The notebook cuts the corpus into `batch_size` rows that start `jump` words
//! apart and reads T words of each per iteration, so that row i of batch k+1
//! continues exactly where row i of batch k stopped: that is what lets the
//! hidden state carry over from one batch to the next. Each dataset item here
//! is one whole `[N, T]` batch; the DataLoader must take them one at a time,
//! in order, with no shuffling and no worker threads.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// One `[N, T]` batch of inputs and targets, row-major, as host ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchIds {
    /// N: rows.
    pub batch_size: usize,
    /// T: time steps.
    pub time_size: usize,
    /// `xs[i * T + t]`
    pub xs: Vec<u32>,
    /// `ts[i * T + t]`, the word after `xs[i * T + t]`.
    pub ts: Vec<u32>,
    /// True for the first batch of a pass over the stream: a caller that
    /// carries the hidden state starts it afresh here (evaluation does; the
    /// notebook's training never does).
    pub first: bool,
}

/// Why a stream cannot be batched.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// `what` is the setting's name, `batch_size` or `time_size`.
    #[error("{what} must be at least 1")]
    ZeroSize {
        /// The setting's name.
        what: &'static str,
    },
    /// A stream too short for one batch of N x T.
    #[error(
        "a corpus of {tokens} tokens is too short for one batch of {batch_size} x {time_size}: it needs {needed} tokens; \
         sizes that fit satisfy batch_size x time_size <= {}",
        tokens.saturating_sub(1)
    )]
    TooShort {
        /// Tokens in the stream.
        tokens: usize,
        /// N asked for.
        batch_size: usize,
        /// T asked for.
        time_size: usize,
        /// Tokens one batch needs: N·T inputs and one more target (wide, so
        /// that sizes whose product overflows a `usize` are reported exactly).
        needed: u128,
    },
}

/// A stream cut into rows, read T words per item: the notebook's batching.
#[derive(Clone, Debug)]
pub struct StreamBatches {
    /// The stream, held once: input `j` is `stream[j]` for `j < positions`,
    /// its target `stream[(j + 1) % stream.len()]`.
    stream: Arc<[u32]>,
    positions: usize,
    batch_size: usize,
    time_size: usize,
    jump: usize,
    iters: usize,
}

fn check_sizes(tokens: usize, batch_size: usize, time_size: usize) -> Result<(), BatchError> {
    if batch_size == 0 {
        return Err(BatchError::ZeroSize { what: "batch_size" });
    }
    if time_size == 0 {
        return Err(BatchError::ZeroSize { what: "time_size" });
    }
    let needed = batch_size as u128 * time_size as u128 + 1;
    if (tokens as u128) < needed {
        return Err(BatchError::TooShort { tokens, batch_size, time_size, needed });
    }
    Ok(())
}

impl StreamBatches {
    /// The notebook's training batches over `corpus`: `xs = corpus[:-1]`,
    /// `ts = corpus[1:]`, `jump = (corpus_size - 1) // batch_size`, row i starts at
    /// `i * jump`, `time_idx` advances T per iteration and wraps modulo
    /// `data_size`, `data_size // (batch_size * time_size)` iterations per epoch.
    pub fn train(corpus: &[u32], batch_size: usize, time_size: usize) -> Result<Self, BatchError> {
        check_sizes(corpus.len(), batch_size, time_size)?;
        let data_size = corpus.len() - 1;
        Ok(Self {
            stream: corpus.into(),
            positions: data_size,
            batch_size,
            time_size,
            jump: (corpus.len() - 1) / batch_size,
            iters: data_size / (batch_size * time_size),
        })
    }

    /// The book's `eval_perplexity` batches: the same rows, but reading
    /// `corpus[(offset + t) % corpus_size]` and the next word after it, with
    /// `(corpus_size - 1) // (batch_size * time_size)` iterations.
    pub fn eval(corpus: &[u32], batch_size: usize, time_size: usize) -> Result<Self, BatchError> {
        check_sizes(corpus.len(), batch_size, time_size)?;
        Ok(Self {
            stream: corpus.into(),
            positions: corpus.len(),
            batch_size,
            time_size,
            jump: (corpus.len() - 1) / batch_size,
            iters: (corpus.len() - 1) / (batch_size * time_size),
        })
    }

    /// Iterations per pass (`max_iters`).
    pub fn iters(&self) -> usize {
        self.iters
    }

    /// Tokens predicted per pass.
    pub fn tokens_per_pass(&self) -> usize {
        self.iters * self.batch_size * self.time_size
    }

    /// Batch `k` of a pass (`time_idx = k * T`).
    pub fn batch(&self, k: usize) -> Option<BatchIds> {
        if k >= self.iters {
            return None;
        }
        let (n, t) = (self.batch_size, self.time_size);
        let (m, len) = (self.positions, self.stream.len());
        let time_idx = k * t;
        let mut xs = Vec::with_capacity(n * t);
        let mut ts = Vec::with_capacity(n * t);
        for i in 0..n {
            for step in 0..t {
                let j = (i * self.jump + time_idx + step) % m;
                xs.push(self.stream[j]);
                ts.push(self.stream[(j + 1) % len]);
            }
        }
        Some(BatchIds { batch_size: n, time_size: t, xs, ts, first: k == 0 })
    }
}

impl Dataset<BatchIds> for StreamBatches {
    fn get(&self, index: usize) -> Result<BatchIds, DatasetError> {
        self.batch(index).ok_or_else(|| {
            DatasetError::new(std::io::Error::other(format!("batch {index} is past the {} of a pass", self.iters)))
        })
    }

    fn len(&self) -> usize {
        self.iters
    }
}

/// A batch on the device.
#[derive(Clone, Debug)]
pub struct TbpttBatch {
    /// `[N, T]`
    pub xs: Tensor<2, Int>,
    /// `[N, T]`
    pub ts: Tensor<2, Int>,
    /// See [`BatchIds::first`].
    pub first: bool,
}

/// Moves [`BatchIds`] to the device. The DataLoader must use batch size 1:
/// each item already is a whole batch.
#[derive(Clone, Debug, Default)]
pub struct TbpttBatcher;

impl TbpttBatcher {
    /// The batch `ids` as `[N, T]` id tensors on `device`.
    pub fn to_device(ids: &BatchIds, device: &Device) -> TbpttBatch {
        let shape = [ids.batch_size, ids.time_size];
        let tensor = |v: &[u32]| {
            let data: Vec<i64> = v.iter().map(|&x| x as i64).collect();
            Tensor::<2, Int>::from_data(TensorData::new(data, shape), device)
        };
        TbpttBatch { xs: tensor(&ids.xs), ts: tensor(&ids.ts), first: ids.first }
    }
}

impl Batcher<BatchIds, TbpttBatch> for TbpttBatcher {
    fn batch(&self, items: Vec<BatchIds>, device: &Device) -> TbpttBatch {
        assert_eq!(items.len(), 1, "TbpttBatcher takes one item per batch: build the DataLoader with batch_size(1)");
        Self::to_device(&items[0], device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_start_jump_apart_and_continue_across_batches() {
        let corpus: Vec<u32> = (0..23).collect();
        let b = StreamBatches::train(&corpus, 2, 3).unwrap();
        // data_size 22, jump (23-1)//2 = 11, iters 22 // 6 = 3
        assert_eq!(b.iters(), 3);
        let first = b.batch(0).unwrap();
        assert_eq!(first.xs, [0, 1, 2, 11, 12, 13]);
        assert_eq!(first.ts, [1, 2, 3, 12, 13, 14]);
        assert!(first.first);
        let third = b.batch(2).unwrap();
        assert_eq!(third.xs, [6, 7, 8, 17, 18, 19]);
        assert!(!third.first);
        assert!(b.batch(3).is_none());
    }

    #[test]
    fn indices_wrap_modulo_data_size() {
        let corpus: Vec<u32> = (0..10).collect();
        let b = StreamBatches::train(&corpus, 3, 2).unwrap();
        // data_size 9, jump 3, iters 9 // 6 = 1; row 2 reads 6, 7
        assert_eq!(b.batch(0).unwrap().xs, [0, 1, 3, 4, 6, 7]);
        let e = StreamBatches::eval(&corpus, 2, 4).unwrap();
        // jump 4, iters 9 // 8 = 1; row 1 reads 4..8 and targets 5..9
        assert_eq!(e.batch(0).unwrap().xs, [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(e.batch(0).unwrap().ts, [1, 2, 3, 4, 5, 6, 7, 8]);
        let wrap = StreamBatches::eval(&[5, 6, 7, 8, 9], 1, 4).unwrap();
        assert_eq!(wrap.batch(0).unwrap().ts, [6, 7, 8, 9]);
    }

    #[test]
    fn impossible_sizes_are_errors() {
        let corpus: Vec<u32> = (0..10).collect();
        assert_eq!(StreamBatches::train(&corpus, 0, 5).unwrap_err().to_string(), "batch_size must be at least 1");
        assert_eq!(StreamBatches::train(&corpus, 5, 0).unwrap_err().to_string(), "time_size must be at least 1");
        let err = StreamBatches::train(&corpus, 5, 2).unwrap_err().to_string();
        assert_eq!(
            err,
            "a corpus of 10 tokens is too short for one batch of 5 x 2: it needs 11 tokens; sizes that fit satisfy batch_size x time_size <= 9"
        );
    }
}
