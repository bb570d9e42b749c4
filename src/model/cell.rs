//! What the three recurrent cells share. Each cell (`rnn.rs`, `lstm.rs`,
//! `gru.rs`) writes its step and, beside it, the book's backward of that
//! step; the loops over the T time steps, forward and backward, are written
//! once, here.
//!
//! Two ways through a layer: [`time_forward`] on any tensors, whose gradients
//! Burn's autodiff finds (the plain path, which `check` compares against), and
//! [`time_forward_keep`] then [`time_backward`], the book's `TimeLSTM.forward`
//! and `.backward`, outside any graph (the training path).

use burn::module::Param;
use burn::tensor::{Device, Tensor};

/// The packed parameters of a cell, outside any graph: `Wx [D, G·H]`,
/// `Wh [H, G·H]` and one bias `b [G·H]`, for G gates (RNN 1, GRU 3, LSTM 4).
/// `wh_step` is `Wh` again, stored as the forward steps' products run
/// fastest ([`step_layout`]).
#[derive(Clone, Debug)]
pub struct Weights {
    pub wx: Tensor<2>,
    pub wh: Tensor<2>,
    pub wh_step: Tensor<2>,
    pub b: Tensor<1>,
}

/// `Wh` for a time step's `h [N, H] · Wh`, in the layout Flex multiplies a
/// batch's few rows by fastest on this CPU:
///
/// - with AVX-512, as it is (row-major): `gemm`'s AVX-512 kernels (Flex's
///   `x86-v4`, turned on in `Cargo.toml`) run that product at their large
///   products' rate, faster than Flex's few-rows kernel;
/// - otherwise (AVX2), stored column by column, so that the product pairs
///   rows of `h` with contiguous columns of `Wh`: Flex's few-rows kernel
///   then runs it as dot products, faster than `gemm`'s AVX2 kernels
///   (`vendor/README.md`).
///
/// The backward's `dA · Whᵀ` pairs rows of `dA` with rows of `Wh` as it
/// stands, which the few-rows kernel takes on either CPU. `docs/speed.md`
/// has the measurements (`cargo run --example matmul_probe`). Every backend
/// gives the same values whatever the layout.
fn step_layout(wh: &Tensor<2>) -> Tensor<2> {
    if wide_gemm() {
        return wh.clone();
    }
    // the transpose of a row-major copy of its transpose (the reshapes copy
    // a transposed view)
    let [r, c] = wh.dims();
    wh.clone().transpose().reshape([r * c]).reshape([c, r]).transpose()
}

/// Whether `gemm` runs its AVX-512 kernels here: it picks them at run time
/// where the CPU has AVX-512F.
fn wide_gemm() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One recurrent cell with the book's packed parameters.
pub trait Cell {
    /// What the cell carries from one step to the next: `h`, or an LSTM's
    /// `(h, c)`; its gradient has the same shape.
    type State: Clone;
    /// What one step keeps for its backward (the book's `self.cache`).
    type Cache;

    /// The cell's parameters: `Wx`, `Wh` and `b`.
    fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>);

    /// `Wx [D, G·H]`, the input's weights.
    fn wx(&self) -> Tensor<2> {
        self.params().0.val()
    }

    /// The parameters' values outside the graph, for the book's backward.
    fn weights(&self) -> Weights {
        let (wx, wh, b) = self.params();
        let wh = wh.val().inner();
        Weights { wx: wx.val().inner(), wh_step: step_layout(&wh), wh, b: b.val().inner() }
    }

    /// The state before a batch of `n` rows when none is carried: zeros.
    fn zero_state(&self, n: usize, device: &Device) -> Self::State;

    /// One step, with `x·Wx` already computed (`xw`: `[N, G·H]`).
    fn step(&self, xw: Tensor<2>, state: Self::State) -> Self::State;

    /// What the step outputs: `h` `[N, H]`.
    fn output(state: &Self::State) -> Tensor<2>;

    /// [`Cell::step`] on `w`, keeping what [`Cell::step_backward`] needs.
    fn step_keep(w: &Weights, xw: Tensor<2>, state: Self::State) -> (Self::State, Self::Cache);

    /// The book's backward of one step: from the gradient of the state after
    /// it (`d`: an LSTM's `(dh, dc)`), the gradient of the step's
    /// pre-activations `[N, G·H]` (those of `x·Wx`, of `b` and of the part of
    /// `Wh`'s product that each gate reads) and of the state before it.
    fn step_backward(w: &Weights, cache: &Self::Cache, d: Self::State) -> (Tensor<2>, Self::State);

    /// `d` with the gradient `dh` `[N, H]` of the step's output added (the
    /// layer above's, at this time step).
    fn add_output_grad(d: Self::State, dh: Tensor<2>) -> Self::State;

    /// `dWh` `[H, G·H]` from every step's cache (in time order) and the
    /// pre-activation gradients of all steps, `da [N·T, G·H]` (row `n·T + t`):
    /// the book adds one product a step; one product over all N·T rows
    /// ([`rows`]) is the same sum.
    fn wh_grad(caches: &[Self::Cache], da: Tensor<2>) -> Tensor<2>;
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
    let xw = xw.reshape([n, t, width]);
    let mut state = state;
    let mut hs = Vec::with_capacity(t);
    for s in 0..t {
        state = cell.step(at(&xw, s), state);
        hs.push(C::output(&state));
    }
    (Tensor::stack(hs, 1), state) // [N, T, H]
}

/// What [`time_forward_keep`] keeps for [`time_backward`]: the inputs and
/// every step's cache.
pub struct TimeCache<C: Cell> {
    w: Weights,
    /// The inputs, `[N·T, D]` (row `n·T + t`).
    xs: Tensor<2>,
    steps: Vec<C::Cache>,
    /// `[N, T, H]`'s sizes.
    dims: [usize; 3],
}

/// The gradients [`time_backward`] returns.
pub struct TimeGrads<S> {
    /// Of the inputs, `[N, T, D]`.
    pub dxs: Tensor<3>,
    /// Of the state before step 0 (dropped under truncated BPTT).
    pub d_state0: S,
    /// Of `Wx` `[D, G·H]`, `Wh` `[H, G·H]` and `b` `[G·H]`.
    pub wx: Tensor<2>,
    pub wh: Tensor<2>,
    pub b: Tensor<1>,
}

impl<S> TimeGrads<S> {
    /// `(dxs, dWx, dWh, db)`: all but the state's, which truncated BPTT drops.
    pub fn into_parts(self) -> (Tensor<3>, Tensor<2>, Tensor<2>, Tensor<1>) {
        (self.dxs, self.wx, self.wh, self.b)
    }
}

/// [`time_forward`] outside any graph (the book's `Time*.forward`), keeping
/// what [`time_backward`] needs. Returns `hs [N, T, H]`, the last state and
/// the cache.
pub fn time_forward_keep<C: Cell>(
    cell: &C,
    xs: Tensor<3>,
    state: Option<C::State>,
) -> (Tensor<3>, C::State, TimeCache<C>) {
    let [n, t, d] = xs.dims();
    let w = cell.weights();
    let mut state = state.unwrap_or_else(|| cell.zero_state(n, &xs.device()));
    let xs = xs.reshape([n * t, d]);
    let xw = xs.clone().matmul(w.wx.clone()); // [N·T, G·H]
    let width = xw.dims()[1];
    let xw = xw.reshape([n, t, width]);
    let (mut hs, mut steps) = (Vec::with_capacity(t), Vec::with_capacity(t));
    for s in 0..t {
        let (next, cache) = C::step_keep(&w, at(&xw, s), state);
        state = next;
        hs.push(C::output(&state));
        steps.push(cache);
    }
    let hs = Tensor::stack::<3>(hs, 1); // [N, T, H]
    let dims = hs.dims();
    (hs, state, TimeCache { w, xs, steps, dims })
}

/// The book's `Time*.backward`: from the gradients of the outputs
/// `dhs [N, T, H]`, back through the steps from the last to the first, each
/// step's gradient of the state handed to the step before. The weights'
/// gradients sum over the steps; `Wx`'s and `b`'s, like `Wh`'s, as one
/// product over all N·T rows.
pub fn time_backward<C: Cell>(cell: &C, cache: TimeCache<C>, dhs: Tensor<3>) -> TimeGrads<C::State> {
    let TimeCache { w, xs, steps, dims: [n, t, _] } = cache;
    let mut d = cell.zero_state(n, &dhs.device());
    let mut da = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let (da_s, d_prev) = C::step_backward(&w, &steps[s], C::add_output_grad(d, at(&dhs, s)));
        da.push(da_s);
        d = d_prev;
    }
    da.reverse();
    let da = rows(da); // [N·T, G·H]
    let [_, width] = da.dims();
    let dim = xs.dims()[1];
    TimeGrads {
        dxs: da.clone().matmul(w.wx.transpose()).reshape([n, t, dim]),
        d_state0: d,
        wx: xs.transpose().matmul(da.clone()),
        wh: C::wh_grad(&steps, da.clone()),
        b: da.sum_dim(0).reshape([width]),
    }
}

/// Every step's `[N, K]` as the rows of one `[N·T, K]` (row `n·T + t`, the
/// order of `xs.reshape([N·T, D])`).
pub fn rows(steps: Vec<Tensor<2>>) -> Tensor<2> {
    let [n, k] = steps[0].dims();
    let t = steps.len();
    Tensor::stack::<3>(steps, 1).reshape([n * t, k])
}

/// Time step `s` of `x [N, T, K]`: `[N, K]`.
fn at(x: &Tensor<3>, s: usize) -> Tensor<2> {
    let [n, _, k] = x.dims();
    x.clone().slice([0..n, s..s + 1, 0..k]).reshape([n, k])
}
