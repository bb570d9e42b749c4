"""Training throughput of the encoder-decoders of chapters 7 and 8 on the CPU, in PyTorch eager
or in the book's own NumPy code, at the sizes `rnnlm seq2seq bench` uses: train_seq2seq.py's
(batches of 128 questions of 7 characters and answers of 5, V 13, D 16, H 128) and, for
attention, ch08/train.py's on date.txt (questions of 29, answers of 11, V 59, D 16, H 256);
each iteration forward (teacher forcing), backward, global clipping at 5.0 and Adam at 1e-3.

  seq2seq            Embedding -> LSTM encoder; Embedding -> LSTM from its last h -> Affine
  peeky-seq2seq      the decoder also reads the encoder's h at every step and in its affine layer
  attention-seq2seq  the affine layer reads [context, h], the context a softmax-weighted sum of
                     every encoder state (scores hs . h): two bmm per batch in PyTorch

A token is one encoder or decoder time step of one question (Tq + Ta - 1). Prints one line: median
ms per iteration and per phase, tokens/s. With --impl numpy and no book code to be had,
prints "skipped: no book code" and exits 0.

  python bench/seq2seq_speed.py --impl torch --model seq2seq --iters 100
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SIZES = {"addition": (128, 7, 5, 13, 16, 128), "date": (128, 29, 11, 59, 16, 256)}


def sizes(model):
    """(N, Tq, Ta, V, D, H) of the book's runs of `model`."""
    return SIZES["date" if model == "attention-seq2seq" else "addition"]


def torch_step(a, batches):
    import torch
    from torch import nn

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    N, TQ, TA, V, D, H = sizes(a.model)
    peeky = a.model == "peeky-seq2seq"
    attention = a.model == "attention-seq2seq"

    class Seq2seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_embed = nn.Embedding(V, D)
            self.enc = nn.LSTM(D, H, batch_first=True)
            self.dec_embed = nn.Embedding(V, D)
            self.dec = nn.LSTM(D + (H if peeky else 0), H, batch_first=True)
            self.affine = nn.Linear(H + (H if peeky or attention else 0), V)

        def forward(self, xs, ts):
            hs, (h, _) = self.enc(self.enc_embed(xs))  # hs: [N, Tq, H], h: [1, N, H]
            dx = self.dec_embed(ts[:, :-1])
            T = dx.shape[1]
            peek = h.transpose(0, 1).expand(-1, T, -1)
            if peeky:
                dx = torch.cat([peek, dx], 2)
            out, _ = self.dec(dx, (h, torch.zeros_like(h)))
            if peeky:
                out = torch.cat([peek, out], 2)
            if attention:
                weights = torch.softmax(torch.bmm(out, hs.transpose(1, 2)), dim=2)  # [N, Ta-1, Tq]
                out = torch.cat([torch.bmm(weights, hs), out], 2)
            scores = self.affine(out)
            return nn.functional.cross_entropy(scores.reshape(-1, V), ts[:, 1:].reshape(-1))

    model = Seq2seq()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [(torch.from_numpy(x).long(), torch.from_numpy(t).long()) for x, t in batches]
    it = [0]

    def step():
        xs, ts = batches[it[0] % len(batches)]
        it[0] += 1
        t0 = harness.clock()
        loss = model(xs, ts)
        loss.item()
        opt.zero_grad()
        loss.backward()
        t1 = harness.clock()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        t2 = harness.clock()
        opt.step()
        t3 = harness.clock()
        return t0, t1, t2, t3

    return step, "PyTorch %s eager, %d threads" % (torch.__version__, torch.get_num_threads())


def numpy_step(a, batches):
    import numpy as np

    harness.import_book()
    folder = harness.book_dir()
    for sub in ("ch07", "ch08"):
        sys.path.insert(0, os.path.join(folder, sub))
    from common.optimizer import Adam
    from common.util import clip_grads
    from seq2seq import Seq2seq
    from peeky_seq2seq import PeekySeq2seq
    from attention_seq2seq import AttentionSeq2seq

    np.random.seed(0)
    N, TQ, TA, V, D, H = sizes(a.model)
    kinds = {"seq2seq": Seq2seq, "peeky-seq2seq": PeekySeq2seq, "attention-seq2seq": AttentionSeq2seq}
    model = kinds[a.model](V, D, H)
    opt = Adam()
    it = [0]

    def step():
        xs, ts = batches[it[0] % len(batches)]
        it[0] += 1
        t0 = harness.clock()
        model.forward(xs, ts)
        model.backward()
        t1 = harness.clock()
        clip_grads(model.grads, 5.0)
        t2 = harness.clock()
        opt.update(model.params, model.grads)
        t3 = harness.clock()
        return t0, t1, t2, t3

    return step, "the book's NumPy %s" % np.__version__


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=["torch", "numpy"], required=True)
    p.add_argument("--model", choices=["seq2seq", "peeky-seq2seq", "attention-seq2seq"], default="seq2seq")
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (torch only)")
    a = p.parse_args()

    import numpy as np

    N, TQ, TA, V, D, H = sizes(a.model)
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, V, (N, TQ)), rng.integers(0, V, (N, TA))) for _ in range(8)]
    try:
        step, what = (torch_step if a.impl == "torch" else numpy_step)(a, batches)
    except harness.NoBookCode as e:
        print("%s %s: skipped: no book code (%s)" % (a.impl, a.model, e))
        return
    fwd, clip, opt, total = harness.time_steps(step, a.warmup, a.iters)
    print("%s, %s (N %d, Tq %d, Ta %d, D %d, H %d, V %d): median ms per iteration %.2f "
          "(forward+backward %.2f, clip %.2f, adam %.2f), tokens/s %.0f"
          % (what, a.model, N, TQ, TA, D, H, V, total, fwd, clip, opt, N * (TQ + TA - 1) / (total / 1000)))


if __name__ == "__main__":
    main()
