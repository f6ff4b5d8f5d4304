#!/usr/bin/env bash
# The CPU benchmark: actlayer's CPU backend against PyTorch on the CPU (Debian's python3-torch,
# run with /usr/bin/python3; skipped with a message where absent), on the same machine in one
# run, at n = 2^24 float. Prints the table and writes bench/results/cpu-<date>-<host>.{md,json}.
#
#   bench/cpu_compare.sh [BUILD_DIR]     (default: build; needs its bench/cpu_bench)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
bench=$build/bench/cpu_bench
[ -x "$bench" ] || { echo "cpu_compare.sh: no $bench: build the target cpu_bench" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" --dump "$work"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" "$repo/bench/cpu_torch.py" "$work" || echo "cpu_compare.sh: no PyTorch columns"
stamp=$(date -u +%Y-%m-%d)
out=$repo/bench/results/cpu-$stamp-$(hostname -s)
{
  echo "# CPU backend vs PyTorch on the CPU, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
       "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)." \
       "PyTorch: $("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent)."
  echo
  "$bench" --dir "$work" --json "$out.json"
  echo
  echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$out.md"
# The run's facts into the JSON too: date, machine, commit, PyTorch.
"$python" - "$out.json" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores" \
  "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent)" <<'PY'
import json, sys
path, date, machine, commit, torch = sys.argv[1:]
with open(path) as f:
    rows = json.load(f)
with open(path, "w") as f:
    json.dump({"run": {"date": date, "machine": machine, "commit": commit, "torch": torch,
                       "n": 2 ** 24, "dtype": "float"}, **rows}, f, indent=1)
    f.write("\n")
PY
