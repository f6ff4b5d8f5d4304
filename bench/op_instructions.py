#!/usr/bin/env python3
"""Counts the PTX instructions of each op's one-element kernels (bench/op_instructions.cu).

    op_instructions.py OPS.ptx [--json OUT.json]

Static counts: every instruction of the kernel, all of the op's branches included (an upper bound
on one element's path, which takes one branch), and among them those on FP64 and FP32 values.
Loads, stores and the parameter reads (about 8) are part of every count.
"""
import argparse
import json
import re
import sys

ENTRY = re.compile(r"\.entry\s+_Z(\d+)(\w+)")


def kernels(ptx):
    """(name, dtype, body lines) of every .entry."""
    lines = ptx.splitlines()
    i = 0
    while i < len(lines):
        m = ENTRY.search(lines[i])
        if not m:
            i += 1
            continue
        length, rest = int(m.group(1)), m.group(2)
        name, args = rest[:length], rest[length:]
        dtype = {"f": "float", "d": "double"}[args[1]]  # I<f|d>E...
        while lines[i].strip() != "{":
            i += 1
        depth, body = 0, []
        for j in range(i, len(lines)):
            s = lines[j].strip()
            depth += s.count("{") - s.count("}")
            body.append(s)
            if depth == 0:
                break
        i = j + 1
        yield name, dtype, body


def count(body):
    total = f64 = f32 = 0
    for s in body:
        if not s.endswith(";") or s.startswith((".", "//")):
            continue
        opcode = s.split()[0] if not s.startswith("@") else s.split()[1]
        total += 1
        f64 += ".f64" in opcode
        f32 += ".f32" in opcode
    return {"instructions": total, "fp64": f64, "fp32": f32}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("ptx")
    ap.add_argument("--json")
    a = ap.parse_args()
    with open(a.ptx) as f:
        ptx = f.read()
    rows = []
    for name, dtype, body in kernels(ptx):
        op, _, pass_ = name.rpartition("_")
        rows.append(dict(op=op, dtype=dtype, pass_=pass_, **count(body)))
    if not rows:
        sys.exit("op_instructions.py: no kernels in " + a.ptx)
    rows.sort(key=lambda r: (r["dtype"], r["pass_"], r["op"]))
    print(f"{'dtype':7} {'pass':9} {'op':13} {'instr':>6} {'fp64':>5} {'fp32':>5}")
    for r in rows:
        print(f"{r['dtype']:7} {r['pass_']:9} {r['op']:13} {r['instructions']:6} {r['fp64']:5} {r['fp32']:5}")
    if a.json:
        compiler = re.search(r"//\s*(Cuda compilation tools.*)", ptx)
        target = re.search(r"^\.target\s+(\S+)", ptx, re.M)
        out = {
            "what": "static PTX instruction counts of one element's forward / backward "
                    "(bench/op_instructions.cu): every branch of the op, so an upper bound "
                    "on one element's path",
            "compiler": compiler.group(1).strip() if compiler else None,
            "target": target.group(1) if target else None,
            "kernels": [{k.rstrip("_"): v for k, v in r.items()} for r in rows],
        }
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
