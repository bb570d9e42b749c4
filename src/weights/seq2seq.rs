//! An encoder-decoder's parameters (chapter 7) as plain arrays, by the
//! book's names ([`Seq2seqArch::params`]), and the book's initialisation.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{files, randn, take_params};
use crate::arch::Seq2seqArch;

/// Every parameter of a `Seq2seq` or `PeekySeq2seq`, row-major, in the order
/// of [`Seq2seqArch::params`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq2seqWeights {
    pub arch: Seq2seqArch,
    pub tensors: Vec<Vec<f32>>,
}

impl Seq2seqWeights {
    /// The book's initialisation (`Encoder`, `Decoder`, `PeekyDecoder`
    /// `__init__`): each embedding N(0,1)/100, each `Wx` N(0,1)/√(its rows),
    /// `Wh` N(0,1)/√H, the affine weight N(0,1)/√(its rows), zero biases,
    /// drawn in that order from one generator seeded with `seed`.
    pub fn book_init(arch: Seq2seqArch, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let tensors = arch
            .params()
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                match name.rsplit('.').next().expect("dotted name") {
                    "b" => vec![0.0; n],
                    _ if name.ends_with("embed.W") => randn(&mut rng, n, 100.0),
                    _ => randn(&mut rng, n, (shape[0] as f64).sqrt()),
                }
            })
            .collect();
        Self { arch, tensors }
    }

    /// Names, shapes and values, in the book's order.
    pub fn named(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        self.arch
            .params()
            .into_iter()
            .zip(&self.tensors)
            .map(|((name, shape), t)| (name, shape, t.as_slice()))
            .collect()
    }

    /// The values of the parameter `name`.
    pub fn get(&self, name: &str) -> &[f32] {
        let k = self.arch.params().iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no parameter {name}"));
        &self.tensors[k]
    }

    /// Weights from named tensors (a file's, in any order), checked against
    /// `arch` (see [`take_params`]).
    pub fn from_named(
        named: Vec<(String, Vec<usize>, Vec<f32>)>,
        arch: Seq2seqArch,
        source: &str,
    ) -> crate::Result<Self> {
        arch.validate()?;
        let tensors = take_params(named, arch.params(), &arch, source)?;
        Ok(Self { arch, tensors })
    }

    /// The weights in `path` (`.safetensors` or `.npz`), checked against `arch`.
    pub fn read(path: &std::path::Path, arch: Seq2seqArch) -> crate::Result<Self> {
        Self::from_named(files::read(path)?, arch, &path.display().to_string())
    }

    /// Writes the weights to `path` (`.safetensors` or `.npz`, by the book's
    /// names, in its order), atomically.
    pub fn write(&self, path: &std::path::Path, metadata: &[(String, String)]) -> crate::Result<()> {
        files::write_named(path, &self.named(), metadata)
    }
}
