//! A model that is not one of the book's, built from `TimeLstm` and Burn's
//! own `Embedding` and `Linear` (`examples/your_own_model.rs`): its
//! gradients with each `TimeLstm` one autodiff node (the book's backward)
//! equal those with every op through autodiff, to f32 rounding, on every
//! backend. The last state is read from the node's output, so the gradient
//! reaches the upper layer only at its last step.

mod common;

#[allow(dead_code)]
#[path = "../examples/your_own_model.rs"]
mod example;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Gradients, Tensor};
use example::{ClassifierConfig, batch, loss};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rnnlm::check::rel_err;
use rnnlm::model::Backprop;

/// Every parameter's gradient, in the module's order.
struct Collect<'a> {
    grads: &'a Gradients,
    out: Vec<(String, Vec<f64>)>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = param.val().grad(self.grads).expect("every parameter has a gradient");
        let g = g.try_into_vec_as::<f32>().expect("readable").iter().map(|&x| f64::from(x)).collect();
        self.out.push((format!("{:?} {:?}", param.id, param.dims()), g));
    }
}

fn gradients_match(device: &Device, tolerance: f64) {
    let device = device.clone().autodiff();
    let config = ClassifierConfig::new(16, 4).with_embed_size(8).with_hidden_size(12);
    let model = config.init(&device);
    let mut rng = StdRng::seed_from_u64(5);
    let (tokens, classes) = batch(&mut rng, 6, 9, &config, &device);
    let grads = |backprop: Backprop| {
        let l = loss(model.forward(tokens.clone(), backprop), classes.clone());
        let value = f64::from(l.clone().into_scalar::<f32>());
        let mut c = Collect { grads: &l.backward(), out: Vec::new() };
        model.visit(&mut c);
        (value, c.out)
    };
    let (book_loss, book) = grads(Backprop::Book);
    let (plain_loss, plain) = grads(Backprop::OpByOp);
    assert!(((book_loss - plain_loss) / plain_loss).abs() <= tolerance, "loss {book_loss} vs {plain_loss}");
    assert_eq!(book.len(), 9, "embedding, 2 x (Wx, Wh, b), linear weight and bias");
    for ((name, g), (_, p)) in book.iter().zip(&plain) {
        let err = rel_err(g, p);
        println!("{name}: {err:e}");
        assert!(err <= tolerance, "{name}: relative error {err:e} > {tolerance:e}");
    }
}

common::on_every_backend!(gradients_match:
    flex_your_own_model_gradients_match_op_by_op,
    ndarray_your_own_model_gradients_match_op_by_op,
    wgpu_your_own_model_gradients_match_op_by_op
);
