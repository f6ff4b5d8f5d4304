// The host halves of the launches, walked on the CPU exactly as the kernels walk them: the
// elementwise split (every element written once, every vector access aligned and in range),
// RReLU's Philox placement (every element's word is the reference Philox's word for it), and
// the channel plan of PReLU and bias_act (every element in exactly one partial sum of its
// channel).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "../cuda/channel_plan.hpp"
#include "../cuda/rrelu_plan.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/detail/elementwise_plan.hpp"
#include "reference/philox.hpp"

namespace actlayer::testing {
namespace {

using cuda_impl::ChannelPlan;
using detail::ElementwiseSplit;
using detail::kThreads;
using detail::kUnroll;

struct Walked {
  std::vector<int> writes;       // per element
  std::size_t misaligned = 0;    // vector accesses not on a 16-byte boundary of some pointer
  std::size_t out_of_range = 0;  // accesses past n
};

/// Every thread of the grid, as elementwise_kernel runs them: touch(i, count, vector) for each
/// access of `count` elements at i.
template <int Chunk, class Touch>
void walk_grid(const ElementwiseSplit& s, const Touch& touch) {
  const std::size_t threads = static_cast<std::size_t>(s.blocks) * kThreads;
  for (std::size_t tid = 0; tid < threads; ++tid) {
    detail::walk_elementwise<Chunk>(
        s, tid, threads,
        [&](std::size_t i, std::size_t step) {
          for (int u = 0; u < kUnroll; ++u) touch(i + u * step, Chunk, true);
        },
        [&](std::size_t i) { touch(i, Chunk, true); }, [&](std::size_t i) { touch(i, 1, false); });
  }
}

template <int Chunk>
Walked walk(const ElementwiseSplit& s, const std::vector<std::uintptr_t>& addresses,
            std::size_t element) {
  Walked w;
  w.writes.assign(s.n, 0);
  const auto touch = [&](std::size_t i, int count, bool vector) {
    if (i + count > s.n) {
      ++w.out_of_range;
      return;
    }
    if (vector) {
      for (std::uintptr_t a : addresses) w.misaligned += (a + i * element) % 16 != 0;
    }
    for (int j = 0; j < count; ++j) ++w.writes[i + j];
  };
  walk_grid<Chunk>(s, touch);
  return w;
}

template <int Chunk>
void check_split(std::size_t element, int pointers, std::size_t n, unsigned resident) {
  // Every combination of the pointers' offsets from a 16-byte boundary (in whole elements).
  const std::size_t offsets = 16 / element;
  std::size_t combinations = 1;
  for (int k = 0; k < pointers; ++k) combinations *= offsets;
  for (std::size_t c = 0; c < combinations; ++c) {
    std::vector<std::uintptr_t> addresses;
    std::size_t rest = c;
    for (int k = 0; k < pointers; ++k) {
      addresses.push_back(0x10000 * (k + 1) + (rest % offsets) * element);
      rest /= offsets;
    }
    const ElementwiseSplit s =
        detail::split_elementwise(addresses.data(), pointers, n, element, Chunk, resident);
    SCOPED_TRACE(::testing::Message() << "element " << element << " chunk " << Chunk << " n " << n
                                      << " offsets #" << c << " resident " << resident);
    ASSERT_GE(s.blocks, 1u);
    ASSERT_LE(s.blocks, std::max(1u, resident));
    ASSERT_LE(s.tail_begin(), n);
    const Walked w = walk<Chunk>(s, addresses, element);
    EXPECT_EQ(w.misaligned, 0u);
    EXPECT_EQ(w.out_of_range, 0u);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(w.writes[i], 1) << "element " << i;
    // Vectors are used whenever the pointers agree: at most one vector's worth is scalar on
    // each side.
    bool agree = true;
    for (std::uintptr_t a : addresses) agree = agree && a % 16 == addresses[0] % 16;
    if (agree) {
      EXPECT_LT(s.head, 16 / element) << "head";
      EXPECT_LT(n - s.tail_begin(), static_cast<std::size_t>(Chunk)) << "tail";
    } else {
      EXPECT_EQ(s.nvec, 0u);
    }
  }
}

TEST(ElementwisePlan, EveryElementOnceEveryVectorAligned) {
  for (std::size_t n : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257}) {
    for (unsigned resident : {1u, 2u, 3u}) {
      check_split<4>(4, 2, n, resident);  // float forward
      check_split<4>(4, 3, n, resident);  // float backward
      check_split<2>(8, 3, n, resident);  // double
      check_split<4>(8, 2, n, resident);  // double RReLU: two vectors a chunk
      check_split<8>(2, 2, n, resident);  // half, bfloat16
      check_split<8>(2, 3, n, resident);
    }
  }
}

TEST(ElementwisePlan, GridAndUnrolledStridesOverManyBlocks) {
  // Enough chunks that kUnroll strides across a multi-block grid, and a grid capped by the
  // device's resident blocks.
  for (std::size_t n : {2 * kThreads * 4 * kUnroll + 5, 3 * kThreads * 4 * kUnroll * 2 + 3}) {
    check_split<4>(4, 2, n, 2);
    check_split<4>(4, 2, n, 64);
  }
  const std::uintptr_t aligned[2] = {0x1000, 0x2000};
  const ElementwiseSplit big =
      detail::split_elementwise(aligned, 2, std::size_t{1} << 30, 4, 4, 1056);
  EXPECT_EQ(big.blocks, 1056u);  // capped: the grid strides
  EXPECT_EQ(big.head, 0u);
  EXPECT_EQ(big.nvec, (std::size_t{1} << 30) / 4);
  const ElementwiseSplit small =
      detail::split_elementwise(aligned, 2, 4 * kThreads * kUnroll, 4, 4, 1056);
  EXPECT_EQ(small.blocks, 1u);  // one block, each thread kUnroll vectors
}

TEST(ElementwisePlan, HeadCountsElementsNotBytes) {
  // A float pointer 4 bytes past a boundary: 3 scalar elements reach the next one.
  const std::uintptr_t a[2] = {0x1004, 0x2004};
  EXPECT_EQ(detail::split_elementwise(a, 2, 100, 4, 4, 8).head, 3u);
  const std::uintptr_t h[2] = {0x1002, 0x2002};
  EXPECT_EQ(detail::split_elementwise(h, 2, 100, 2, 8, 8).head, 7u);
  const std::uintptr_t d[3] = {0x1008, 0x2008, 0x3008};
  EXPECT_EQ(detail::split_elementwise(d, 3, 100, 8, 2, 8).head, 1u);
  const std::uintptr_t mixed[2] = {0x1000, 0x2004};
  const ElementwiseSplit s = detail::split_elementwise(mixed, 2, 100, 4, 4, 8);
  EXPECT_EQ(s.head, 100u);
  EXPECT_EQ(s.nvec, 0u);
}

// ---- The gated rows ----------------------------------------------------------------------

TEST(ElementwisePlan, RowDividerDividesExactly) {
  const std::uint64_t ds[] = {0,
                              1,
                              2,
                              3,
                              7,
                              10,
                              11008,
                              14336,
                              (1ull << 31) - 1,
                              1ull << 31,
                              4294967295,
                              1ull << 32,
                              (1ull << 33) + 3};
  std::vector<std::uint64_t> is = {0,    1, 2, 3, 4294967295ull, 1ull << 32, (1ull << 40) + 12345,
                                   ~0ull};
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int k = 0; k < 2000; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    is.push_back(k % 2 ? x >> 32 : x >> (k % 64));
  }
  for (std::uint64_t d : ds) {
    const detail::RowDivider div(d);
    for (std::uint64_t i : is) {
      ASSERT_EQ(div.quotient(i), d == 0 ? 0 : i / d) << i << " / " << d;
      if (d > 1 && i >= d) {
        ASSERT_EQ(div.quotient(i - 1), (i - 1) / d) << i - 1 << " / " << d;
      }
    }
    for (std::uint64_t m = 1; d > 1 && d < (1ull << 32) && m < 4; ++m) {  // around multiples
      ASSERT_EQ(div.quotient(m * d - 1), m - 1) << d;
      ASSERT_EQ(div.quotient(m * d), m) << d;
    }
  }
}

/// The packed forward's grid (a, b: rows of 2H; y flat) or backward's (da, db too), walked as
/// the kernel walks it: every output once, every packed element once, no chunk across a row,
/// every vector aligned in every stream.
template <int Chunk>
void check_rows(std::size_t element, std::size_t hidden, std::size_t rows, std::size_t shift) {
  const std::size_t n = rows * hidden;
  const std::uintptr_t in = 0x100000 + shift * element, out = 0x900000;
  const std::uintptr_t streams[3] = {in, in + hidden * element, out};
  const detail::ElementwiseSplit s =
      detail::split_elementwise(streams, 3, n, element, Chunk, 3, hidden);
  detail::RowGeometry g;
  g.rows = detail::RowDivider(hidden);
  SCOPED_TRACE(::testing::Message() << "element " << element << " H " << hidden << " rows " << rows
                                    << " shift " << shift);
  std::vector<int> outputs(n, 0), packed(2 * n, 0);
  std::size_t misaligned = 0, crossing = 0;
  const auto touch = [&](std::size_t i, int count, bool vector) {
    ASSERT_LE(i + count, n);
    const std::size_t p = g.packed(i);
    if (g.packed(i + count - 1) != p + count - 1) ++crossing;
    if (vector) {
      misaligned += (streams[0] + p * element) % 16 != 0;
      misaligned += (streams[1] + p * element) % 16 != 0;
      misaligned += (streams[2] + i * element) % 16 != 0;
    }
    for (int j = 0; j < count; ++j) {
      ++outputs[i + j];
      ++packed[p + j];
      ++packed[p + hidden + j];
    }
  };
  walk_grid<Chunk>(s, touch);
  EXPECT_EQ(misaligned, 0u);
  EXPECT_EQ(crossing, 0u);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(outputs[i], 1) << "output " << i;
  for (std::size_t k = 0; k < 2 * n; ++k) ASSERT_EQ(packed[k], 1) << "packed " << k;
  // Vectors exactly when H is whole vectors and the pointers are aligned.
  const bool vectors = hidden % Chunk == 0 && shift == 0;
  EXPECT_EQ(s.nvec, vectors ? n / Chunk : 0u);
}

TEST(ElementwisePlan, GatedRowsEveryElementOnceNoChunkAcrossARow) {
  for (std::size_t hidden : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 33, 64}) {
    for (std::size_t rows : {1, 2, 3, 5, 41}) {
      for (std::size_t shift : {0, 1}) {
        check_rows<4>(4, hidden, rows, shift);  // float
        check_rows<2>(8, hidden, rows, shift);  // double
        check_rows<8>(2, hidden, rows, shift);  // half, bfloat16
        check_rows<8>(4, hidden, rows, shift);  // float, chunks of two vectors (as RReLU's)
      }
    }
  }
}

// ---- RReLU's Philox placement ---------------------------------------------------------------

cuda_impl::PhiloxWords reference_draw(std::uint64_t seed, std::uint64_t offset, std::uint64_t q) {
  const cuda_impl::PhiloxInput in = cuda_impl::philox_input(seed, offset, q);
  const auto w = reference::detail::philox4x32_10(
      {in.counter[0], in.counter[1], in.counter[2], in.counter[3]}, {in.key[0], in.key[1]});
  return {{w[0], w[1], w[2], w[3]}};
}

template <int W>
void check_chunks(std::uint64_t seed, std::uint64_t offset, std::uint64_t first) {
  for (std::uint64_t i0 = first; i0 < first + 24; ++i0) {
    std::uint32_t words[W];
    int draws = 0;
    cuda_impl::chunk_words(
        i0,
        [&](std::uint64_t q) {
          ++draws;
          return reference_draw(seed, offset, q);
        },
        words);
    for (int j = 0; j < W; ++j) {
      ASSERT_EQ(words[j], reference::detail::philox_word(seed, offset, i0 + j))
          << "seed " << seed << " offset " << offset << " element " << i0 + j << " (chunk of " << W
          << " at " << i0 << ")";
    }
    // One draw per group of 4 the chunk touches.
    EXPECT_EQ(draws, static_cast<int>((i0 + W - 1) / 4 - i0 / 4 + 1)) << "chunk at " << i0;
  }
}

TEST(RReluPlan, EveryElementTakesItsReferenceWord) {
  // Seeds and offsets with both 32-bit halves set, and element indices past 2^34 so that the
  // high word of the group index q is non-zero.
  for (std::uint64_t seed : {0ull, 0x0123456789abcdefull, 0xffffffff00000001ull}) {
    for (std::uint64_t offset : {0ull, 1ull, 0x00000007fffffffeull, 0xfedcba9876543210ull}) {
      for (std::uint64_t first : {0ull, 1ull << 34, (1ull << 36) + 2}) {
        check_chunks<1>(seed, offset, first);
        check_chunks<4>(seed, offset, first);
        check_chunks<8>(seed, offset, first);
      }
    }
  }
}

TEST(RReluPlan, CounterAndKeyPlacement) {
  const cuda_impl::PhiloxInput in =
      cuda_impl::philox_input(0x1111222233334444ull, 0x5555666677778888ull, 0x99990000aaaabbbbull);
  EXPECT_EQ(in.counter[0], 0x77778888u);  // lo(offset)
  EXPECT_EQ(in.counter[1], 0x55556666u);  // hi(offset)
  EXPECT_EQ(in.counter[2], 0xaaaabbbbu);  // lo(q)
  EXPECT_EQ(in.counter[3], 0x99990000u);  // hi(q)
  EXPECT_EQ(in.key[0], 0x33334444u);      // lo(seed)
  EXPECT_EQ(in.key[1], 0x11112222u);      // hi(seed)
}

// ---- The plan ------------------------------------------------------------------------------

/// Walks the channel plan exactly as the kernels do (PReLU's and bias_act's: the same kernels)
/// and checks that every element is visited once and lands in exactly one partial sum, of its
/// own channel; every partial slot is written once, and the shared-memory tile stays in
/// bounds. The slot of each element and the order of the final sum depend on the plan, hence
/// on the shape only: the gradient's bits cannot depend on anything else.
void check_plan(ChannelShape shape) {
  SCOPED_TRACE(::testing::Message()
               << "shape {" << shape.outer << ", " << shape.channels << ", " << shape.inner << "}");
  const ChannelPlan p = cuda_impl::make_channel_plan(shape);
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  ASSERT_EQ(p.n, n);
  std::vector<unsigned char> seen(n, 0), written(p.partials * shape.channels, 0);
  constexpr std::size_t kNone = ~std::size_t{0};
  std::vector<std::size_t> slot(n, kNone);  // the partial each element is summed into
  std::size_t wrong_channel = 0;
  if (p.layout == ChannelPlan::Layout::rows) {
    for (std::size_t b = 0; b < p.blocks; ++b) {
      const cuda_impl::RowSegment r = cuda_impl::row_segment(p, b);
      ASSERT_LT(r.partial, written.size());
      ++written[r.partial];
      for (std::size_t i = r.begin; i < r.end; ++i) {
        wrong_channel += (i / shape.inner) % shape.channels != r.channel;
        ++seen[i];
        slot[i] = r.partial;
      }
    }
  } else {
    const std::size_t width_all = shape.channels * shape.inner;
    for (std::size_t b = 0; b < p.blocks; ++b) {
      const cuda_impl::ColumnTile t = cuda_impl::column_tile(p, b);
      ASSERT_LE(p.lanes * t.width, cuda_impl::kTileEntries);
      ASSERT_EQ(t.width % t.group, 0u);
      for (std::size_t item = 0; item < p.lanes * t.groups; ++item) {
        const std::size_t lane = item / t.groups, col = (item % t.groups) * t.group;
        for (std::size_t o = t.o0 + lane; o < t.o1; o += p.lanes) {
          for (std::size_t k = 0; k < t.group; ++k) {
            const std::size_t i = o * width_all + t.j0 + col + k;
            wrong_channel += (i / shape.inner) % shape.channels != t.c0 + (col + k) / shape.inner;
            ++seen[i];
            slot[i] = t.partial_base + (col + k) / shape.inner;
          }
        }
      }
      for (std::size_t lc = 0; lc < t.channels; ++lc) ++written[t.partial_base + lc];
    }
  }
  EXPECT_EQ(wrong_channel, 0u) << "elements given another channel's parameter";
  std::size_t foreign = 0;  // summed into a slot the final kernel adds to another channel
  for (std::size_t i = 0; i < n; ++i) {
    foreign += slot[i] == kNone || slot[i] >= written.size() ||
               slot[i] % shape.channels != (i / shape.inner) % shape.channels;
  }
  EXPECT_EQ(foreign, 0u) << "elements summed into another channel's partial";
  std::size_t missed = 0, twice = 0;
  for (unsigned char s : seen) missed += s == 0, twice += s > 1;
  EXPECT_EQ(missed, 0u);
  EXPECT_EQ(twice, 0u);
  for (unsigned char w : written) ASSERT_EQ(w, 1) << "a partial slot not written exactly once";
  // Every partial slot the kernels write lies inside the workspace the caller allocates.
  EXPECT_GE(p.workspace_bytes(), written.size() * sizeof(double));
  // No tensor-sized scratch: at most n/64 doubles (plus one row of partials for tiny tensors).
  EXPECT_LE(p.workspace_bytes(), n * sizeof(double) / 64 + shape.channels * sizeof(double));
  EXPECT_EQ(p.workspace_bytes(), prelu_backward_workspace_bytes(shape));
  EXPECT_EQ(p.workspace_bytes(), bias_act_backward_workspace_bytes(shape));
}

TEST(ChannelPlan, CoversEveryElementOnceAndEveryPartialOnce) {
  const ChannelShape shapes[] = {
      {1, 1, 1},    {2, 3, 5},     {1, 1, 1000003}, {4, 64, 3136},  {2, 5, 3 * 5},
      {7, 16, 16},  {64, 3, 1},    {1000, 64, 1},   {33, 2049, 1},  {5, 1, 2048},
      {5, 1, 2049}, {3, 7, 16384}, {2, 3, 16385},   {1, 100003, 1}, {9, 13, 49},
      {300, 1, 7},  {8, 1000, 3},  {128, 2048, 1},  {1, 4097, 1},   {70, 9, 227},
  };
  for (const ChannelShape& s : shapes) check_plan(s);
  std::mt19937_64 rng(3);
  for (int k = 0; k < 200; ++k) {
    const ChannelShape s{1 + rng() % 70, 1 + rng() % 70, 1 + rng() % (k % 2 ? 40 : 5000)};
    check_plan(s);
  }
}

TEST(ChannelPlan, DependsOnTheShapeOnly) {
  // The same shape always gives the same split (the workspace API takes only the shape).
  const ChannelShape s{64, 256, 196};
  EXPECT_EQ(prelu_backward_workspace_bytes(s), prelu_backward_workspace_bytes(s));
  EXPECT_EQ(prelu_backward_workspace_bytes({0, 5, 7}), 0u);
  EXPECT_EQ(prelu_backward_workspace_bytes({3, 0, 7}), 0u);  // invalid: channels == 0
  EXPECT_EQ(bias_act_backward_workspace_bytes({0, 5, 7}), 0u);
  EXPECT_EQ(bias_act_backward_workspace_bytes({3, 0, 7}), 0u);
}

}  // namespace
}  // namespace actlayer::testing
