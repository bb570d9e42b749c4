//! What the three recurrent cells share. Each cell (`rnn.rs`, `lstm.rs`,
//! `gru.rs`) writes its step and, beside it, the book's backward of that
//! step; the loops over the T time steps, forward and backward, are written
//! once, here.
//!
//! Two ways through a layer:
//!
//! - [`time_node`]: the whole layer, all T steps, as one node of Burn's
//!   autodiff graph, whose forward is the book's `Time*.forward`
//!   ([`time_forward_keep`]) and whose backward is the book's
//!   `Time*.backward` ([`time_backward`]), each cell's step backward beside
//!   its step. This is the layers' `forward`: training runs it.
//! - [`time_forward`]: each step's tensor ops recorded by autodiff one by
//!   one, whose gradients Burn finds by itself: the plain path, which `check`
//!   compares the node against.

use std::marker::PhantomData;

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use super::node::{self, Float, HandWritten};
use crate::cpu::{BackLayout, StepLayout, matmul};

/// The packed parameters of a cell, outside any graph: `Wx [D, G·H]`,
/// `Wh [H, G·H]` and one bias `b [G·H]`, for G gates (RNN 1, GRU 3, LSTM 4).
/// `Wh` is kept twice, each as its steps' products run fastest: `wh_step`
/// for the forward's `h·Wh` ([`StepLayout`]) and `wh_back`, its transpose
/// `[G·H, H]`, for the backward's `dA·Whᵀ` ([`BackLayout`]), each layout
/// measured on the layer's shapes the first time they are met.
#[derive(Clone, Debug)]
pub struct Weights {
    /// `Wx [D, G·H]`.
    pub wx: Tensor<2>,
    /// `Wh [H, G·H]` in its forward layout.
    pub wh_step: Tensor<2>,
    /// `Whᵀ [G·H, H]` in its backward layout.
    pub wh_back: Tensor<2>,
    /// `b [G·H]`.
    pub b: Tensor<1>,
}

impl Weights {
    /// The weights given, with `Wh` also in the layouts of the steps'
    /// products for batches of `rows` rows over `steps` time steps.
    pub fn new(wx: Tensor<2>, wh: Tensor<2>, b: Tensor<1>, rows: usize, steps: usize) -> Self {
        let step = StepLayout::measured(&wh, rows, steps);
        let back = BackLayout::measured(&wh, rows, steps);
        let (wh_step, wh_back) = (step.apply(&wh), back.apply(&wh));
        Weights { wx, wh_step, wh_back, b }
    }
}

/// One recurrent cell with the book's packed parameters.
pub trait Cell: Send + Sync + 'static {
    /// What the cell carries from one step to the next: `h`, or an LSTM's
    /// `(h, c)`; its gradient has the same shape.
    type State: Clone;
    /// What one step keeps for its backward (the book's `self.cache`).
    type Cache: Send + 'static;

    /// The cell's parameters: `Wx`, `Wh` and `b`.
    fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>);

    /// `Wx [D, G·H]`, the input's weights.
    fn wx(&self) -> Tensor<2> {
        self.params().0.val()
    }

    /// The state before a batch of `n` rows when none is carried: zeros.
    fn zero_state(&self, n: usize, device: &Device) -> Self::State {
        Self::zeros(n, self.params().1.dims()[0], device)
    }

    /// Whether the state has a cell state `c` beside `h` (an LSTM's).
    const CELL_STATE: bool = false;

    /// A state of zeros for `n` rows of `hidden` units.
    fn zeros(n: usize, hidden: usize, device: &Device) -> Self::State;

    /// The state's `h` and, for an LSTM, its `c`, each `[N, H]`.
    fn split(state: Self::State) -> (Tensor<2>, Option<Tensor<2>>);

    /// The state of `h` and `c` ([`Cell::split`]'s inverse).
    fn join(h: Tensor<2>, c: Option<Tensor<2>>) -> Self::State;

    /// One step, with `x·Wx` already computed (`xw`: `[N, G·H]`).
    fn step(&self, xw: Tensor<2>, state: Self::State) -> Self::State;

    /// What the step outputs: `h` `[N, H]`.
    fn output(state: &Self::State) -> Tensor<2>;

    /// [`Cell::step`] on `w`, keeping what [`Cell::step_backward`] needs.
    fn step_keep(w: &Weights, xw: Tensor<2>, state: Self::State) -> (Self::State, Self::Cache);

    /// The book's backward of one step: from the gradient of the state after
    /// it (`d`: an LSTM's `(dh, dc)`), the gradient of the step's
    /// pre-activations `[N, G·H]` (those of `x·Wx`, of `b` and of the part of
    /// `Wh`'s product that each gate reads) and of the state before it;
    /// `wh_back` is [`Weights::wh_back`], `Whᵀ` `[G·H, H]`.
    fn step_backward(wh_back: &Tensor<2>, cache: &Self::Cache, d: Self::State) -> (Tensor<2>, Self::State);

    /// `d` with the gradient `dh` `[N, H]` of the step's output added (the
    /// layer above's, at this time step).
    fn add_output_grad(d: Self::State, dh: Tensor<2>) -> Self::State;

    /// `dWh` `[H, G·H]` from every step's cache (in time order) and the
    /// pre-activation gradients of all steps, `da [T·N, G·H]` (row `t·N + n`, `rows`):
    /// the book adds one product a step; one product over all N·T rows
    /// (`rows`) is the same sum.
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
    let xw = matmul(xs.reshape([n * t, d]), cell.wx()); // [N·T, G·H]
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

/// `cell` over every time step of `xs [N, T, D]` from `state` (zeros when
/// `None`), as one autodiff node whose backward is the book's
/// `Time*.backward`: all outputs `[N, T, H]` and the state after the last
/// step. The same values and gradients as [`time_forward`] (`check` holds
/// the two together), with one node in the graph instead of a dozen ops a
/// step.
///
/// Outside autodiff (evaluation, generation) this is [`time_forward`].
///
/// The node has one output: `hs`, and for a cell with a cell state (LSTM)
/// the last `c` after it, as time step T. The last `h` is `hs`'s step T-1;
/// gradients reach the node through either.
pub fn time_node<C: Cell>(cell: &C, xs: Tensor<3>, state: Option<C::State>) -> (Tensor<3>, C::State) {
    let (wx, wh, b) = cell.params();
    if !xs.device().is_autodiff() && !wh.val().device().is_autodiff() {
        // Evaluation, with no backward to prepare for: the cell's own step,
        // as evaluation has always run it (the same printed perplexities).
        return time_forward(cell, xs, state);
    }
    let [n, t, _] = xs.dims();
    let hidden = wh.dims()[0];
    let (h0, c0) = C::split(state.unwrap_or_else(|| cell.zero_state(n, &xs.device())));
    // A cell without a cell state takes `h0` in the `c0` slot too, and gives it no gradient there.
    let c0 = c0.unwrap_or_else(|| h0.clone());
    let inputs = [
        Float::new(xs),
        Float::new(wx.val()),
        Float::new(wh.val()),
        Float::new(b.val()),
        Float::new(h0),
        Float::new(c0),
    ];
    let out = node::apply(TimeNode::<C>(PhantomData), inputs).get::<3>(); // [N, T (+1), H]
    // Without a cell state the output is `hs` itself: no slice to record.
    let hs = if C::CELL_STATE { out.clone().slice([0..n, 0..t, 0..hidden]) } else { out.clone() }; // [N, T, H]
    let h = hs.clone().slice([0..n, t - 1..t, 0..hidden]).reshape([n, hidden]);
    let c = C::CELL_STATE.then(|| out.slice([0..n, t..t + 1, 0..hidden]).reshape([n, hidden]));
    (hs, C::join(h, c))
}

/// [`time_node`]'s node: inputs `xs`, `Wx`, `Wh`, `b`, `h0`, `c0`.
struct TimeNode<C>(PhantomData<fn() -> C>);

impl<C: Cell> HandWritten<6> for TimeNode<C> {
    type Kept = TimeCache<C>;

    fn forward(&self, inputs: [Float; 6], keep: bool) -> (Float, Option<Self::Kept>) {
        let [xs, wx, wh, b, h0, c0] = inputs;
        let xs = xs.get::<3>();
        let [n, t, _] = xs.dims();
        let w = Weights::new(wx.get(), wh.get(), b.get(), n, t);
        let state = C::join(h0.get(), C::CELL_STATE.then(|| c0.get()));
        let (mut hs, last, cache) = time_forward_keep::<C>(w, xs, state);
        hs.extend(C::split(last).1); // the last `c` as step T
        (Float::new(Tensor::stack::<3>(hs, 1)), keep.then_some(cache)) // [N, T (+1), H]
    }

    fn backward(&self, cache: Self::Kept, grad: Float, wanted: [bool; 6], _: [Option<Float>; 6]) -> [Option<Float>; 6] {
        let grad = grad.get::<3>();
        let [n, _, hidden] = grad.dims();
        let t = cache.dims[1];
        let dhs = grad.clone().slice([0..n, 0..t, 0..hidden]);
        let dh = Tensor::zeros([n, hidden], &grad.device());
        let dc = C::CELL_STATE.then(|| grad.slice([0..n, t..t + 1, 0..hidden]).reshape([n, hidden]));
        let g = time_backward::<C>(cache, dhs, C::join(dh, dc), wanted[0]);
        let (dh0, dc0) = C::split(g.d_state0);
        [
            g.dxs.map(Float::new),
            Some(Float::new(g.wx)),
            Some(Float::new(g.wh)),
            Some(Float::new(g.b)),
            Some(Float::new(dh0)),
            dc0.map(Float::new),
        ]
    }
}

/// What [`time_forward_keep`] keeps for [`time_backward`]: the inputs and
/// every step's cache.
pub struct TimeCache<C: Cell> {
    /// `Wx` and `Whᵀ` in the backward's layout, of [`Weights`].
    wx: Tensor<2>,
    wh_back: Tensor<2>,
    /// The inputs, `[T·N, D]` (row `t·N + n`, time-major).
    xs: Tensor<2>,
    steps: Vec<C::Cache>,
    /// `[N, T, H]`'s sizes.
    dims: [usize; 3],
}

/// The gradients [`time_backward`] returns.
pub struct TimeGrads<S> {
    /// Of the inputs, `[N, T, D]` (when asked for).
    pub dxs: Option<Tensor<3>>,
    /// Of the state before step 0.
    pub d_state0: S,
    /// Of `Wx` `[D, G·H]`, `Wh` `[H, G·H]` and `b` `[G·H]`.
    pub wx: Tensor<2>,
    pub wh: Tensor<2>,
    pub b: Tensor<1>,
}

/// The book's `Time*.forward`, outside any graph, keeping what
/// [`time_backward`] needs: every step's `h [N, H]`, the last state and the
/// cache.
pub fn time_forward_keep<C: Cell>(
    w: Weights,
    xs: Tensor<3>,
    state: C::State,
) -> (Vec<Tensor<2>>, C::State, TimeCache<C>) {
    let [n, t, d] = xs.dims();
    let mut state = state;
    // Time-major rows (`t·N + n`): each step's `x·Wx` is then N consecutive
    // rows of the product, read in place of a strided copy a step.
    let xs = xs.swap_dims(0, 1).reshape([t * n, d]);
    let xw = matmul(xs.clone(), w.wx.clone()); // [T·N, G·H]
    let width = xw.dims()[1];
    let (mut hs, mut steps) = (Vec::with_capacity(t), Vec::with_capacity(t));
    for s in 0..t {
        let (next, cache) = C::step_keep(&w, xw.clone().slice([s * n..(s + 1) * n, 0..width]), state);
        state = next;
        hs.push(C::output(&state));
        steps.push(cache);
    }
    let dims = [n, t, hs[0].dims()[1]];
    // The forward's layout of `Wh` is dropped here: no backward step reads it.
    let Weights { wx, wh_back, .. } = w;
    (hs, state, TimeCache { wx, wh_back, xs, steps, dims })
}

/// The book's `Time*.backward`: from the gradients of the outputs
/// `dhs [N, T, H]` and of the last state (`d_last`: an LSTM's `dc`; its `dh`
/// is `dhs`'s last step), back through the steps from the last to the
/// first, each step's gradient of the state handed to the step before. The
/// weights' gradients sum over the steps; `Wx`'s and `b`'s, like `Wh`'s, as
/// one product over all N·T rows. `dxs` only `with_dxs`.
pub fn time_backward<C: Cell>(
    cache: TimeCache<C>,
    dhs: Tensor<3>,
    d_last: C::State,
    with_dxs: bool,
) -> TimeGrads<C::State> {
    let TimeCache { wx, wh_back, xs, steps, dims: [n, t, _] } = cache;
    let mut d = d_last;
    let mut da = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let (da_s, d_prev) = C::step_backward(&wh_back, &steps[s], C::add_output_grad(d, at(&dhs, s)));
        da.push(da_s);
        d = d_prev;
    }
    da.reverse();
    let da = rows(da); // [T·N, G·H]
    let [_, width] = da.dims();
    let dim = xs.dims()[1];
    TimeGrads {
        dxs: with_dxs.then(|| matmul(da.clone(), wx.transpose()).reshape([t, n, dim]).swap_dims(0, 1)),
        d_state0: d,
        wx: matmul(xs.transpose(), da.clone()),
        wh: C::wh_grad(&steps, da.clone()),
        b: da.sum_dim(0).reshape([width]),
    }
}

/// Every step's `[N, K]` as the rows of one `[T·N, K]`, time-major (row
/// `t·N + n`, the order of the cache's inputs): the steps one after another.
pub fn rows(steps: Vec<Tensor<2>>) -> Tensor<2> {
    Tensor::cat(steps, 0)
}

/// Time step `s` of `x [N, T, K]`: `[N, K]`.
fn at(x: &Tensor<3>, s: usize) -> Tensor<2> {
    let [n, _, k] = x.dims();
    x.clone().slice([0..n, s..s + 1, 0..k]).reshape([n, k])
}
