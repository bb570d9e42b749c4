"""Training throughput of the book's models on the CPU, in PyTorch eager or in the book's own
NumPy code, on the batches and sizes `rnnlm bench` uses: full Penn Treebank, the book's
batching with the state carried (and detached) from batch to batch, global gradient clipping,
and Adam (lr 1e-3, clip 5, as `rnnlm bench`) or the book's chapter-6 SGD (lr 20, clip 0.25).

Models, as `rnnlm bench --model`:
  rnn          SimpleRnnlm: Embedding -> tanh RNN -> Affine
  lstm         Rnnlm: Embedding -> LSTM -> Affine
  better-lstm  BetterRnnlm: Embedding -> Dropout -> LSTM -> Dropout -> LSTM -> Dropout -> Affine
               tied to the embedding (needs D = H)

Prints one line: median ms per iteration and per phase, tokens/s, and the GFLOP/s of the
matrix products. With --impl numpy and no book code to be had, prints "skipped: no book code"
and exits 0.

  python bench/throughput.py --impl torch --model lstm --preset big --threads 2 --iters 10
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def matmul_flops(model, N, T, V, D, H):
    """FLOPs (2 per multiply-add) of the matrix products of one iteration: forward, and a
    backward of twice the forward's."""
    gates = {"rnn": 1, "lstm": 4, "better-lstm": 4}[model]
    layers = 2 if model == "better-lstm" else 1
    forward, d_in = 0, D
    for _ in range(layers):
        forward += 2 * N * T * (d_in + H) * gates * H
        d_in = H
    forward += 2 * N * T * H * V
    return 3 * forward


def torch_step(a, V, D, H, batches):
    import torch
    from torch import nn

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tied = a.model == "better-lstm"
    layers = 2 if tied else 1

    class Lm(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, D)
            self.drop = nn.Dropout(a.dropout if tied else 0.0)
            if a.model == "rnn":
                self.rnn = nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
            else:
                self.rnn = nn.LSTM(D, H, num_layers=layers, dropout=a.dropout if tied else 0.0, batch_first=True)
            self.affine = nn.Linear(H, V)
            if tied:
                self.affine.weight = self.embed.weight

        def forward(self, x, state):
            hs, state = self.rnn(self.drop(self.embed(x)), state)
            return self.affine(self.drop(hs)), state

    model = Lm().train()
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=a.lr) if a.optimizer == "adam" else torch.optim.SGD(params, lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    carried = [None]

    def detach(state):
        if state is None:
            return None
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def step():
        bx, bt = batches.next()
        x, t = torch.from_numpy(bx).long(), torch.from_numpy(bt).long()
        t0 = harness.clock()
        scores, carried[0] = model(x, detach(carried[0]))
        loss = loss_fn(scores.reshape(-1, V), t.reshape(-1))
        t1 = harness.clock()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = harness.clock()
        torch.nn.utils.clip_grad_norm_(params, a.max_grad)
        t3 = harness.clock()
        optimizer.step()
        return t0, t1, t2, t3, harness.clock()

    return step, "PyTorch %s eager, %d threads" % (torch.__version__, torch.get_num_threads())


def numpy_step(a, V, D, H, batches):
    import numpy as np

    harness.import_book()
    from common.optimizer import SGD, Adam
    from common.util import clip_grads

    np.random.seed(a.seed)
    if a.model == "rnn":
        from simple_rnnlm import SimpleRnnlm
        model = SimpleRnnlm(V, D, H)
    elif a.model == "lstm":
        from rnnlm import Rnnlm
        model = Rnnlm(V, D, H)
    else:
        from better_rnnlm import BetterRnnlm
        model = BetterRnnlm(V, D, H, a.dropout)
    optimizer = Adam(a.lr) if a.optimizer == "adam" else SGD(a.lr)
    tied = a.model == "better-lstm"

    def step():
        bx, bt = batches.next()
        t0 = harness.clock()
        model.forward(bx, bt)
        t1 = harness.clock()
        model.backward()
        t2 = harness.clock()
        params, grads = model.params, model.grads
        if tied:
            # What the book's Trainer does with remove_duplicate: the affine layer's
            # weight is embed.W transposed, and its gradient adds to embed.W's.
            grads = list(grads)
            grads[0] = grads[0] + grads[-2].T
            params, grads = params[:-2] + params[-1:], grads[:-2] + grads[-1:]
        clip_grads(grads, a.max_grad)
        t3 = harness.clock()
        optimizer.update(params, grads)
        return t0, t1, t2, t3, harness.clock()

    return step, "the book's NumPy %s" % np.__version__


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=["torch", "numpy"], required=True)
    p.add_argument("--model", choices=["rnn", "lstm", "better-lstm"], default="rnn")
    p.add_argument("--preset", choices=sorted(harness.PRESETS), default="big", help="N, T, D, H as rnnlm bench --preset")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="adam: lr 1e-3, clip 5; sgd: lr 20, clip 0.25")
    p.add_argument("--iters", type=int, default=10, help="timed iterations")
    p.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (torch only)")
    p.add_argument("--dropout", type=float, default=0.5, help="better-lstm's dropout ratio")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    a.lr, a.max_grad = (1e-3, 5.0) if a.optimizer == "adam" else (20.0, 0.25)

    N, T, D, H = harness.PRESETS[a.preset]
    corpus, vocab = harness.load_ptb("train")
    V = len(vocab)
    batches = harness.Batches(corpus, N, T)
    make = torch_step if a.impl == "torch" else numpy_step
    try:
        step, what = make(a, V, D, H, batches)
    except harness.NoBookCode as e:
        print("%s %s %s: skipped: no book code (%s)" % (a.impl, a.model, a.preset, e))
        return
    fwd, bwd, clip, opt, total = harness.time_steps(step, a.warmup, a.iters)
    flops = matmul_flops(a.model, N, T, V, D, H)
    print("%s, %s %s (N %d, T %d, D %d, H %d, V %d, %s): median ms per iteration %.2f "
          "(forward %.2f, backward %.2f, clip %.2f, %s %.2f); tokens/s: %.0f; matmul %.1f GFLOP/s"
          % (what, a.model, a.preset, N, T, D, H, V, a.optimizer, total, fwd, bwd, clip, a.optimizer, opt,
             N * T / (total / 1000), flops / (total / 1000) / 1e9))


if __name__ == "__main__":
    main()
