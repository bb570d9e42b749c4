"""What the comparison scripts share (named apart from the book's own `common` package): Penn Treebank with the book's vocabulary, the book's
batches, the book's own NumPy code (found or fetched), and a timer for training steps.

Nothing here is the book's code; the book's layers are imported from BOOK_DIR, or from
data/book/code, fetched there on first use from the book's repository at the commit that
`rnnlm` takes the book's trained model from (src/data/book.rs), each file checked against
its SHA-256.
"""
import hashlib
import os
import statistics
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BOOK_COMMIT = "842ae31c2bb070f5116275606ed90396626a2c17"
BOOK_URL = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/" + BOOK_COMMIT
# The book's files the comparisons import, and their SHA-256 at BOOK_COMMIT.
BOOK_FILES = {
    "common/__init__.py": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "common/config.py": "b443bc71f4917a0bc00dba472e96962a1bd8a1de2ca816513d88105da63d3df7",
    "common/np.py": "4357e3c48ab3ff6c53e8b73fe13dfedc978fa828341f04976980132f0d20a36b",
    "common/functions.py": "3612ce0333eb9d3a4f83e1f8cdfec1d2db81d2f5703cd86a0035fb258019bcb0",
    "common/layers.py": "3409cd58e1202dfd61b7e526fb449783966687ce7edb92d88ad4ab876474faaa",
    "common/time_layers.py": "a434f94584ba569dee5e8fca74ad221bb5d8a51e4cb1e500f5929de896e641d8",
    "common/optimizer.py": "2daf665b903c6aee030e521e4d4d8bf465bef9a2f66ba83f8f6b20efdf1e908d",
    "common/util.py": "d4e2c2a80791fe2e0d65bdceacc4ff9702665082f67722ccc03863219cdf5c27",
    "common/base_model.py": "329208de4a5952e4b006dbf2a0d95f431f431d958108f00646845ba86d0a828d",
    "ch05/simple_rnnlm.py": "acb3d4a771d171ebd46bb5c11d06ca5834723c6bf9a48664f3acedfcb3a866f0",
    "ch06/rnnlm.py": "17d237d1fe8a7aee04c1d7066ee48d3174bd52ad82e55c954cea04ce5f19bef9",
    "ch06/better_rnnlm.py": "39d3b1a4d485faa17344bd73559db611a2523ecaeb947f48c02d0a36f197899d",
    "ch07/seq2seq.py": "13e97ce9cec072ff3ca8a427cdf1e5ccd9941aa90cdf154b9fc9a07255938b2c",
    "ch07/peeky_seq2seq.py": "37a7017f80a4a761e2dbd3c2e0ee9d1bd7dd00ba8931efcbe02f9f6d3f7e6305",
    "common/trainer.py": "c9ad5254f930673b30a7942f935691ec90d1abd5320d9ef7c783d5f139c63603",
    "ch08/attention_layer.py": "2c4055a677ebbe0d2e35300dc21bfdfb167f29750621eadc89e17cc0e656dba7",
    "ch08/attention_seq2seq.py": "f702c13ab09a53520053bdfb166aad1de12c366c83fc68b3fc9cffed8e8c1a65",
    "dataset/__init__.py": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "dataset/sequence.py": "5c0fcee8e5bacb9682fcc617d0d5f3ec1950fdac7c8ef9e30193c5bfbce60804",
    "dataset/addition.txt": "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
    "dataset/date.txt": "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
}

# The sizes of `rnnlm bench --preset` (N, T, D, H); V is PTB's 10,000.
PRESETS = {"seed": (10, 5, 100, 100), "big": (20, 35, 650, 650), "ch6": (20, 35, 100, 100)}


class NoBookCode(Exception):
    """The book's code is neither in BOOK_DIR nor fetchable; the message says why."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def book_dir():
    """A folder holding the book's code: BOOK_DIR if set, else data/book/code in the
    repository, with missing files downloaded there and every file checked."""
    given = os.environ.get("BOOK_DIR")
    folder = given or os.path.join(ROOT, "data", "book", "code")
    for name, digest in BOOK_FILES.items():
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            if given:
                raise NoBookCode("BOOK_DIR=%s has no %s" % (given, name))
            url = "%s/%s" % (os.environ.get("BOOK_URL", BOOK_URL).rstrip("/"), name)
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    data = response.read()
            except OSError as e:
                raise NoBookCode("could not download %s (%s)" % (url, e)) from None
            if _sha256(data) != digest:
                raise NoBookCode("the download of %s has SHA-256 %s, not %s" % (url, _sha256(data), digest))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        with open(path, "rb") as f:
            found = _sha256(f.read())
        if found != digest:
            raise NoBookCode("%s has SHA-256 %s, not the book's %s" % (path, found, digest))
    return folder


def import_book():
    """Puts the book's code on sys.path (its modules import `common.*`)."""
    folder = book_dir()
    for sub in ("ch06", "ch05", ""):
        sys.path.insert(0, os.path.join(folder, sub))


def ptb_dir():
    return os.environ.get("PTB_DIR") or os.path.join(ROOT, "data", "ptb")


def _words(path):
    # The book's dataset/ptb.py: every newline becomes <eos>, then split on whitespace.
    with open(path) as f:
        return f.read().replace("\n", "<eos>").strip().split()


def load_ptb(split="train"):
    """The split as an int32 array of ids, and the vocabulary (ids in order of first
    appearance in ptb.train.txt, as the book's ptb.load_data gives them)."""
    import numpy as np

    if not os.path.exists(os.path.join(ptb_dir(), "ptb.train.txt")):
        sys.exit("no Penn Treebank in %s: set PTB_DIR, or run an rnnlm command that reads it "
                 "(it downloads the files there)" % ptb_dir())
    word_to_id = {}
    for w in _words(os.path.join(ptb_dir(), "ptb.train.txt")):
        word_to_id.setdefault(w, len(word_to_id))
    words = _words(os.path.join(ptb_dir(), "ptb.%s.txt" % split))
    return np.array([word_to_id[w] for w in words], dtype=np.int32), word_to_id


class Batches:
    """The book's training batches (ch05/train_custom_loop.py): row i reads from offset
    i * jump, and every batch moves on by T, modulo the corpus."""

    def __init__(self, corpus, batch_size, time_size):
        import numpy as np

        self.xs, self.ts = corpus[:-1], corpus[1:]
        jump = (len(corpus) - 1) // batch_size
        self.offsets = np.arange(batch_size)[:, None] * jump
        self.steps = np.arange(time_size)[None, :]
        self.time_size = time_size
        self.iters_per_epoch = len(self.xs) // (batch_size * time_size)
        self.time_idx = 0

    def reset(self):
        self.time_idx = 0

    def next(self):
        pos = (self.offsets + self.time_idx + self.steps) % len(self.xs)
        self.time_idx += self.time_size
        return self.xs[pos], self.ts[pos]


def time_steps(step, warmup, iters):
    """Runs `step` warmup times, then iters times; `step` returns its phase end times
    (t0, t1, ..., tn). Returns the median of each phase and of the whole, in ms."""
    for _ in range(warmup):
        step()
    rows = []
    for _ in range(iters):
        t = step()
        rows.append([b - a for a, b in zip(t, t[1:])] + [t[-1] - t[0]])
    return [1000 * statistics.median(col) for col in zip(*rows)]


def clock():
    return time.perf_counter()
