#!/usr/bin/env python3
"""cpu_torch.py — PyTorch's CPU kernels for the rows of cpu_bench, on the inputs it dumped:
best of REPS runs after a warm-up, on 1 thread and on THREADS, written to DIR/torch.json; the
outputs over the first 2^20 elements to DIR/<row>.bin for cpu_bench's accuracy columns.

    python3 bench/cpu_torch.py DIR [--reps N] [--threads N]

Exits 3 with a message where PyTorch is absent. The peers, each into a preallocated output (the
aten out= overloads): relu / threshold_backward, leaky_relu / leaky_relu_backward, prelu /
prelu_backward (dx and dweight), sigmoid / sigmoid_backward and tanh / tanh_backward, whose
backward takes the output y (the peer of both our backward passes).
"""
import argparse
import json
import os
import sys
import time

N, CHECK = 1 << 24, 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("NOTICE: PyTorch is not installed for %s: no PyTorch columns" % sys.executable)
        return 3
    aten = torch.ops.aten
    load = lambda name: torch.from_file(os.path.join(args.dir, name), size=os.path.getsize(
        os.path.join(args.dir, name)) // 4, dtype=torch.float32)
    x, dy, alpha = load("x.bin"), load("dy.bin"), load("alpha.bin")
    x4 = x.view(16, 64, -1)
    dy4 = dy.view(16, 64, -1)
    y_sig, y_tanh = torch.sigmoid(x), torch.tanh(x)
    # Into preallocated outputs (the out= overloads), as actlayer writes into given buffers: an
    # allocating call would also time the page faults of a fresh 64 MB tensor.
    o, o2, da = torch.empty_like(x), torch.empty_like(x), torch.empty_like(alpha)
    o4, o24 = o.view(16, 64, -1), o2.view(16, 64, -1)
    rows = {
        "relu_forward": lambda: aten.relu.out(x, out=o),
        "relu_backward": lambda: aten.threshold_backward.grad_input(dy, x, 0, grad_input=o),
        "leaky_relu_forward": lambda: aten.leaky_relu.out(x, 0.01, out=o),
        "leaky_relu_backward": lambda: aten.leaky_relu_backward.grad_input(
            dy, x, 0.01, False, grad_input=o),
        "prelu_forward": lambda: aten.prelu.out(x4, alpha, out=o4),
        "prelu_backward": lambda: aten.prelu_backward.out(dy4, x4, alpha, out0=o24, out1=da),
        "sigmoid_forward": lambda: aten.sigmoid.out(x, out=o),
        "sigmoid_backward": lambda: aten.sigmoid_backward.grad_input(dy, y_sig, grad_input=o),
        "sigmoid_backward_from_y": lambda: aten.sigmoid_backward.grad_input(dy, y_sig,
                                                                            grad_input=o),
        "tanh_forward": lambda: aten.tanh.out(x, out=o),
        "tanh_backward": lambda: aten.tanh_backward.grad_input(dy, y_tanh, grad_input=o),
        "tanh_backward_from_y": lambda: aten.tanh_backward.grad_input(dy, y_tanh, grad_input=o),
    }
    result = {"torch": torch.__version__, "threads": args.threads}
    with torch.no_grad():
        for name, run in rows.items():
            times = {}
            for key, threads in (("t1", 1), ("tn", args.threads)):
                torch.set_num_threads(threads)
                out = run()
                best = float("inf")
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    out = run()
                    best = min(best, (time.perf_counter() - t0) * 1e3)
                times[key] = best
            first = out[0] if isinstance(out, tuple) else out
            first.reshape(-1)[:CHECK].contiguous().numpy().tofile(
                os.path.join(args.dir, name + ".bin"))
            result[name] = times
            print("%-26s %8.1f ms  %8.1f ms" % (name, times["t1"], times["tn"]))
    with open(os.path.join(args.dir, "torch.json"), "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
