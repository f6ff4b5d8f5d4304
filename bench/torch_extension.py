#!/usr/bin/env python3
"""torch_extension.py — actlayer through PyTorch (python/actlayer_torch), on a GPU:

1. per-call overhead: host time per call of torch.ops.actlayer.forward, of the autograd
   function actlayer_torch.functional.<op> (input requiring grad), and of PyTorch's own op, on
   a tiny tensor, against the raw C++ call actlayer::forward looped in C++
   (torch.ops.actlayer.forward_calls); target: the operator's overhead over the raw call <= 5 us;
2. at n = 2^24 and 2^26: the time of each op's forward and backward through the operator
   against PyTorch's own kernel (bench/compare_torch.py's mapping and timing: CUDA events, median
   of 25), and, given the raw benchmark's merged JSON (--raw, compare_torch.py's output), the
   same ratio there; target: within 5 %.

    PYTHONPATH=build/python python3 bench/torch_extension.py [--raw FILE] [--out FILE]

Without a GPU (or with a CPU-only PyTorch) it says so and exits 0, measuring nothing.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch  # noqa: E402  (PyTorch's kernel for each row, and the timing)

OPS = {  # compare_torch's row op -> (actlayer op, its parameters): the bench rows' parameters
    "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}), "relu": ("relu", {}),
    "leaky_relu": ("leaky_relu", {"slope": 0.01}), "elu": ("elu", {}), "selu": ("selu", {}),
    "celu": ("celu", {}), "silu": ("silu", {}), "mish": ("mish", {}),
    "softplus": ("softplus", {}), "logsigmoid": ("logsigmoid", {}), "gelu": ("gelu", {}),
    "gelu_tanh": ("gelu_tanh", {}), "hardsigmoid": ("hardsigmoid", {}),
    "hardswish": ("hardswish", {}), "hardtanh": ("hardtanh", {}),
    "softshrink": ("softshrink", {}), "hardshrink": ("hardshrink", {}),
    "thresholded": ("thresholded", {"threshold": 1.0, "value": 0.0}),
    "squared_relu": ("squared_relu", {}),
}
DTYPES = {"float": torch.float32, "double": torch.float64, "half": torch.float16,
          "bfloat16": torch.bfloat16}


def per_call_us(fn, calls):
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    seconds = time.perf_counter() - start
    torch.cuda.synchronize()
    return seconds / calls * 1e6


def overhead(A, calls=20000):
    x = torch.randn(1024, device="cuda")
    y = torch.empty_like(x)
    xg = x.clone().requires_grad_()
    p = A.params()
    rows = {}
    for op, torch_fn in (("relu", torch.relu), ("gelu", F.gelu)):
        torch.ops.actlayer.forward_calls(x, y, op, p, 100)
        raw = torch.ops.actlayer.forward_calls(x, y, op, p, calls) * 1e6
        operator = per_call_us(lambda: torch.ops.actlayer.forward(x, op, p, []), calls)
        autograd = per_call_us(lambda: getattr(A, op)(xg), calls)
        own = per_call_us(lambda: torch_fn(x), calls)
        rows[op] = {"raw_us": raw, "operator_us": operator, "autograd_us": autograd,
                    "torch_us": own, "overhead_us": operator - raw,
                    "target_ok": operator - raw <= 5.0}
        print(f"{op:6} raw C++ {raw:6.2f} us  operator {operator:6.2f} us (overhead "
              f"{operator - raw:5.2f} us, target <= 5: {'ok' if operator - raw <= 5 else 'MISSED'})"
              f"  autograd function {autograd:6.2f} us  PyTorch's own {own:6.2f} us")
    return rows


def ratios(A, raw_rows):
    raw = {(r["op"], r["dtype"], r["pass"], r["n"]): r for r in raw_rows}
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    out = []
    for n in (1 << 24, 1 << 26):
        for dname, dt in DTYPES.items():
            per_set = 4 * n * torch.tensor([], dtype=dt).element_size()
            sets = max(1, min(32, 2 * l2 // per_set + 1))
            g = torch.Generator(device="cuda").manual_seed(1)
            bufs = [[(torch.rand(n, device="cuda", generator=g) * 8 - 4).to(dt) for _ in range(4)]
                    for _ in range(sets)]
            for row_op, (op, fields) in OPS.items():
                p = A.params(**fields)
                for pas in ("forward", "backward"):
                    row = {"op": row_op, "pass": pas, "dtype": dname, "n": n}
                    theirs = compare_torch.torch_call(row, bufs, torch, F)
                    if theirs is None:
                        continue
                    if pas == "forward":
                        def ours(s, b=bufs, op=op, p=p):
                            return torch.ops.actlayer.forward(b[s][0], op, p, [])
                    else:
                        def ours(s, b=bufs, op=op, p=p):
                            return torch.ops.actlayer.backward(b[s][0], b[s][1], op, p, [])
                    inner = compare_torch.inner_for(n)
                    ms = compare_torch.timed(torch, sets, inner, ours)
                    torch_ms = compare_torch.timed(torch, sets, inner, theirs)
                    r = {**row, "ms": ms, "torch_ms": torch_ms, "vs_torch": torch_ms / ms}
                    peer = raw.get((row_op, dname, pas, n))
                    if peer and peer.get("vs_torch"):
                        r["raw_vs_torch"] = peer["vs_torch"]
                        r["within_5_percent"] = abs(r["vs_torch"] / peer["vs_torch"] - 1) <= 0.05
                    out.append(r)
                    print(f"{row_op:12} {dname:8} {pas:8} n=2^{n.bit_length() - 1}: {ms:8.4f} ms, "
                          f"PyTorch {torch_ms:8.4f} ms, ratio {r['vs_torch']:5.2f}"
                          + (f" (raw {r['raw_vs_torch']:5.2f})" if "raw_vs_torch" in r else ""),
                          flush=True)
            del bufs
            torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", help="compare_torch.py's merged JSON, for the raw ratios")
    ap.add_argument("--out", help="write the results here as JSON")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("NOTICE: no CUDA device for PyTorch: nothing measured")
        return 0
    import actlayer_torch.functional as A
    try:
        A.relu(torch.ones(1, device="cuda"))
    except NotImplementedError:
        print("NOTICE: actlayer_torch was built against a PyTorch without CUDA: nothing measured")
        return 0
    raw_rows = []
    if args.raw and not os.path.exists(args.raw):
        print(f"NOTICE: {args.raw} not found: no raw ratios to compare with")
    elif args.raw:
        with open(args.raw) as f:
            raw_rows = json.load(f)["rows"]
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d", time.gmtime()),
              "overhead": overhead(A), "rows": ratios(A, raw_rows)}
    compared = [r for r in result["rows"] if "within_5_percent" in r]
    if compared:
        bad = [r for r in compared if not r["within_5_percent"]]
        print(f"ratios within 5 % of the raw benchmark's: {len(compared) - len(bad)} of {len(compared)}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
