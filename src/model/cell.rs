//! What the three recurrent cells share. Each cell (`rnn.rs`, `lstm.rs`,
//! `gru.rs`) writes only its step; the loop over the T time steps is written
//! once, here.

use burn::tensor::{Device, Tensor};

/// One recurrent cell with the book's packed parameters: `Wx [D, G·H]`,
/// `Wh [H, G·H]` and one bias `b [G·H]`, for G gates (RNN 1, GRU 3, LSTM 4).
pub trait Cell {
    /// What the cell carries from one step to the next: `h`, or an LSTM's `(h, c)`.
    type State: Clone;

    /// `Wx [D, G·H]`, the input's weights.
    fn wx(&self) -> Tensor<2>;

    /// The state before a batch of `n` rows when none is carried: zeros.
    fn zero_state(&self, n: usize, device: &Device) -> Self::State;

    /// One step, with `x·Wx` already computed (`xw`: `[N, G·H]`).
    fn step(&self, xw: Tensor<2>, state: Self::State) -> Self::State;

    /// What the step outputs: `h` `[N, H]`.
    fn output(state: &Self::State) -> Tensor<2>;
}

/// `cell` over every time step of `xs [N, T, D]` from `state` (zeros when
/// `None`): all outputs `[N, T, H]` and the state after the last step.
///
/// `x·Wx` for all N·T inputs is one matrix product, then the recurrence runs:
/// the cell's arithmetic, batched. Gradients flow into `state` if it is part
/// of a graph: a caller carrying it between batches detaches it first
/// (truncated BPTT).
pub fn time_forward<C: Cell>(cell: &C, xs: Tensor<3>, state: Option<C::State>) -> (Tensor<3>, C::State) {
    let [n, t, d] = xs.dims();
    let state = state.unwrap_or_else(|| cell.zero_state(n, &xs.device()));
    let xw = xs.reshape([n * t, d]).matmul(cell.wx()); // [N·T, G·H]
    let width = xw.dims()[1];
    unroll(xw.reshape([n, t, width]), state, C::output, |xw_t, s| cell.step(xw_t, s))
}

/// The loop over time: `step` from `state` through each `xw[:, t]`
/// (`xw`: `[N, T, G·H]`), keeping the `output` of every state. Returns the
/// outputs `[N, T, H]` and the last state.
pub fn unroll<S>(
    xw: Tensor<3>,
    mut state: S,
    output: impl Fn(&S) -> Tensor<2>,
    mut step: impl FnMut(Tensor<2>, S) -> S,
) -> (Tensor<3>, S) {
    let [n, t, width] = xw.dims();
    let mut hs = Vec::with_capacity(t);
    for s in 0..t {
        let xw_t = xw.clone().slice([0..n, s..s + 1, 0..width]).reshape([n, width]);
        state = step(xw_t, state);
        hs.push(output(&state));
    }
    (Tensor::stack(hs, 1), state) // [N, T, H]
}
