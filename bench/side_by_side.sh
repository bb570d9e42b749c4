#!/usr/bin/env bash
# rnnlm against the book's NumPy code and PyTorch eager, measured in one run
# on this machine (speed claims are ratios from one run on an idle machine).
#
# Needs the Python side set up as ../shared/bench/README.md says:
#   python3 -m venv /var/tmp/bench-venv
#   /var/tmp/bench-venv/bin/pip install numpy torch threadpoolctl
# Usage: bench/side_by_side.sh [quick]   ("quick": fewer iterations)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/var/tmp/bench-venv/bin/python}
SHARED=${SHARED:-../shared}
export BOOK_DIR=${BOOK_DIR:-$SHARED/book}
export PTB_DIR=${PTB_DIR:-$(cd "$SHARED/data/ptb" && pwd)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rnnlm-target}
seed_iters=200; big_iters=15
[ "${1:-}" = quick ] && { seed_iters=50; big_iters=5; }

# Build first: nothing may compile while anything is timed.
cargo build --quiet --features ndarray
rnnlm="$CARGO_TARGET_DIR/debug/rnnlm"

echo "== rnnlm bench (median ms per iteration, tokens/s)"
for backend in flex ndarray; do
  for preset in seed big; do
    iters=$seed_iters; [ $preset = big ] && iters=$big_iters
    echo "-- $backend $preset"
    "$rnnlm" bench --backend $backend --preset $preset --iters $iters | grep -E "per iteration|per phase|tokens/s"
  done
done

echo "== PyTorch eager, 2 threads"
echo "-- seed"
"$PY" "$SHARED/bench/throughput_big.py" --impl torch --threads 2 --batch-size 10 --time-size 5 \
  --wordvec-size 100 --hidden-size 100 --iters $seed_iters --warmup 10 | tail -n 4
echo "-- big"
"$PY" "$SHARED/bench/throughput_big.py" --impl torch --threads 2 --iters $big_iters | tail -n 4

echo "== the book's NumPy code"
echo "-- seed"
"$PY" "$SHARED/bench/throughput_big.py" --impl numpy --batch-size 10 --time-size 5 \
  --wordvec-size 100 --hidden-size 100 --iters $seed_iters --warmup 10 | tail -n 4
echo "-- big"
"$PY" "$SHARED/bench/throughput_big.py" --impl numpy --iters $big_iters | tail -n 4

echo "== the notebook's run, 3 epochs: seconds per epoch"
echo "-- book NumPy (training only)"
"$PY" "$SHARED/bench/numpy_seed_run.py" --epochs 3 | tail -n 4
echo "-- PyTorch eager (training only)"
"$PY" "$SHARED/bench/torch_seed_run.py" --epochs 3 --threads 2 | tail -n 4
run=$(mktemp -d)
echo "-- rnnlm train, default backend (training + validation over ptb.valid)"
"$rnnlm" train --epochs 3 --artifacts "$run/run" | cat
rm -rf "$run"
