"""Replays an `rnnlm seq2seq train` run with the book's own code: the book's Seq2seq,
PeekySeq2seq or AttentionSeq2seq started from the run's starting weights (the run folder's init.safetensors,
or an .npz by the book's names as `rnnlm seq2seq export` writes), trained by the book's
Trainer.fit one epoch at a time after numpy.random.seed(SEED), as train_seq2seq.py does,
and scored by the book's eval_seq2seq on every test question. Prints, per epoch, the mean
training loss over the epoch's batches and the test accuracy (tests/chapter7.rs and
tests/chapter8.rs hold these numbers).

  python bench/seq2seq_book.py artifacts/seq2seq/init.safetensors --seed 0 --epochs 2
  python bench/seq2seq_book.py RUN/init.safetensors --data date --reverse --epochs 2
"""
import argparse
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NAMES = ["encoder.embed.W", "encoder.lstm.Wx", "encoder.lstm.Wh", "encoder.lstm.b",
         "decoder.embed.W", "decoder.lstm.Wx", "decoder.lstm.Wh", "decoder.lstm.b",
         "decoder.affine.W", "decoder.affine.b"]


def read_weights(path):
    """The tensors of an .npz or a float32 .safetensors file, by name."""
    import numpy as np

    if path.endswith(".npz"):
        w = np.load(path)
        return {n: w[n] for n in w.files}
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit("%s: %s is %s, not F32" % (path, name, info["dtype"]))
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"]).copy()
    return out


def widen(model):
    """Every parameter and gradient of the book's `model` in float64, wherever a layer holds it
    (its params and grads lists, and attributes such as TimeEmbedding's W): one new array for
    each old one, so what the layers share they still share. The layers still allocate some
    outputs as float32 (TimeLSTM's hs and dxs, dtype='f')."""
    import numpy as np

    objects, seen = [], set()

    def collect(obj):
        if id(obj) in seen or not hasattr(obj, "__dict__"):
            return
        seen.add(id(obj))
        objects.append(obj)
        for value in vars(obj).values():
            for item in value if isinstance(value, list) else [value]:
                collect(item)

    collect(model)
    wide = {}
    for obj in objects:
        for key in ("params", "grads"):
            for x in getattr(obj, key, None) or []:
                wide.setdefault(id(x), x.astype(np.float64))
    for obj in objects:
        for key, value in vars(obj).items():
            if isinstance(value, list):
                value[:] = [wide.get(id(x), x) if isinstance(x, np.ndarray) else x for x in value]
            elif isinstance(value, np.ndarray) and id(value) in wide:
                setattr(obj, key, wide[id(value)])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="init.safetensors of a run folder, or an .npz by the book's names")
    p.add_argument("--seed", type=int, default=0, help="the run's --seed")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--reverse", action="store_true", help="the run's --reverse")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--data", choices=["addition", "date"], default="addition", help="the run's --data")
    p.add_argument("--float64", action="store_true",
                   help="train the book's model in float64 (the same weights, widened): how far f32 rounding alone moves it")
    a = p.parse_args()

    import numpy as np

    try:
        folder = harness.book_dir()
    except harness.NoBookCode as e:
        sys.exit("no book code: %s" % e)
    for sub in ("ch07", "ch08", ""):
        sys.path.insert(0, os.path.join(folder, sub))
    try:
        import matplotlib.pyplot  # noqa: F401  (the book's trainer imports it to plot)
    except ImportError:
        import types
        sys.modules["matplotlib"] = types.ModuleType("matplotlib")
        sys.modules["matplotlib.pyplot"] = sys.modules["matplotlib"].pyplot = types.ModuleType("matplotlib.pyplot")
    from dataset import sequence
    from common.optimizer import Adam
    from common.trainer import Trainer
    from common.util import eval_seq2seq
    from seq2seq import Seq2seq
    from peeky_seq2seq import PeekySeq2seq
    from attention_seq2seq import AttentionSeq2seq

    (x_train, t_train), (x_test, t_test) = sequence.load_data(a.data + ".txt")
    char_to_id, id_to_char = sequence.get_vocab()
    if a.reverse:
        x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    w = read_weights(a.weights)
    if "encoder.backward_lstm.Wx" in w:
        sys.exit("%s is a bidirectional encoder's: the book's code has no such model" % a.weights)
    V, D = w["encoder.embed.W"].shape
    H = w["encoder.lstm.Wh"].shape[0]
    if w["decoder.affine.W"].shape[0] != 2 * H:
        model = Seq2seq(V, D, H)
    elif w["decoder.lstm.Wx"].shape[0] == D:
        model = AttentionSeq2seq(V, D, H)
    else:
        model = PeekySeq2seq(V, D, H)
    for param, name in zip(model.params, NAMES):
        if param.shape != w[name].shape:
            sys.exit("%s is %s in the file, %s in the book's model" % (name, w[name].shape, param.shape))
        param[...] = w[name]
    if a.float64:
        widen(model)

    losses = []
    forward = model.forward

    def recording_forward(xs, ts):
        loss = forward(xs, ts)
        losses.append(float(loss))
        return loss

    model.forward = recording_forward
    trainer = Trainer(model, Adam())
    np.random.seed(a.seed)
    print("%s from %s, seed %d%s" % (type(model).__name__, a.weights, a.seed, ", reversed" if a.reverse else ""))
    for epoch in range(1, a.epochs + 1):
        start = time.time()
        losses.clear()
        trainer.fit(x_train, t_train, max_epoch=1, batch_size=a.batch_size, max_grad=5.0, eval_interval=None)
        correct = sum(eval_seq2seq(model, x_test[[i]], t_test[[i]], id_to_char, False, a.reverse)
                      for i in range(len(x_test)))
        print("| epoch %d | train loss %.6f | valid accuracy %.3f%% | %.1f s |"
              % (epoch, sum(losses) / len(losses), 100.0 * correct / len(x_test), time.time() - start))


if __name__ == "__main__":
    main()
