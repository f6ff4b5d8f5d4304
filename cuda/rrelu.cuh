// cuda/rrelu.cuh — RReLU in training mode: a random slope per element, drawn in the kernel from
// cuRAND's Philox4x32-10, never stored (backward draws it again from the same key).
//
// ---- Bandwidth and arithmetic ------------------------------------------------------------
// Forward moves 2 streams like any forward; the noise costs arithmetic only: one Philox
// evaluation (10 rounds of two 32x32->64 multiplies, ~70 integer instructions) per 4 elements,
// which is ~18 instructions per element, well under what an H100 issues per byte it moves. The
// chunk a thread takes is 4 elements (8 for 16-bit types), so each draw serves 4 consecutive
// elements wherever the pointers are 16-byte aligned; a misaligned head/tail or chunk that
// straddles two groups of 4 draws twice. PyTorch's RReLU writes a noise tensor as large as the
// input for backward (a third stream) and ties the noise to its launch geometry.
#pragma once

#include <cstddef>
#include <cstdint>

#include <curand_philox4x32_x.h>

#include "actlayer/ops.cuh"
#include "actlayer/detail/elementwise.cuh"
#include "launch.hpp"
#include "rrelu_plan.hpp"

namespace actlayer::cuda_impl {

using detail::Chunk;
using detail::kVecWidth;
using detail::launch_elementwise;
using detail::load_chunk;
using detail::store_chunk;

/// The Philox key of one call. The offset is read on the device when the call names a device
/// counter, so that a graph replay sees the counter's current value.
struct PhiloxKey {
  std::uint64_t seed;
  std::uint64_t offset;
  const std::uint64_t* device_offset;

  static PhiloxKey from(const Philox& p) { return {p.seed, p.offset, p.device_offset}; }
  __device__ __forceinline__ std::uint64_t current_offset() const {
    return device_offset
               ? offset + __ldg(reinterpret_cast<const unsigned long long*>(device_offset))
               : offset;
  }
  /// The 4 words of group q (elements 4q .. 4q+3) at `off` (rrelu_plan.hpp).
  __device__ __forceinline__ PhiloxWords words(std::uint64_t q, std::uint64_t off) const {
    const PhiloxInput in = philox_input(seed, off, q);
    const uint4 w =
        curand_Philox4x32_10(make_uint4(in.counter[0], in.counter[1], in.counter[2], in.counter[3]),
                             make_uint2(in.key[0], in.key[1]));
    return {{w.x, w.y, w.z, w.w}};
  }
};

/// The slopes of elements i0 .. i0+W-1: one Philox draw per group of 4 (rrelu_plan.hpp).
template <int W>
__device__ __forceinline__ void draw_slopes(const ops::RRelu& op, const PhiloxKey& k,
                                            std::size_t i0, float (&r)[W]) {
  const std::uint64_t off = k.current_offset();
  std::uint32_t w[W];
  chunk_words(
      i0, [&](std::uint64_t q) { return k.words(q, off); }, w);
#pragma unroll
  for (int j = 0; j < W; ++j) r[j] = op.slope(w[j]);
}

template <class T>
constexpr int kRReluChunk = kVecWidth<T> >= 4 ? kVecWidth<T> : 4;

/// Forward: y = z or r*z; with `noise`, also the applied slope of every element.
template <class T>
struct RReluForwardBody {
  static constexpr int kChunkElements = kRReluChunk<T>;
  ops::RRelu op;
  PhiloxKey key;
  float* noise;  // nullptr: not saved
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t i0, const F (&in)[1][W], F (&r)[W]) const {
    float slope[W];
    draw_slopes(op, key, i0, slope);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      r[j] = ops::RRelu::value(in[0][j], slope[j]);
      if (noise) noise[i0 + j] = ops::RRelu::applied_slope(in[0][j], slope[j]);
    }
  }
};

/// Backward from x: the slopes drawn again from the same key.
template <class T>
struct RReluBackwardBody {
  static constexpr int kChunkElements = kRReluChunk<T>;
  ops::RRelu op;
  PhiloxKey key;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t i0, const F (&in)[2][W], F (&r)[W]) const {
    float slope[W];
    draw_slopes(op, key, i0, slope);
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = ops::RRelu::grad(in[0][j], slope[j], in[1][j]);
  }
};

/// Backward from saved applied slopes: dx = noise * dy.
struct RReluSavedBackwardBody {
  const float* noise;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t i0, const F (&in)[1][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = ops::RRelu::grad_from_applied(noise[i0 + j], in[0][j]);
  }
};

template <class T>
CudaResult launch_rrelu_forward(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, cudaStream_t stream, Blend blend) {
  const RReluForwardBody<T> body{ops::RRelu{act.lower, act.upper}, PhiloxKey::from(act.philox),
                                 noise};
  return launch_elementwise<T, 1>(body, y, {x}, n, stream, blend);
}

template <class T>
CudaResult launch_rrelu_backward(const Activation& act, const T* x, const T* dy, T* dx,
                                 std::size_t n, cudaStream_t stream, Blend blend) {
  const RReluBackwardBody<T> body{ops::RRelu{act.lower, act.upper}, PhiloxKey::from(act.philox)};
  return launch_elementwise<T, 2>(body, dx, {x, dy}, n, stream, blend);
}

template <class T>
CudaResult launch_rrelu_backward_saved(const float* noise, const T* dy, T* dx, std::size_t n,
                                       cudaStream_t stream, Blend blend) {
  return launch_elementwise<T, 1>(RReluSavedBackwardBody{noise}, dx, {dy}, n, stream, blend);
}

}  // namespace actlayer::cuda_impl
