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
// ~1.45x faster at the bandwidth limit. The forward writes y and the mask: 2 + 1/32 streams.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/detail/elementwise.cuh"
#include "actlayer/ops.cuh"
#include "launch.hpp"
#include "prelu_plan.hpp"

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

/// The forward value of element i for the mask kernel: a built-in elementwise op, or PReLU
/// with its channel's slope.
template <class Op>
struct OpValue {
  Op op;
  template <class F>
  __device__ __forceinline__ F operator()(F z, const ChannelCursor*) const {
    return op.value(z);
  }
  static constexpr bool kChannels = false;
  static constexpr std::size_t channels = 1, inner = 1;
};

template <class P>
struct PReluValue {
  const P* alpha;
  std::size_t channels, inner;
  template <class F>
  __device__ __forceinline__ F operator()(F z, const ChannelCursor* c) const {
    return ops::PRelu::value(z, F(alpha[c->channel]));
  }
  static constexpr bool kChannels = true;
};

/// One thread per mask word: its 32 elements (16-byte accesses when the pointers allow, the
/// words all start at multiples of 32 elements), y, and the word.
template <class T, class Value>
__global__ void __launch_bounds__(256)
    forward_mask_kernel(const T* x, T* y, std::uint32_t* mask, std::size_t n, Value value,
                        float alpha, float beta, bool vector) {
  using F = compute_t<T>;
  const std::size_t words = (n + kMaskBits - 1) / kMaskBits;
  for (std::size_t w = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; w < words;
       w += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t i0 = w * kMaskBits;
    const std::size_t count = n - i0 < kMaskBits ? n - i0 : kMaskBits;
    detail::Chunk<T, kMaskBits> in{}, old{}, out{};
    if (vector && count == kMaskBits) {
      in = detail::load_chunk<T, kMaskBits>(x + i0);
      if (beta != 0.0f) old = detail::load_chunk<T, kMaskBits>(y + i0);
    } else {
      for (std::size_t j = 0; j < count; ++j) {
        in.v[j] = x[i0 + j];
        if (beta != 0.0f) old.v[j] = y[i0 + j];
      }
    }
    ChannelCursor cursor(Value::kChannels ? i0 : 0, value.channels, value.inner);
    std::uint32_t bits = 0;
#pragma unroll
    for (int j = 0; j < kMaskBits; ++j) {
      const F z = ops::widen(in.v[j]);
      bits |= static_cast<std::uint32_t>(z > F(0) && static_cast<std::size_t>(j) < count) << j;
      out.v[j] = detail::blend_result(value(z, &cursor), alpha, beta, old.v[j]);
      if (Value::kChannels) cursor.next();
    }
    if (vector && count == kMaskBits) {
      detail::store_chunk<T, kMaskBits>(y + i0, out);
    } else {
      for (std::size_t j = 0; j < count; ++j) y[i0 + j] = out.v[j];
    }
    mask[w] = bits;
  }
}

template <class T, class Value>
CudaResult launch_forward_mask(const T* x, T* y, std::uint32_t* mask, std::size_t n, Value value,
                               cudaStream_t stream, Blend blend) {
  constexpr auto kernel = forward_mask_kernel<T, Value>;
  unsigned limit = 0;
  const CudaResult sized = detail::resident_blocks<kernel>(&limit);
  if (!sized.ok()) return sized;
  const std::size_t words = (n + kMaskBits - 1) / kMaskBits;
  const auto blocks = static_cast<unsigned>(std::min<std::size_t>(limit, (words + 255) / 256));
  const auto addr = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
  const bool vector = (addr(x) | addr(y)) % 16 == 0;
  ACTLAYER_CUDA_RESULT(cudaPeekAtLastError());  // see launch_elementwise
  kernel<<<std::max(1u, blocks), 256, 0, stream>>>(x, y, mask, n, value, blend.alpha, blend.beta, vector);
  ACTLAYER_CUDA_RESULT(cudaGetLastError());
  return {};
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
CudaResult launch_prelu_forward_with_mask(const T* x, const param_t<T>* alpha, T* y,
                                          std::uint32_t* mask, PReluShape shape,
                                          cudaStream_t stream) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  return launch_forward_mask(x, y, mask, n, PReluValue<param_t<T>>{alpha, shape.channels, shape.inner},
                             stream, Blend{});
}

template <class T>
CudaResult launch_prelu_backward_dx_from_mask(const std::uint32_t* mask, const param_t<T>* alpha,
                                              const T* dy, T* dx, PReluShape shape,
                                              cudaStream_t stream) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  return detail::launch_elementwise<T, 1>(
      PReluMaskBackwardBody<param_t<T>>{alpha, mask, shape.channels, shape.inner}, dx, {dy}, n,
      stream, Blend{});
}

}  // namespace actlayer::cuda_impl
