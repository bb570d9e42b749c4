"""Prints the SHA-256 of the book's chapter-7 and -8 splits, as the book's own
dataset/sequence.py makes them: x_train, t_train, x_test, t_test of addition.txt
and date.txt, each as little-endian int32 (tests/chapter7.rs holds these hashes).

  python bench/sequence_split.py
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    try:
        folder = harness.book_dir()
    except harness.NoBookCode as e:
        sys.exit("no book code: %s" % e)
    sys.path.insert(0, folder)
    from dataset import sequence

    for name in ("addition.txt", "date.txt"):
        sequence.char_to_id.clear()  # the book's vocabulary is global to the module
        sequence.id_to_char.clear()
        (x_train, t_train), (x_test, t_test) = sequence.load_data(name)
        print(name, "V=%d" % len(sequence.char_to_id))
        for label, a in (("x_train", x_train), ("t_train", t_train), ("x_test", x_test), ("t_test", t_test)):
            print("  %s %s %s" % (label, a.shape, hashlib.sha256(a.astype("<i4").tobytes()).hexdigest()))


if __name__ == "__main__":
    main()
