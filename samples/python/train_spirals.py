#!/usr/bin/env python3
"""train_mlp's two spirals in PyTorch, with actlayer's modules: a 2-64-64-2 MLP trained by
full-batch Adam once per activation, on the GPU when PyTorch has one (--device), else the CPU.

The model is written against `nn`; the one line that picks actlayer is the import below
(`from torch import nn` trains the same model with PyTorch's own activations; --torch does it).

    PYTHONPATH=build/python /usr/bin/python3 samples/python/train_spirals.py
"""
import argparse
import math
import sys
import time

import torch

from actlayer_torch import nn

ACTIVATIONS = {
    "tanh": lambda n: n.Tanh(), "relu": lambda n: n.ReLU(), "leaky_relu": lambda n: n.LeakyReLU(0.1),
    "prelu": lambda n: n.PReLU(64), "rrelu": lambda n: n.RReLU(), "gelu": lambda n: n.GELU(),
    "silu": lambda n: n.SiLU(), "elu": lambda n: n.ELU(), "sigmoid": lambda n: n.Sigmoid(),
}


def spirals(n, seed):
    """n points, alternately on two spirals: angle 2.5 pi t (+ pi for the second), radius
    0.1 + 0.9 t, t ~ U[0, 1], plus N(0, 0.03) noise (train_mlp's data)."""
    g = torch.Generator().manual_seed(seed)
    label = torch.arange(n) % 2
    t = torch.rand(n, generator=g)
    angle = 2.5 * math.pi * t + math.pi * label
    r = 0.1 + 0.9 * t
    x = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1)
    return x + 0.03 * torch.randn(n, 2, generator=g), label


def run(n, name, data, args, device):
    torch.manual_seed(0)
    model = n.Sequential(n.Linear(2, 64), ACTIVATIONS[name](n), n.Linear(64, 64),
                         ACTIVATIONS[name](n), n.Linear(64, 2)).to(device)
    (x, y), (tx, ty) = [(a.to(device), b.to(device)) for a, b in data]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    start, to90 = time.perf_counter(), None
    for epoch in range(1, args.epochs + 1):
        model.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if to90 is None and epoch % 10 == 0:
            model.eval()
            with torch.no_grad():
                if (model(tx).argmax(1) == ty).float().mean() >= 0.9:
                    to90 = epoch
    model.eval()
    with torch.no_grad():
        train_acc = float((model(x).argmax(1) == y).float().mean())
        test_acc = float((model(tx).argmax(1) == ty).float().mean())
    return train_acc, test_acc, loss.item(), to90, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--epochs", type=int, default=1500)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--activations", default="tanh,relu,prelu,rrelu,gelu")
    p.add_argument("--torch", action="store_true", help="PyTorch's own modules (for comparison)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless every activation reaches 90%% test accuracy")
    args = p.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    names = args.activations.split(",")
    unknown = [a for a in names if a not in ACTIVATIONS]
    if unknown:
        p.error(f"unknown activation {unknown[0]!r}: one of {', '.join(ACTIVATIONS)}")
    n = torch.nn if args.torch else nn
    data = spirals(args.points, 1), spirals(args.points, 2)
    print(f"two spirals, {args.points} train / {args.points} test points, 2-64-64-2 MLP, "
          f"{args.epochs} epochs of Adam (lr {args.lr}), {'torch.nn' if args.torch else 'actlayer_torch.nn'} "
          f"on {args.device}\n")
    print(f"{'activation':11} {'train acc':>9} {'test acc':>9} {'final loss':>10} "
          f"{'epochs to 90%':>13} {'seconds':>8}")
    failed = []
    for name in names:
        train_acc, test_acc, loss, to90, seconds = run(n, name, data, args, args.device)
        print(f"{name:11} {train_acc:9.3f} {test_acc:9.3f} {loss:10.4f} "
              f"{to90 if to90 else 'never':>13} {seconds:8.2f}", flush=True)
        if test_acc < 0.9:
            failed.append(name)
    if args.check and failed:
        print(f"train_spirals: below 90% test accuracy: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
