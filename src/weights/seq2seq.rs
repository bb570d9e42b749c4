//! An encoder-decoder's parameters (chapters 7 and 8) as plain arrays, by the
//! book's names ([`Seq2seqArch::params`]), and the book's initialisation.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{files, randn, take_params};
use crate::arch::{Seq2seqArch, Seq2seqKind};

/// Every parameter of an encoder-decoder, row-major, in the order
/// of [`Seq2seqArch::params`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq2seqWeights {
    /// The model they are for.
    pub arch: Seq2seqArch,
    /// One per parameter.
    pub tensors: Vec<Vec<f32>>,
}

impl Seq2seqWeights {
    /// The book's initialisation (`Encoder`, `Decoder`, `PeekyDecoder`,
    /// `AttentionDecoder` `__init__`): each embedding N(0,1)/100, each `Wx` N(0,1)/√(its rows),
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

    /// The weights of a model saved by the book's `save_params` (ten arrays
    /// in `model.params` order): which model it is and its sizes are read
    /// from the shapes (the decoder LSTM's `Wx` is `[H + D, 4H]` for Peeky,
    /// the affine `W` `[2H, V]` for Peeky and attention), then every array is
    /// checked against it.
    pub fn from_book_arrays(arrays: Vec<super::book_pickle::Array>) -> crate::Result<Self> {
        let bad = |why: String| Err(crate::Error::Weights(why));
        if arrays.len() != 10 {
            return bad(format!(
                "{} arrays: the book's encoder-decoders (Seq2seq, PeekySeq2seq, AttentionSeq2seq) have 10",
                arrays.len()
            ));
        }
        let dims = |k: usize| arrays[k].shape.clone();
        let (embed, wh, dec_wx, affine) = (dims(0), dims(2), dims(5), dims(8));
        if [&embed, &wh, &dec_wx, &affine].iter().any(|d| d.len() != 2) || wh[0] == 0 {
            return bad(format!(
                "arrays 0, 2, 5 and 8 are {embed:?}, {wh:?}, {dec_wx:?}, {affine:?}: not an embedding [V, D], \
                 the encoder's Wh [H, 4H], the decoder's Wx and the affine W"
            ));
        }
        let (v, d, h) = (embed[0], embed[1], wh[0]);
        let kind = match (dec_wx[0] == d + h, affine[0] == 2 * h) {
            (true, true) => Seq2seqKind::PeekySeq2seq,
            (false, true) => Seq2seqKind::AttentionSeq2seq,
            _ => Seq2seqKind::Seq2seq,
        };
        let arch = Seq2seqArch { vocab_size: v, wordvec_size: d, hidden_size: h, kind };
        arch.validate()?;
        let mut tensors = Vec::with_capacity(10);
        for ((name, shape), a) in arch.params().into_iter().zip(arrays) {
            if a.shape != shape {
                return bad(format!("{name} is {:?} in the file, {arch} needs {shape:?}", a.shape));
            }
            tensors.push(a.values);
        }
        Ok(Self { arch, tensors })
    }

    /// The weights in `path` (`.safetensors`, `.npz`, or the book's `.pkl`),
    /// checked against `arch`.
    pub fn read(path: &std::path::Path, arch: Seq2seqArch) -> crate::Result<Self> {
        if files::Format::of(path)? == files::Format::BookPickle {
            let w = super::book_pickle::read_seq2seq_weights(path)?;
            if w.arch != arch {
                return Err(crate::Error::Weights(format!("{} holds {}, not {arch}", path.display(), w.arch)));
            }
            return Ok(w);
        }
        Self::from_named(files::read(path)?, arch, &path.display().to_string())
    }

    /// Writes the weights to `path` (`.safetensors` or `.npz`, by the book's
    /// names, in its order), atomically.
    pub fn write(&self, path: &std::path::Path, metadata: &[(String, String)]) -> crate::Result<()> {
        files::write_named(path, &self.named(), metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::book_pickle::Array;

    fn arrays(arch: Seq2seqArch) -> Vec<Array> {
        arch.params().into_iter().map(|(_, shape)| Array { values: vec![0.5; shape.iter().product()], shape }).collect()
    }

    #[test]
    fn a_book_file_says_which_encoder_decoder_it_is_by_its_shapes() {
        for kind in [Seq2seqKind::Seq2seq, Seq2seqKind::PeekySeq2seq, Seq2seqKind::AttentionSeq2seq] {
            for (v, d, h) in [(13, 16, 128), (59, 16, 256), (7, 5, 5)] {
                let arch = Seq2seqArch { vocab_size: v, wordvec_size: d, hidden_size: h, kind };
                assert_eq!(Seq2seqWeights::from_book_arrays(arrays(arch)).unwrap().arch, arch);
            }
        }
        let bi =
            Seq2seqArch { vocab_size: 13, wordvec_size: 16, hidden_size: 8, kind: Seq2seqKind::BiAttentionSeq2seq };
        let e = Seq2seqWeights::from_book_arrays(arrays(bi)).unwrap_err().to_string();
        assert!(e.contains("13 arrays") && e.contains("have 10"), "{e}");
        let mut bad = arrays(Seq2seqArch { kind: Seq2seqKind::AttentionSeq2seq, ..bi });
        bad[9].shape = vec![12];
        let e = Seq2seqWeights::from_book_arrays(bad).unwrap_err().to_string();
        assert!(e.contains("decoder.affine.b is [12]"), "{e}");
    }
}
