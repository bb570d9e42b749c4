//! How a recurrent layer lays `Wh` out for its time steps' products, and
//! which layout each product gets: the one measured fastest here.
//!
//! A step multiplies a batch's few rows by `Wh` (forward, `h·Wh`) and by
//! `Whᵀ` (backward, `dA·Whᵀ`); which kernel runs such a product on Flex,
//! and how fast, depends on where `Wh`'s numbers lie, on the shapes and on
//! the CPU. Every layout holds the same numbers, so a product's value does
//! not depend on it beyond f32 rounding (two kernels may sum in two orders).
//!
//! The choice is made by timing, the first time a layer meets a shape on a
//! device ([`super::measure`]).

use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::matmul;
use super::measure::{Layout, Measured};

/// How `Wh` is stored for a forward step's `h [N, H] · Wh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepLayout {
    /// As it is: `gemm`'s kernels.
    RowMajor,
    /// Column by column (its transpose row-major), so that the product pairs
    /// rows of `h` with contiguous columns of `Wh`: the few-rows kernel (`few_rows.rs`)
    /// runs it as dot products.
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
        FewRowLanes::choose(wh, rows);
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
    /// The transposed view: the few-rows kernel (`few_rows.rs`) (up to 64 rows) pairs
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
        FewRowLanes::choose(wh, rows);
        let [h, width] = wh.dims();
        FewRowPass::choose(&wh.device(), rows, h, width);
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

/// How wide the few-rows kernel (`few_rows.rs`) runs, 16 lanes
/// where the CPU has AVX-512F or 8: one setting for the whole process, chosen
/// by timing a backward step's `dA·Whᵀ` at the first recurrent layer's shapes,
/// before any product runs with it (and before that layer's layouts are
/// timed). From the first product on, the kernel keeps its width, so that
/// the process's products sum in one order. `RNNLM_FEW_ROWS=8` (or `16`)
/// in the environment fixes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FewRowLanes {
    /// 16 lanes (AVX-512F), 4 x 6 blocks of outputs.
    Sixteen,
    /// 8 lanes (AVX2), 4 x 3 blocks of outputs.
    Eight,
}

impl Layout for FewRowLanes {
    const ALL: &'static [Self] = &[FewRowLanes::Sixteen, FewRowLanes::Eight];

    fn name(self) -> &'static str {
        match self {
            FewRowLanes::Sixteen => "16 lanes",
            FewRowLanes::Eight => "8 lanes",
        }
    }
}

impl FewRowLanes {
    /// What the choice is kept under (in a run folder's `layouts.json` too).
    pub const PRODUCT: &'static str = "few-rows kernel's width";

    /// The width the kernel runs with from now on; None where it does not run.
    pub fn in_effect() -> Option<Self> {
        match crate::cpu::few_row_lanes() {
            16 => Some(FewRowLanes::Sixteen),
            8 => Some(FewRowLanes::Eight),
            _ => None,
        }
    }

    fn lanes(self) -> usize {
        match self {
            FewRowLanes::Sixteen => 16,
            FewRowLanes::Eight => 8,
        }
    }

    /// Puts in effect the width chosen in this process (or adopted from a
    /// run folder), choosing it first by timing `rows` random rows times
    /// `whᵀ` (`wh [H, G·H]`) with each width: on Flex, where both widths
    /// run and the width can still be set. Otherwise nothing changes.
    pub fn choose(wh: &Tensor<2>, rows: usize) {
        let device = wh.device();
        let [h, width] = wh.dims();
        let takes = crate::cpu::few_rows_takes(rows, h, width);
        if !crate::device::is_flex(&device) || !takes || !crate::cpu::few_row_lanes_settable() {
            return;
        }
        // The operands on the host, made only if the product is timed: a
        // choice made (or adopted) must cost no copy of `Wh`.
        let operands = std::cell::OnceCell::new();
        let product = |lanes: Self, _: &Tensor<2>| {
            let (a, w) = operands
                .get_or_init(|| (spread(rows * width), wh.clone().try_into_vec_as::<f32>().unwrap_or_default()));
            let out = (w.len() == h * width)
                .then(|| crate::cpu::few_rows_product(lanes.lanes(), a, w, rows, h, width))
                .flatten();
            first_value(out, &device)
        };
        let chosen = Measured::choose(Self::PRODUCT, &device, 1, |_: Self| first_value(None, &device), product);
        if Self::in_effect() != Some(chosen) && !crate::cpu::set_few_row_lanes(chosen.lanes()) {
            // another thread's product ran first with the width in effect,
            // which now stays: the record names it
            if let Some(now) = Self::in_effect() {
                super::measure::overrule(Self::PRODUCT, &device, now.name());
            }
        }
    }
}

/// `len` numbers in [-1, 1) for a kernel timed on the host: its time does
/// not depend on them.
fn spread(len: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * 7919) % 2000) as f32 / 1000.0 - 1.0).collect()
}

/// The first value of a product made on the host (NaN where the kernel did
/// not run it) as a `[1, 1]` tensor: what [`Measured::choose`] reads back.
fn first_value(out: Option<Vec<f32>>, device: &Device) -> Tensor<2> {
    let x = out.map_or(f32::NAN, |o| o[0]);
    Tensor::from_data(TensorData::new(vec![x], [1, 1]), device)
}

/// A step's product for [`Measured::choose`]: random rows of `shape` times
/// the laid-out operand. The rows are drawn only if the product is timed:
/// a layer asks for its layouts at every forward, and a choice already made
/// must cost no draw.
fn random_rows_times<L>(shape: [usize; 2], device: &Device) -> impl Fn(L, &Tensor<2>) -> Tensor<2> + use<L> {
    let (rows, device) = (std::cell::OnceCell::new(), device.clone());
    move |_, w| matmul(rows.get_or_init(|| Tensor::random(shape, Distribution::Default, &device)).clone(), w.clone())
}

/// How the head's backward makes `dh = G·Wᵀ` `[M, V]·[V, H]`: many rows
/// against a long inner dimension (the vocabulary) and few columns, a shape
/// whose output is too small for `gemm` to keep two threads busy. Where `G`
/// has few rows (up to 64: a small batch) and `Wᵀ` is `W`'s transposed view,
/// the few-rows kernel (`few_rows.rs`) runs each product as dot products instead, its
/// pass over V chosen by [`FewRowPass`].
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
    /// device, among them in [`Self::preferred`]'s order (`w_t` as the head
    /// holds it; `tied` names the product).
    pub fn measured(g: &Tensor<2>, w_t: &Tensor<2>, tied: bool) -> Self {
        let ([m, v], [_, h], device) = (g.dims(), w_t.dims(), g.device());
        if !tied {
            // `Wᵀ` a transposed view: the few-rows kernel's, where G has few rows
            FewRowPass::choose(&device, m, h, v);
        }
        let name = if tied { "head dh = G·E" } else { "head dh = G·Wᵀ" };
        let product = format!("{name} [{m}, {v}]·[{v}, {h}]");
        let order = Self::preferred(&device, m, h, v, tied);
        Measured::choose_in_order(&product, &device, 1, &order, |_: Self| w_t.clone(), |layout, w| layout.product(g, w))
    }

    /// The layouts in the order measurement prefers them for `G [m, v] ·
    /// Wᵀ [v, h]` on `device` (a later one must be faster by
    /// [`super::measure::MARGIN`]). On Flex, where `gemm` makes the one
    /// product (more rows than the few-rows kernel takes, or the tied `E`,
    /// which is no transposed view), V in halves comes first: they ran faster
    /// than one `gemm` product of this small output over a long V in nearly
    /// every `bench` on each of the four kinds of CPU measured (`docs/speed.md`;
    /// the exceptions on a busy machine), often by less than the margin,
    /// which then kept the slower.
    pub fn preferred(device: &Device, m: usize, h: usize, v: usize, tied: bool) -> [Self; 2] {
        let few_rows = !tied && crate::cpu::few_rows_takes(m, h, v);
        match crate::device::is_flex(device) && !few_rows {
            true => [HeadLayout::HalvesInParallel, HeadLayout::OneProduct],
            false => [HeadLayout::OneProduct, HeadLayout::HalvesInParallel],
        }
    }

    /// `g [M, V] · w_t [V, H]`.
    pub fn product(self, g: &Tensor<2>, w_t: &Tensor<2>) -> Tensor<2> {
        let ([m, v], [_, h]) = (g.dims(), w_t.dims());
        match self {
            HeadLayout::HalvesInParallel if v >= 2 => {
                let half = |range: std::ops::Range<usize>| {
                    move || matmul(g.clone().slice([0..m, range.clone()]), w_t.clone().slice([range, 0..h]))
                };
                let (a, b) = rayon::join(half(0..v / 2), half(v / 2..v));
                a + b
            }
            _ => matmul(g.clone(), w_t.clone()),
        }
    }
}

/// How the few-rows kernel (`few_rows.rs`), 16 lanes wide, takes a long inner dimension
/// (K of 1,024 or more, more than 4 rows): in chunks of K, each for all the
/// rows before the next, or in one pass for each block of rows. A setting for
/// the whole process that changes no product's value (every lane adds the
/// same terms in the same order either way), so that it is chosen by timing
/// at the first product it matters for (a backward step's `dA·Whᵀ`, or the
/// head's `dh = G·Wᵀ` at a small batch), the faster taken however near.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FewRowPass {
    /// K in chunks of 256 terms: they stay in the first-level cache while
    /// every block of rows reads them.
    Chunks,
    /// K in one pass for each block of 4 rows, its sums in registers.
    OnePass,
}

impl Layout for FewRowPass {
    const ALL: &'static [Self] = &[FewRowPass::Chunks, FewRowPass::OnePass];
    const SAME_BITS: bool = true;

    fn name(self) -> &'static str {
        match self {
            FewRowPass::Chunks => "K in chunks",
            FewRowPass::OnePass => "K in one pass",
        }
    }
}

impl FewRowPass {
    /// What the choice is kept under (in a run folder's `layouts.json` too).
    pub const PRODUCT: &'static str = "few-rows kernel's pass over K";

    /// How the kernel takes a long K from now on; None where it does not
    /// run 16 lanes wide (the 8-lane kernel takes K in one pass).
    pub fn in_effect() -> Option<Self> {
        (FewRowLanes::in_effect() == Some(FewRowLanes::Sixteen))
            .then(|| if crate::cpu::few_rows_chunks_k() { FewRowPass::Chunks } else { FewRowPass::OnePass })
    }

    /// Puts in effect the pass chosen in this process (or adopted from a
    /// run folder), choosing it first by timing `a [m, k] · w [n, k]ᵀ` (the
    /// kernel's terms; numbers that do not change its time) each way: on
    /// Flex, where the kernel runs 16 lanes wide and takes K in chunks at
    /// this shape. Otherwise nothing changes.
    pub fn choose(device: &Device, m: usize, n: usize, k: usize) {
        use crate::cpu::{few_rows_product, few_rows_takes, set_few_rows_chunks_k};
        let chunked = m > 4 && k >= 1024 && few_rows_takes(m, n, k);
        if !crate::device::is_flex(device) || !chunked || Self::in_effect().is_none() {
            return;
        }
        // made only if the product is timed: a choice made (or adopted)
        // must cost no operands
        let operands = std::cell::OnceCell::new();
        let product = |pass: Self, _: &Tensor<2>| {
            let (a, w) = operands.get_or_init(|| (spread(m * k), spread(n * k)));
            set_few_rows_chunks_k(pass == FewRowPass::Chunks);
            first_value(few_rows_product(16, a, w, m, n, k), device)
        };
        let chosen = Measured::choose(Self::PRODUCT, device, 1, |_: Self| first_value(None, device), product);
        set_few_rows_chunks_k(chosen == FewRowPass::Chunks);
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::{BackLayout, HeadLayout, Layout, StepLayout};

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

    /// The head's `dh` prefers V in halves where `gemm` makes its one
    /// product (many rows, or the tied `E`), one product where the few-rows
    /// kernel does (few rows, `Wᵀ` a transposed view), and keeps its
    /// layouts' own order off Flex.
    #[test]
    fn the_heads_dh_prefers_the_halves_where_gemm_makes_one_product() {
        use HeadLayout::{HalvesInParallel as Halves, OneProduct as One};
        let flex = burn::tensor::Device::flex();
        assert_eq!(HeadLayout::preferred(&flex, 700, 650, 10_000, false), [Halves, One]);
        assert_eq!(HeadLayout::preferred(&flex, 700, 650, 10_000, true), [Halves, One]);
        assert_eq!(HeadLayout::preferred(&flex, 50, 100, 10_000, true), [Halves, One]);
        let kernel = crate::cpu::few_rows_takes(50, 100, 10_000);
        let untied_few_rows = if kernel { [One, Halves] } else { [Halves, One] };
        assert_eq!(HeadLayout::preferred(&flex, 50, 100, 10_000, false), untied_few_rows);
        #[cfg(feature = "ndarray")]
        {
            #[allow(deprecated)] // as in `backend.rs`
            let ndarray = burn::tensor::Device::ndarray();
            assert_eq!(HeadLayout::preferred(&ndarray, 700, 650, 10_000, false), [One, Halves]);
            assert_eq!(HeadLayout::preferred(&ndarray, 50, 100, 10_000, true), [One, Halves]);
        }
    }
}
