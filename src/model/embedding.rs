//! The book's `TimeEmbedding` as one autodiff node: the rows of `W` for the
//! words given, and, backward, `dx` added into the rows of the words seen
//! (the book's `Embedding.backward`, `np.add.at`: a word used twice gets
//! both gradients).
//!
//! With weight tying the same `W` is also the affine layer's weight, whose
//! backward ([`super::head`]) runs first and leaves `dWᵀ` `[V, D]` as `W`'s
//! gradient so far. The rows are then added into that tensor where it
//! stands: no zeroed `[V, D]` buffer and no second pass to sum the two (the
//! book's `remove_duplicate`). Without tying, the rows go into zeros, as
//! Burn's own embedding does.

use burn::tensor::module::embedding;
use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use super::node::{self, Float, HandWritten};

/// The word vectors of `ids [N, T]` from `weight [V, D]`: `[N, T, D]`, as
/// one autodiff node.
pub fn time_embedding(weight: Tensor<2>, ids: Tensor<2, Int>) -> Tensor<3> {
    node::apply(TimeEmbedding { ids: ids.inner() }, [Float::new(weight)]).get()
}

/// [`time_embedding`]'s node: input `W`.
struct TimeEmbedding {
    ids: Tensor<2, Int>,
}

impl HandWritten<1> for TimeEmbedding {
    /// `W`'s sizes `[V, D]`.
    type Kept = [usize; 2];

    fn forward(&self, inputs: [Float; 1], keep: bool) -> (Float, Option<[usize; 2]>) {
        let [w] = inputs;
        let w = w.get::<2>();
        let dims = w.dims();
        (Float::new(embedding(w, self.ids.clone())), keep.then_some(dims))
    }

    fn backward(
        &self,
        dims: [usize; 2],
        grad: Float,
        wanted: [bool; 1],
        prior: [Option<Float>; 1],
    ) -> [Option<Float>; 1] {
        if !wanted[0] {
            return [None];
        }
        let dx = grad.get::<3>(); // [N, T, D]
        let [n, t, d] = dx.dims();
        let [prior] = prior;
        let rows = match prior {
            Some(p) => p.get::<2>(),
            None => crate::cpu::zeros(dims, &dx.device()),
        };
        let ids = self.ids.clone().reshape([n * t]);
        [Some(Float::new(rows.select_assign(0, ids, dx.reshape([n * t, d]), IndexingUpdateOp::Add)))]
    }

    fn accumulates(&self) -> [bool; 1] {
        [true]
    }
}
