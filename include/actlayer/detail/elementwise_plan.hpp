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

/// The split of n > 0 elements of `element` bytes over `count` pointers (outputs and inputs),
/// with chunks of `chunk` elements, on a device that holds `resident` blocks at once. Vector
/// accesses need every pointer at the same offset from a 16-byte boundary. With rows of `row`
/// elements (row > 0: the gated layouts, RowGeometry), a chunk must not cross a row: vectors
/// only when row is a multiple of chunk and every pointer is 16-byte aligned.
inline ElementwiseSplit split_elementwise(const std::uintptr_t* addresses, int count, std::size_t n,
                                          std::size_t element, int chunk, unsigned resident,
                                          std::size_t row = 0) {
  ElementwiseSplit s;
  s.n = n;
  s.chunk = chunk;
  const std::uintptr_t offset = addresses[0] % 16;
  bool same_offset = true;
  for (int k = 1; k < count; ++k) same_offset = same_offset && addresses[k] % 16 == offset;
  if (row != 0) same_offset = same_offset && offset == 0 && row % chunk == 0;
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

/// q = i / d without a 64-bit division for i, d < 2^32 (Lemire, Kaser and Kurz 2019: with
/// m = ceil(2^64 / d), q = the high 64 bits of m * i), one for larger ones. Set up on the host.
struct RowDivider {
  std::uint64_t d = 0;  // 0: no rows (every quotient 0)
  std::uint64_t m = 0;  // 0: divide

  RowDivider() = default;
  explicit RowDivider(std::uint64_t divisor) : d(divisor) {
    if (d > 1 && d >> 32 == 0) m = ~std::uint64_t{0} / d + 1;
  }
  ACTLAYER_HD std::uint64_t quotient(std::uint64_t i) const {
    if (d <= 1) return d == 0 ? 0 : i;
    if (m == 0 || i >> 32 != 0) return i / d;
#if defined(__CUDA_ARCH__)
    return __umul64hi(m, i);
#else
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(m) * i) >> 64);
#endif
  }
};

/// The gated layouts' rows: output element i = r*H + j (j < H) is read from, or written to, a
/// packed row of 2H at r*2H + j, that is i + r*H (the caller adds H for the row's second half).
/// With H = 0 (two separate pointers) every index is i itself.
struct RowGeometry {
  RowDivider rows;  // H
  ACTLAYER_HD std::size_t packed(std::size_t i) const {
    return i + static_cast<std::size_t>(rows.quotient(i) * rows.d);
  }
};

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
