#!/usr/bin/env bash
# bench/device_check.sh — the one script to run on a machine with a GPU.
#
# Builds for sm_90 (override: CUDA_ARCH=...) with every core, then, most important first:
# the GPU tests, compute-sanitizer memcheck over the GPU tests and racecheck over the kernels
# with shared memory (reduced sizes), the benchmarks (actlayer_bench, then PyTorch merged in),
# the samples on the GPU, and last the CPU tests (CI runs those too). Every step is bounded by a
# deadline (DEADLINE seconds from the start, default 540: under the device tool's 600 s limit);
# a step that no longer fits is skipped and listed as skipped. Writes into $OUT (default
# ./device-out) at most four files: summary.txt, device.txt, logs.tar.gz (every log, the
# gallery's SVGs), bench-results.json (commit it as bench/results/<date>-<device>.json).
# Exits non-zero if a step failed.
#
# GoogleTest: the installed package if CMake finds one, else the sources in
# third_party/googletest (copy /usr/src/googletest there and carry it to the machine). The
# commit: git's, else the file .device-commit at the root (write it before sending a tree
# without .git: git rev-parse HEAD > .device-commit).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/device-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
logs=$(mktemp -d)
build=${BUILD_DIR:-$root/build-device}
arch=${CUDA_ARCH:-90}
jobs=$(nproc)
started=$(date +%s)
deadline=$(( started + ${DEADLINE:-540} ))
summary="$OUT/summary.txt"
: > "$summary"
failed=0

note() { echo "$*" | tee -a "$summary"; }

# The logs go back whatever happens, even if the script is killed.
finish() {
  trap - EXIT TERM INT
  note "failed: $failed (after $(( $(date +%s) - started )) s)"
  tar -czf "$OUT/logs.tar.gz" -C "$logs" . 2>/dev/null && rm -rf "$logs"
  exit "$failed"
}
trap finish EXIT TERM INT

# step NAME LIMIT COMMAND...: runs COMMAND with its output in logs/NAME.log, killed after
# LIMIT seconds or at the deadline, whichever comes first; skipped when under 20 s are left.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$(( deadline - $(date +%s) ))
  if [ "$left" -lt 20 ]; then
    note "$(printf '%-32s SKIPPED (deadline)' "$name")"
    return 2
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local start=$(date +%s)
  echo "== $name: $*"
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  printf '%-32s rc=%-4d %4ds\n' "$name" "$rc" "$(( $(date +%s) - start ))" | tee -a "$summary"
  if [ "$rc" -ne 0 ]; then
    failed=1
    tail -n 30 "$logs/$name.log"
  fi
  return "$rc"
}

commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || cat "$root/.device-commit" 2>/dev/null || echo unknown)
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $commit"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,compute_mode --format=csv 2>&1
  "$nvcc" --version 2>&1 | tail -n 2
} > "$OUT/device.txt"
cat "$OUT/device.txt"

cmake_args=()
[ -d "$root/third_party/googletest" ] && cmake_args+=(-DACTLAYER_GTEST_SOURCE_DIR="$root/third_party/googletest")
# cuDNN for the benchmark's columns: the toolkit's, else the nvidia-cudnn Python wheel's.
cudnn=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null)
[ -n "$cudnn" ] && cmake_args+=(-DCUDNN_ROOT="$cudnn")
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

step configure 120 cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" "${cmake_args[@]}" || exit
step build 300 cmake --build "$build" -j"$jobs" || exit

# 1. The GPU tests, in parallel but for the > 2^31-element ones, which run one at a time after
#    (each needs up to 17 GB of the card; their free-memory checks would race each other).
step ctest-gpu 200 ctest --test-dir "$build" --output-on-failure -j8 --timeout 180 -L gpu -E Huge
step ctest-huge 150 ctest --test-dir "$build" --output-on-failure --timeout 140 -R Huge
cat "$logs/ctest-gpu.log" "$logs/ctest-huge.log" 2>/dev/null | grep -E "\(Skipped\)|Not Run" > "$logs/ctest-skipped.txt"
note "gpu tests: $(grep -hE '% tests passed' "$logs/ctest-gpu.log" "$logs/ctest-huge.log" 2>/dev/null | tr '\n' ' ')"
note "skipped (a skipped GPU test did not run): $(wc -l < "$logs/ctest-skipped.txt")"

# 2. compute-sanitizer at reduced sizes. A refusal of the device (some sandboxes) is reported
#    as "did not run", not as a failure of the code.
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
sanitize() {
  local name=$1 tool=$2 filter=$3 max_n=$4 before=$failed
  ACTLAYER_TEST_MAX_N=$max_n step "$name" 150 "$sanitizer" --tool "$tool" --error-exitcode 99 \
    "$build/tests/actlayer_gpu_tests" --gtest_brief=1 --gtest_filter="$filter"
  if [ -f "$logs/$name.log" ] && grep -q "Device not supported" "$logs/$name.log"; then
    note "$name: compute-sanitizer does not support this device: did not run"
    failed=$before
  fi
}
if [ -x "$sanitizer" ]; then
  # memcheck: every GPU test at sizes up to 4097 (PReLU's shapes include both layouts there).
  sanitize sanitizer-memcheck memcheck "*" 4097
  # racecheck: the kernels with shared memory (PReLU's, and RReLU's slope sums in the layer
  # test), at sizes up to 70000.
  sanitize sanitizer-racecheck racecheck "PRelu*:RReluGpuLayer*" 70000
else
  note "compute-sanitizer not found: memcheck and racecheck did not run"
  failed=1
fi

# 3. Benchmarks: actlayer_bench (copy roofline, CUB, cuDNN), then PyTorch's kernels merged in.
if step bench 200 env ACTLAYER_COMMIT="$commit" "$build/bench/actlayer_bench" --json "$logs/bench.json"; then
  step compare_torch 150 env PYTHONUNBUFFERED=1 python3 "$root/bench/compare_torch.py" \
    "$logs/bench.json" --out "$OUT/bench-results.json"
  sed -n '/^targets:/,$p' "$logs/compare_torch.log" 2>/dev/null | tee -a "$summary"
fi
# actlayer through PyTorch (python/actlayer_torch, built above where python3 imports a CUDA
# PyTorch): per-call overhead over the raw call, and the ratios to PyTorch's kernels.
if [ -f "$build/python/actlayer_torch/_actlayer_torch.so" ]; then
  step torch_extension 120 env PYTHONPATH="$build/python" PYTHONUNBUFFERED=1 python3 \
    "$root/bench/torch_extension.py" --raw "$OUT/bench-results.json" --out "$logs/torch_extension.json" &&
    grep -E "overhead|within 5 %" "$logs/torch_extension.log" | tee -a "$summary"
fi

# 4. The samples on the GPU (their timings are in their logs).
for sample in custom_training_loop accuracy_table train_mlp vanishing_gradient custom_activation; do
  [ -x "$build/samples/$sample" ] || continue
  args=(--device cuda)
  [ "$sample" = accuracy_table ] && args+=(--n 1000000)
  [ "$sample" = train_mlp ] && args+=(--json)
  [ "$sample" = vanishing_gradient ] && args+=(--out "$logs/vanishing_gradient.svg" --json)
  [ "$sample" = custom_activation ] && args+=(--json)
  step "sample-$sample" 90 "$build/samples/$sample" "${args[@]}" &&
    tail -n 3 "$logs/sample-$sample.log" >> "$summary"
done
if [ -x "$build/samples/activation_gallery" ]; then
  step sample-activation_gallery 60 cmake -DGALLERY="$build/samples/activation_gallery" \
    -DOUT="$logs/gallery" -DDEVICE=cuda -P "$root/samples/check_activation_gallery.cmake" &&
    sed -n '/^The course/,/^The measurements/p' "$logs/sample-activation_gallery.log" >> "$summary"
fi

# 5. The CPU tests (CI runs them too: last, with whatever time is left).
step ctest-cpu 240 ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 200 -L cpu
note "cpu tests: $(grep -hE '% tests passed' "$logs/ctest-cpu.log" 2>/dev/null)"
