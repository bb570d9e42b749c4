//! Choosing among ways of running one product by timing them: the first
//! time a product meets its shapes on a device, each candidate runs it on
//! those shapes a few times, the candidates taking turns, for a few
//! milliseconds; the fastest is kept for the rest of the process
//! ([`choices`] lists them; `rnnlm bench` prints them). A candidate other
//! than the first of its list must be faster by [`MARGIN`], so that near-ties
//! do not flip from one process to the next (unless the candidates agree to
//! the last bit). With [`set_fixed`] (the command line's
//! `RNNLM_KERNELS=fixed`) nothing is timed and every product takes its first
//! candidate: for runs that must print the same digits in separate
//! processes. A run folder keeps the choices ([`chosen_on`]) and a resumed
//! run takes them again ([`adopt`]). The candidates, the layouts of a
//! layer's weights, are in [`super::layout`].

use std::sync::Mutex;
use std::time::Instant;

use burn::tensor::{Device, Tensor};

/// A layout other than the first must take at most this share of the best
/// time so far to be chosen: 10% faster, so that a near-tie does not flip
/// the digits a run prints from one process to the next. Layouts equal to
/// the last bit ([`Layout::SAME_BITS`]) need none.
pub const MARGIN: f64 = 0.9;

/// Ways of laying out an operand of one product: the candidates a choice
/// is made among. Every layout gives the same values; they differ in which
/// kernel runs the product, and how fast.
pub trait Layout: Copy + Eq + 'static {
    /// Every layout, in order of preference: the first needs no copy.
    const ALL: &'static [Self];
    /// Whether every layout gives the same values to the last bit (the same
    /// terms summed in the same order): then the fastest is taken without
    /// [`MARGIN`], a flip between processes changing no digit.
    const SAME_BITS: bool = false;
    /// The layout's name, as `bench` prints it and `layouts.json` records it.
    fn name(self) -> &'static str;
}

/// One choice measurement made: a product at its shapes on a device, each
/// candidate layout's cost, and the one chosen.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The product and its shapes, `[M, K]·[K, N]`.
    pub product: String,
    /// The device the product ran on.
    pub device: Device,
    /// Each layout's name and measured cost in seconds per use: its fastest
    /// call, plus its copy spread over the uses one copy serves. Empty when
    /// nothing was timed ([`set_fixed`], or a choice [`adopt`]ed).
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

/// Records `layout` as the choice of `product` on `device`, in place of the
/// one measured: for a process-wide setting that could not be put in effect
/// (another thread's work fixed it first), so that what a run folder keeps is
/// what ran.
pub(crate) fn overrule(product: &str, device: &Device, layout: &str) {
    let device = device.clone().without_autodiff();
    let mut all = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(choice) = all.iter_mut().find(|c| c.product == product && c.device == device) {
        choice.chosen = layout.to_string();
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
        Self::choose_in_order(product, device, uses, L::ALL, prepare, run)
    }

    /// [`Measured::choose`] among `order` (every layout, in this product's
    /// order of preference: a later one must be faster by [`MARGIN`]), where
    /// the layout to prefer depends on the product's shapes.
    pub fn choose_in_order<L: Layout>(
        product: &str,
        device: &Device,
        uses: usize,
        order: &[L],
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
            let costs = Self::time(order.len(), uses, |i| prepare(order[i]), |i, w| run(order[i], w));
            let chosen = Self::fastest_with(&costs, if L::SAME_BITS { 1.0 } else { MARGIN });
            (order.iter().map(|l| l.name()).zip(costs).collect(), chosen)
        };
        let mut all = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread may have chosen meanwhile: the first choice stands.
        if let Some(layout) = known(&all) {
            return layout;
        }
        let layout = order[chosen];
        all.push(Choice { product: product.to_string(), device, candidates, chosen: layout.name().to_string() });
        layout
    }

    /// The index of the cheapest of `costs`, where a candidate after the
    /// first must cost at most [`MARGIN`] of the best before it.
    pub fn fastest(costs: &[f64]) -> usize {
        Self::fastest_with(costs, MARGIN)
    }

    /// The index of the cheapest of `costs`, where a candidate after the
    /// first must cost at most `margin` of the best before it.
    pub fn fastest_with(costs: &[f64], margin: f64) -> usize {
        let mut best = 0;
        for (i, &cost) in costs.iter().enumerate().skip(1) {
            if cost < margin * costs[best] {
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
    /// products at `big` take 25 ms a call); in each turn a candidate's
    /// product runs twice and the second is timed; the copies are timed
    /// after the products, three times each.
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
        let (mut product, mut copy) = (vec![f64::INFINITY; n], vec![f64::INFINITY; n]);
        let start = Instant::now();
        for round in 0..100 {
            let elapsed = start.elapsed().as_secs_f64();
            if round >= 5 && elapsed >= 0.002 || round >= 3 && elapsed >= 0.05 {
                break;
            }
            for i in 0..n {
                // Run twice, the second timed: a layer's steps find their
                // operand where the step before left it, not where another
                // candidate's product (or a copy) has pushed it out; and a
                // first call pays for allocations.
                sync(run(i, &operands[i]));
                let t = Instant::now();
                sync(run(i, &operands[i]));
                product[i] = product[i].min(t.elapsed().as_secs_f64());
            }
        }
        // The copies apart from the products, for the same reason.
        for _ in 0..3 {
            for (i, fastest) in copy.iter_mut().enumerate() {
                let t = Instant::now();
                sync(prepare(i));
                *fastest = fastest.min(t.elapsed().as_secs_f64());
            }
        }
        (0..n).map(|i| product[i] + copy[i] / uses.max(1) as f64).collect()
    }
}

/// Set by [`set_fixed`].
static FIXED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns measuring off (`true`) for the process from now on: every product
/// takes its first candidate, so that separate processes print the same
/// digits. Choices already made stay.
pub fn set_fixed(fixed: bool) {
    FIXED.store(fixed, std::sync::atomic::Ordering::Relaxed);
}

/// Whether measuring is off ([`set_fixed`]).
pub fn fixed() -> bool {
    #[cfg(test)]
    if std::env::var("RNNLM_KERNELS").is_ok_and(|v| v == "fixed") {
        return true; // the unit tests run both ways
    }
    FIXED.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::super::matmul;
    use super::{Layout, Measured};

    /// Two candidates, as a layer's layouts are.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Two {
        First,
        Second,
    }

    impl Layout for Two {
        const ALL: &'static [Self] = &[Two::First, Two::Second];

        fn name(self) -> &'static str {
            match self {
                Two::First => "the first",
                Two::Second => "the second",
            }
        }
    }

    /// `a·w`, made `times` times over: a candidate made slow.
    fn repeated(a: &Tensor<2>, w: &Tensor<2>, times: usize) -> Tensor<2> {
        let mut product = matmul(a.clone(), w.clone());
        for _ in 1..times {
            product = matmul(a.clone(), w.clone());
        }
        product
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
        // Layouts equal to the last bit: the fastest, however near.
        assert_eq!(Measured::fastest_with(&[1.0, 0.95], 1.0), 1);
        assert_eq!(Measured::fastest_with(&[1.0, 1.0], 1.0), 0);
    }

    /// A product's layout is measured once per process: asked again, with
    /// the other layout now the slow one, the first answer stands.
    #[test]
    fn a_choice_is_measured_once_and_kept() {
        let device = burn::tensor::Device::flex();
        let a: Tensor<2> = Tensor::random([20, 300], Distribution::Default, &device);
        let w: Tensor<2> = Tensor::random([300, 400], Distribution::Default, &device);
        let choose = |slow: Two| {
            let prepare = |layout: Two| Tensor::<2>::zeros([1 + (layout == slow) as usize, 1], &device);
            let run = |_, marker: &Tensor<2>| {
                let repeats = if marker.dims()[0] == 2 { 4 } else { 1 };
                repeated(&a, &w, repeats)
            };
            Measured::choose("a test's product [20, 300]·[300, 400]", &device, 1, prepare, run)
        };
        let first = choose(Two::First);
        let expected = if super::fixed() { Two::First } else { Two::Second };
        assert_eq!(first, expected);
        assert_eq!(choose(Two::Second), first);
        let made = super::choices().into_iter().filter(|c| c.product.starts_with("a test's product")).count();
        assert_eq!(made, 1);
    }

    /// Candidates in an order of the caller's: the fastest is the one
    /// returned whichever place it has, and with `RNNLM_KERNELS=fixed` (no
    /// timing) the first of that order.
    #[test]
    fn a_choice_in_the_callers_order_returns_the_candidate_it_timed() {
        let device = burn::tensor::Device::flex();
        let a: Tensor<2> = Tensor::random([20, 300], Distribution::Default, &device);
        let w: Tensor<2> = Tensor::random([300, 400], Distribution::Default, &device);
        for slow in Two::ALL.iter().copied() {
            let product = format!("a product in the caller's order, {} slow [20, 300]·[300, 400]", slow.name());
            let run = |layout: Two, _: &Tensor<2>| repeated(&a, &w, if layout == slow { 4 } else { 1 });
            let zeros = |_: Two| Tensor::<2>::zeros([1, 1], &device);
            let order = [Two::Second, Two::First];
            let chosen = Measured::choose_in_order(&product, &device, 1, &order, zeros, run);
            let expected = match (super::fixed(), slow) {
                (true, _) => Two::Second,
                (false, Two::First) => Two::Second,
                (false, Two::Second) => Two::First,
            };
            assert_eq!(chosen, expected, "{}", slow.name());
            let recorded = super::choices().into_iter().find(|c| c.product == product).expect("recorded");
            assert_eq!(recorded.chosen, expected.name());
            if !super::fixed() {
                let timed: Vec<_> = recorded.candidates.iter().map(|(name, _)| *name).collect();
                assert_eq!(timed, [Two::Second.name(), Two::First.name()]);
            }
        }
    }

    /// A choice that could not be put in effect is overruled by what ran: the
    /// record (and so a run folder's `layouts.json`) names that.
    #[test]
    fn an_overruled_choice_records_what_ran() {
        let device = burn::tensor::Device::flex();
        let product = "an overruled product [1, 2]·[2, 3]";
        let zeros = |_: Two| Tensor::<2>::zeros([1, 1], &device);
        let run = |_: Two, w: &Tensor<2>| w.clone();
        let measured = Measured::choose(product, &device, 1, zeros, run);
        let other = if measured == Two::First { Two::Second } else { Two::First };
        super::overrule(product, &device, other.name());
        let recorded = super::chosen_on(&device).into_iter().filter(|(p, _)| p == product).collect::<Vec<_>>();
        assert_eq!(recorded, [(product.to_string(), other.name().to_string())]);
        assert_eq!(Measured::choose(product, &device, 1, zeros, run), other);
    }

    /// Choices adopted from an earlier process (a resumed run's folder) are
    /// taken without timing, where this process has not chosen yet; a
    /// layout name this version lacks is measured anew.
    #[test]
    fn adopted_choices_are_taken_without_timing() {
        let device = burn::tensor::Device::flex();
        let (adopted, unknown) = ("an adopted product [1, 2]·[2, 3]", "a product of another version [1, 2]·[2, 3]");
        let chosen = [
            (adopted.to_string(), Two::Second.name().to_string()),
            (unknown.to_string(), "a layout of another version".to_string()),
        ];
        super::adopt(&device, &chosen);
        let never = |_: Two, _: &Tensor<2>| -> Tensor<2> { panic!("timed an adopted choice") };
        let zeros = |_: Two| Tensor::<2>::zeros([1, 1], &device);
        assert_eq!(Measured::choose(adopted, &device, 1, zeros, never), Two::Second);
        let run = |_: Two, w: &Tensor<2>| w.clone();
        let measured = Measured::choose(unknown, &device, 1, zeros, run);
        assert!(Two::ALL.contains(&measured));
        let on_flex = super::chosen_on(&device);
        assert!(on_flex.contains(&chosen[0]), "{on_flex:?}");
        assert!(on_flex.iter().any(|(p, l)| p == unknown && l == measured.name()), "{on_flex:?}");
    }
}
