#!/usr/bin/env python3
"""compare_torch.py — PyTorch's kernels for the rows actlayer_bench measured, timed the same way
(CUDA events, 3 warm-ups, median of 25, back-to-back calls for small sizes, buffer sets rotated
past the L2), merged into the bench's JSON with vs_torch, then the targets checked and the table
printed last.

    python3 bench/compare_torch.py BENCH_JSON [--out FILE]

Without PyTorch or a GPU it merges nothing and says so. Mapping of passes (bench/NOTES.md):
PyTorch's backward of sigmoid, tanh and relu takes the output, so its one backward kernel is the
peer of both our backward passes; elu, selu and celu have elu_backward from x and from y; step
and identity have no PyTorch kernel, nor the backward of quick_gelu, softsign and tanhshrink
(compositions in PyTorch; their forward is F.softsign, F.tanhshrink, x*sigmoid(1.702x)) (null).
peer of both our backward passes (so is the backward from x of hardtanh, relu6, the shrinks,
hardsigmoid and threshold); step and identity have no PyTorch kernel (null); squared_relu has no
fused one: its peer is relu then square (two kernels, three for the backward).
"""
import argparse
import json
import math
import os
import re
import sys

WARMUP, REPS = 3, 25


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_json")
    ap.add_argument("--out", help="merged JSON (default: bench/results/<date>-<device>.json)")
    ap.add_argument("--no-torch", action="store_true", help="merge nothing (tests of this script)")
    args = ap.parse_args()
    with open(args.bench_json) as f:
        data = json.load(f)

    have_torch = False
    if not args.no_torch:
        try:
            import torch
            import torch.nn.functional as F
            have_torch = torch.cuda.is_available()
        except ImportError:
            pass
    if not have_torch:
        print("NOTICE: no PyTorch with CUDA here: vs_torch stays null")
    else:
        data["torch"] = torch.__version__
        measure_all(data, torch, F)

    check_targets(data)
    out = args.out or default_path(data)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    print_table(data)
    print(f"\nwrote {out}")


def default_path(data):
    device = re.sub(r"[^A-Za-z0-9]+", "-", data["device"]).strip("-").lower()
    return os.path.join(os.path.dirname(__file__), "results", f"{data['date']}-{device}.json")


# ---- Timing -------------------------------------------------------------------------------

def timed(torch, sets, inner, fn):
    """Median milliseconds per call of fn(set)."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times, call = [], 0
    for rep in range(WARMUP + REPS):
        start.record()
        for _ in range(inner):
            fn(call % sets)
            call += 1
        stop.record()
        stop.synchronize()
        if rep >= WARMUP:
            times.append(start.elapsed_time(stop) / inner)
    times.sort()
    return times[len(times) // 2]


def inner_for(n):
    return max(1, min(64, (1 << 24) // max(n, 1)))


def measure_all(data, torch, F):
    dtypes = {"float": torch.float32, "double": torch.float64, "half": torch.float16,
              "bfloat16": torch.bfloat16}
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    key, bufs = None, None
    for row in data["rows"]:
        if special(row) or not has_torch_peer(row):
            continue
        dt, n = dtypes[row["dtype"]], row["n"]
        if (row["dtype"], n) != key:
            bufs = None  # free the previous sets before allocating the next
            torch.cuda.empty_cache()
            key = (row["dtype"], n)
            per_set = 4 * n * torch.tensor([], dtype=dt).element_size()
            sets = max(1, min(32, 2 * l2 // max(per_set, 1) + 1))
            g = torch.Generator(device="cuda").manual_seed(1)
            bufs = [[(torch.rand(n, device="cuda", dtype=torch.float32, generator=g) * 8 - 4).to(dt)
                     for _ in range(4)] for _ in range(sets)]
        try:
            fn = torch_call(row, bufs, torch, F)
            ms = timed(torch, len(bufs), inner_for(n), fn)
        except Exception as e:  # one op's failure must not lose the other rows
            row["torch_error"] = f"{type(e).__name__}: {e}"[:200]
            print(f"PyTorch failed on {row['op']} {row['dtype']} {row['pass']} n={n}: {row['torch_error']}")
            continue
        row["torch_gbps"] = row["bytes"] / (ms * 1e6)
        row["vs_torch"] = ms / row["ms"]


def has_torch_peer(row):
    """identity and step's backward have no PyTorch kernel; nor does a bitmask; nor the backward
    of quick_gelu, softsign and tanhshrink (compositions of other ops in PyTorch)."""
    if row["op"] in ("identity", "relu_mask"):
        return False
    if row["op"] in ("step", "quick_gelu", "softsign", "tanhshrink") and row["pass"] != "forward":
        return False
    return True


def torch_call(row, bufs, torch, F):
    """fn(set) running PyTorch's kernel for the row, or None where PyTorch has none."""
    op, p = row["op"], row["pass"]
    aten = torch.ops.aten
    lower, upper = 1.0 / 8, 1.0 / 3
    fwd = p == "forward"
    # has_torch_peer() has already set aside identity, step's backward and the mask.
    if op == "step":
        one = torch.ones((), device="cuda", dtype=bufs[0][0].dtype)
        return lambda s: torch.heaviside(bufs[s][0], one, out=bufs[s][2])
    if op in ("sigmoid", "tanh"):
        f = torch.sigmoid if op == "sigmoid" else torch.tanh
        b = aten.sigmoid_backward if op == "sigmoid" else aten.tanh_backward
        if fwd:
            return lambda s: f(bufs[s][0], out=bufs[s][2])
        return lambda s: b(bufs[s][1], bufs[s][0])
    if op == "relu":
        if fwd:
            return lambda s: torch.clamp_min(bufs[s][0], 0, out=bufs[s][2])
        return lambda s: aten.threshold_backward(bufs[s][1], bufs[s][0], 0)
    if op in ("leaky_relu", "rrelu_eval"):
        slope = 0.01 if op == "leaky_relu" else (lower + upper) / 2
        if fwd:
            return lambda s: F.leaky_relu(bufs[s][0], slope)
        return lambda s: aten.leaky_relu_backward(bufs[s][1], bufs[s][0], slope, False)
    if op in ("gelu", "gelu_tanh"):
        approximate = "tanh" if op == "gelu_tanh" else "none"
        if fwd:
            return lambda s: F.gelu(bufs[s][0], approximate=approximate)
        return lambda s: aten.gelu_backward(bufs[s][1], bufs[s][0], approximate=approximate)
    simple = {  # op: (forward, backward(dy, x)), PyTorch's defaults as the bench's rows
        "hardsigmoid": (F.hardsigmoid, aten.hardsigmoid_backward),
        "hardswish": (F.hardswish, aten.hardswish_backward),
        "hardtanh": (lambda x: F.hardtanh(x, -1.0, 1.0),
                     lambda g, x: aten.hardtanh_backward(g, x, -1.0, 1.0)),
        "relu6": (F.relu6, lambda g, x: aten.hardtanh_backward(g, x, 0.0, 6.0)),
        "softshrink": (lambda x: F.softshrink(x, 0.5),
                       lambda g, x: aten.softshrink_backward(g, x, 0.5)),
        "hardshrink": (lambda x: F.hardshrink(x, 0.5),
                       lambda g, x: aten.hardshrink_backward(g, x, 0.5)),
        "thresholded": (lambda x: F.threshold(x, 1.0, 0.0),
                        lambda g, x: aten.threshold_backward(g, x, 1.0)),
    }
    if op in simple:
        f, b = simple[op]
        if fwd:
            return lambda s: f(bufs[s][0])
        return lambda s: b(bufs[s][1], bufs[s][0])
    if op == "squared_relu":  # no fused PyTorch kernel: relu then square (and 2 relu(x) dy)
        if fwd:
            return lambda s: torch.relu(bufs[s][0]).square_()
        return lambda s: torch.relu(bufs[s][0]).mul_(2).mul_(bufs[s][1])
    if op == "rrelu_train":
        noise = [torch.empty_like(b[0]) for b in bufs]
        if fwd:
            return lambda s: aten.rrelu_with_noise(bufs[s][0], noise[s], lower, upper, True)
        for s, b in enumerate(bufs):
            aten.rrelu_with_noise(b[0], noise[s], lower, upper, True)
        return lambda s: aten.rrelu_with_noise_backward(bufs[s][1], bufs[s][0], noise[s], lower, upper, True, False)
    if op in ("elu", "selu", "celu"):
        # elu_backward(grad, alpha, scale, input_scale, is_result, x or y): from y is_result.
        alpha, scale, input_scale = {"elu": (1.0, 1.0, 1.0), "celu": (1.0, 1.0, 1.0),
                                     "selu": (1.6732632423543772848170429916717,
                                              1.0507009873554804934193349852946, 1.0)}[op]
        f = {"elu": F.elu, "selu": F.selu, "celu": F.celu}[op]
        if fwd:
            return lambda s: f(bufs[s][0])
        is_result = p == "from_output"
        return lambda s: aten.elu_backward(bufs[s][1], alpha, scale, input_scale, is_result, bufs[s][0])
    if op in ("silu", "swish", "mish"):  # the rows' swish has beta 1: silu
        f, b = (F.mish, aten.mish_backward) if op == "mish" else (F.silu, aten.silu_backward)
        if fwd:
            return lambda s: f(bufs[s][0])
        return lambda s: b(bufs[s][1], bufs[s][0])
    if op == "softplus":
        if fwd:
            return lambda s: F.softplus(bufs[s][0], 1.0, 20.0)
        return lambda s: aten.softplus_backward(bufs[s][1], bufs[s][0], 1.0, 20.0)
    if op == "logsigmoid":
        if fwd:
            return lambda s: F.logsigmoid(bufs[s][0])
        empty = torch.empty(0, device="cuda", dtype=bufs[0][0].dtype)
        return lambda s: aten.log_sigmoid_backward(bufs[s][1], bufs[s][0], empty)
    if op in ("softsign", "tanhshrink") and fwd:
        f = F.softsign if op == "softsign" else F.tanhshrink
        return lambda s: f(bufs[s][0])
    if op == "quick_gelu" and fwd:  # CLIP's QuickGELU as written: x * sigmoid(1.702 x)
        return lambda s: bufs[s][0] * torch.sigmoid(1.702 * bufs[s][0])
    if op.startswith("bias_act_"):  # PyTorch's composite: the activation backward, then a sum
        m = re.search(r"shape \{(\d+), (\d+), 1\}", row.get("note", ""))
        if not m or fwd:
            return None
        rows, c = (int(v) for v in m.groups())
        shaped = [[t[: rows * c].view(rows, c) for t in b] for b in bufs]
        act_backward = {"bias_act_relu": lambda g, z: aten.threshold_backward(g, z, 0),
                        "bias_act_gelu": lambda g, z: aten.gelu_backward(g, z)}[op]

        def composite(s):
            gx = act_backward(shaped[s][1], shaped[s][0])  # z = x + b, as autograd saves it
            return gx, gx.sum(0)
        return composite
    if op.startswith("gated_"):
        return gated_call(row, bufs, torch, F)
    if op.startswith("prelu"):
        m = re.search(r"shape \{(\d+), (\d+), (\d+)\}", row.get("note", ""))
        if not m:
            return None
        o, c, i = (int(v) for v in m.groups())
        shaped = [[t[: o * c * i].view(o, c, i) for t in b] for b in bufs]
        w = torch.full((c,), 0.25, device="cuda", dtype=bufs[0][0].dtype)
        wv = w.view(1, c, 1)
        if fwd:
            return lambda s: F.prelu(shaped[s][0], w)

        def backward(s):
            gx, gw = aten._prelu_kernel_backward(shaped[s][1], shaped[s][0], wv)
            return gx, gw.sum_to_size(wv.shape)
        return backward
    return None


def gated_call(row, bufs, torch, F):
    """PyTorch's composites for the gated rows (a, b, dy = bufs[s][0..2], n outputs): forward
    F.silu(a) * b (F.gelu for geglu; F.glu on [b | a] rows for glu), backward what autograd runs
    for it: db = g(a) * dy (g(a) saved by the forward), da = g_backward(b * dy, a)."""
    op, fwd = row["op"], row["pass"] == "forward"
    aten = torch.ops.aten
    hidden = 8192  # bench_gated's width
    if op.startswith("gated_glu"):
        x = [torch.cat([b[1].view(-1, hidden), b[0].view(-1, hidden)], dim=1) for b in bufs]
        if fwd:
            return lambda s: F.glu(x[s], -1)
        return lambda s: aten.glu_backward(bufs[s][2].view(-1, hidden), x[s], -1)
    if op.startswith("gated_swiglu"):
        g, gb = F.silu, aten.silu_backward
    elif op.startswith("gated_geglu"):
        g, gb = F.gelu, lambda d, a: aten.gelu_backward(d, a, approximate="none")
    else:
        return None
    if fwd:
        return lambda s: g(bufs[s][0]) * bufs[s][1]
    saved = [g(b[0]) for b in bufs]

    def backward(s):
        a, b, dy = bufs[s][0], bufs[s][1], bufs[s][2]
        return gb(b * dy, a), saved[s] * dy
    return backward


# ---- Targets and table ---------------------------------------------------------------------

def special(row):
    """The latency row and the odd-size/misaligned rows: reported, not part of the targets."""
    note = row.get("note", "")
    return note.startswith("single launch") or "2^24+3" in note


def check_targets(data):
    rows = data["rows"]
    # n >= 2^26, within 5%: PReLU's NCHW shapes (64 channels of 56x56 maps) fall just below.
    big = [r for r in rows if r["n"] >= 0.95 * (1 << 26) and not special(r)]
    verdicts = []

    def verdict(name, ok, detail):
        verdicts.append({"target": name, "met": ok, "detail": detail})

    elementwise = [r for r in big if not r["op"].startswith(("prelu", "rrelu_train", "bias_act"))]
    for p, bound in (("forward", 0.95), ("backward", 0.93), ("from_output", 0.93)):
        rs = [r for r in elementwise if r["pass"] == p and r["vs_copy"] is not None]
        if rs:
            worst = min(rs, key=lambda r: r["vs_copy"])
            verdict(f"{p} >= {bound} x copy (n >= 2^26)", worst["vs_copy"] >= bound,
                    f"worst {worst['op']} {worst['dtype']} n={worst['n']}: {worst['vs_copy']:.3f}")
    for peer in ("torch", "cudnn"):
        rs = [r for r in big if r.get(f"vs_{peer}") is not None]
        if rs:
            worst = min(rs, key=lambda r: r[f"vs_{peer}"])
            verdict(f">= 1.0 x {peer} (n >= 2^26)", worst[f"vs_{peer}"] >= 1.0,
                    f"worst {worst['op']} {worst['dtype']} {worst['pass']} n={worst['n']}: {worst[f'vs_{peer}']:.3f}")
    lat = [r for r in rows if r.get("note", "").startswith("single launch")]
    if lat and data.get("empty_kernel_us"):
        ratio = lat[0]["ms"] * 1000 / data["empty_kernel_us"]
        verdict("2^16 within 1.3 x the empty kernel", ratio <= 1.3, f"{ratio:.2f} x")
    for op, p, bound in (("prelu", "backward", 1.5), ("rrelu_train", "forward", 1.4),
                         ("bias_act", "backward", 1.5)):
        rs = [r for r in big if r["op"].startswith(op) and r["pass"] == p and r.get("vs_torch") is not None]
        if rs:
            worst = min(rs, key=lambda r: r["vs_torch"])
            verdict(f"{op} {p} >= {bound} x torch", worst["vs_torch"] >= bound,
                    f"worst {worst['op']} {worst['dtype']} n={worst['n']}: {worst['vs_torch']:.2f}")
    # The mask: relu's backward from the mask against its backward from x (>= 1.4x).
    mask_rows = [r for r in big if r["op"] == "relu_mask" and r["pass"] == "backward"]
    worst = None
    for r in mask_rows:
        base = next((b for b in big if b["op"] == "relu" and b["pass"] == "backward" and b["dtype"] == r["dtype"]
                     and b["n"] == r["n"]), None)
        if base:
            speedup = base["ms"] / r["ms"]
            if worst is None or speedup < worst[0]:
                worst = (speedup, r)
    if worst:
        verdict("relu backward from the mask >= 1.4 x from x", worst[0] >= 1.4,
                f"worst {worst[1]['dtype']} n={worst[1]['n']}: {worst[0]:.2f} x")
    # Against our own plain elementwise kernels of the same streams, in bytes per second: the
    # PReLU shapes' element counts are not powers of two, so the nearest size stands in.
    for op, p, plain, bound in (("prelu", "backward", "leaky_relu", 1.15), ("rrelu_train", "forward", "leaky_relu", 1.1)):
        worst = None
        for r in big:
            if not (r["op"].startswith(op) and r["pass"] == p):
                continue
            bases = [b for b in big if b["op"] == plain and b["pass"] == p and b["dtype"] == r["dtype"]]
            if not bases:
                continue
            base = min(bases, key=lambda b: abs(math.log(b["n"] / r["n"])))
            ratio = base["gbps"] / r["gbps"]
            if worst is None or ratio > worst[0]:
                worst = (ratio, r)
        if worst:
            verdict(f"{op} {p} within {bound} x {plain} {p} (time per byte)", worst[0] <= bound,
                    f"worst {worst[1]['op']} {worst[1]['dtype']} n={worst[1]['n']}: {worst[0]:.3f} x")
    # bias_act backward (dx + dbias) within 1.15 x the plain backward of its op, timed by the
    # bench at the same n (its note).
    worst = None
    for r in big:
        m = re.search(r"plain backward [0-9.e+-]+ ms: ([0-9.e+-]+) x", r.get("note", ""))
        if r["op"].startswith("bias_act") and m and (worst is None or float(m.group(1)) > worst[0]):
            worst = (float(m.group(1)), r)
    if worst:
        verdict("bias_act backward within 1.15 x the plain backward", worst[0] <= 1.15,
                f"worst {worst[1]['op']} {worst[1]['dtype']} n={worst[1]['n']}: {worst[0]:.3f} x")
    data["targets"] = verdicts


def fmt(v, spec):
    width = int(re.match(r"\d+", spec).group())
    return "-".rjust(width) if v is None else format(v, spec)


def print_table(data):
    print(f"\nactlayer on {data['device']} ({data['date']}, commit {data['commit'][:10]}); "
          f"copy {data['copy_gbps']:.0f} GB/s; torch {data.get('torch', 'n/a')}")
    print(f"{'op':<14} {'dtype':<9} {'pass':<12} {'n':>11} {'GB/s':>7} {'vs_copy':>8} {'vs_torch':>9} {'vs_cudnn':>9}")
    for r in data["rows"]:
        print(f"{r['op']:<14} {r['dtype']:<9} {r['pass']:<12} {r['n']:>11} {fmt(r['gbps'], '7.0f')} "
              f"{fmt(r['vs_copy'], '8.3f')} {fmt(r.get('vs_torch'), '9.2f')} {fmt(r.get('vs_cudnn'), '9.2f')}")
    print("\ntargets:")
    for t in data.get("targets", []):
        print(f"  {'MET ' if t['met'] else 'MISS'} {t['target']}: {t['detail']}")


if __name__ == "__main__":
    sys.exit(main())
