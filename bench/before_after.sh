#!/usr/bin/env bash
# Two rnnlm binaries in turn (a change measured against the commit before
# it), three rounds, every model at every `bench` preset and every
# encoder-decoder at `seq2seq bench`'s sizes, on Flex: tokens/s of each, and
# new / old. Usage: bench/before_after.sh OLD_BINARY NEW_BINARY
# (build each with `cargo build --features ndarray --bin rnnlm` at its commit
# and copy target/debug/rnnlm aside). PRESETS="" skips the language models,
# PRESETS=big times only that preset; SEQ2SEQ="" skips the encoder-decoders
# (a binary from before chapter 7 has none), SEQ2SEQ=attention-seq2seq times one.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
old=$1 new=$2
tokens() { "$1" bench --backend flex --model "$2" --preset "$3" --iters "$4" 2>/dev/null | grep -oE 'tokens/s: [0-9]+' | grep -oE '[0-9]+$'; }
seq2seq_tokens() { "$1" seq2seq bench --backend flex --model "$2" --iters "$3" 2>/dev/null | grep -oE 'tokens/s: [0-9]+' | grep -oE '[0-9]+$'; }
echo "model preset: old tokens/s, new tokens/s, new / old"
for round in 1 2 3; do
  echo "== round $round"
  for preset in ${PRESETS-seed big ch6}; do
    case $preset in seed) iters=400 ;; big) iters=6 ;; ch6) iters=60 ;; esac
    for model in rnn lstm gru better-lstm; do
      a=$(tokens "$old" $model $preset $iters)
      b=$(tokens "$new" $model $preset $iters)
      echo "$model $preset: $a $b $(python3 -c "print(f'{$b / $a:.3f}')")"
    done
  done
  for model in ${SEQ2SEQ-seq2seq peeky-seq2seq attention-seq2seq bi-attention-seq2seq}; do
    case $model in *attention*) iters=40 ;; *) iters=200 ;; esac
    a=$(seq2seq_tokens "$old" $model $iters)
    b=$(seq2seq_tokens "$new" $model $iters)
    echo "$model: $a $b $(python3 -c "print(f'{$b / $a:.3f}')")"
  done
done
