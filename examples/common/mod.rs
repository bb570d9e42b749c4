//! What the probes share: timing one call.

use std::time::Instant;

/// Seconds per call of `f`, run for at least a second (and 3 times) after
/// one warm-up call.
pub fn seconds_per_call<F: FnMut() -> f32>(mut f: F) -> f64 {
    f();
    let t0 = Instant::now();
    let mut it = 0;
    while t0.elapsed().as_secs_f64() < 1.0 || it < 3 {
        std::hint::black_box(f());
        it += 1;
    }
    t0.elapsed().as_secs_f64() / it as f64
}
