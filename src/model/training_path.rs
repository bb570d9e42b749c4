//! The training path: a training step's loss and gradients as `forward` then
//! `backward` give them, computed faster. The affine layer and the loss are
//! written by hand (`head.rs`) so that the `[N·T, V]` scores never enter
//! autodiff's graph; for chapter 5's model (RNN layers, no dropout) every
//! layer's backward is the book's and there is no graph at all.

use burn::optim::GradientsParams;
use burn::tensor::module::embedding;
use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use super::{LayerState, Recurrent, RecurrentState, Rnnlm, head};

impl Rnnlm {
    /// A training step's loss and gradients, as `forward` then `backward`
    /// give them, computed faster: the affine layer and the loss by hand
    /// ([`super::head`]), so that the `[N·T, V]` scores never enter the
    /// graph; RNN layers without dropout by hand too (the book's backward,
    /// [`super::TimeRnn::backward`]), LSTM and GRU layers through Burn's autodiff.
    /// Autodiff's layers receive `dh` as the gradient of `Σ h·dh` (`dh` held
    /// constant); `dW` and `db` go to the optimizer directly (with weight
    /// tying, `dWᵀ` is added to the embedding's gradient, the book's
    /// `remove_duplicate`).
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `state`, `masks`: as
    ///   [`Rnnlm::forward_logits_masked`];
    /// - returns the loss, the gradients of every parameter, and the state
    ///   after the last step.
    pub fn loss_and_gradients(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (f64, GradientsParams, RecurrentState) {
        if self.dropout == 0.0 && self.layers.iter().all(|l| matches!(l, Recurrent::Rnn(_))) {
            return self.rnn_loss_and_gradients(xs, ts, state);
        }
        let (h, state) = self.forward_hidden(xs, state, masks);
        let [n, t, hidden] = h.dims();
        let h = h.reshape([n * t, hidden]); // [N·T, H]
        let head = head::affine_softmax_with_loss(
            h.clone().inner(),
            self.affine_weight().inner(),
            self.affine_b.val().inner(),
            ts.reshape([n * t]).inner(),
        );
        let dh = Tensor::from_inner(head.dh); // a constant in the graph
        let mut grads = GradientsParams::from_grads((h * dh).sum().backward(), self);
        self.register_head_grads(&mut grads, head.dw, head.db);
        (head.loss, grads, state)
    }

    /// Hands the affine layer's `dW` `[H, V]` and `db` `[V]` to `grads`. With
    /// weight tying, `dWᵀ` is added to the embedding's gradient already there
    /// (the book's `remove_duplicate`).
    fn register_head_grads(&self, grads: &mut GradientsParams, dw: Tensor<2>, db: Tensor<1>) {
        match &self.affine_w {
            Some(w) => grads.register(w.id, dw),
            None => {
                let id = self.embed.weight.id;
                let dw_t = dw.transpose(); // [V, D]
                let sum = match grads.remove::<2>(id) {
                    Some(g) => g + dw_t,
                    None => dw_t,
                };
                grads.register(id, sum);
            }
        }
        grads.register(self.affine_b.id, db);
    }

    /// [`Rnnlm::loss_and_gradients`] for chapter 5's model (RNN layers, no
    /// dropout) with no graph at all: every layer's backward is the book's,
    /// written with tensor ops. Autodiff would record each of the T steps'
    /// products and element-wise ops and add up T partial gradients of `Wh`;
    /// the book's `TimeRNN.backward` ([`super::TimeRnn::backward`]) sums them in one
    /// product, and the embedding's backward adds `dx` into the rows of the
    /// words seen (the book's `Embedding.backward`, `np.add.at`).
    fn rnn_loss_and_gradients(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
    ) -> (f64, GradientsParams, RecurrentState) {
        let [n, t] = xs.dims();
        let ids = xs.inner();
        let embed_w = self.embed.weight.val().inner(); // [V, D]
        let [v, d] = embed_w.dims();
        let mut x = embedding(embed_w.clone(), ids.clone()); // [N, T, D]
        let mut states = state.map(|s| s.layers.into_iter());
        let (mut caches, mut out_states) = (Vec::new(), Vec::new());
        for layer in &self.layers {
            let Recurrent::Rnn(rnn) = layer else { unreachable!("RNN layers only") };
            let (hs, h, cache) = rnn.forward_keep(x, states.as_mut().and_then(|s| s.next()).map(|s| s.h));
            caches.push((rnn, cache));
            // Handed on as a constant: truncated BPTT cuts the state's history
            // at the batch boundary anyway.
            out_states.push(LayerState { h: Tensor::from_inner(h), c: None });
            x = hs; // [N, T, H]
        }
        let hidden = x.dims()[2];
        let head = head::affine_softmax_with_loss(
            x.reshape([n * t, hidden]),
            self.affine_weight().inner(),
            self.affine_b.val().inner(),
            ts.reshape([n * t]).inner(),
        );
        let mut grads = GradientsParams::new();
        let mut dx = head.dh.reshape([n, t, hidden]); // [N, T, H]
        for (rnn, cache) in caches.into_iter().rev() {
            let g = rnn.backward(cache, dx);
            grads.register(rnn.cell.wx.id, g.wx);
            grads.register(rnn.cell.wh.id, g.wh);
            grads.register(rnn.cell.b.id, g.b);
            dx = g.dxs; // the gradient of the layer's input: the layer below's output
        }
        let rows = Tensor::<2>::zeros([v, d], &embed_w.device());
        let d_embed = rows.select_assign(0, ids.reshape([n * t]), dx.reshape([n * t, d]), IndexingUpdateOp::Add);
        grads.register(self.embed.weight.id, d_embed);
        self.register_head_grads(&mut grads, head.dw, head.db);
        (head.loss, grads, RecurrentState { layers: out_states })
    }
}
