// cuda/prelu.cuh — PReLU forward and backward, with dalpha reduced deterministically.
//
// ---- Bandwidth arithmetic ----------------------------------------------------------------
// Forward moves 2 streams (x in, y out), backward 3 (x, dy in, dx out) plus the partial sums:
// at most n/64 doubles (prelu_plan.hpp), under 3% of a float tensor's traffic, and usually far
// less (NCHW: one double per row segment of 16384 elements). The final sum reads them once.
// PyTorch's PReLU backward writes a per-element slope-gradient tensor and reduces it in a second
// pass: about 5 tensor-sized streams against our 3.
//
// ---- Determinism -------------------------------------------------------------------------
// No atomics. Which elements each thread sums, in which order, and how the block and the final
// kernel combine them is fixed by the plan, which depends on the shape only; the load width
// (16-byte vectors or scalars) does not change it. Every sum is in double.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/detail/launch.cuh"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/element.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/detail/elementwise.cuh"
#include "launch.hpp"
#include "mask.cuh"
#include "reduce.cuh"

namespace actlayer::cuda_impl {

static_assert(kPReluThreads == kReduceThreads, "block_sum assumes the PReLU block size");

using detail::Chunk;
using detail::kVecWidth;
using detail::launch_elementwise;
using detail::load_chunk;
using detail::store_chunk;

template <class T>
struct PReluArgs {
  const T* x;
  const compute_t<T>* alpha;
  const T* dy;       // backward only
  T* out;            // y, or dx
  double* partials;  // backward only: workspace[k * channels + c]
  PReluPlan plan;
};

__device__ __forceinline__ bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
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

/// One granule: out = prelu(z) (forward) or dx = prelu'(z)*dy with dalpha shares added to acc.
template <class T, bool kBackward, int kAlphas>
__device__ __forceinline__ void prelu_granule(const PReluArgs<T>& a, std::size_t i,
                                              std::size_t count, bool vector,
                                              const compute_t<T> (&alpha)[kAlphas],
                                              double (&acc)[kAlphas]) {
  using F = compute_t<T>;
  F z[kGranule], d[kGranule], r[kGranule];
  load_granule(a.x + i, count, vector, z);
  if (kBackward) load_granule(a.dy + i, count, vector, d);
#pragma unroll
  for (int j = 0; j < static_cast<int>(kGranule); ++j) {
    const int k = kAlphas == 1 ? 0 : j;  // one slope for the granule, or one per column
    if (kBackward) {
      r[j] = ops::PRelu::grad(z[j], alpha[k], d[j]);
      if (j < static_cast<int>(count)) acc[k] += ops::PRelu::alpha_term<double>(z[j], d[j]);
    } else {
      r[j] = ops::PRelu::value(z[j], alpha[k]);
    }
  }
  store_granule(a.out + i, count, vector, r);
}

// ============================================================================================
// Rows layout: a block per segment of one (outer, channel) row
// ============================================================================================

template <class T, bool kBackward>
__global__ void __launch_bounds__(kPReluThreads) prelu_rows_kernel(const PReluArgs<T> a) {
  using F = compute_t<T>;
  const PReluPlan& p = a.plan;
  for (std::size_t b = blockIdx.x; b < p.blocks; b += gridDim.x) {
    const RowSegment seg = row_segment(p, b);
    const F alpha[1] = {F(a.alpha[seg.channel])};
    const bool aligned = aligned16(a.x + seg.begin) && aligned16(a.out + seg.begin) &&
                         (!kBackward || aligned16(a.dy + seg.begin));
    double acc[1] = {0.0};
    for (std::size_t i = seg.begin + threadIdx.x * kGranule; i < seg.end;
         i += kPReluThreads * kGranule) {
      const std::size_t count = min_size(kGranule, seg.end - i);
      prelu_granule<T, kBackward>(a, i, count, aligned && count == kGranule, alpha, acc);
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

template <class T, bool kBackward>
__global__ void __launch_bounds__(kPReluThreads) prelu_columns_kernel(const PReluArgs<T> a) {
  using F = compute_t<T>;
  __shared__ double sums[kTileEntries];  // [lane][column] sums of the tile (backward)
  const PReluPlan& p = a.plan;
  const std::size_t width_all = p.channels * p.inner;  // row length of the matrix
  for (std::size_t b = blockIdx.x; b < p.blocks; b += gridDim.x) {
    const ColumnTile t = column_tile(p, b);
    const bool vector = t.group == kGranule && width_all % kVecWidth<T> == 0 && aligned16(a.x) &&
                        aligned16(a.out) && (!kBackward || aligned16(a.dy));
    const std::size_t items = p.lanes * t.groups;
    for (std::size_t item = threadIdx.x; item < items; item += kPReluThreads) {
      const std::size_t lane = item / t.groups, col = (item % t.groups) * t.group;
      F alpha[kGranule];
      double acc[kGranule];
#pragma unroll
      for (int k = 0; k < static_cast<int>(kGranule); ++k) {
        const std::size_t lc = col + (static_cast<std::size_t>(k) < t.group ? k : 0);
        alpha[k] = F(a.alpha[t.c0 + lc / p.inner]);
        acc[k] = 0.0;
      }
      for (std::size_t o = t.o0 + lane; o < t.o1; o += p.lanes) {
        prelu_granule<T, kBackward>(a, o * width_all + t.j0 + col, t.group, vector, alpha, acc);
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
      for (std::size_t lc = threadIdx.x; lc < t.channels; lc += kPReluThreads) {
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
// dalpha: the partials of each channel added in a fixed order, then blended
// ============================================================================================

constexpr std::size_t kDalphaColumns = 32;  // channels per block when there are many

template <class P>
__device__ __forceinline__ void write_dalpha(P* dalpha, std::size_t c, double sum, Blend b) {
  // + 0.0 when beta == 0, as the reference: a negative alpha times a +0 sum gives +0, not -0.
  const double r =
      static_cast<double>(b.alpha) * sum +
      (b.beta != 0.0f ? static_cast<double>(b.beta) * static_cast<double>(dalpha[c]) : 0.0);
  dalpha[c] = static_cast<P>(r);
}

/// channels < kDalphaColumns: a block per channel, threads strided over the partials.
/// Otherwise: a block per kDalphaColumns consecutive channels (coalesced rows of the
/// workspace), 8 lanes of partials each, the lanes added in order.
template <class P>
__global__ void __launch_bounds__(kPReluThreads)
    prelu_dalpha_kernel(const double* partials, std::size_t count, std::size_t channels, P* dalpha,
                        Blend blend) {
  if (channels < kDalphaColumns) {
    for (std::size_t c = blockIdx.x; c < channels; c += gridDim.x) {
      double v = 0.0;
      for (std::size_t k = threadIdx.x; k < count; k += kPReluThreads)
        v += partials[k * channels + c];
      const double total = block_sum(v);
      if (threadIdx.x == 0) write_dalpha(dalpha, c, total, blend);
    }
    return;
  }
  constexpr std::size_t kLanes = kPReluThreads / kDalphaColumns;
  __shared__ double lane_sums[kLanes][kDalphaColumns];
  const std::size_t column = threadIdx.x % kDalphaColumns, lane = threadIdx.x / kDalphaColumns;
  for (std::size_t c0 = blockIdx.x * kDalphaColumns; c0 < channels;
       c0 += gridDim.x * kDalphaColumns) {
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
      write_dalpha(dalpha, c, total, blend);
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

template <class T, bool kBackward>
CudaResult launch_prelu_main(const PReluArgs<T>& args, cudaStream_t stream) {
  if (args.plan.n == 0) return {};
  const unsigned grid = grid_for(args.plan.blocks);
  return args.plan.layout == PReluPlan::Layout::rows
             ? detail::launch_checked(prelu_rows_kernel<T, kBackward>, grid, kPReluThreads, stream,
                                      args)
             : detail::launch_checked(prelu_columns_kernel<T, kBackward>, grid, kPReluThreads,
                                      stream, args);
}

template <class T>
CudaResult launch_prelu_forward(const T* x, const compute_t<T>* alpha, T* y, const PReluPlan& plan,
                                cudaStream_t stream) {
  return launch_prelu_main<T, false>(PReluArgs<T>{x, alpha, nullptr, y, nullptr, plan}, stream);
}

template <class T>
CudaResult launch_prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                                 compute_t<T>* dalpha, const PReluPlan& plan, double* workspace,
                                 cudaStream_t stream, Blend dalpha_blend) {
  const CudaResult main =
      launch_prelu_main<T, true>(PReluArgs<T>{x, alpha, dy, dx, workspace, plan}, stream);
  if (!main.ok()) return main;
  const std::size_t blocks =
      plan.channels < kDalphaColumns ? plan.channels : ceil_div(plan.channels, kDalphaColumns);
  return detail::launch_checked(prelu_dalpha_kernel<compute_t<T>>, grid_for(blocks), kPReluThreads,
                                stream, workspace, plan.partials, plan.channels, dalpha,
                                dalpha_blend);
}

ACTLAYER_ENTRY_POINTS(prelu_launchers, &launch_prelu_forward<T>, &launch_prelu_backward<T>,
                      &launch_prelu_forward_with_mask<T>, &launch_prelu_backward_dx_from_mask<T>)

}  // namespace actlayer::cuda_impl
