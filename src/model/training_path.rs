//! The training path: a training step's loss and gradients as `forward` then
//! `backward` give them, with no graph at all. Every layer's backward is the
//! book's, chained as its `backward()` chains them: the affine layer and the
//! loss (`head.rs`), the dropouts with the masks their forward drew, the
//! recurrent layers (each cell's step backward, beside its step; the loop
//! over time in `cell.rs`), the embedding. Autodiff's `forward` then
//! `backward()` stays, as the path `check` compares this one with.

use burn::optim::GradientsParams;
use burn::tensor::module::embedding;
use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use super::{LayerState, RecurrentState, Rnnlm, dropout_mask, head};

impl Rnnlm {
    /// A training step's loss and gradients, as `forward` then `backward`
    /// give them, by the book's backward of every layer: the affine layer
    /// and the loss ([`super::head`]), so that the `[N·T, V]` scores never
    /// enter a graph, each dropout (the mask kept from its forward), each
    /// recurrent layer ([`super::Recurrent::backward`]) and the embedding
    /// (`dx` added into the rows of the words seen, the book's
    /// `Embedding.backward`, `np.add.at`). With weight tying, `dWᵀ` is added
    /// to the embedding's gradient (the book's `remove_duplicate`).
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `state`, `masks`: as
    ///   [`Rnnlm::forward_logits_masked`] (masks drawn as it draws them when `None`);
    /// - returns the loss, the gradients of every parameter, and the state
    ///   after the last step.
    pub fn loss_and_gradients(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (f64, GradientsParams, RecurrentState) {
        if let Some(m) = &masks {
            assert_eq!(m.len(), self.dropout_sites(), "a mask per dropout site");
        }
        let [n, t] = xs.dims();
        let ids = xs.inner();
        let embed_w = self.embed.weight.val().inner(); // [V, D]
        let [v, d] = embed_w.dims();
        let mut masks = masks.map(|m| m.into_iter());
        let mut next_mask = || masks.as_mut().and_then(|m| m.next());
        let mut states = state.map(|s| s.layers.into_iter());

        let mut x = embedding(embed_w.clone(), ids.clone()); // [N, T, D]
        let (mut kept, mut out_states) = (Vec::new(), Vec::new());
        for layer in &self.layers {
            let (x_in, mask) = self.dropout_keep(x, next_mask());
            let state = states
                .as_mut()
                .and_then(|s| s.next())
                .map(|s| LayerState { h: s.h.inner(), c: s.c.map(Tensor::inner) });
            let (hs, s, cache) = layer.forward_keep(x_in, state);
            kept.push((layer, mask, cache));
            // Handed on as a constant: truncated BPTT cuts the state's history
            // at the batch boundary anyway.
            out_states.push(LayerState { h: Tensor::from_inner(s.h), c: s.c.map(Tensor::from_inner) });
            x = hs; // [N, T, H]
        }
        let (x, last_mask) = self.dropout_keep(x, next_mask());
        let hidden = x.dims()[2];
        let head = head::affine_softmax_with_loss(
            x.reshape([n * t, hidden]),
            self.affine_weight().inner(),
            self.affine_b.val().inner(),
            ts.reshape([n * t]).inner(),
            self.affine_w.is_none(),
        );

        let mut grads = GradientsParams::new();
        let mut dx = undrop(head.dh.reshape([n, t, hidden]), last_mask); // [N, T, H]
        for (layer, mask, cache) in kept.into_iter().rev() {
            let g = layer.backward(cache, dx);
            let (wx, wh, b) = layer.params();
            grads.register(wx.id, g.wx);
            grads.register(wh.id, g.wh);
            grads.register(b.id, g.b);
            // The gradient of the layer's input: the layer below's output.
            dx = undrop(g.dxs, mask);
        }
        // The embedding's gradient: `dx` added into the rows of the words
        // seen, starting from zeros, or, with weight tying, from the affine
        // layer's `dWᵀ` (the book's `remove_duplicate`).
        let rows = match &self.affine_w {
            Some(w) => {
                grads.register(w.id, head.dw);
                Tensor::<2>::zeros([v, d], &embed_w.device())
            }
            None => head.dw, // [V, D]
        };
        let d_embed = rows.select_assign(0, ids.reshape([n * t]), dx.reshape([n * t, d]), IndexingUpdateOp::Add);
        grads.register(self.embed.weight.id, d_embed);
        grads.register(self.affine_b.id, head.db);
        (head.loss, grads, RecurrentState { layers: out_states })
    }

    /// The book's `TimeDropout.forward` outside any graph: `xs` with each
    /// entry kept (`keep`, or a mask drawn as [`super::time_dropout`] draws
    /// it) and scaled by `1 / (1 - ratio)`; returns the output and the scaled
    /// mask its backward multiplies by (`None` without dropout).
    fn dropout_keep(&self, xs: Tensor<3>, keep: Option<Tensor<3>>) -> (Tensor<3>, Option<Tensor<3>>) {
        if self.dropout == 0.0 {
            return (xs, None);
        }
        let keep = match keep {
            Some(k) => k.inner(),
            None => dropout_mask(xs.dims(), 1.0 - self.dropout, &xs.device()),
        };
        let scaled = keep * (1.0 / (1.0 - self.dropout));
        (xs * scaled.clone(), Some(scaled))
    }
}

/// The book's `TimeDropout.backward`: the gradient through the kept entries,
/// scaled as the forward scaled them.
fn undrop(dy: Tensor<3>, scaled_mask: Option<Tensor<3>>) -> Tensor<3> {
    match scaled_mask {
        Some(m) => dy * m,
        None => dy,
    }
}
