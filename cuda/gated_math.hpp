// cuda/gated_math.hpp — one element of the gated activations, as plain C++ for the host and the
// device: the clamp and the offset, y = g(a') * (b' + offset), and its two gradients. The
// kernels' bodies (gated.cuh) and the CPU backend's (cpu/gated.hpp) both call these, so the two
// compute the same expressions in the same order.
#pragma once

#include "actlayer/activation.hpp"
#include "actlayer/detail/config.hpp"
#include "actlayer/ops.cuh"

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

/// The streams of the packed layouts that are rows of 2H (the loops' row geometry), by bit:
/// forward a, b (inputs 0, 1) packed, y flat; backward a, b packed, dy (input 2) flat, da and
/// db (outputs 0, 1, bits 3 and 4) packed.
constexpr unsigned kGatedForwardRows = 0b011u;
constexpr unsigned kGatedBackwardRows = 0b11011u;

/// y = g(a') * (b' + offset).
template <class Op, class F>
ACTLAYER_HD F gated_value(const Op& op, const GatedClamp& clamp, F a, F b) {
  clamp.apply(a, b);
  return op.value(a) * b;
}

/// da = g'(a') * ((b' + offset) * dy): the product with dy first, so that the functor's grad()
/// keeps its accuracy where g' underflows (and for half and bfloat16 data b*dy is exact in
/// float). db = g(a') * dy.
template <class Op, class F>
ACTLAYER_HD void gated_grads(const Op& op, const GatedClamp& clamp, F a0, F b0, F dy, F& da,
                             F& db) {
  F a = a0, b = b0;
  clamp.apply(a, b);
  da = clamp.pass(ops::backward(op, a, b * dy), a0, false);
  db = clamp.pass(op.value(a) * dy, b0, true);
}

}  // namespace actlayer::cuda_impl
