//! The book's `TimeSoftmaxWithLoss`: the mean cross-entropy of the scores,
//! whose backward is the book's `dx = (softmax(x) − onehot(t)) / N`.
//!
//! Written as `-log_softmax(x)[t]`, Burn's autodiff would record the
//! log-softmax as six element-wise ops over the [N·T, V] scores and run six
//! backward passes over them. The gradient is known in closed form, so it is
//! computed once, outside the graph, and handed to the graph as the gradient
//! of a linear term: `loss = nll + Σ x·G − Σ x·G` with `G` detached has the
//! value `nll` and the gradient `G`.
//!
//! On Flex the loss and `G` come from one loop over each row in host memory
//! ([`host`]); elsewhere from Burn's softmax
//! ([`softmax_with_loss_tensor_ops`]). [`cross_entropy_autodiff`] keeps the
//! plain form, against which the tests hold both.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{DType, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::device::is_flex;

use crate::cpu::softmax_with_loss as host;

/// Mean softmax cross-entropy over all N·T positions.
///
/// - `logits`: scores `[N, T, V]`; `ts`: target ids `[N, T]`;
/// - returns the loss `[1]`; its gradient with respect to `logits` is
///   `(softmax(logits) − onehot(ts)) / (N·T)`.
///
/// Reads the N·T target probabilities back to the host, which waits for the
/// device (the training loop reads the loss at every step anyway).
pub fn softmax_with_loss(logits: Tensor<3>, ts: Tensor<2, Int>) -> Tensor<1> {
    // On Flex only: burn-ndarray reads a tensor back element by element,
    // which costs more than the loop saves.
    if logits.dtype() == DType::F32 && is_flex(&logits.device()) {
        softmax_with_loss_host(logits, ts)
    } else {
        softmax_with_loss_tensor_ops(logits, ts)
    }
}

/// [`softmax_with_loss`] by one loop per row over host memory (Flex).
fn softmax_with_loss_host(logits: Tensor<3>, ts: Tensor<2, Int>) -> Tensor<1> {
    let [n, t, v] = logits.dims();
    let m = n * t;
    let device = logits.device();
    let x = logits.reshape([m, v]); // [N·T, V]
    let targets = ts.reshape([m]).try_into_vec_as::<i64>().expect("readable targets");
    let mean = |nll: f64| Tensor::<1>::from_data(TensorData::new(vec![(nll / m as f64) as f32], [1]), &device);
    if !x.is_tracked() {
        // Evaluation: the scores are ours alone, so reading them copies nothing.
        let scores = x.into_data();
        return mean(host::softmax_with_loss(scores.as_slice::<f32>().expect("f32 scores"), &targets, v, None));
    }
    // The graph keeps the scores for the backward pass, so this is a copy.
    let scores = x.clone().detach().into_data();
    let mut grad = vec![0f32; m * v];
    let nll = host::softmax_with_loss(scores.as_slice::<f32>().expect("f32 scores"), &targets, v, Some(&mut grad));
    let loss = mean(nll);
    let g = Tensor::<2>::from_data(TensorData::new(grad, [m, v]), &device);
    with_gradient(loss, x, g)
}

/// [`softmax_with_loss`] with Burn tensor ops (on every backend): the softmax,
/// read back at the targets, and `G` built from it.
pub fn softmax_with_loss_tensor_ops(logits: Tensor<3>, ts: Tensor<2, Int>) -> Tensor<1> {
    let [n, t, v] = logits.dims();
    let m = n * t;
    let device = logits.device();
    let x = logits.reshape([m, v]); // [N·T, V]
    let targets = ts.reshape([m, 1]); // [N·T, 1]
    let probs = softmax(x.clone().detach(), 1); // [N·T, V], outside the graph
    let nll = mean_nll(&x, &probs, &targets);
    let loss = Tensor::<1>::from_data(TensorData::new(vec![nll as f32], [1]), &device);
    if !x.is_tracked() {
        return loss;
    }
    // G = (y − t) / (N·T): the softmax scaled, minus 1/(N·T) at each target.
    let scale = 1.0 / m as f64;
    let minus = Tensor::<2>::full([m, 1], -scale, &device);
    let g = probs.mul_scalar(scale).scatter(1, targets, minus, IndexingUpdateOp::Add);
    with_gradient(loss, x, g)
}

/// The end of the affine layer, outside any graph: the mean softmax
/// cross-entropy of the scores `product + b` (`product`: `h·W`, `[M, V]`;
/// `b`: `[V]`), their gradient `G = (softmax(product + b) − onehot(ts)) / M`
/// and the bias's gradient (`G`'s column sums, `[V]`), for a caller that runs
/// the backward pass itself ([`super::head`]). On Flex, one loop over each
/// row adds the bias, computes the loss and `G`, writes `G` over the
/// product's own buffer when no one else holds it, and sums the bias's
/// gradient.
pub fn affine_softmax_with_loss_and_grad(
    product: Tensor<2>,
    b: Tensor<1>,
    ts: Tensor<1, Int>,
) -> (f64, Tensor<2>, Tensor<1>) {
    let [m, v] = product.dims();
    let device = product.device();
    if product.dtype() == DType::F32 && is_flex(&device) {
        let targets = ts.try_into_vec_as::<i64>().expect("readable targets");
        let b = b.try_into_vec_as::<f32>().expect("readable bias");
        // Uniquely held, the product comes back without a copy and `G` takes
        // its place.
        let mut g = product.into_data();
        let mut db = vec![0f32; v];
        let slice = g.as_mut_slice::<f32>().expect("f32 scores");
        let nll = host::affine_softmax_with_loss_in_place(slice, &b, &targets, &mut db);
        let db = Tensor::from_data(TensorData::new(db, [v]), &device);
        return (nll / m as f64, Tensor::from_data(g, &device), db);
    }
    let scores = product + b.unsqueeze_dim(0); // [M, V]
    let targets = ts.reshape([m, 1]); // [M, 1]
    let probs = softmax(scores.clone(), 1); // [M, V]
    let nll = mean_nll(&scores, &probs, &targets);
    let scale = 1.0 / m as f64;
    let minus = Tensor::<2>::full([m, 1], -scale, &device);
    let g = probs.mul_scalar(scale).scatter(1, targets, minus, IndexingUpdateOp::Add);
    let db = g.clone().sum_dim(0).reshape([v]); // [V]
    (nll, g, db)
}

/// `loss` (a constant holding the value) with the gradient `g` with respect
/// to `x`: `loss + Σx·G − Σx·G`, where only the first `Σx·G` is in the graph.
fn with_gradient(loss: Tensor<1>, x: Tensor<2>, g: Tensor<2>) -> Tensor<1> {
    let linear = (x * g).sum(); // [1], gradient G with respect to x
    // (s − s) is exactly 0, so the value is exactly `loss`.
    (linear.clone() - linear.detach()) + loss
}

/// The mean of `−log y[t]` over the rows, in f64 on the host. A target
/// probability that underflowed in f32 (a score far below the row's
/// maximum) would give an infinite loss where the true one is finite; then
/// the log-softmax is computed instead.
fn mean_nll(x: &Tensor<2>, probs: &Tensor<2>, targets: &Tensor<2, Int>) -> f64 {
    let [m, _] = probs.dims();
    let p_t = probs.clone().gather(1, targets.clone()).try_into_vec_as::<f32>().expect("readable probabilities");
    if p_t.iter().all(|&p| p >= f32::MIN_POSITIVE) {
        return p_t.iter().map(|&p| -f64::from(p).ln()).sum::<f64>() / m as f64;
    }
    let log_p = log_softmax(x.clone().detach(), 1).gather(1, targets.clone());
    let log_p = log_p.try_into_vec_as::<f32>().expect("readable log-probabilities");
    log_p.iter().map(|&l| -f64::from(l)).sum::<f64>() / m as f64
}

/// The same loss as [`softmax_with_loss`] in the plain form: Burn's
/// log-softmax and its autodiff.
pub fn cross_entropy_autodiff(logits: Tensor<3>, ts: Tensor<2, Int>) -> Tensor<1> {
    let [n, t, v] = logits.dims();
    let log_p = log_softmax(logits.reshape([n * t, v]), 1); // [N·T, V]
    let targets = ts.reshape([n * t, 1]);
    log_p.gather(1, targets).neg().mean()
}
