// actlayer/detail/elementwise_plan.hpp — the host half of the one elementwise loop: how [0, n)
// splits into a scalar head, aligned chunks and a scalar tail, how many blocks run it, and the
// order in which each thread visits its share. Plain C++ for the host and the device: the
// kernel walks exactly what a CPU test walks (tests/cpu/test_plans.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "actlayer/detail/config.hpp"

namespace actlayer::detail {

constexpr int kThreads = 256;  // threads per block, for every actlayer kernel
constexpr int kUnroll = 2;     // aligned chunks per thread and stream in flight

struct ElementwiseSplit {
  std::size_t n = 0;
  std::size_t head = 0;  // scalar elements before the first 16-byte boundary (n if the
                         // pointers are at different offsets from one)
  std::size_t nvec = 0;  // aligned chunks of `chunk` elements after the head
  int chunk = 1;         // elements per aligned chunk: a whole number of 16-byte vectors
  unsigned blocks = 1;   // blocks of kThreads
  ACTLAYER_HD std::size_t tail_begin() const { return head + nvec * chunk; }
};

/// The split of n > 0 elements of `element` bytes over `count` pointers (output and inputs),
/// with chunks of `chunk` elements, on a device that holds `resident` blocks at once. Vector
/// accesses need every pointer at the same offset from a 16-byte boundary.
inline ElementwiseSplit split_elementwise(const std::uintptr_t* addresses, int count, std::size_t n,
                                          std::size_t element, int chunk, unsigned resident) {
  ElementwiseSplit s;
  s.n = n;
  s.chunk = chunk;
  const std::uintptr_t offset = addresses[0] % 16;
  bool same_offset = true;
  for (int k = 1; k < count; ++k) same_offset = same_offset && addresses[k] % 16 == offset;
  if (same_offset) {
    s.head = std::min<std::size_t>(n, (16 - offset) % 16 / element);
    s.nvec = (n - s.head) / static_cast<std::size_t>(chunk);
  } else {
    s.head = n;
    s.nvec = 0;
  }
  const std::size_t scalar = n - s.nvec * static_cast<std::size_t>(chunk);
  const std::size_t work = std::max<std::size_t>((s.nvec + kUnroll - 1) / kUnroll, scalar);
  s.blocks = static_cast<unsigned>(std::min<std::size_t>(
      std::max(1u, resident), std::max<std::size_t>(1, (work + kThreads - 1) / kThreads)));
  return s;
}

/// Thread `tid` of `threads`: calls unrolled(i, step) for kUnroll aligned chunks at i,
/// i + step, ...; one(i) for a single aligned chunk at i; scalar(i) for one element. Grid-stride,
/// aligned chunks first, then the head and the tail.
template <int Chunk, class Unrolled, class One, class Scalar>
ACTLAYER_HD void walk_elementwise(const ElementwiseSplit& s, std::size_t tid, std::size_t threads,
                                  Unrolled&& unrolled, One&& one, Scalar&& scalar) {
  std::size_t v = tid;
  for (; v + (kUnroll - 1) * threads < s.nvec; v += kUnroll * threads)
    unrolled(s.head + v * Chunk, threads * Chunk);
  for (; v < s.nvec; v += threads) one(s.head + v * Chunk);
  for (std::size_t i = tid; i < s.head; i += threads) scalar(i);
  for (std::size_t i = s.head + s.nvec * Chunk + tid; i < s.n; i += threads) scalar(i);
}

}  // namespace actlayer::detail
