// cuda/reduce.cuh — a block-wide sum in a fixed order, for the deterministic reductions
// (PReLU's dalpha, RReLU's slope mean). No atomics anywhere.
#pragma once

#include <cstddef>

#include "actlayer/detail/elementwise_plan.hpp"

namespace actlayer::cuda_impl {

constexpr std::size_t kReduceThreads = detail::kThreads;  // every kernel that calls block_sum

/// The sum of v over the block, in a fixed order (a shuffle tree per warp, then the warps in
/// order); valid in thread 0. Every thread of the block must call it.
__device__ __forceinline__ double block_sum(double v) {
  __shared__ double warp_sums[kReduceThreads / 32];
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  double total = 0;
  if (threadIdx.x == 0) {
    for (std::size_t w = 0; w < kReduceThreads / 32; ++w) total += warp_sums[w];
  }
  __syncthreads();  // warp_sums may be reused right after
  return total;
}

}  // namespace actlayer::cuda_impl
