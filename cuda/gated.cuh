// cuda/gated.cuh — the gated activations y = g(a') * (b' + offset) through the one elementwise
// loop: two inputs and one output forward, three inputs and two outputs (da, db) backward. The
// packed layouts are the loop's row geometry (a and b at i + r*H of the packed tensor, one of
// them H further on); two separate pointers are the same kernel with no rows.
//
// ---- Bandwidth arithmetic ----------------------------------------------------------------
// Forward reads 2 streams and writes 1, backward reads 3 and writes 2: the copy of the same
// bytes is the bound. PyTorch's F.silu(a) * b runs two kernels and 5 streams forward (read a,
// write s, read s and b, write y), and its autograd backward several more.
#pragma once

#include <array>
#include <cstddef>

#include "actlayer/detail/elementwise.cuh"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "gated_math.hpp"
#include "launch.hpp"

namespace actlayer::cuda_impl {

template <class Op>
struct GatedForwardBody {
  Op op;
  GatedClamp clamp;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[2][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      r[j] = gated_value(op, clamp, in[0][j], in[1][j]);
    }
  }
};

/// da and db: gated_grads (gated_math.hpp).
template <class Op>
struct GatedBackwardBody {
  Op op;
  GatedClamp clamp;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[3][W], F (&r)[2][W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      gated_grads(op, clamp, in[0][j], in[1][j], in[2][j], r[0][j], r[1][j]);
    }
  }
};

using GatedForwardRows = detail::Rows<kGatedForwardRows>;
using GatedBackwardRows = detail::Rows<kGatedBackwardRows>;

template <class Geometry>
Geometry gated_geometry(std::size_t hidden) {
  Geometry g;
  g.rows = detail::RowDivider(hidden);
  return g;
}

template <class Fn>
CudaResult with_gate(const Gated& gated, Fn&& fn) {
  CudaResult result{cudaErrorInvalidValue, "ops::visit(gated.gate)", __FILE__, __LINE__};
  ops::visit(gated.gate, [&](auto, auto op) { result = fn(op); });
  return result;
}

/// a and b: the first element's a and b (packed: the base pointer and H further on, hidden =
/// H; apart: hidden = 0); n = rows * H.
template <class T>
CudaResult launch_gated_forward(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                                std::size_t hidden, cudaStream_t stream, Blend blend) {
  return with_gate(g, [&](auto op) {
    return detail::launch_elementwise<T, 2, 1>(
        GatedForwardBody<decltype(op)>{op, GatedClamp::of(g)}, std::array<T*, 1>{y},
        std::array<const T*, 2>{a, b}, n, stream, blend, gated_geometry<GatedForwardRows>(hidden));
  });
}

template <class T>
CudaResult launch_gated_backward(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                                 std::size_t n, std::size_t hidden, cudaStream_t stream,
                                 Blend blend) {
  return with_gate(g, [&](auto op) {
    return detail::launch_elementwise<T, 3, 2>(
        GatedBackwardBody<decltype(op)>{op, GatedClamp::of(g)}, std::array<T*, 2>{da, db},
        std::array<const T*, 3>{a, b, dy}, n, stream, blend,
        gated_geometry<GatedBackwardRows>(hidden));
  });
}

ACTLAYER_ENTRY_POINTS(gated_launchers, &launch_gated_forward<T>, &launch_gated_backward<T>)

}  // namespace actlayer::cuda_impl
