//! The proof in a few lines: build the Burn model and the manual-backward
//! reference from the same weights, run one batch through both, and compare
//! the loss and every gradient; then check the reference against finite
//! differences. The model is the first argument (rnn, lstm, gru).
//!
//! ```text
//! cargo run --example gradient_check -- lstm
//! ```

use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rnnlm::arch::ModelKind;
use rnnlm::check::{self, Sizes};
use rnnlm::reference;

fn main() {
    #[allow(deprecated)]
    let device = Device::ndarray().autodiff();
    let s = Sizes::SMALL;
    let model = match std::env::args().nth(1).as_deref() {
        None | Some("rnn") => ModelKind::Rnn,
        Some("lstm") => ModelKind::Lstm,
        Some("gru") => ModelKind::Gru,
        Some(other) => {
            eprintln!("error: the model is rnn, lstm or gru, not {other:?}");
            std::process::exit(2)
        }
    };

    // Identical starting points: the book's initialisation as plain arrays.
    let weights = check::check_weights(model, s, 42);
    let burn_model = check::model_config(model, s).init_with(&weights, &device).expect("weights match the config");
    let mut book_model = reference::Rnnlm::<f64>::from_weights(&weights, 0.0, 0).expect("valid weights");

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
    for (((name, _), g), r) in weights.arch.params().iter().zip(&burn_grads).zip(book_model.grads()) {
        let err = check::rel_err(g, r.as_slice().expect("contiguous"));
        println!("grad {name:<9} max|burn - ref| / max|ref| = {err:.2e}");
    }

    let fd = check::reference_model_vs_finite_differences(model, 42);
    print!("{}", check::format_report(&fd));
}
