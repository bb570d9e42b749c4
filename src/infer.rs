//! Using a trained model: perplexity on a split (the book's
//! `eval_perplexity`), sampling text one word at a time (the book's
//! chapter 7 `RnnlmGen`), and an encoder-decoder's greedy answers (the
//! book's `eval_seq2seq`).

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::data::batches::{StreamBatches, TbpttBatcher};
use crate::data::sequence::Ids;
use crate::data::text::EOS;
use crate::data::vocab::Vocab;
use crate::model::{RecurrentState, Rnnlm, Seq2seq};

/// Mean loss over every batch of the stream, forward only, the state carried
/// from batch to batch and starting from zeros. Perplexity is its `exp`.
pub fn eval_loss(model: &Rnnlm, batches: &StreamBatches, device: &Device) -> f64 {
    let mut h: Option<RecurrentState> = None;
    let mut total = 0.0;
    for k in 0..batches.iters() {
        let batch = TbpttBatcher::to_device(&batches.batch(k).expect("k < iters"), device);
        let (loss, h_last) = model.forward(batch.xs, batch.ts, h.take());
        total += loss.into_scalar::<f64>();
        h = Some(h_last);
    }
    total / batches.iters() as f64
}

/// The most words one `generate` call samples (Penn Treebank's training set
/// has 929,589): the ids are held in memory until the text is written.
pub const MAX_GENERATED_WORDS: usize = 10_000_000;

/// How to sample.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Words to generate after the start word.
    pub words: usize,
    /// Scores are divided by it before the softmax: below 1 is greedier, above 1 more random.
    pub temperature: f64,
    /// The sampler's seed.
    pub seed: u64,
    /// Words never sampled (the book skips `<unk>` and `N`).
    pub skip: Vec<u32>,
}

/// Samples `opts.words` ids after `start_id`, feeding each sampled word back in
/// and carrying the hidden state, as `RnnlmGen.generate`. Skipped words get
/// probability zero (the rest renormalised), rather than the book's redraw
/// after the state has moved on.
pub fn generate(model: &Rnnlm, start_id: u32, opts: &SampleOptions, device: &Device) -> crate::Result<Vec<u32>> {
    if !(opts.temperature.is_finite() && opts.temperature > 0.0) {
        return Err(crate::Error::setting(
            "temperature",
            format!("must be a positive number, not {}", opts.temperature),
        ));
    }
    let vocab = model.embed.weight.dims()[0];
    if start_id as usize >= vocab {
        return Err(crate::Error::Invalid(format!("start id {start_id} is outside the vocabulary of {vocab}")));
    }
    if opts.words > MAX_GENERATED_WORDS {
        return Err(crate::Error::setting(
            "words",
            format!("must be at most {MAX_GENERATED_WORDS}, not {}", opts.words),
        ));
    }
    if !(opts.temperature.is_finite() && opts.temperature > 0.0) {
        return Err(crate::Error::setting(
            "temperature",
            format!("must be a positive number, not {}", opts.temperature),
        ));
    }
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut h: Option<RecurrentState> = None;
    let mut x = start_id;
    let mut out = Vec::with_capacity(opts.words);
    while out.len() < opts.words {
        let input = Tensor::<2, Int>::from_data(TensorData::new(vec![x as i64], [1, 1]), device);
        let (logits, h_last) = model.forward_logits(input, h.take()); // [1, 1, V]
        h = Some(h_last);
        let p = softmax(logits.reshape([vocab]).div_scalar(opts.temperature), 0);
        let mut p: Vec<f64> =
            p.try_into_vec_as::<f64>().map_err(|e| crate::Error::Invalid(format!("cannot read the scores: {e:?}")))?;
        for &s in &opts.skip {
            p[s as usize] = 0.0;
        }
        let total: f64 = p.iter().sum();
        if total.is_nan() || total <= 0.0 {
            return Err(crate::Error::Invalid("every word the model can produce is skipped".into()));
        }
        let mut r = rng.random::<f64>() * total;
        let mut sampled = p.len() - 1;
        for (i, &pi) in p.iter().enumerate() {
            if r < pi {
                sampled = i;
                break;
            }
            r -= pi;
        }
        x = sampled as u32;
        out.push(x);
    }
    Ok(out)
}

/// Words joined by spaces, a line ending at each `<eos>`.
pub fn format_text(vocab: &Vocab, ids: &[u32]) -> String {
    let mut out = String::new();
    for &id in ids {
        let w = vocab.word(id).unwrap_or("<?>");
        if w == EOS {
            out.push('\n');
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

/// The model's greedy answers to every question of `x` (the book's
/// `eval_seq2seq`, run `batch_size` questions at a time): `steps` characters
/// each after `start_id`, `[rows, steps]`.
pub fn greedy_answers(
    model: &Seq2seq,
    x: &Ids,
    start_id: u32,
    steps: usize,
    batch_size: usize,
    device: &Device,
) -> Ids {
    let mut data = Vec::with_capacity(x.rows * steps);
    for (from, to) in batches(x.rows, batch_size) {
        data.extend(model.generate(rows_tensor(x, from, to, device), start_id, steps));
    }
    Ids { rows: x.rows, cols: steps, data }
}

/// `(from, to)` of each batch of at most `batch_size` of `rows` rows, in order.
fn batches(rows: usize, batch_size: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = batch_size.max(1);
    (0..rows).step_by(size).map(move |from| (from, (from + size).min(rows)))
}

/// Rows `from..to` of `ids` on `device`: `[to − from, cols]`.
fn rows_tensor(ids: &Ids, from: usize, to: usize, device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = ids.data[from * ids.cols..to * ids.cols].iter().map(|&v| v as i64).collect();
    Tensor::<2, Int>::from_data(TensorData::new(v, [to - from, ids.cols]), device)
}

/// How many answers of `guess` `[N, Ta − 1]` are exactly the answers `t`
/// `[N, Ta]` less their start mark, padding included (the book's
/// `correct == guess`).
pub fn count_correct(guess: &Ids, t: &Ids) -> usize {
    (0..t.rows).filter(|&r| guess.row(r) == &t.row(r)[1..]).count()
}

/// The mean teacher-forced loss of the answers `t` to the questions `x`
/// (the book's `model.forward(x, t)` over the whole split, here
/// `batch_size` rows at a time): the mean over every row and step.
pub fn teacher_forced_loss(model: &Seq2seq, x: &Ids, t: &Ids, batch_size: usize, device: &Device) -> f64 {
    let mut sum = 0.0;
    for (from, to) in batches(x.rows, batch_size) {
        let loss = model.forward(rows_tensor(x, from, to, device), rows_tensor(t, from, to, device));
        sum += loss.into_data().iter::<f32>().next().unwrap_or(f32::NAN) as f64 * (to - from) as f64;
    }
    sum / x.rows.max(1) as f64
}
