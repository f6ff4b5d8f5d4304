#!/usr/bin/env bash
# bench/device_check.sh — the one script to run on a machine with a GPU.
#
# Builds for sm_90 (override: CUDA_ARCH=...) with every core; runs the whole test suite (GPU
# tests included); compute-sanitizer memcheck over the GPU tests and racecheck over the tests
# of the kernels that use shared memory, at reduced sizes; the samples. Writes into $OUT
# (default ./device-out): summary.txt, device.txt, and logs.tar.gz with every log. Exits
# non-zero if a step failed. Sized to finish in under 8 minutes on an H100.
#
# GoogleTest: the installed package if CMake finds one, else the sources in
# third_party/googletest (copy /usr/src/googletest there and carry it to the machine).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/device-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
logs=$(mktemp -d)
build=${BUILD_DIR:-$root/build-device}
arch=${CUDA_ARCH:-90}
jobs=$(nproc)
summary="$OUT/summary.txt"
: > "$summary"
failed=0
started=$(date +%s)

note() { echo "$*" | tee -a "$summary"; }

# step NAME TIMEOUT COMMAND...: runs COMMAND (killed after TIMEOUT s) with its output in
# logs/NAME.log; records rc and time; prints the log's tail on failure.
step() {
  local name=$1 limit=$2
  shift 2
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

finish() {
  note "failed: $failed"
  tar -czf "$OUT/logs.tar.gz" -C "$logs" . && rm -rf "$logs"
  exit "$failed"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,compute_mode --format=csv 2>&1
  nvcc --version | tail -n 2
} > "$OUT/device.txt"
cat "$OUT/device.txt"

cmake_args=()
[ -d "$root/third_party/googletest" ] && cmake_args=(-DACTLAYER_GTEST_SOURCE_DIR="$root/third_party/googletest")
# cuDNN for the benchmark's columns: the toolkit's, else the nvidia-cudnn Python wheel's.
cudnn=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null)
[ -n "$cudnn" ] && cmake_args+=(-DCUDNN_ROOT="$cudnn")
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

step configure 120 cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" "${cmake_args[@]}" || finish
step build 300 cmake --build "$build" -j"$jobs" || finish

# Everything but the > 2^31-element tests in parallel, then those one at a time (each needs up
# to 17 GB of the card, and their free-memory checks would race each other).
step ctest 300 ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 240 -E Huge
step ctest-huge 240 ctest --test-dir "$build" --output-on-failure --timeout 200 -R Huge
cat "$logs/ctest.log" "$logs/ctest-huge.log" | grep -E "\(Skipped\)|Not Run" > "$logs/ctest-skipped.txt"
note "ctest: $(grep -E '% tests passed' "$logs/ctest.log"); huge: $(grep -E '% tests passed' "$logs/ctest-huge.log")"
note "ctest skipped (a skipped GPU test did not run): $(wc -l < "$logs/ctest-skipped.txt")"

# compute-sanitizer at reduced sizes. A refusal of the device (some sandboxes) is reported as
# "did not run", not as a failure of the code.
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
sanitize() {
  local name=$1 tool=$2 filter=$3 max_n=$4
  ACTLAYER_TEST_MAX_N=$max_n step "$name" 200 "$sanitizer" --tool "$tool" --error-exitcode 99 \
    "$build/tests/actlayer_gpu_tests" --gtest_brief=1 --gtest_filter="$filter"
  if grep -q "Device not supported" "$logs/$name.log"; then
    note "$name: compute-sanitizer does not support this device: did not run"
  fi
}
if [ -x "$sanitizer" ]; then
  # memcheck: every GPU test at sizes up to 4097 (PReLU's kShapes include both layouts there).
  sanitize sanitizer-memcheck memcheck "*" 4097
  # racecheck: the kernels with shared memory (PReLU's, and RReLU's slope sums in the layer
  # test), at sizes up to 70000.
  sanitize sanitizer-racecheck racecheck "PRelu*:RReluGpuLayer*" 70000
else
  note "compute-sanitizer not found: memcheck and racecheck did not run"
  failed=1
fi

# The rest is measurement: skip it rather than run past the device tool's 10-minute limit.
if [ $(( $(date +%s) - started )) -gt 420 ]; then
  note "over 7 minutes so far: benchmarks and samples skipped (rerun with the tests passing)"
  finish
fi

# Benchmarks: actlayer_bench (copy roofline, CUB, cuDNN), then PyTorch's kernels merged in;
# the merged JSON comes back as $OUT/bench-results.json (commit it as bench/results/...).
if step bench 300 env ACTLAYER_COMMIT="$(git -C "$root" rev-parse HEAD 2>/dev/null)" \
    "$build/bench/actlayer_bench" --json "$logs/bench.json"; then
  step compare_torch 300 env PYTHONUNBUFFERED=1 python3 "$root/bench/compare_torch.py" \
    "$logs/bench.json" --out "$OUT/bench-results.json"
  sed -n '/^targets:/,$p' "$logs/compare_torch.log" | tee -a "$summary"
fi

for sample in accuracy_table custom_training_loop train_mlp vanishing_gradient; do
  [ -x "$build/samples/$sample" ] || continue
  args=()
  [ "$sample" = accuracy_table ] && args=(--device cuda --n 1000000)
  [ "$sample" = custom_training_loop ] && args=(--device cuda)
  [ "$sample" = train_mlp ] && args=(--device cuda --json)
  [ "$sample" = vanishing_gradient ] && args=(--device cuda --out "$logs/vanishing_gradient.svg" --json)
  step "sample-$sample" 120 "$build/samples/$sample" "${args[@]}"
  tail -n 3 "$logs/sample-$sample.log" >> "$summary"
done
# The gallery on the GPU, checked against the same facts as its CPU test; plots in $OUT/gallery.
if [ -x "$build/samples/activation_gallery" ]; then
  step sample-activation_gallery 120 cmake -DGALLERY="$build/samples/activation_gallery" \
    -DOUT="$logs/gallery" -DDEVICE=cuda -P "$root/samples/check_activation_gallery.cmake"
  sed -n '/^The course/,/^The measurements/p' "$logs/sample-activation_gallery.log" >> "$summary"
fi

finish
