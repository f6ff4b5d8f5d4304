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
#include "launch.hpp"

namespace actlayer::cuda_impl {

/// The clamp and the offset of a Gated, in the working precision F.
struct GatedClamp {
  bool clamped;  // limit finite
  float limit;
  float offset;  // 0: b' is b itself (its -0 kept)

  static GatedClamp of(const Gated& g) {
    return {g.limit < Gated{}.limit, g.limit, g.linear_offset};
  }
  /// a' = min(a, limit), b' = clamp(b, -limit, limit) + offset; NaN stays NaN.
  template <class F>
  ACTLAYER_HD void apply(F& a, F& b) const {
    if (clamped) {
      a = a > F(limit) ? F(limit) : a;
      b = b > F(limit) ? F(limit) : b < F(-limit) ? F(-limit) : b;
    }
    if (offset != 0.0f) b = b + F(offset);
  }
  /// v where the clamp passes the gradient of x (inside [-inf or -limit, limit], ends included;
  /// not NaN), else 0.
  template <class F>
  ACTLAYER_HD F pass(F v, F x, bool two_sided) const {
    if (!clamped) return v;
    return x <= F(limit) && (!two_sided || x >= F(-limit)) ? v : F(0);
  }
};

template <class Op>
struct GatedForwardBody {
  Op op;
  GatedClamp clamp;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[2][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      F a = in[0][j], b = in[1][j];
      clamp.apply(a, b);
      r[j] = op.value(a) * b;
    }
  }
};

/// da = g'(a') * ((b' + offset) * dy): the product with dy first, so that the functor's grad()
/// keeps its accuracy where g' underflows (and for half and bfloat16 data b*dy is exact in
/// float). db = g(a') * dy.
template <class Op>
struct GatedBackwardBody {
  Op op;
  GatedClamp clamp;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[3][W], F (&r)[2][W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      F a = in[0][j], b = in[1][j];
      const F dy = in[2][j];
      clamp.apply(a, b);
      r[0][j] = clamp.pass(ops::backward(op, a, b * dy), in[0][j], false);
      r[1][j] = clamp.pass(op.value(a) * dy, in[1][j], true);
    }
  }
};

/// Rows: a and b (inputs 0, 1) packed, dy (input 2) flat; forward's y flat, backward's da and
/// db (outputs 0, 1) packed.
using GatedForwardRows = detail::Rows<0b011u>;
using GatedBackwardRows = detail::Rows<0b11011u>;

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
