// cpu/prelu.hpp — PReLU on the CPU, with dalpha summed in exactly the GPU's order so that it is
// the GPU's dalpha bit for bit: the same plan (cuda/channel_plan.hpp: which elements each block
// and each of its 256 threads sums, granule by granule), the same block reduction
// (cuda/reduce.cuh's block_sum: a shuffle-down tree per warp, then the warps in order, emulated
// by block_sum() below), the same final sum of the partials (channel_sum_kernel) and blend.
// The blocks are independent: the threads of threads.hpp take them in any order, each writes its
// own partials, and the final sums read them after every block is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../cuda/channel_plan.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "activation.hpp"
#include "kernels.hpp"
#include "loop.hpp"

namespace actlayer::cpu_impl {

using cuda_impl::ChannelPlan;
using cuda_impl::column_tile;
using cuda_impl::ColumnTile;
using cuda_impl::kChannelThreads;
using cuda_impl::kGranule;
using cuda_impl::kTileEntries;
using cuda_impl::row_segment;
using cuda_impl::RowSegment;

constexpr std::size_t kWarp = 32;
constexpr std::size_t kDalphaColumns = 32;  // prelu.cuh's

/// cuda/reduce.cuh's block_sum of v[t] over the block's threads t, in its order: per warp,
/// lane l adds lane l + offset (its own value past the warp's end, as __shfl_down_sync gives)
/// for offset 16, 8, 4, 2, 1; lane 0 then holds the warp's sum; the warps' sums are added in
/// order to 0.0.
inline double block_sum(const double* v) {
  double total = 0.0;
  for (std::size_t w = 0; w < kChannelThreads / kWarp; ++w) {
    double lane[kWarp];
    for (std::size_t l = 0; l < kWarp; ++l) lane[l] = v[w * kWarp + l];
    for (std::size_t offset = kWarp / 2; offset > 0; offset /= 2) {
      double shifted[kWarp];
      for (std::size_t l = 0; l < kWarp; ++l)
        shifted[l] = lane[l + offset < kWarp ? l + offset : l];
      for (std::size_t l = 0; l < kWarp; ++l) lane[l] += shifted[l];
    }
    total += lane[0];
  }
  return total;
}

/// Rows layout, block b: dx over its segment and its partial (prelu_rows_kernel). Thread t owns
/// the granules t, t + 256, ... of the segment.
template <class T>
ACTLAYER_CPU_HOT void prelu_rows_block(const T* x, const compute_t<T>* alpha_all, const T* dy,
                                       T* dx, double* partials, const ChannelPlan& p,
                                       std::size_t b) {
  using F = compute_t<T>;
  const RowSegment seg = row_segment(p, b);
  const F alpha = F(alpha_all[seg.channel]);
  double acc[kChannelThreads] = {};
  std::size_t g = 0;
  for (std::size_t i = seg.begin; i < seg.end; i += kGranule, ++g) {
    const std::size_t count = i + kGranule <= seg.end ? kGranule : seg.end - i;
    double& a = acc[g % kChannelThreads];
    for (std::size_t j = 0; j < count; ++j) {
      const F z = ops::widen(x[i + j]), d = ops::widen(dy[i + j]);
      dx[i + j] = ops::narrow<T>(ops::PRelu::grad(z, alpha, d));
      a += ops::PRelu::alpha_term<double>(z, d);
    }
  }
  partials[seg.partial] = block_sum(acc);
}

/// Columns layout, block b (prelu_columns_kernel): the thread of lane l sums each of its
/// columns down the rows o0 + l, o0 + l + lanes, ...; channel lc's partial adds the lanes'
/// column sums lane by lane, column by column.
template <class T>
ACTLAYER_CPU_HOT void prelu_columns_block(const T* x, const compute_t<T>* alpha_all, const T* dy,
                                          T* dx, double* partials, const ChannelPlan& p,
                                          std::size_t b) {
  using F = compute_t<T>;
  const ColumnTile t = column_tile(p, b);
  const std::size_t width_all = p.channels * p.inner;
  F alpha[kTileEntries];
  for (std::size_t col = 0; col < t.width; ++col) alpha[col] = F(alpha_all[t.c0 + col / p.inner]);
  double sums[kTileEntries] = {};
  for (std::size_t o = t.o0; o < t.o1; ++o) {
    double* s = sums + ((o - t.o0) % p.lanes) * t.width;
    const std::size_t base = o * width_all + t.j0;
    for (std::size_t col = 0; col < t.width; ++col) {
      const F z = ops::widen(x[base + col]), d = ops::widen(dy[base + col]);
      dx[base + col] = ops::narrow<T>(ops::PRelu::grad(z, alpha[col], d));
      s[col] += ops::PRelu::alpha_term<double>(z, d);
    }
  }
  for (std::size_t lc = 0; lc < t.channels; ++lc) {
    double total = 0.0;
    for (std::size_t lane = 0; lane < p.lanes; ++lane) {
      for (std::size_t k = 0; k < p.inner; ++k) total += sums[lane * t.width + lc * p.inner + k];
    }
    partials[t.partial_base + lc] = total;
  }
}

/// channel_sum_kernel: channel c's partials added in its order, then blended.
template <class P>
void prelu_dalpha(const double* partials, std::size_t count, std::size_t channels, P* dalpha,
                  Blend b) {
  constexpr std::size_t kLanes = kChannelThreads / kDalphaColumns;
  run_tasks(channels, [&](std::size_t c) {
    double total = 0.0;
    if (channels < kDalphaColumns) {  // a block per channel, its threads strided over partials
      double v[kChannelThreads] = {};
      for (std::size_t k = 0; k < count; ++k) v[k % kChannelThreads] += partials[k * channels + c];
      total = block_sum(v);
    } else {  // kLanes lanes of partials, added in order
      for (std::size_t lane = 0; lane < kLanes; ++lane) {
        double v = 0.0;
        for (std::size_t k = lane; k < count; k += kLanes) v += partials[k * channels + c];
        total += v;
      }
    }
    // + 0.0 when beta == 0, as the kernel: a negative alpha times a +0 sum gives +0, not -0.
    const double r =
        static_cast<double>(b.alpha) * total +
        (b.beta != 0.0f ? static_cast<double>(b.beta) * static_cast<double>(dalpha[c]) : 0.0);
    dalpha[c] = static_cast<P>(r);
  });
}

/// body(i, len, c, stride) over the runs of [begin, end) that share a slope: alpha[c] for the
/// len elements from i (stride 0), or alpha[c + k] for element i + k (stride 1, inner == 1).
template <class Body>
inline void channel_runs(const PReluShape& s, std::size_t begin, std::size_t end, Body&& body) {
  std::size_t i = begin;
  while (i < end) {
    if (s.inner == 1) {
      const std::size_t c = i % s.channels;
      const std::size_t len = s.channels - c < end - i ? s.channels - c : end - i;
      body(i, len, c, std::size_t{1});
      i += len;
    } else {
      const std::size_t c = (i / s.inner) % s.channels, within = i % s.inner;
      const std::size_t len = s.inner - within < end - i ? s.inner - within : end - i;
      body(i, len, c, std::size_t{0});
      i += len;
    }
  }
}

/// fn(k, slope) for k < len: one slope for the run (stride 0), or slope k (stride 1). Two loops,
/// so that each has a loop-invariant or a contiguous slope for the vectoriser.
template <class F, class P, class Fn>
inline void for_run(const P* alpha, std::size_t len, std::size_t stride, Fn&& fn) {
  if (stride == 0) {
    const F a = F(alpha[0]);
    for (std::size_t k = 0; k < len; ++k) fn(k, a);
  } else {
    for (std::size_t k = 0; k < len; ++k) fn(k, F(alpha[k]));
  }
}

/// One run of the forward: y = prelu(x) with the run's slopes.
template <class T>
ACTLAYER_CPU_HOT void prelu_forward_run(const T* x, const compute_t<T>* alpha, T* y,
                                        std::size_t len, std::size_t stride) {
  using F = compute_t<T>;
  for_run<F>(alpha, len, stride, [&](std::size_t k, F a) {
    y[k] = ops::narrow<T>(ops::PRelu::value(ops::widen(x[k]), a));
  });
}

/// One run of dx from the mask: the proxy input of elements i .. i+len-1.
template <class T>
ACTLAYER_CPU_HOT void prelu_mask_dx_run(const std::uint32_t* mask, std::size_t i,
                                        const compute_t<T>* alpha, const T* dy, T* dx,
                                        std::size_t len, std::size_t stride) {
  using F = compute_t<T>;
  for_run<F>(alpha, len, stride, [&](std::size_t k, F a) {
    dx[k] = ops::narrow<T>(ops::PRelu::grad(proxy<F>(mask, i + k), a, ops::widen(dy[k])));
  });
}

template <class T>
void prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    channel_runs(shape, begin, end,
                 [&](std::size_t i, std::size_t len, std::size_t c, std::size_t stride) {
                   prelu_forward_run(x + i, alpha + c, y + i, len, stride);
                 });
  });
}

template <class T>
void prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                             PReluShape shape) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    write_mask(x, mask, begin, end);  // before y: x may be y
    channel_runs(shape, begin, end,
                 [&](std::size_t i, std::size_t len, std::size_t c, std::size_t stride) {
                   prelu_forward_run(x + i, alpha + c, y + i, len, stride);
                 });
  });
}

template <class T>
void prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha, const T* dy,
                                 T* dx, PReluShape shape) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    channel_runs(shape, begin, end,
                 [&](std::size_t i, std::size_t len, std::size_t c, std::size_t stride) {
                   prelu_mask_dx_run(mask, i, alpha + c, dy + i, dx + i, len, stride);
                 });
  });
}

template <class T>
void prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx, compute_t<T>* dalpha,
                    PReluShape shape, Blend dalpha_blend) {
  const ChannelPlan p = cuda_impl::make_channel_plan(shape);
  std::vector<double> partials(p.partials * p.channels);
  if (p.n > 0) {
    // Blocks in tasks of about kTaskElements elements each.
    const std::size_t per_block = p.n / p.blocks > 0 ? p.n / p.blocks : 1;
    const std::size_t group = kTaskElements / per_block > 0 ? kTaskElements / per_block : 1;
    parallel_ranges(p.blocks, group, [&](std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b) {
        if (p.layout == ChannelPlan::Layout::rows) {
          prelu_rows_block(x, alpha, dy, dx, partials.data(), p, b);
        } else {
          prelu_columns_block(x, alpha, dy, dx, partials.data(), p, b);
        }
      }
    });
  }
  prelu_dalpha(partials.data(), p.partials, shape.channels, dalpha, dalpha_blend);
}

ACTLAYER_ENTRY_POINTS(prelu_passes, &prelu_forward<T>, &prelu_backward<T>,
                      &prelu_forward_with_mask<T>, &prelu_backward_dx_from_mask<T>)

}  // namespace actlayer::cpu_impl
