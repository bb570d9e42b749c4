#!/usr/bin/env bash
# rnnlm and PyTorch eager in turn, three rounds, on the models chapter 6 trains
# and chapter 5's (`seed` is the notebook's sizes), then the peak memory of
# `better-lstm` at `big` and one epoch of `train --preset ch6-rnnlm` (and, with BETTER_EPOCH=1, of
# `--preset ch6-better`: another 15 minutes). Speed claims are the ratios of
# one run on an idle machine. Usage: bench/rounds.sh [RNNLM_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/var/tmp/bench-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rnnlm-target}
if [ $# -ge 1 ]; then R=$1; else cargo build --quiet --features ndarray; R=$CARGO_TARGET_DIR/debug/rnnlm; fi
"$R" reference --epochs 1 --corpus-size 51 > /dev/null # PTB, before the clock starts
export PTB_DIR=${PTB_DIR:-$PWD/data/ptb}
median() { grep -oE 'median ms per iteration [0-9.]+|ms per iteration: median [0-9.]+' | grep -oE '[0-9.]+$'; }
for i in 1 2 3; do
  echo "== round $i (median ms per iteration: rnnlm, PyTorch)"
  # `better-lstm big sgd` is the iteration of `train --preset ch6-better`.
  for run in "rnn seed 300 adam" "lstm seed 300 adam" "rnn big 10 adam" "lstm big 6 adam" "better-lstm big 6 adam" \
    "better-lstm big 6 sgd" "lstm ch6 50 sgd"; do
    set -- $run
    ours=$("$R" bench --backend flex --model "$1" --preset "$2" --iters "$3" --optimizer "$4" 2>/dev/null | median)
    theirs=$("$PY" bench/throughput.py --impl torch --model "$1" --preset "$2" --iters "$3" --optimizer "$4" 2>&1 | median)
    echo "$1 $2 $4: $ours $theirs"
  done
done
echo "== peak memory (maximum resident set size, kB), better-lstm big, 6 iterations: rnnlm, PyTorch"
/usr/bin/time -v "$R" bench --backend flex --preset big --model better-lstm --iters 6 2>&1 | grep "Maximum resident"
/usr/bin/time -v "$PY" bench/throughput.py --impl torch --model better-lstm --preset big --iters 6 2>&1 | grep "Maximum resident"
echo "== one epoch of train --preset ch6-rnnlm (training and validation)"
run=$(mktemp -d); "$R" train --preset ch6-rnnlm --epochs 1 --artifacts "$run/run" 2>/dev/null | tail -1; rm -rf "$run"
if [ "${BETTER_EPOCH:-0}" = 1 ]; then
  echo "== one epoch of train --preset ch6-better (training and validation)"
  run=$(mktemp -d); "$R" train --preset ch6-better --epochs 1 --artifacts "$run/run" 2>/dev/null | tail -1; rm -rf "$run"
fi
