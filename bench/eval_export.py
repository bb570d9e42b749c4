"""Scores a weights file written by `rnnlm export` (.npz) with the book's own NumPy code: the
book's SimpleRnnlm or Rnnlm with the file's arrays, and the book's eval_perplexity on a PTB
split. The arrays are named and ordered as the book's parameters, so they load one to one.

  python bench/eval_export.py export/simple-rnnlm.npz --split test
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="an .npz written by rnnlm export (rnn or lstm)")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test")
    a = p.parse_args()

    import numpy as np

    try:
        harness.import_book()
    except harness.NoBookCode as e:
        sys.exit("no book code: %s" % e)
    from common.util import eval_perplexity

    w = np.load(a.weights)
    V, D = w["embed.W"].shape
    if "rnn.Wh" in w.files:
        from simple_rnnlm import SimpleRnnlm
        model = SimpleRnnlm(V, D, w["rnn.Wh"].shape[0])
    elif "lstm.Wh" in w.files:
        from rnnlm import Rnnlm
        model = Rnnlm(V, D, w["lstm.Wh"].shape[0])
    else:
        sys.exit("%s holds neither rnn.* nor lstm.* (names: %s)" % (a.weights, ", ".join(w.files)))
    for param, name in zip(model.params, w.files):  # both in the book's order
        param[...] = w[name]
    corpus, _ = harness.load_ptb(a.split)
    print("%s perplexity: %r" % (a.split, float(eval_perplexity(model, corpus))))


if __name__ == "__main__":
    main()
