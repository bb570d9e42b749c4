//! How a recurrent layer lays `Wh` out for its time steps' products, and
//! which layout each product gets: the one measured fastest here.
//!
//! A step multiplies a batch's few rows by `Wh` (forward, `h·Wh`) and by
//! `Whᵀ` (backward, `dA·Whᵀ`); which of Flex's kernels runs such a product,
//! and how fast, depends on where `Wh`'s numbers lie, on the shapes and on
//! the CPU. Every layout holds the same numbers, so a product's value does
//! not depend on it beyond f32 rounding (two kernels may sum in two orders).
//!
//! The choice is made by timing ([`Measured`]): the first time a layer
//! meets a shape on a device, each layout runs the product on those shapes
//! a few times, alternating, for a few milliseconds; the fastest is kept for
//! the rest of the process ([`choices`] lists them; `rnnlm bench` prints
//! them). A layout other than the first of its list must be faster by
//! [`MARGIN`], so that near-ties do not flip from one process to the next.
//! With `RNNLM_KERNELS=fixed` in the environment nothing is timed and every
//! product takes the first layout: for runs that must print the same digits
//! in separate processes.

use std::sync::Mutex;
use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};

/// A layout other than the first must take at most this share of the best
/// time so far to be chosen: 10% faster.
pub const MARGIN: f64 = 0.9;

/// The environment variable that turns measuring off (`fixed`).
pub const KERNELS: &str = "RNNLM_KERNELS";

/// Ways of laying out an operand of one product. Every layout gives the same
/// values; they differ in which kernel runs the product, and how fast.
pub trait Layout: Copy + Eq + 'static {
    /// Every layout, in order of preference: the first needs no copy.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

/// How `Wh` is stored for a forward step's `h [N, H] · Wh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepLayout {
    /// As it is: `gemm`'s kernels.
    RowMajor,
    /// Column by column (its transpose row-major), so that the product pairs
    /// rows of `h` with contiguous columns of `Wh`: Flex's few-rows kernel
    /// runs it as dot products (`vendor/README.md`).
    ByColumns,
}

impl Layout for StepLayout {
    const ALL: &'static [Self] = &[StepLayout::RowMajor, StepLayout::ByColumns];

    fn name(self) -> &'static str {
        match self {
            StepLayout::RowMajor => "Wh row-major",
            StepLayout::ByColumns => "Wh by columns",
        }
    }
}

impl StepLayout {
    /// The layout measured fastest for `rows` rows times `wh [H, G·H]` on
    /// `wh`'s device, for a layer of `steps` time steps (a copy is made once
    /// a layer and serves them all).
    pub fn measured(wh: &Tensor<2>, rows: usize, steps: usize) -> Self {
        let [h, width] = wh.dims();
        let product = format!("step h·Wh [{rows}, {h}]·[{h}, {width}]");
        let run = random_rows_times([rows, h], &wh.device());
        Measured::choose(&product, &wh.device(), steps, |layout: Self| layout.apply(wh), run)
    }

    /// `wh [H, G·H]` in this layout.
    pub fn apply(self, wh: &Tensor<2>) -> Tensor<2> {
        match self {
            StepLayout::RowMajor => wh.clone(),
            // the transpose of a row-major copy of its transpose (the
            // reshapes copy a transposed view)
            StepLayout::ByColumns => {
                let [r, c] = wh.dims();
                wh.clone().transpose().reshape([r * c]).reshape([c, r]).transpose()
            }
        }
    }
}

/// How `Whᵀ` `[G·H, H]` is given to a backward step's `dA [N, G·H] · Whᵀ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackLayout {
    /// The transposed view: Flex's few-rows kernel (up to 32 rows) pairs
    /// rows of `dA` with rows of `Wh` as it stands.
    TransposedView,
    /// A row-major copy of `Whᵀ`, made once a layer, for `gemm`.
    RowMajorCopy,
}

impl Layout for BackLayout {
    const ALL: &'static [Self] = &[BackLayout::TransposedView, BackLayout::RowMajorCopy];

    fn name(self) -> &'static str {
        match self {
            BackLayout::TransposedView => "Whᵀ a transposed view",
            BackLayout::RowMajorCopy => "Whᵀ a row-major copy",
        }
    }
}

impl BackLayout {
    /// The layout measured fastest for `rows` rows times `Whᵀ` on `wh`'s
    /// device, for a layer of `steps` time steps.
    pub fn measured(wh: &Tensor<2>, rows: usize, steps: usize) -> Self {
        let [h, width] = wh.dims();
        let product = format!("step dA·Whᵀ [{rows}, {width}]·[{width}, {h}]");
        let run = random_rows_times([rows, width], &wh.device());
        Measured::choose(&product, &wh.device(), steps, |layout: Self| layout.apply(wh), run)
    }

    /// `Whᵀ` for `wh [H, G·H]`, in this layout.
    pub fn apply(self, wh: &Tensor<2>) -> Tensor<2> {
        let [r, c] = wh.dims();
        let view = wh.clone().transpose(); // [G·H, H]
        match self {
            BackLayout::TransposedView => view,
            BackLayout::RowMajorCopy => view.reshape([r * c]).reshape([c, r]),
        }
    }
}

/// A step's product for [`Measured::choose`]: random rows of `shape` times
/// the laid-out operand. The rows are drawn only if the product is timed:
/// a layer asks for its layouts at every forward, and a choice already made
/// must cost no draw.
fn random_rows_times<L>(shape: [usize; 2], device: &Device) -> impl Fn(L, &Tensor<2>) -> Tensor<2> + use<L> {
    let (rows, device) = (std::cell::OnceCell::new(), device.clone());
    move |_, w| rows.get_or_init(|| Tensor::random(shape, Distribution::Default, &device)).clone().matmul(w.clone())
}

/// How the head's backward makes `dh = G·Wᵀ` `[M, V]·[V, H]`: many rows
/// against a long inner dimension (the vocabulary) and few columns, a shape
/// whose output is too small for `gemm` to keep two threads busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadLayout {
    /// One product with `Wᵀ` as the head holds it: a transposed view of `W`,
    /// or with weight tying the embedding `E` itself.
    OneProduct,
    /// The sum over V in two halves, one product each, the two on two
    /// threads at once, then added: the same sum whatever the number of
    /// threads.
    HalvesInParallel,
}

impl Layout for HeadLayout {
    const ALL: &'static [Self] = &[HeadLayout::OneProduct, HeadLayout::HalvesInParallel];

    fn name(self) -> &'static str {
        match self {
            HeadLayout::OneProduct => "one product",
            HeadLayout::HalvesInParallel => "V in two halves at once",
        }
    }
}

impl HeadLayout {
    /// The layout measured fastest for `g [M, V] · w_t [V, H]` on `g`'s
    /// device (`w_t` as the head holds it; `tied` names the product).
    pub fn measured(g: &Tensor<2>, w_t: &Tensor<2>, tied: bool) -> Self {
        let ([m, v], [_, h]) = (g.dims(), w_t.dims());
        let name = if tied { "head dh = G·E" } else { "head dh = G·Wᵀ" };
        let product = format!("{name} [{m}, {v}]·[{v}, {h}]");
        Measured::choose(&product, &g.device(), 1, |_: Self| w_t.clone(), |layout, w| layout.product(g, w))
    }

    /// `g [M, V] · w_t [V, H]`.
    pub fn product(self, g: &Tensor<2>, w_t: &Tensor<2>) -> Tensor<2> {
        let ([m, v], [_, h]) = (g.dims(), w_t.dims());
        match self {
            HeadLayout::HalvesInParallel if v >= 2 => {
                let half = |range: std::ops::Range<usize>| {
                    move || g.clone().slice([0..m, range.clone()]).matmul(w_t.clone().slice([range, 0..h]))
                };
                let (a, b) = rayon::join(half(0..v / 2), half(v / 2..v));
                a + b
            }
            _ => g.clone().matmul(w_t.clone()),
        }
    }
}

/// One choice measurement made: a product at its shapes on a device, each
/// candidate layout's cost, and the one chosen.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The product and its shapes, `[M, K]·[K, N]`.
    pub product: String,
    pub device: Device,
    /// Each layout's name and measured cost in seconds per use: its fastest
    /// call, plus its copy spread over the uses one copy serves. Empty when
    /// nothing was timed (`RNNLM_KERNELS=fixed`, or a choice [`adopt`]ed).
    pub candidates: Vec<(&'static str, f64)>,
    /// The chosen layout's name.
    pub chosen: String,
}

impl Choice {
    /// The chosen layout, if it is one of `L`'s.
    fn layout<L: Layout>(&self) -> Option<L> {
        L::ALL.iter().copied().find(|l| l.name() == self.chosen)
    }
}

/// Every choice made in this process, the first for each product, shape and device.
static CHOSEN: Mutex<Vec<Choice>> = Mutex::new(Vec::new());

/// The choices made so far in this process, in the order they were made.
pub fn choices() -> Vec<Choice> {
    CHOSEN.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The layouts chosen on `device` so far, as (product, layout) names: what a
/// run folder keeps, so that a resumed run makes its products with the
/// kernels of the run it continues.
pub fn chosen_on(device: &Device) -> Vec<(String, String)> {
    let device = device.clone().without_autodiff();
    let all = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
    all.iter().filter(|c| c.device == device).map(|c| (c.product.clone(), c.chosen.clone())).collect()
}

/// Takes `chosen` ([`chosen_on`]'s, from an earlier process) as this
/// process's choices on `device`, for each product not chosen here yet. A
/// layout no product here has (from another version) is measured anew.
pub fn adopt(device: &Device, chosen: &[(String, String)]) {
    let device = device.clone().without_autodiff();
    let mut all = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
    for (product, layout) in chosen {
        if !all.iter().any(|c| &c.product == product && c.device == device) {
            let choice = Choice {
                product: product.clone(),
                device: device.clone(),
                candidates: Vec::new(),
                chosen: layout.clone(),
            };
            all.push(choice);
        }
    }
}

/// Choosing among layouts by timing them.
pub struct Measured;

impl Measured {
    /// The layout of `product` on `device`: the one chosen before in this
    /// process, or else the fastest now by [`Measured::time`] and
    /// [`Measured::fastest`]. `prepare` lays the operand out (once for
    /// `uses` products), `run` makes the product with it.
    pub fn choose<L: Layout>(
        product: &str,
        device: &Device,
        uses: usize,
        prepare: impl Fn(L) -> Tensor<2>,
        run: impl Fn(L, &Tensor<2>) -> Tensor<2>,
    ) -> L {
        let device = device.clone().without_autodiff();
        let known = |chosen: &[Choice]| {
            chosen.iter().filter(|c| c.product == product && c.device == device).find_map(|c| c.layout::<L>())
        };
        if let Some(layout) = known(&CHOSEN.lock().unwrap_or_else(|e| e.into_inner())) {
            return layout;
        }
        // Timed without the lock held: a product runs on rayon's threads.
        let (candidates, chosen) = if fixed() {
            (Vec::new(), 0)
        } else {
            let costs = Self::time(L::ALL.len(), uses, |i| prepare(L::ALL[i]), |i, w| run(L::ALL[i], w));
            let chosen = Self::fastest(&costs);
            (L::ALL.iter().map(|l| l.name()).zip(costs).collect(), chosen)
        };
        let mut all = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread may have chosen meanwhile: the first choice stands.
        if let Some(layout) = known(&all) {
            return layout;
        }
        let layout = L::ALL[chosen];
        all.push(Choice { product: product.to_string(), device, candidates, chosen: layout.name().to_string() });
        layout
    }

    /// The index of the cheapest of `costs`, where a candidate after the
    /// first must cost at most [`MARGIN`] of the best before it.
    pub fn fastest(costs: &[f64]) -> usize {
        let mut best = 0;
        for (i, &cost) in costs.iter().enumerate().skip(1) {
            if cost < MARGIN * costs[best] {
                best = i;
            }
        }
        best
    }

    /// Each of `n` candidates' cost in seconds per use: the fastest of its
    /// products (`run(i, _)` on what `prepare(i)` gave), plus its fastest
    /// `prepare` over `uses`. The candidates take turns, so that a change
    /// in the machine's speed meets them all, for at least 5 rounds and
    /// 2 ms, at most 100 rounds, and past 50 ms no more than 3 (the head's
    /// products at `big` take 25 ms a call).
    pub fn time(
        n: usize,
        uses: usize,
        prepare: impl Fn(usize) -> Tensor<2>,
        run: impl Fn(usize, &Tensor<2>) -> Tensor<2>,
    ) -> Vec<f64> {
        // Reading one value back waits for an asynchronous device.
        let sync = |x: Tensor<2>| {
            let _ = x.slice([0..1, 0..1]).into_scalar::<f32>();
        };
        let operands: Vec<Tensor<2>> = (0..n).map(&prepare).collect();
        // untimed: first calls pay for allocations
        operands.iter().enumerate().for_each(|(i, w)| sync(run(i, w)));
        let (mut product, mut copy) = (vec![f64::INFINITY; n], vec![f64::INFINITY; n]);
        let start = Instant::now();
        for round in 0..100 {
            let elapsed = start.elapsed().as_secs_f64();
            if round >= 5 && elapsed >= 0.002 || round >= 3 && elapsed >= 0.05 {
                break;
            }
            for i in 0..n {
                let t = Instant::now();
                sync(prepare(i));
                copy[i] = copy[i].min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                sync(run(i, &operands[i]));
                product[i] = product[i].min(t.elapsed().as_secs_f64());
            }
        }
        (0..n).map(|i| product[i] + copy[i] / uses.max(1) as f64).collect()
    }
}

/// Whether `RNNLM_KERNELS=fixed` turns measuring off.
fn fixed() -> bool {
    std::env::var(KERNELS).is_ok_and(|v| v == "fixed")
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::{BackLayout, Layout, Measured, StepLayout};

    /// `a·w`, made `times` times over: a candidate made slow.
    fn repeated(a: &Tensor<2>, w: &Tensor<2>, times: usize) -> Tensor<2> {
        let mut product = a.clone().matmul(w.clone());
        for _ in 1..times {
            product = a.clone().matmul(w.clone());
        }
        product
    }

    /// A layout changes where `Wh`'s numbers lie, never which they are: each
    /// gives `Wh` (or `Whᵀ`) element for element, at a shape that is no
    /// multiple of a vector's width.
    #[test]
    fn every_layout_holds_the_same_weights() {
        let device = burn::tensor::Device::flex();
        let wh: Tensor<2> = Tensor::random([7, 29], Distribution::Default, &device);
        for &layout in StepLayout::ALL {
            assert_eq!(layout.apply(&wh).into_data(), wh.clone().into_data(), "{}", layout.name());
        }
        for &layout in BackLayout::ALL {
            let t = layout.apply(&wh);
            assert_eq!(t.dims(), [29, 7]);
            assert_eq!(t.into_data(), wh.clone().transpose().into_data(), "{}", layout.name());
        }
    }

    /// Two candidates that make the same product, one of them made slow by
    /// repeating it four times: measuring picks the other, whichever comes
    /// first, and a copy made once for many uses costs its share.
    #[test]
    fn measuring_picks_the_faster_of_two_candidates_when_one_is_made_slow() {
        let device = burn::tensor::Device::flex();
        let a: Tensor<2> = Tensor::random([20, 300], Distribution::Default, &device);
        let w: Tensor<2> = Tensor::random([300, 400], Distribution::Default, &device);
        let product = |slow: usize| {
            let (a, w) = (a.clone(), w.clone());
            move |_, i: &Tensor<2>| {
                let repeats = if i.dims()[0] == slow { 4 } else { 1 };
                repeated(&a, &w, repeats)
            }
        };
        // The candidates' operands tell them apart: candidate i is a [i + 1, 1] tensor.
        let marker = |i: usize| Tensor::<2>::zeros([i + 1, 1], &device);
        for slow in [1, 2] {
            let costs = Measured::time(2, 1, marker, product(slow));
            let fast = 2 - slow; // the index of the other candidate
            assert_eq!(Measured::fastest(&costs), fast, "slow candidate {slow}: {costs:?}");
            assert!(costs[slow - 1] > 2.0 * costs[fast], "slow candidate {slow}: {costs:?}");
        }
        // A near-tie keeps the first; the second must be 10% faster.
        assert_eq!(Measured::fastest(&[1.0, 0.95]), 0);
        assert_eq!(Measured::fastest(&[1.0, 0.85]), 1);
        assert_eq!(Measured::fastest(&[1.0, 0.85, 0.8]), 1);
        assert_eq!(Measured::fastest(&[1.0, 0.85, 0.7]), 2);
    }

    /// A product's layout is measured once per process: asked again, with
    /// the other layout now the slow one, the first answer stands.
    #[test]
    fn a_choice_is_measured_once_and_kept() {
        let device = burn::tensor::Device::flex();
        let a: Tensor<2> = Tensor::random([20, 300], Distribution::Default, &device);
        let w: Tensor<2> = Tensor::random([300, 400], Distribution::Default, &device);
        let choose = |slow: StepLayout| {
            let prepare = |layout: StepLayout| Tensor::<2>::zeros([1 + (layout == slow) as usize, 1], &device);
            let run = |_, marker: &Tensor<2>| {
                let repeats = if marker.dims()[0] == 2 { 4 } else { 1 };
                repeated(&a, &w, repeats)
            };
            Measured::choose("a test's product [20, 300]·[300, 400]", &device, 1, prepare, run)
        };
        let first = choose(StepLayout::RowMajor);
        let expected = if super::fixed() { StepLayout::RowMajor } else { StepLayout::ByColumns };
        assert_eq!(first, expected);
        assert_eq!(choose(StepLayout::ByColumns), first);
        let made = super::choices().into_iter().filter(|c| c.product.starts_with("a test's product")).count();
        assert_eq!(made, 1);
    }

    /// Choices adopted from an earlier process (a resumed run's folder) are
    /// taken without timing, where this process has not chosen yet; a
    /// layout name this version lacks is measured anew.
    #[test]
    fn adopted_choices_are_taken_without_timing() {
        let device = burn::tensor::Device::flex();
        let (adopted, unknown) = ("an adopted product [1, 2]·[2, 3]", "a product of another version [1, 2]·[2, 3]");
        let chosen = [
            (adopted.to_string(), StepLayout::ByColumns.name().to_string()),
            (unknown.to_string(), "a layout of another version".to_string()),
        ];
        super::adopt(&device, &chosen);
        let never = |_: StepLayout, _: &Tensor<2>| -> Tensor<2> { panic!("timed an adopted choice") };
        let zeros = |_: StepLayout| Tensor::<2>::zeros([1, 1], &device);
        assert_eq!(Measured::choose(adopted, &device, 1, zeros, never), StepLayout::ByColumns);
        let run = |_: StepLayout, w: &Tensor<2>| w.clone();
        let measured = Measured::choose(unknown, &device, 1, zeros, run);
        assert!(StepLayout::ALL.contains(&measured));
        let on_flex = super::chosen_on(&device);
        assert!(on_flex.contains(&chosen[0]), "{on_flex:?}");
        assert!(on_flex.iter().any(|(p, l)| p == unknown && l == measured.name()), "{on_flex:?}");
    }
}
