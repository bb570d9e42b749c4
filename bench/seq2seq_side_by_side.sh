#!/usr/bin/env bash
# Chapters 7 and 8's encoder-decoders: rnnlm against PyTorch eager and the book's NumPy code,
# in turn, three rounds, in one run on this machine (speed claims are ratios from one run):
# seq2seq and Peeky at train_seq2seq.py's sizes, attention at ch08/train.py's. Then an epoch
# with its scoring of the test questions, rnnlm's and the book's own (bench/seq2seq_book.py,
# from the same starting weights and order): seq2seq on addition, attention on dates.
# The Python side as for bench/side_by_side.sh (bench/requirements.txt); the book's code from
# $BOOK_DIR, else data/book/code. Takes about 25 minutes on 2 cores (quick: about 6).
# Usage: bench/seq2seq_side_by_side.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/var/tmp/bench-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rnnlm-target}
rounds=3; iters=300; attention_iters=60; epochs=2
[ "${1:-}" = quick ] && { rounds=1; iters=50; attention_iters=15; epochs=1; }

# Build first, and fetch addition.txt and date.txt before anything is timed.
cargo build --quiet --features ndarray
rnnlm="$CARGO_TARGET_DIR/debug/rnnlm"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
for data in addition date; do
  "$rnnlm" seq2seq train --data $data --epochs 1 --batch-size 45000 --hidden-size 4 --artifacts "$run/warm-$data" --backend flex > /dev/null
done

tokens() { grep -oE 'tokens/s:? [0-9.]+' | grep -oE '[0-9.]+$'; }
for round in $(seq $rounds); do
  echo "== round $round: training iterations, tokens/s (rnnlm, PyTorch eager, the book's NumPy)"
  for model in seq2seq peeky-seq2seq attention-seq2seq; do
    n=$iters; [ $model = attention-seq2seq ] && n=$attention_iters
    ours=$("$rnnlm" seq2seq bench --model $model --backend flex --iters $n | tokens)
    torch=$("$PY" bench/seq2seq_speed.py --impl torch --model $model --iters $n | tokens)
    numpy=$("$PY" bench/seq2seq_speed.py --impl numpy --model $model --iters $((n / 4 + 1)) | tokens)
    awk -v m=$model -v a="$ours" -v b="$torch" -v c="$numpy" \
      'BEGIN { printf "%s: %d, %d (%.2fx), %d (%.2fx)\n", m, a, b, a / b, c, a / c }'
  done
done

echo "== an epoch and its evaluation of the test questions (seconds per epoch)"
echo "-- seq2seq on addition.txt: rnnlm seq2seq train (Flex), $epochs epochs"
"$rnnlm" seq2seq train --epochs $epochs --backend flex --artifacts "$run/run" | grep "^| epoch"
echo "-- the book's Trainer.fit and eval_seq2seq, from the same weights and order"
"$PY" bench/seq2seq_book.py "$run/run/init.safetensors" --seed 0 --epochs $epochs | grep "^| epoch"
echo "-- attention-seq2seq on date.txt, reversed: rnnlm seq2seq train (Flex), 1 epoch"
"$rnnlm" seq2seq train --model attention-seq2seq --data date --reverse --epochs 1 --backend flex \
  --artifacts "$run/date" | grep "^| epoch"
echo "-- the book's Trainer.fit and eval_seq2seq, from the same weights and order"
"$PY" bench/seq2seq_book.py "$run/date/init.safetensors" --data date --reverse --seed 0 --epochs 1 | grep "^| epoch"
