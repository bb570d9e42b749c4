"""The chapter-5 notebook's run, timed: SimpleRnnlm (D = H = 100) on the first 10,000 words of
ptb.train.txt in batches of 10 x 5, Adam lr 1e-3, global clipping at 5, the state carried
across batches and epochs, in PyTorch eager or in the book's own NumPy code. Prints the
training perplexity and seconds of each epoch (training only: no validation pass).

  python bench/seed_run.py --impl numpy --epochs 3
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def numpy_model(a, V):
    import numpy as np

    harness.import_book()
    from common.optimizer import Adam
    from common.util import clip_grads
    from simple_rnnlm import SimpleRnnlm

    np.random.seed(a.seed)
    model, optimizer = SimpleRnnlm(V, a.hidden_size, a.hidden_size), Adam(a.lr)

    def step(bx, bt):
        loss = model.forward(bx, bt)
        model.backward()
        clip_grads(model.grads, a.max_grad)
        optimizer.update(model.params, model.grads)
        return float(loss)

    return step


def torch_model(a, V):
    import torch
    from torch import nn

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    D = H = a.hidden_size
    embed, rnn, affine = nn.Embedding(V, D), nn.RNN(D, H, batch_first=True), nn.Linear(H, V)
    with torch.no_grad():
        # The book's initialisation: N(0, 0.01^2) words, N(0, 1/fan_in) weights, zero biases.
        embed.weight.copy_(torch.randn(V, D) / 100)
        rnn.weight_ih_l0.copy_(torch.randn(H, D) / math.sqrt(D))
        rnn.weight_hh_l0.copy_(torch.randn(H, H) / math.sqrt(H))
        affine.weight.copy_(torch.randn(V, H) / math.sqrt(H))
        for b in (rnn.bias_ih_l0, rnn.bias_hh_l0, affine.bias):
            b.zero_()
    params = [*embed.parameters(), *rnn.parameters(), *affine.parameters()]
    optimizer = torch.optim.Adam(params, lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    carried = [None]

    def step(bx, bt):
        x, t = torch.from_numpy(bx).long(), torch.from_numpy(bt).long()
        h = carried[0].detach() if carried[0] is not None else None
        hs, carried[0] = rnn(embed(x), h)
        loss = loss_fn(affine(hs).reshape(-1, V), t.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.max_grad)
        optimizer.step()
        return loss.item()

    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=["torch", "numpy"], required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (torch only)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    a.corpus_size, a.batch_size, a.time_size, a.hidden_size, a.lr, a.max_grad = 10_000, 10, 5, 100, 1e-3, 5.0

    corpus, vocab = harness.load_ptb("train")
    batches = harness.Batches(corpus[: a.corpus_size], a.batch_size, a.time_size)
    try:
        step = (numpy_model if a.impl == "numpy" else torch_model)(a, len(vocab))
    except harness.NoBookCode as e:
        print("%s seed run: skipped: no book code (%s)" % (a.impl, e))
        return
    for epoch in range(1, a.epochs + 1):
        batches.reset()
        t0, total = harness.clock(), 0.0
        for _ in range(batches.iters_per_epoch):
            total += step(*batches.next())
        seconds = harness.clock() - t0
        print("| epoch %d | perplexity %.2f | %.2f s" % (epoch, math.exp(total / batches.iters_per_epoch), seconds), flush=True)


if __name__ == "__main__":
    main()
