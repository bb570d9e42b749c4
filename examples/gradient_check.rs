//! The proof in a few lines: build the Burn model and the manual-backward
//! reference from the same weights, run one batch through both, and compare
//! the loss and every gradient; then check the reference against finite
//! differences.
//!
//! ```text
//! cargo run --example gradient_check
//! ```

use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rnnlm::check::{self, Sizes};
use rnnlm::model::SimpleRnnlmConfig;
use rnnlm::reference;
use rnnlm::weights::PARAM_NAMES;

fn main() {
    #[allow(deprecated)]
    let device = Device::ndarray().autodiff();
    let s = Sizes::SMALL;

    // Identical starting points: the book's initialisation as plain arrays.
    let weights = check::check_weights(s, 42);
    let burn_model = SimpleRnnlmConfig::new(s.vocab)
        .with_wordvec_size(s.wordvec)
        .with_hidden_size(s.hidden)
        .init_with(&weights, &device)
        .expect("weights match the config");
    let mut book_model = reference::SimpleRnnlm::<f64>::from_weights(&weights).expect("valid weights");

    let mut rng = StdRng::seed_from_u64(42);
    let xs = check::random_ids(&mut rng, s.batch, s.time, s.vocab);
    let ts = check::random_ids(&mut rng, s.batch, s.time, s.vocab);

    // Burn: autodiff computes the gradients.
    let (loss, _h) = burn_model.forward(check::ids_tensor(&xs, &device), check::ids_tensor(&ts, &device), None);
    let grads = loss.backward();
    let burn_grads = check::burn_grads(&burn_model, &grads);
    // The book: explicit backward, layer by layer.
    let book_loss = book_model.forward(&xs, &ts);
    book_model.backward(1.0);

    println!("loss: burn {:.9}, reference {book_loss:.9}", loss.into_scalar::<f64>());
    for ((name, g), r) in PARAM_NAMES.iter().zip(&burn_grads).zip(book_model.grads()) {
        let err = check::rel_err(g, r.as_slice().expect("contiguous"));
        println!("grad {name:<9} max|burn - ref| / max|ref| = {err:.2e}");
    }

    let fd = check::reference_vs_finite_differences(42);
    print!("{}", check::format_report(&fd));
}
