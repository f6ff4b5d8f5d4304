#!/usr/bin/env bash
# bench/device_check.sh — the one script to run on a machine with a GPU.
#
# Builds for sm_90 (override: CUDA_ARCH=...) with every core, runs the whole test suite (GPU
# tests included), compute-sanitizer memcheck and racecheck over the GPU tests at reduced
# sizes, and the samples; writes every log and a summary into $OUT (default ./device-out).
# Exits non-zero if any step failed. Designed to finish in under 8 minutes on an H100.
#
# GoogleTest: the installed package if CMake finds one, else the sources in
# third_party/googletest (copy /usr/src/googletest there before sending the tree over).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/device-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
build=${BUILD_DIR:-$root/build-device}
arch=${CUDA_ARCH:-90}
jobs=$(nproc)
summary="$OUT/summary.txt"
: > "$summary"
failed=0

# step NAME COMMAND...: runs COMMAND with its output in $OUT/NAME.log; records rc and time.
step() {
  local name=$1
  shift
  local start=$(date +%s)
  echo "== $name: $*"
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local secs=$(( $(date +%s) - start ))
  printf '%-28s rc=%-3d %4ds\n' "$name" "$rc" "$secs" | tee -a "$summary"
  [ "$rc" -eq 0 ] || { failed=1; tail -n 40 "$OUT/$name.log"; }
  return "$rc"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  nvcc --version | tail -n 2
} > "$OUT/device.txt"
cat "$OUT/device.txt"

gtest=()
if [ -d "$root/third_party/googletest" ]; then
  gtest=(-DACTLAYER_GTEST_SOURCE_DIR="$root/third_party/googletest")
fi
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

step configure cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" "${gtest[@]}" || { echo "configure failed"; exit 1; }
step build cmake --build "$build" -j"$jobs" || { echo "build failed"; exit 1; }

step ctest ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 900
# Which tests were skipped (a skipped GPU test did not run: say so, don't count it as a pass).
grep -E "Skipped|\*\*\*Not Run" "$OUT/ctest.log" > "$OUT/ctest-skipped.txt" || true
echo "ctest skipped: $(wc -l < "$OUT/ctest-skipped.txt")" | tee -a "$summary"

sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$sanitizer" ]; then
  export ACTLAYER_TEST_MAX_N=4097
  for tool in memcheck racecheck; do
    step "sanitizer-$tool" "$sanitizer" --tool "$tool" --error-exitcode 99 \
      "$build/tests/actlayer_gpu_tests" --gtest_brief=1
  done
  unset ACTLAYER_TEST_MAX_N
else
  echo "compute-sanitizer not found: memcheck and racecheck did not run" | tee -a "$summary"
  failed=1
fi

if [ -x "$build/samples/accuracy_table" ]; then
  step sample-accuracy_table "$build/samples/accuracy_table" --device cuda --n 1000000
fi
if [ -x "$build/samples/minimal_cuda" ]; then
  step sample-minimal_cuda "$build/samples/minimal_cuda"
fi

echo "failed: $failed" | tee -a "$summary"
exit "$failed"
