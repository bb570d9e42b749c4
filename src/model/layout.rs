//! How a recurrent layer lays `Wh` out for its time steps' products. A
//! step multiplies a batch's few rows by `Wh` (forward, `h·Wh`) and by `Whᵀ`
//! (backward, `dA·Whᵀ`); which of Flex's kernels runs such a product, and
//! how fast, depends on where `Wh`'s numbers lie. Every layout holds the same
//! numbers, so the products' values do not depend on it. `rnnlm bench`
//! prints each layout's rate here and which one training uses.

use burn::tensor::Tensor;

/// Flex's few-rows kernel takes products of at most this many rows.
const FEW_ROWS: usize = 32;

/// How `Wh` is stored for a forward step's `h [N, H] · Wh`. Every layout
/// gives the same values; they differ in which of Flex's kernels runs the
/// product, and how fast (`rnnlm bench` prints each one's rate here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepLayout {
    /// As it is: `gemm`'s kernels.
    RowMajor,
    /// Column by column (its transpose row-major), so that the product pairs
    /// rows of `h` with contiguous columns of `Wh`: Flex's few-rows kernel
    /// runs it as dot products.
    ByColumns,
}

impl StepLayout {
    pub const ALL: [StepLayout; 2] = [StepLayout::RowMajor, StepLayout::ByColumns];

    /// The layout the steps use on this CPU:
    ///
    /// - with AVX-512, row-major: `gemm`'s AVX-512 kernels (Flex's `x86-v4`,
    ///   turned on in `Cargo.toml`) run that product at their large
    ///   products' rate, faster than Flex's few-rows kernel;
    /// - otherwise (AVX2), by columns: the few-rows kernel's dot products are
    ///   faster than `gemm`'s AVX2 kernels (`vendor/README.md`).
    ///
    /// `docs/speed.md` has the measurements (`cargo run --example matmul_probe`).
    pub fn chosen() -> Self {
        if wide_gemm() { StepLayout::RowMajor } else { StepLayout::ByColumns }
    }

    pub fn name(self) -> &'static str {
        match self {
            StepLayout::RowMajor => "Wh row-major",
            StepLayout::ByColumns => "Wh by columns",
        }
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
/// Every layout gives the same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackLayout {
    /// The transposed view: Flex's few-rows kernel pairs rows of `dA` with
    /// rows of `Wh` as it stands.
    TransposedView,
    /// A row-major copy of `Whᵀ`, made once a layer, for `gemm`.
    RowMajorCopy,
}

impl BackLayout {
    pub const ALL: [BackLayout; 2] = [BackLayout::TransposedView, BackLayout::RowMajorCopy];

    /// The layout for batches of `rows` rows: up to [`FEW_ROWS`] (the
    /// language models' batches of 10 or 20) the transposed view, which the
    /// few-rows kernel takes; above (chapter 7's batches of 128) the copy:
    /// `gemm` multiplies a transposed view at a third of its rate (0.23 ms
    /// against 0.08 ms for `[128, 512]·[512, 128]`, docs/speed.md).
    pub fn chosen(rows: usize) -> Self {
        if rows <= FEW_ROWS { BackLayout::TransposedView } else { BackLayout::RowMajorCopy }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackLayout::TransposedView => "Whᵀ a transposed view",
            BackLayout::RowMajorCopy => "Whᵀ a row-major copy",
        }
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

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::{BackLayout, StepLayout};

    /// A layout changes where `Wh`'s numbers lie, never which they are: each
    /// gives `Wh` (or `Whᵀ`) element for element, at a shape that is no
    /// multiple of a vector's width.
    #[test]
    fn every_layout_holds_the_same_weights() {
        let device = burn::tensor::Device::flex();
        let wh: Tensor<2> = Tensor::random([7, 29], Distribution::Default, &device);
        for layout in StepLayout::ALL {
            assert_eq!(layout.apply(&wh).into_data(), wh.clone().into_data(), "{}", layout.name());
        }
        for layout in BackLayout::ALL {
            let t = layout.apply(&wh);
            assert_eq!(t.dims(), [29, 7]);
            assert_eq!(t.into_data(), wh.clone().transpose().into_data(), "{}", layout.name());
        }
    }
}
