//! In training every layer is one autodiff node whose backward is the
//! book's. `check` holds the nodes against the reference for chapter 5's
//! model (one layer, untied); here they are held against Burn's autodiff op
//! by op for the cases that model does not cover: stacked layers (the
//! gradient flows from one RNN node into the one below) and an affine weight
//! tied to the embedding (the embedding's node adds its rows into the
//! head's `dWᵀ`), over batches that carry the state.

mod common;

use burn::tensor::{Device, Int, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rnnlm::arch::CellKind;
use rnnlm::check::{burn_grads, ids_tensor, random_ids, rel_err};
use rnnlm::model::{Backprop, RecurrentState, Rnnlm, RnnlmConfig};
use rnnlm::weights::RnnlmWeights;

fn host(t: Tensor<2>) -> Vec<f64> {
    t.try_into_vec_as::<f32>().expect("readable").iter().map(|&x| f64::from(x)).collect()
}

fn stacked_tied_rnn_nodes_match_op_by_op(device: &Device, tolerance: f64) {
    let (n, t, v, d) = (3, 4, 50, 8);
    let config = RnnlmConfig::new(v)
        .with_cell(CellKind::Rnn)
        .with_wordvec_size(d)
        .with_hidden_size(d)
        .with_layers(2)
        .with_tied(true);
    let weights = RnnlmWeights::book_init(config.architecture(), 21);
    let device = device.clone().autodiff();
    let model = config.init_with(&weights, &device).expect("weights match config");
    let op_by_op = Rnnlm { backprop: Backprop::OpByOp, ..model.clone() };
    let mut rng = StdRng::seed_from_u64(22);
    let mut state: Option<RecurrentState> = None;
    for batch in 1..=3 {
        let xs: Tensor<2, Int> = ids_tensor(&random_ids(&mut rng, n, t, v), &device);
        let ts: Tensor<2, Int> = ids_tensor(&random_ids(&mut rng, n, t, v), &device);
        let (loss, train_state) = model.forward(xs.clone(), ts.clone(), state.clone());
        // Every parameter's gradient, in the book's order (a missing one panics).
        let grads = burn_grads(&model, &loss.backward());
        let loss = f64::from(loss.into_scalar::<f32>());
        let (auto_loss, auto_state) = op_by_op.forward(xs, ts, state.take());
        let auto_grads = burn_grads(&op_by_op, &auto_loss.backward());
        let auto_loss = f64::from(auto_loss.into_scalar::<f32>());
        assert!(
            ((loss - auto_loss) / auto_loss).abs() <= tolerance,
            "batch {batch}: loss {loss} vs op by op {auto_loss}"
        );
        let names = weights.arch.params();
        assert_eq!(names.len(), grads.len());
        for (((name, _), g), a) in names.iter().zip(&grads).zip(&auto_grads) {
            let err = rel_err(g, a);
            println!("batch {batch} grad {name}: {err:e}");
            assert!(err <= tolerance, "batch {batch}: grad {name} relative error {err:e} > {tolerance:e}");
        }
        // Both paths hand on the same state: the last hidden state of each layer.
        let (mine, theirs) = (train_state.tensors(), auto_state.tensors());
        assert_eq!(mine.len(), 2);
        for (a, b) in mine.into_iter().zip(theirs) {
            let err = rel_err(&host(a), &host(b));
            assert!(err <= tolerance, "batch {batch}: state relative error {err:e}");
        }
        state = Some(auto_state.detach());
    }
}

common::on_every_backend!(stacked_tied_rnn_nodes_match_op_by_op:
    flex_stacked_tied_rnn_nodes_match_op_by_op,
    ndarray_stacked_tied_rnn_nodes_match_op_by_op,
    wgpu_stacked_tied_rnn_nodes_match_op_by_op
);
