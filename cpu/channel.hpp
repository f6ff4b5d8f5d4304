// cpu/channel.hpp — the per-channel family on the CPU, the twin of cuda/channel.cuh: one
// parameter per channel of a [outer][channels][inner] tensor, and that parameter's gradient
// (PReLU's dalpha, bias_act's dbias) summed in exactly the GPU's order so that it is the GPU's
// bits: the same plan (cuda/channel_plan.hpp: which elements each block and each of its 256
// threads sums, granule by granule), the same block reduction (cuda/reduce.cuh's block_sum: a
// shuffle-down tree per warp, then the warps in order, emulated by block_sum() below), the same
// final sum of the partials (channel_sum_kernel) and blend. PReLU (prelu.hpp) and bias_act
// (bias_act.hpp) are a small per-element policy each, the GPU's own math (channel_math.hpp).
// The blocks are independent: the threads of threads.hpp take them in any order, each writes its
// own partials, and the final sums read them after every block is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../cuda/channel_plan.hpp"
#include "actlayer/ops.cuh"
#include "activation.hpp"
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
constexpr std::size_t kSumColumns = 32;  // channel.cuh's

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

/// The first input of a policy that reads a tensor (x, or y).
struct InputStream {
  template <class T>
  compute_t<T> input(const T* in, std::size_t i) const {
    return ops::widen(in[i]);
  }
};

/// A backward's arguments (channel.cuh's ChannelArgs). A Policy is channel_math.hpp's math of
/// one element with input(in, i): element i's first input, x or y (InputStream), or a mask's
/// proxy.
template <class T, class Policy>
struct ChannelArgs {
  const T* in;                // x or y; null when the policy reads something else
  const compute_t<T>* param;  // one per channel; null when !Policy::kParam
  const T* dy;
  T* dx;
  ChannelPlan plan;
  Policy policy;
  double* partials = nullptr;  // [k * channels + c]: channel_backward's
};

/// Channel c's parameter in the working precision (0 when the policy reads none).
template <class T, class Policy>
inline compute_t<T> param_of(const ChannelArgs<T, Policy>& a, std::size_t c) {
  if constexpr (Policy::kParam) {
    return compute_t<T>(a.param[c]);
  } else {
    return compute_t<T>(0);
  }
}

/// Element i: dx, and its share of the gradient added to acc (in, dy read before dx is written:
/// dx may be either).
template <class T, class Policy>
inline void channel_element(const ChannelArgs<T, Policy>& a, std::size_t i, compute_t<T> p,
                            double& acc) {
  using F = compute_t<T>;
  const F v = a.policy.input(a.in, i), d = ops::widen(a.dy[i]);
  const F r = a.policy.grad(v, p, d);
  a.dx[i] = ops::narrow<T>(r);
  acc += a.policy.term(v, p, d, r);
}

/// Rows layout, block b: dx over its segment and its partial (channel_rows_kernel). Thread t
/// owns the granules t, t + 256, ... of the segment.
template <class T, class Policy>
ACTLAYER_CPU_HOT void channel_rows_block(const ChannelArgs<T, Policy>& a, std::size_t b) {
  using F = compute_t<T>;
  const RowSegment seg = row_segment(a.plan, b);
  const F p = param_of(a, seg.channel);
  double acc[kChannelThreads] = {};
  std::size_t g = 0;
  for (std::size_t i = seg.begin; i < seg.end; i += kGranule, ++g) {
    const std::size_t count = i + kGranule <= seg.end ? kGranule : seg.end - i;
    double& s = acc[g % kChannelThreads];
    for (std::size_t j = 0; j < count; ++j) channel_element(a, i + j, p, s);
  }
  a.partials[seg.partial] = block_sum(acc);
}

/// Columns layout, block b (channel_columns_kernel): the thread of lane l sums each of its
/// columns down the rows o0 + l, o0 + l + lanes, ...; channel lc's partial adds the lanes'
/// column sums lane by lane, column by column.
template <class T, class Policy>
ACTLAYER_CPU_HOT void channel_columns_block(const ChannelArgs<T, Policy>& a, std::size_t b) {
  using F = compute_t<T>;
  const ChannelPlan& p = a.plan;
  const ColumnTile t = column_tile(p, b);
  const std::size_t width_all = p.channels * p.inner;
  F param[kTileEntries];
  for (std::size_t col = 0; col < t.width; ++col) param[col] = param_of(a, t.c0 + col / p.inner);
  double sums[kTileEntries] = {};
  for (std::size_t o = t.o0; o < t.o1; ++o) {
    double* s = sums + ((o - t.o0) % p.lanes) * t.width;
    const std::size_t base = o * width_all + t.j0;
    for (std::size_t col = 0; col < t.width; ++col)
      channel_element(a, base + col, param[col], s[col]);
  }
  for (std::size_t lc = 0; lc < t.channels; ++lc) {
    double total = 0.0;
    for (std::size_t lane = 0; lane < p.lanes; ++lane) {
      for (std::size_t k = 0; k < p.inner; ++k) total += sums[lane * t.width + lc * p.inner + k];
    }
    a.partials[t.partial_base + lc] = total;
  }
}

/// channel_sum_kernel: channel c's partials added in its order, then blended.
template <class P>
void channel_grad(const double* partials, std::size_t count, std::size_t channels, P* grad,
                  Blend b) {
  constexpr std::size_t kLanes = kChannelThreads / kSumColumns;
  run_tasks(channels, [&](std::size_t c) {
    double total = 0.0;
    if (channels < kSumColumns) {  // a block per channel, its threads strided over partials
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
        (b.beta != 0.0f ? static_cast<double>(b.beta) * static_cast<double>(grad[c]) : 0.0);
    grad[c] = static_cast<P>(r);
  });
}

/// The backward (launch_channel_backward): dx and the partials over the plan's blocks, then
/// grad = blend.alpha * (their sum per channel) + blend.beta * grad (written even when the plan
/// has no elements). The partials are allocated here: plan.partials * channels doubles.
template <class T, class Policy>
void channel_backward(ChannelArgs<T, Policy> a, compute_t<T>* grad, Blend blend) {
  const ChannelPlan& p = a.plan;
  std::vector<double> partials(p.partials * p.channels);
  a.partials = partials.data();
  if (p.n > 0) {
    // Blocks in tasks of about kTaskElements elements each.
    const std::size_t per_block = p.n / p.blocks > 0 ? p.n / p.blocks : 1;
    const std::size_t group = kTaskElements / per_block > 0 ? kTaskElements / per_block : 1;
    parallel_ranges(p.blocks, group, [&](std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b) {
        if (p.layout == ChannelPlan::Layout::rows) {
          channel_rows_block(a, b);
        } else {
          channel_columns_block(a, b);
        }
      }
    });
  }
  channel_grad(partials.data(), p.partials, p.channels, grad, blend);
}

// ---- The forwards: any order (no sum), in runs of elements that share a parameter ----------

/// body(i, len, c, stride) over the runs of [begin, end) that share a parameter: param[c] for
/// the len elements from i (stride 0), or param[c + k] for element i + k (stride 1, inner == 1).
template <class Body>
inline void channel_runs(const ChannelShape& s, std::size_t begin, std::size_t end, Body&& body) {
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

/// fn(k, p) for k < len: one parameter for the run (stride 0), or parameter k (stride 1). Two
/// loops, so that each has a loop-invariant or a contiguous parameter for the vectoriser.
template <class F, class P, class Fn>
inline void for_run(const P* param, std::size_t len, std::size_t stride, Fn&& fn) {
  if (stride == 0) {
    const F a = F(param[0]);
    for (std::size_t k = 0; k < len; ++k) fn(k, a);
  } else {
    for (std::size_t k = 0; k < len; ++k) fn(k, F(param[k]));
  }
}

/// One run of a forward: y = policy.value(x, p) with the run's parameters.
template <class T, class Policy>
ACTLAYER_CPU_HOT void channel_forward_run(const Policy& policy, const T* x,
                                          const compute_t<T>* param, T* y, std::size_t len,
                                          std::size_t stride) {
  using F = compute_t<T>;
  for_run<F>(param, len, stride,
             [&](std::size_t k, F p) { y[k] = ops::narrow<T>(policy.value(ops::widen(x[k]), p)); });
}

/// y = policy.value(x, param[c]) over the shape (n > 0), and, when mask is not null, the mask
/// of policy.pre(x, param[c]) > 0, each task's words before its outputs (x may be y).
template <class T, class Policy>
void channel_forward(const Policy& policy, const T* x, const compute_t<T>* param, T* y,
                     std::uint32_t* mask, const ChannelShape& shape) {
  using F = compute_t<T>;
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    if (mask) {
      write_mask(x, mask, begin, end, [&](F v, std::size_t i) {
        return policy.pre(v, F(param[(i / shape.inner) % shape.channels]));
      });
    }
    channel_runs(shape, begin, end,
                 [&](std::size_t i, std::size_t len, std::size_t c, std::size_t stride) {
                   channel_forward_run(policy, x + i, param + c, y + i, len, stride);
                 });
  });
}

}  // namespace actlayer::cpu_impl
