"""Scores the book's trained ch08/AttentionSeq2seq.pkl with the book's own code, as
ch08/train.py scores its model after training: date.txt's test split with the questions
reversed, the book's eval_seq2seq on every question (greedy accuracy), and the book's
teacher-forced loss, model.forward(x_test, t_test), over the whole split.
tests/chapter8.rs holds the numbers it prints.

  python bench/attention_book.py            # the .pkl from BOOK_DIR, else downloaded
  python bench/attention_book.py --pkl PATH
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pkl", help="the book's AttentionSeq2seq.pkl [default: BOOK_DIR's ch08/]")
    a = p.parse_args()

    try:
        folder = harness.book_dir()
    except harness.NoBookCode as e:
        sys.exit("no book code: %s" % e)
    pkl = a.pkl or os.path.join(os.environ.get("BOOK_DIR", ""), "ch08", "AttentionSeq2seq.pkl")
    if not os.path.exists(pkl):
        sys.exit("no %s: give --pkl or point BOOK_DIR at the book's code" % pkl)
    for sub in ("ch08", ""):
        sys.path.insert(0, os.path.join(folder, sub))
    from dataset import sequence
    from common.util import eval_seq2seq
    from attention_seq2seq import AttentionSeq2seq

    (x_train, t_train), (x_test, t_test) = sequence.load_data("date.txt")
    char_to_id, id_to_char = sequence.get_vocab()
    x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    model = AttentionSeq2seq(len(char_to_id), 16, 256)
    model.load_params(pkl)

    loss = model.forward(x_test, t_test)
    correct = sum(eval_seq2seq(model, x_test[[i]], t_test[[i]], id_to_char, False, True)
                  for i in range(len(x_test)))
    print("AttentionSeq2seq.pkl on date.txt's %d test questions (reversed)" % len(x_test))
    print("test accuracy: %.3f%% (%d of %d)" % (100.0 * correct / len(x_test), correct, len(x_test)))
    print("test loss (teacher forcing): %.6f" % float(loss))
    print("test loss repr: %r" % float(loss))


if __name__ == "__main__":
    main()
