// cuda/mask.cuh — 1-bit saved state: a forward that also writes the sign of x as a bitmask
// (bit i % 32 of word i / 32 = x[i] > 0), and backward passes that read the mask instead of x.
//
// For relu, leaky_relu, step, rrelu in eval mode and PReLU's dx the derivative depends on the
// sign of x alone, so the backward evaluates the op's own ops.cuh gradient at a proxy input: +1
// where the bit is set, -1 where not. No new math, and the same bits as the backward from x
// (except where x was NaN: one bit cannot carry it; the mask says "not > 0" and dx is the
// negative side's slope times dy, while the forward's y already carried the NaN on).
//
// ---- Bandwidth ---------------------------------------------------------------------------
// The mask is n/8 bytes: 1/32 of a float tensor, 1/16 of a half one. Backward from the mask
// moves dy in, dx out and the mask: 2 + 1/32 streams (float) against 3 from x, so it should run
// ~1.45x faster at the bandwidth limit. The forward writes y and the mask: 2 + 1/32 streams; it
// takes one element per lane (coalesced 2-8 byte accesses) so that a warp's ballot is the word.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/detail/elementwise.cuh"
#include "actlayer/ops.cuh"
#include "launch.hpp"
#include "channel_plan.hpp"

namespace actlayer::cuda_impl {

constexpr int kMaskBits = 32;

/// The channel of element i in a [outer][channels][inner] view, advanced element by element
/// without a division per element.
struct ChannelCursor {
  std::size_t channel, within, channels, inner;
  __device__ __forceinline__ ChannelCursor(std::size_t i, std::size_t channels_, std::size_t inner_)
      : channel((i / inner_) % channels_), within(i % inner_), channels(channels_), inner(inner_) {}
  __device__ __forceinline__ void next() {
    if (++within == inner) {
      within = 0;
      if (++channel == channels) channel = 0;
    }
  }
};

/// The forward of element i for the mask kernel: z = pre(x, i), whose sign is the bit, and
/// y = value(z, i). A built-in elementwise op, PReLU with its channel's slope, or bias_act
/// (bias_act.cuh: z = x + bias[c]).
template <class Op>
struct OpValue {
  Op op;
  template <class F>
  __device__ __forceinline__ F pre(F x, std::size_t) const {
    return x;
  }
  template <class F>
  __device__ __forceinline__ F operator()(F z, std::size_t) const {
    return op.value(z);
  }
};

template <class P>
struct PReluValue {
  const P* alpha;
  std::size_t channels, inner;
  template <class F>
  __device__ __forceinline__ F pre(F x, std::size_t) const {
    return x;
  }
  template <class F>
  __device__ __forceinline__ F operator()(F z, std::size_t i) const {
    return ops::PRelu::value(z, F(alpha[(i / inner) % channels]));
  }
};

/// One warp per mask word at a time: lane l takes element 32w + l (coalesced accesses), the
/// warp's ballot of z > 0 is the word, lane 0 stores it. Lanes past n vote 0, so the bits past
/// n are 0. Every lane of a warp runs the same iterations, so the ballot is always full.
template <class T, class Value>
__global__ void __launch_bounds__(256)
    forward_mask_kernel(const T* x, T* y, std::uint32_t* mask, std::size_t n, Value value,
                        float alpha, float beta) {
  using F = compute_t<T>;
  const std::size_t words = (n + kMaskBits - 1) / kMaskBits;
  const unsigned lane = threadIdx.x % kMaskBits;
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * blockDim.x / kMaskBits;
  for (std::size_t w =
           (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / kMaskBits;
       w < words; w += warps) {
    const std::size_t i = w * kMaskBits + lane;
    const bool inside = i < n;
    const F z = inside ? value.pre(ops::widen(x[i]), i) : F(0);
    const std::uint32_t bits = __ballot_sync(0xffffffffu, inside && z > F(0));
    if (inside) {
      const T old = beta != 0.0f ? y[i] : T{};  // beta == 0 never reads y
      y[i] = detail::blend_result(value(z, i), alpha, beta, old);
    }
    if (lane == 0) mask[w] = bits;
  }
}

template <class T, class Value>
CudaResult launch_forward_mask(const T* x, T* y, std::uint32_t* mask, std::size_t n, Value value,
                               cudaStream_t stream, Blend blend) {
  constexpr auto kernel = forward_mask_kernel<T, Value>;
  unsigned limit = 0;
  const CudaResult sized = detail::resident_blocks(&limit);
  if (!sized.ok()) return sized;
  const std::size_t words = (n + kMaskBits - 1) / kMaskBits;
  const std::size_t wanted = (words + 256 / kMaskBits - 1) / (256 / kMaskBits);  // 8 warps a block
  const auto blocks =
      static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(limit, wanted)));
  return detail::launch_checked(kernel, blocks, detail::kThreads, stream, x, y, mask, n, value,
                                blend.alpha, blend.beta);
}

/// The proxy input of element i: +1 where the mask says x > 0, -1 where not.
template <class F>
__device__ __forceinline__ F proxy(const std::uint32_t* mask, std::size_t i) {
  return (mask[i / kMaskBits] >> (i % kMaskBits)) & 1u ? F(1) : F(-1);
}

/// Backward from the mask: the op's gradient at the proxy input (one input stream, dy).
template <class Op>
struct MaskBackwardBody {
  Op op;
  const std::uint32_t* mask;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t i0, const F (&in)[1][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = ops::backward(op, proxy<F>(mask, i0 + j), in[0][j]);
  }
};

/// PReLU's dx from the mask, with each element's channel slope.
template <class P>
struct PReluMaskBackwardBody {
  const P* alpha;
  const std::uint32_t* mask;
  std::size_t channels, inner;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t i0, const F (&in)[1][W], F (&r)[W]) const {
    ChannelCursor cursor(i0, channels, inner);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      r[j] = ops::PRelu::grad(proxy<F>(mask, i0 + j), F(alpha[cursor.channel]), in[0][j]);
      cursor.next();
    }
  }
};

template <class T>
CudaResult launch_prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y,
                                          std::uint32_t* mask, ChannelShape shape,
                                          cudaStream_t stream) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  return launch_forward_mask(
      x, y, mask, n, PReluValue<compute_t<T>>{alpha, shape.channels, shape.inner}, stream, Blend{});
}

template <class T>
CudaResult launch_prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                              const T* dy, T* dx, ChannelShape shape,
                                              cudaStream_t stream) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  return detail::launch_elementwise<T, 1>(
      PReluMaskBackwardBody<compute_t<T>>{alpha, mask, shape.channels, shape.inner}, dx, {dy}, n,
      stream, Blend{});
}

}  // namespace actlayer::cuda_impl
