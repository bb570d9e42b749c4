#!/usr/bin/env bash
# Chapter 7's encoder-decoders: rnnlm against PyTorch eager and the book's NumPy code at
# train_seq2seq.py's sizes, measured in one run on this machine (speed claims are ratios from
# one run). Then one epoch with its evaluation of the 5,000 test questions, rnnlm's and the
# book's own (bench/seq2seq_book.py, from the same starting weights and order).
# The Python side as for bench/side_by_side.sh (bench/requirements.txt); the book's code from
# $BOOK_DIR, else data/book/code.
# Usage: bench/seq2seq_side_by_side.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/var/tmp/bench-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rnnlm-target}
iters=300; epochs=2
[ "${1:-}" = quick ] && { iters=50; epochs=1; }

# Build first, and fetch addition.txt before anything is timed.
cargo build --quiet --features ndarray
rnnlm="$CARGO_TARGET_DIR/debug/rnnlm"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
"$rnnlm" seq2seq train --epochs 1 --batch-size 45000 --hidden-size 4 --artifacts "$run/warm" --backend flex > /dev/null

for model in seq2seq peeky-seq2seq; do
  echo "== $model, training iterations (median ms, tokens/s)"
  "$rnnlm" seq2seq bench --model $model --backend flex --iters $iters | grep -E "bench|per iteration|per phase|tokens/s"
  "$PY" bench/seq2seq_speed.py --impl torch --model $model --iters $iters
  "$PY" bench/seq2seq_speed.py --impl numpy --model $model --iters $iters
done

echo "== an epoch and its evaluation of the 5,000 test questions (seconds per epoch)"
echo "-- rnnlm seq2seq train (Flex)"
"$rnnlm" seq2seq train --epochs $epochs --backend flex --artifacts "$run/run" | grep "^| epoch"
echo "-- the book's Trainer.fit and eval_seq2seq, from the same weights and order"
"$PY" bench/seq2seq_book.py "$run/run/init.safetensors" --seed 0 --epochs $epochs | grep "^| epoch"
