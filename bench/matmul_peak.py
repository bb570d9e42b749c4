"""The matrix-multiply rate NumPy's BLAS and PyTorch reach at the models' shapes, to put the
GFLOP/s of `rnnlm bench` and `cargo run --example matmul_probe` in context.

  python bench/matmul_peak.py --threads 2
"""
import argparse
import os
import time

# (M, K, N) of (M, K) @ (K, N): the big preset's affine layer (forward, dW, dx) and
# recurrent step, and the seed preset's.
SHAPES = {
    "big affine forward": (700, 650, 10000),
    "big affine dW": (650, 700, 10000),
    "big affine dx": (700, 10000, 650),
    "big rnn step": (20, 650, 650),
    "big lstm step": (20, 650, 2600),
    "big lstm step back": (20, 2600, 650),
    "seed affine forward": (50, 100, 10000),
    "seed affine dx": (50, 10000, 100),
    "seed rnn step": (10, 100, 100),
}


def gflops(product, flops, seconds=1.0):
    """GFLOP/s of `product`, run for at least `seconds` (and 3 times) after one warm-up."""
    product()
    runs, t0 = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - t0 < seconds:
        product()
        runs += 1
    return flops * runs / (time.perf_counter() - t0) / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads; NumPy follows OPENBLAS_NUM_THREADS")
    a = p.parse_args()
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    print("load %.2f, OPENBLAS_NUM_THREADS=%s, torch threads %d" % (
        os.getloadavg()[0], os.environ.get("OPENBLAS_NUM_THREADS"), torch.get_num_threads()))
    rng = np.random.default_rng(0)
    for name, (m, k, n) in SHAPES.items():
        x = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((k, n), dtype=np.float32)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        flops = 2 * m * k * n
        print("%-20s [%d,%d]x[%d,%d]: numpy %6.1f GFLOP/s, torch %6.1f GFLOP/s" % (
            name, m, k, k, n, gflops(lambda: x @ w, flops), gflops(lambda: tx @ tw, flops)), flush=True)


if __name__ == "__main__":
    main()
