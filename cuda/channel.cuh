// cuda/channel.cuh — the per-channel kernel family: one parameter per channel of a
// [outer][channels][inner] tensor, and that parameter's gradient reduced deterministically.
// PReLU (prelu.cuh: the slope, dalpha) and bias_act (bias_act.cuh: the bias, dbias) are two
// instances of it, each a small per-element policy (below); the plan (channel_plan.hpp), the
// rows and columns kernels and the final sum are shared.
//
// ---- Bandwidth arithmetic ----------------------------------------------------------------
// Forward moves 2 streams (x in, y out), backward 3 (x or y, dy in, dx out) plus the partial
// sums: at most n/64 doubles (channel_plan.hpp), under 3% of a float tensor's traffic, and
// usually far less (NCHW: one double per row segment of 16384 elements). The final sum reads
// them once. PyTorch's PReLU backward writes a per-element slope-gradient tensor and reduces it
// in a second pass: about 5 tensor-sized streams against our 3; its bias + activation backward
// is an activation backward (3 streams) and a sum over the other dims (1 more).
//
// ---- Determinism -------------------------------------------------------------------------
// No atomics. Which elements each thread sums, in which order, and how the block and the final
// kernel combine them is fixed by the plan, which depends on the shape only; the load width
// (16-byte vectors or scalars) does not change it. Every sum is in double.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/detail/launch.cuh"
#include "actlayer/element.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/detail/elementwise.cuh"
#include "launch.hpp"
#include "reduce.cuh"

namespace actlayer::cuda_impl {

static_assert(kChannelThreads == kReduceThreads, "block_sum assumes the channel block size");

using detail::Chunk;
using detail::kVecWidth;
using detail::launch_elementwise;
using detail::load_chunk;
using detail::store_chunk;

/// The kernels' arguments. A Policy says what one element does, with p its channel's
/// parameter (F: the working precision):
///   kParam             whether p is read (a backward from y or from a mask has none)
///   load(in, i, count, vector, v)   the first input of elements [i, i + count): x or y
///                      (InputStream), or the proxies of a mask
///   value(v, p)        the forward's result
///   grad(v, p, dy)     dx
///   term(v, p, dy, dx) the element's share of p's gradient, in double
template <class T, class Policy>
struct ChannelArgs {
  const T* in;                // x or y; null when the policy loads something else
  const compute_t<T>* param;  // one per channel; null when !Policy::kParam
  const T* dy;                // backward only
  T* out;                     // y, or dx
  double* partials;           // backward only: workspace[k * channels + c]
  ChannelPlan plan;
  Policy policy;
};

/// p + i is 16-byte aligned (true for a null p: a stream the policy does not read).
template <class T>
__device__ __forceinline__ bool aligned16(const T* p, std::size_t i = 0) {
  return p == nullptr || reinterpret_cast<std::uintptr_t>(p + i) % 16 == 0;
}

/// `count` <= kGranule consecutive elements from p into v: as 16-byte vectors when `vector`
/// (then count == kGranule and p is 16-byte aligned), else one by one.
template <class T>
__device__ __forceinline__ void load_granule(const T* p, std::size_t count, bool vector,
                                             compute_t<T> (&v)[kGranule]) {
  constexpr int V = kVecWidth<T>;
  if (vector) {
#pragma unroll
    for (int k = 0; k < static_cast<int>(kGranule) / V; ++k) {
      const Chunk<T, V> c = load_chunk<T, V>(p + k * V);
#pragma unroll
      for (int j = 0; j < V; ++j) v[k * V + j] = ops::widen(c.v[j]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < static_cast<int>(kGranule); ++j) {
      v[j] = j < static_cast<int>(count) ? ops::widen(p[j]) : compute_t<T>(0);
    }
  }
}

template <class T>
__device__ __forceinline__ void store_granule(T* p, std::size_t count, bool vector,
                                              const compute_t<T> (&v)[kGranule]) {
  constexpr int V = kVecWidth<T>;
  if (vector) {
#pragma unroll
    for (int k = 0; k < static_cast<int>(kGranule) / V; ++k) {
      Chunk<T, V> c;
#pragma unroll
      for (int j = 0; j < V; ++j) c.v[j] = ops::narrow<T>(v[k * V + j]);
      store_chunk<T, V>(p + k * V, c);
    }
  } else {
#pragma unroll
    for (int j = 0; j < static_cast<int>(kGranule); ++j) {
      if (j < static_cast<int>(count)) p[j] = ops::narrow<T>(v[j]);
    }
  }
}

/// The first input of a policy that reads a tensor (x, or y).
struct InputStream {
  template <class T>
  __device__ __forceinline__ void load(const T* in, std::size_t i, std::size_t count, bool vector,
                                       compute_t<T> (&v)[kGranule]) const {
    load_granule(in + i, count, vector, v);
  }
};

/// Channel c's parameter in the working precision (0 when the policy reads none).
template <class T, class Policy>
__device__ __forceinline__ compute_t<T> param_of(const ChannelArgs<T, Policy>& a, std::size_t c) {
  if constexpr (Policy::kParam) {
    return compute_t<T>(a.param[c]);
  } else {
    return compute_t<T>(0);
  }
}

/// One granule: out = value (forward) or dx = grad with the gradient shares added to acc.
template <class T, bool kBackward, int kParams, class Policy>
__device__ __forceinline__ void channel_granule(const ChannelArgs<T, Policy>& a, std::size_t i,
                                                std::size_t count, bool vector,
                                                const compute_t<T> (&param)[kParams],
                                                double (&acc)[kParams]) {
  using F = compute_t<T>;
  F v[kGranule], d[kGranule], r[kGranule];
  a.policy.load(a.in, i, count, vector, v);
  if constexpr (kBackward) load_granule(a.dy + i, count, vector, d);
#pragma unroll
  for (int j = 0; j < static_cast<int>(kGranule); ++j) {
    const int k = kParams == 1 ? 0 : j;  // one parameter for the granule, or one per column
    if constexpr (kBackward) {
      r[j] = a.policy.grad(v[j], param[k], d[j]);
      if (j < static_cast<int>(count)) acc[k] += a.policy.term(v[j], param[k], d[j], r[j]);
    } else {
      r[j] = a.policy.value(v[j], param[k]);
    }
  }
  store_granule(a.out + i, count, vector, r);
}

// ============================================================================================
// Rows layout: a block per segment of one (outer, channel) row
// ============================================================================================

template <class T, bool kBackward, class Policy>
__global__ void __launch_bounds__(kChannelThreads)
    channel_rows_kernel(const ChannelArgs<T, Policy> a) {
  using F = compute_t<T>;
  const ChannelPlan& p = a.plan;
  for (std::size_t b = blockIdx.x; b < p.blocks; b += gridDim.x) {
    const RowSegment seg = row_segment(p, b);
    const F param[1] = {param_of(a, seg.channel)};
    const bool aligned = aligned16(a.in, seg.begin) && aligned16(a.out, seg.begin) &&
                         (!kBackward || aligned16(a.dy, seg.begin));
    double acc[1] = {0.0};
    for (std::size_t i = seg.begin + threadIdx.x * kGranule; i < seg.end;
         i += kChannelThreads * kGranule) {
      const std::size_t count = min_size(kGranule, seg.end - i);
      channel_granule<T, kBackward>(a, i, count, aligned && count == kGranule, param, acc);
    }
    if (kBackward) {
      const double total = block_sum(acc[0]);
      if (threadIdx.x == 0) a.partials[seg.partial] = total;
    }
  }
}

// ============================================================================================
// Columns layout: a block per tile of whole channels by tile_rows rows
// ============================================================================================

template <class T, bool kBackward, class Policy>
__global__ void __launch_bounds__(kChannelThreads)
    channel_columns_kernel(const ChannelArgs<T, Policy> a) {
  using F = compute_t<T>;
  __shared__ double sums[kTileEntries];  // [lane][column] sums of the tile (backward)
  const ChannelPlan& p = a.plan;
  const std::size_t width_all = p.channels * p.inner;  // row length of the matrix
  for (std::size_t b = blockIdx.x; b < p.blocks; b += gridDim.x) {
    const ColumnTile t = column_tile(p, b);
    const bool vector = t.group == kGranule && width_all % kVecWidth<T> == 0 && aligned16(a.in) &&
                        aligned16(a.out) && (!kBackward || aligned16(a.dy));
    const std::size_t items = p.lanes * t.groups;
    for (std::size_t item = threadIdx.x; item < items; item += kChannelThreads) {
      const std::size_t lane = item / t.groups, col = (item % t.groups) * t.group;
      F param[kGranule];
      double acc[kGranule];
#pragma unroll
      for (int k = 0; k < static_cast<int>(kGranule); ++k) {
        const std::size_t lc = col + (static_cast<std::size_t>(k) < t.group ? k : 0);
        param[k] = param_of(a, t.c0 + lc / p.inner);
        acc[k] = 0.0;
      }
      for (std::size_t o = t.o0 + lane; o < t.o1; o += p.lanes) {
        channel_granule<T, kBackward>(a, o * width_all + t.j0 + col, t.group, vector, param, acc);
      }
      if (kBackward) {
#pragma unroll
        for (int k = 0; k < static_cast<int>(kGranule); ++k) {
          if (static_cast<std::size_t>(k) < t.group) sums[lane * t.width + col + k] = acc[k];
        }
      }
    }
    if (kBackward) {
      __syncthreads();
      for (std::size_t lc = threadIdx.x; lc < t.channels; lc += kChannelThreads) {
        double total = 0.0;
        for (std::size_t lane = 0; lane < p.lanes; ++lane) {
          for (std::size_t s = 0; s < p.inner; ++s)
            total += sums[lane * t.width + lc * p.inner + s];
        }
        a.partials[t.partial_base + lc] = total;
      }
      __syncthreads();  // sums is reused by the next tile
    }
  }
}

// ============================================================================================
// The parameter's gradient (dalpha, dbias): the partials of each channel added in a fixed
// order, then blended
// ============================================================================================

constexpr std::size_t kSumColumns = 32;  // channels per block when there are many

template <class P>
__device__ __forceinline__ void write_grad(P* grad, std::size_t c, double sum, Blend b) {
  // + 0.0 when beta == 0, as the reference: a negative alpha times a +0 sum gives +0, not -0.
  const double r =
      static_cast<double>(b.alpha) * sum +
      (b.beta != 0.0f ? static_cast<double>(b.beta) * static_cast<double>(grad[c]) : 0.0);
  grad[c] = static_cast<P>(r);
}

/// channels < kSumColumns: a block per channel, threads strided over the partials.
/// Otherwise: a block per kSumColumns consecutive channels (coalesced rows of the
/// workspace), 8 lanes of partials each, the lanes added in order.
template <class P>
__global__ void __launch_bounds__(kChannelThreads)
    channel_sum_kernel(const double* partials, std::size_t count, std::size_t channels, P* grad,
                       Blend blend) {
  if (channels < kSumColumns) {
    for (std::size_t c = blockIdx.x; c < channels; c += gridDim.x) {
      double v = 0.0;
      for (std::size_t k = threadIdx.x; k < count; k += kChannelThreads)
        v += partials[k * channels + c];
      const double total = block_sum(v);
      if (threadIdx.x == 0) write_grad(grad, c, total, blend);
    }
    return;
  }
  constexpr std::size_t kLanes = kChannelThreads / kSumColumns;
  __shared__ double lane_sums[kLanes][kSumColumns];
  const std::size_t column = threadIdx.x % kSumColumns, lane = threadIdx.x / kSumColumns;
  for (std::size_t c0 = blockIdx.x * kSumColumns; c0 < channels; c0 += gridDim.x * kSumColumns) {
    const std::size_t c = c0 + column;
    double v = 0.0;
    if (c < channels) {
      for (std::size_t k = lane; k < count; k += kLanes) v += partials[k * channels + c];
    }
    lane_sums[lane][column] = v;
    __syncthreads();
    if (lane == 0 && c < channels) {
      double total = 0.0;
      for (std::size_t l = 0; l < kLanes; ++l) total += lane_sums[l][column];
      write_grad(grad, c, total, blend);
    }
    __syncthreads();
  }
}

// ============================================================================================
// Launchers
// ============================================================================================

/// Blocks for a grid-stride launch over `wanted` blocks: all of them up to a cap that keeps
/// gridDim.x in range (the kernels loop over the rest).
inline unsigned grid_for(std::size_t wanted) {
  return static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(wanted, 1u << 30)));
}

/// The forward (kBackward false: out = y) or the first kernel of the backward (out = dx, and
/// the partial sums), over args.plan.
template <class T, bool kBackward, class Policy>
CudaResult launch_channel_main(const ChannelArgs<T, Policy>& args, cudaStream_t stream) {
  if (args.plan.n == 0) return {};
  const unsigned grid = grid_for(args.plan.blocks);
  return args.plan.layout == ChannelPlan::Layout::rows
             ? detail::launch_checked(channel_rows_kernel<T, kBackward, Policy>, grid,
                                      kChannelThreads, stream, args)
             : detail::launch_checked(channel_columns_kernel<T, kBackward, Policy>, grid,
                                      kChannelThreads, stream, args);
}

/// The backward: dx and the partials, then grad = blend.alpha * (their sum per channel) +
/// blend.beta * grad (written even when the plan has no elements).
template <class T, class Policy>
CudaResult launch_channel_backward(const ChannelArgs<T, Policy>& args, compute_t<T>* grad,
                                   Blend blend, cudaStream_t stream) {
  const CudaResult main = launch_channel_main<T, true>(args, stream);
  if (!main.ok()) return main;
  const ChannelPlan& plan = args.plan;
  const std::size_t blocks =
      plan.channels < kSumColumns ? plan.channels : ceil_div(plan.channels, kSumColumns);
  return detail::launch_checked(channel_sum_kernel<compute_t<T>>, grid_for(blocks), kChannelThreads,
                                stream, args.partials, plan.partials, plan.channels, grad, blend);
}

}  // namespace actlayer::cuda_impl
