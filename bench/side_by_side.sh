#!/usr/bin/env bash
# rnnlm against the book's NumPy code and PyTorch eager, measured in one run
# on this machine (speed claims are ratios from one run on an idle machine).
#
# The Python side, once (bench/requirements.txt):
#   python3 -m venv /var/tmp/bench-venv
#   /var/tmp/bench-venv/bin/pip install -r bench/requirements.txt
# The book's NumPy code comes from $BOOK_DIR, else data/book/code (fetched on
# first use, bench/harness.py); without it those rows say "skipped: no book code".
# Usage: bench/side_by_side.sh [quick]   ("quick": fewer iterations)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/var/tmp/bench-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rnnlm-target}
seed_iters=200; big_iters=15; lstm_iters=10; ch6_iters=100
[ "${1:-}" = quick ] && { seed_iters=50; big_iters=5; lstm_iters=3; ch6_iters=20; }

# Build first: nothing may compile while anything is timed. Penn Treebank
# (data/ptb, or $PTB_DIR) is fetched before the clock starts too, by the
# cheapest command that reads it (one reference iteration and a validation).
cargo build --quiet --features ndarray
rnnlm="$CARGO_TARGET_DIR/debug/rnnlm"
"$rnnlm" reference --epochs 1 --corpus-size 51 > /dev/null
export PTB_DIR=${PTB_DIR:-$PWD/data/ptb}

echo "== rnnlm bench (median ms per iteration, tokens/s)"
for backend in flex ndarray; do
  for preset in seed big; do
    iters=$seed_iters; [ $preset = big ] && iters=$big_iters
    echo "-- $backend rnn $preset"
    "$rnnlm" bench --backend $backend --preset $preset --iters $iters | grep -E "per iteration|per phase|tokens/s"
  done
done
for model in lstm better-lstm; do
  echo "-- flex $model big"
  "$rnnlm" bench --backend flex --preset big --model $model --iters $lstm_iters | grep -E "per iteration|per phase|tokens/s"
done
# Chapter 6's own run: train_rnnlm.py's sizes and its SGD (lr 20, clip 0.25).
echo "-- flex lstm ch6 sgd"
"$rnnlm" bench --backend flex --preset ch6 --model lstm --optimizer sgd --iters $ch6_iters | grep -E "per iteration|per phase|tokens/s"

for impl in torch numpy; do
  echo "== $impl (torch: PyTorch eager, 2 threads; numpy: the book's code)"
  "$PY" bench/throughput.py --impl $impl --model rnn --preset seed --iters $seed_iters --warmup 10
  "$PY" bench/throughput.py --impl $impl --model rnn --preset big --iters $big_iters
  for model in lstm better-lstm; do
    "$PY" bench/throughput.py --impl $impl --model $model --preset big --iters $lstm_iters
  done
  "$PY" bench/throughput.py --impl $impl --model lstm --preset ch6 --optimizer sgd --iters $ch6_iters
done

echo "== the notebook's run, 3 epochs: seconds per epoch"
echo "-- book NumPy (training only)"
"$PY" bench/seed_run.py --impl numpy --epochs 3
echo "-- PyTorch eager (training only)"
"$PY" bench/seed_run.py --impl torch --epochs 3
run=$(mktemp -d)
echo "-- rnnlm train, default backend (training + validation over ptb.valid)"
"$rnnlm" train --epochs 3 --artifacts "$run/run" | cat
rm -rf "$run"
