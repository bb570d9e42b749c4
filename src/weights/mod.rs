//! The model's parameters as plain arrays, and the book's initialisation.
//!
//! Both the Burn model and the manual-backward reference are built from an
//! [`RnnlmWeights`], so a test can start them from identical numbers. This is
//! data only: the architectures' parameters (names, shapes, the book's order),
//! the book's random initialisation, and the files weights travel in
//! ([`files`]: `.safetensors` and `.npz`; [`book_pickle`]: the book's own
//! `.pkl`), nothing about either implementation.

pub mod book_pickle;
pub mod files;
mod seq2seq;

pub use seq2seq::Seq2seqWeights;

use crate::arch::{Architecture, CellKind};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Every parameter of a model, row-major, in the order of [`Architecture::params`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RnnlmWeights {
    /// The model they are for.
    pub arch: Architecture,
    /// One per parameter.
    pub tensors: Vec<Vec<f32>>,
}

/// The parameter names of `SimpleRnnlm`, in the book's order.
pub const PARAM_NAMES: [&str; 6] = ["embed.W", "rnn.Wx", "rnn.Wh", "rnn.b", "affine.W", "affine.b"];

impl RnnlmWeights {
    /// The book's initialisation (`SimpleRnnlm`, `Rnnlm`, `BetterRnnlm`
    /// `__init__`): embed N(0,1)/100, each layer's Wx N(0,1)/√(its input size)
    /// and Wh N(0,1)/√H, affine W N(0,1)/√H, zero biases, drawn in that order
    /// from one generator seeded with `seed`.
    pub fn book_init(arch: Architecture, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut randn = |n: usize, scale: f64| randn(&mut rng, n, scale);
        let tensors = arch
            .params()
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                match name.rsplit('.').next().expect("dotted name") {
                    "b" => vec![0.0; n],
                    _ if name == "embed.W" => randn(n, 100.0),
                    // Wx [in, G·H], Wh [H, G·H], affine.W [H, V]: scaled by the rows
                    _ => randn(n, (shape[0] as f64).sqrt()),
                }
            })
            .collect();
        Self { arch, tensors }
    }

    /// The chapter-5 `SimpleRnnlm` with the book's initialisation.
    pub fn simple(vocab_size: usize, wordvec_size: usize, hidden_size: usize, seed: u64) -> Self {
        Self::book_init(Architecture::single(CellKind::Rnn, vocab_size, wordvec_size, hidden_size), seed)
    }

    /// Names, shapes and values, in the book's order.
    pub fn named(&self) -> impl Iterator<Item = (String, Vec<usize>, &[f32])> {
        self.arch.params().into_iter().zip(&self.tensors).map(|((name, shape), t)| (name, shape, t.as_slice()))
    }

    /// The values of the parameter called `name`.
    pub fn get(&self, name: &str) -> &[f32] {
        let k = self.arch.params().iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no parameter {name}"));
        &self.tensors[k]
    }

    /// The values of the parameter called `name`, to change them.
    pub fn get_mut(&mut self, name: &str) -> &mut Vec<f32> {
        let k = self.arch.params().iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no parameter {name}"));
        &mut self.tensors[k]
    }

    /// Checks the architecture and that every array has the length its shape asks for.
    pub fn validate(&self) -> crate::Result<()> {
        self.arch.validate()?;
        let params = self.arch.params();
        if params.len() != self.tensors.len() {
            return Err(crate::Error::Weights(format!(
                "{} parameters given, the model has {}",
                self.tensors.len(),
                params.len()
            )));
        }
        for ((name, shape), values) in params.iter().zip(&self.tensors) {
            let expected: usize = shape.iter().product();
            if values.len() != expected {
                return Err(crate::Error::Weights(format!(
                    "parameter {name} has {} values, its shape {shape:?} needs {expected}",
                    values.len()
                )));
            }
        }
        Ok(())
    }

    /// The weights of a model saved by the book's `save_params` (arrays in
    /// `model.params` order): the architecture is read from the shapes (the
    /// gate count from `Wx`'s width; eight arrays are BetterRnnlm's), then
    /// every array is checked against it.
    pub fn from_book_arrays(arrays: Vec<book_pickle::Array>) -> crate::Result<Self> {
        let dims = |k: usize| arrays.get(k).map(|a| a.shape.clone()).unwrap_or_default();
        let (embed, wx, wh) = (dims(0), dims(1), dims(2));
        let (layers, tied) = match arrays.len() {
            6 => (1, false),
            8 => (2, true),
            n => {
                return Err(crate::Error::Weights(format!(
                    "{n} arrays: the book's models have 6 (SimpleRnnlm, Rnnlm) or 8 (BetterRnnlm)"
                )));
            }
        };
        if embed.len() != 2 || wx.len() != 2 || wh.len() != 2 || wh[0] == 0 {
            return Err(crate::Error::Weights(format!(
                "the first arrays are {embed:?}, {wx:?}, {wh:?}: not an embedding [V, D] and a recurrent layer's Wx, Wh"
            )));
        }
        let h = wh[0];
        let cell = match wh[1] / h {
            1 => CellKind::Rnn,
            3 => CellKind::Gru,
            4 => CellKind::Lstm,
            _ => {
                return Err(crate::Error::Weights(format!(
                    "Wh is {wh:?}: its width is not 1, 3 or 4 times its height"
                )));
            }
        };
        let arch = Architecture { cell, vocab_size: embed[0], wordvec_size: embed[1], hidden_size: h, layers, tied };
        arch.validate()?;
        for ((name, shape), a) in arch.params().iter().zip(&arrays) {
            if &a.shape != shape {
                return Err(crate::Error::Weights(format!(
                    "{name} is {:?} in the file, a {cell} model with V={} D={} H={h} needs {shape:?}",
                    a.shape, arch.vocab_size, arch.wordvec_size
                )));
            }
        }
        let w = Self { arch, tensors: arrays.into_iter().map(|a| a.values).collect() };
        w.validate()?;
        Ok(w)
    }

    /// Weights from named tensors (a file's, in any order), checked against
    /// `arch`: every parameter present with its shape, no other tensor, every
    /// value finite. The error names `source` and the first mismatch.
    pub fn from_named(
        named: Vec<(String, Vec<usize>, Vec<f32>)>,
        arch: Architecture,
        source: &str,
    ) -> crate::Result<Self> {
        arch.validate().map_err(|e| crate::Error::Weights(format!("{source}: {e}")))?;
        let tensors = take_params(named, arch.params(), &arch, source)?;
        let w = Self { arch, tensors };
        w.validate()?;
        Ok(w)
    }

    /// Weights from named tensors, with the architecture their names and
    /// shapes give: `embed.W [V, D]`, one `Wh [H, G·H]` per recurrent layer
    /// (`rnn`, `lstm`, `gru`; `lstm1`, `lstm2` stacked), tied when there is no
    /// `affine.W`.
    pub fn from_named_any(named: Vec<(String, Vec<usize>, Vec<f32>)>, source: &str) -> crate::Result<Self> {
        let shape = |name: &str| named.iter().find(|(n, _, _)| n == name).map(|(_, s, _)| s.clone());
        let embed = shape("embed.W").filter(|s| s.len() == 2).ok_or_else(|| {
            crate::Error::Weights(format!(
                "{source} has no 2-D embed.W: not the weights of one of the book's language models"
            ))
        })?;
        let layers: Vec<(&str, &[usize])> =
            named.iter().filter_map(|(n, s, _)| Some((n.strip_suffix(".Wh")?, s.as_slice()))).collect();
        let Some(&(first, wh)) = layers.first() else {
            return Err(crate::Error::Weights(format!(
                "{source} has no recurrent layer (no tensor named like rnn.Wh, lstm.Wh, gru1.Wh)"
            )));
        };
        let cell = match first.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "rnn" => CellKind::Rnn,
            "lstm" => CellKind::Lstm,
            "gru" => CellKind::Gru,
            other => {
                return Err(crate::Error::Weights(format!(
                    "{source}: {first}.Wh is not a layer of the book's (rnn, lstm or gru, not {other})"
                )));
            }
        };
        if wh.len() != 2 {
            return Err(crate::Error::Weights(format!("{source}: {first}.Wh is {wh:?}, not a matrix")));
        }
        let arch = Architecture {
            cell,
            vocab_size: embed[0],
            wordvec_size: embed[1],
            hidden_size: wh[0],
            layers: layers.len(),
            tied: shape("affine.W").is_none(),
        };
        Self::from_named(named, arch, source)
    }

    /// Total number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.tensors.iter().map(|t| t.len()).sum()
    }
}

/// The values of `params` (names and shapes, in order) from named tensors in
/// any order: every parameter present with its shape, no other tensor, every
/// value finite. The error names `source`, the model (`what`) and the first
/// mismatch.
pub fn take_params(
    mut named: Vec<(String, Vec<usize>, Vec<f32>)>,
    params: Vec<(String, Vec<usize>)>,
    what: &dyn std::fmt::Display,
    source: &str,
) -> crate::Result<Vec<Vec<f32>>> {
    let held = named.iter().map(|(n, s, _)| format!("{n} {s:?}")).collect::<Vec<_>>().join(", ");
    let mut tensors = Vec::new();
    for (name, shape) in params {
        let Some(k) = named.iter().position(|(n, _, _)| *n == name) else {
            return Err(crate::Error::Weights(format!(
                "{source} has no tensor {name}, which a {what} model needs (it holds {held})"
            )));
        };
        let (_, got, values) = named.swap_remove(k);
        if got != shape {
            return Err(crate::Error::Weights(format!("{source}: {name} is {got:?}, a {what} model needs {shape:?}")));
        }
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(crate::Error::Weights(format!("{source}: {name} holds {v} at index {i}")));
        }
        tensors.push(values);
    }
    if let Some((extra, _, _)) = named.first() {
        return Err(crate::Error::Weights(format!(
            "{source} holds {extra}, which a {what} model does not have (it holds {held})"
        )));
    }
    Ok(tensors)
}

/// `n` values of N(0, 1) / `scale`, the book's `randn(..) / scale`, from `rng`.
fn randn(rng: &mut StdRng, n: usize, scale: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            (z / scale) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std(x: &[f32]) -> f64 {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn book_init_is_seeded_and_scaled_as_the_book() {
        let a = RnnlmWeights::simple(2000, 100, 100, 7);
        let b = RnnlmWeights::simple(2000, 100, 100, 7);
        let c = RnnlmWeights::simple(2000, 100, 100, 8);
        assert_eq!(a, b);
        assert_ne!(a.get("embed.W"), c.get("embed.W"));
        a.validate().unwrap();
        assert_eq!(a.arch.params().iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), PARAM_NAMES);
        // 200,000 draws: the sample std is within 1% of the target.
        assert!((std(a.get("embed.W")) - 0.01).abs() < 1e-4);
        assert!((std(a.get("rnn.Wx")) - 0.1).abs() < 0.003);
        assert!((std(a.get("affine.W")) - 0.1).abs() < 1e-3);
        assert!(a.get("rnn.b").iter().chain(a.get("affine.b")).all(|&v| v == 0.0));
    }

    #[test]
    fn better_rnnlm_has_the_books_parameters() {
        let arch = Architecture {
            cell: CellKind::Lstm,
            vocab_size: 50,
            wordvec_size: 8,
            hidden_size: 8,
            layers: 2,
            tied: true,
        };
        let names: Vec<_> = arch.params().into_iter().map(|(n, s)| format!("{n}{s:?}")).collect();
        assert_eq!(
            names,
            [
                "embed.W[50, 8]",
                "lstm1.Wx[8, 32]",
                "lstm1.Wh[8, 32]",
                "lstm1.b[32]",
                "lstm2.Wx[8, 32]",
                "lstm2.Wh[8, 32]",
                "lstm2.b[32]",
                "affine.b[50]"
            ]
        );
        RnnlmWeights::book_init(arch, 0).validate().unwrap();
        let untied_d = Architecture { wordvec_size: 9, ..arch };
        assert!(untied_d.validate().unwrap_err().to_string().contains("must equal the hidden size for tied weights"));
    }
}
