// actlayer/ops.cuh — THE definition of every built-in activation's math.
//
// One functor per op, usable on the host and the device, templated on the working precision F
// (float for float/half/bfloat16 data, double for double). Each has
//   value(z)                  f(z)
//   derivative(z)             f'(z)
// and where it helps accuracy or is allowed:
//   grad(z, dy)               dy * f'(z), more accurate than the product of the two
//   derivative_from_output(y) f'(z) written as a function of y = f(z)
//   grad_from_output(y, dy)   dy * f'(z) written as a function of y
// backward() and backward_from_output() below pick the right member for any functor, so the
// kernels (and your own fused kernels) need only those two.
//
// Conventions, the same in every op (README "Conventions"):
//   - NaN in z, y or dy gives NaN.
//   - At z = 0 the derivative takes the left branch (relu'(0) = 0, leaky'(0) = slope).
//   - A zero factor gives +0 even against an infinity: a zero slope times -inf is 0, and dy
//     through a flat region (f'(z) = 0: step, relu for z <= 0, sigmoid and tanh at +-inf) is
//     +0 for every non-NaN dy. Where f'(z) > 0, an infinite dy gives an infinite dx.
//   - relu(-0) = +0; identity and leaky_relu keep -0 (z >= 0 branch).
//
// Accuracy (ulp of T against the exactly rounded result): piecewise-linear ops are exact in
// float and double; sigmoid and tanh are within 4 ulp over the whole range (their gradients from
// z within 8), and 1 ulp in half and bfloat16. Where f'(z) underflows F, grad() keeps dy's
// precision by evaluating dy * e^-c without forming the subnormal e^-c (see mul_exp_neg).
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "actlayer/activation.hpp"
#include "actlayer/detail/config.hpp"

namespace actlayer::ops {

// ============================================================================================
// Scalar helpers
// ============================================================================================

namespace math {

/// 2^k for k in [-126, 127], exactly.
ACTLAYER_HD float pow2(int k) {
  const unsigned bits = static_cast<unsigned>(k + 127) << 23;
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

/// e^x in float within 1 ulp, and the same bits on the host and the device: CUDA's expf is
/// within 2 ulp, which would use up half of sigmoid's 4-ulp budget by itself. Cody-Waite
/// reduction x = n ln2 + r (|r| <= ln2/2, ln2 split so n*ln2_hi is exact), e^r by its Taylor
/// series to r^7 (truncation < 0.1 ulp) in fmaf, then 2^n in two exact factors so that only the
/// last product rounds (subnormal results included).
ACTLAYER_HD float exp(float x) {
  if (!(x < 89.0f)) return x != x ? x : FLT_MAX * 2.0f;  // NaN, or overflow to +inf
  if (x < -104.0f) return 0.0f;                          // below half the smallest subnormal
  const float n = ::rintf(x * 1.44269502f);              // x / ln2
  float r = ::fmaf(n, -0.693145751953125f, x);           // ln2_hi: 15 significant bits
  r = ::fmaf(n, -1.42860677e-6f, r);                     // ln2_lo
  float p = 1.98412698e-4f;                              // 1/7!
  p = ::fmaf(p, r, 1.38888889e-3f);                      // 1/6!
  p = ::fmaf(p, r, 8.33333377e-3f);                      // 1/5!
  p = ::fmaf(p, r, 4.16666679e-2f);                      // 1/4!
  p = ::fmaf(p, r, 1.66666672e-1f);                      // 1/3!
  p = ::fmaf(p, r, 0.5f);
  p = ::fmaf(p, r, 1.0f);
  p = ::fmaf(p, r, 1.0f);
  const int k = static_cast<int>(n);  // in [-150, 129]
  const int k1 = k / 2;
  return (p * pow2(k1)) * pow2(k - k1);
}

ACTLAYER_HD double exp(double x) { return ::exp(x); }
ACTLAYER_HD float tanh(float x) { return ::tanhf(x); }
ACTLAYER_HD double tanh(double x) { return ::tanh(x); }
ACTLAYER_HD float abs(float x) { return ::fabsf(x); }
ACTLAYER_HD double abs(double x) { return ::fabs(x); }
template <class F>
ACTLAYER_HD bool is_nan(F x) {
  return x != x;
}
template <class F>
ACTLAYER_HD bool is_inf(F x) {
  return abs(x) > (sizeof(F) == sizeof(float) ? F(FLT_MAX) : F(DBL_MAX));
}
}  // namespace math

/// s * v, except that a zero s gives +0 for every non-NaN v, infinities included. This is the
/// product used for slopes (a zero slope times -inf is 0, not NaN) and for dy times a derivative
/// (a flat region passes +0, whatever dy is).
template <class F>
ACTLAYER_HD F scale(F s, F v) {
  return (s == F(0) && v == v) ? F(0) : s * v;
}

namespace detail {

/// |c| above which e^-c may be subnormal in F (float: e^-87.3; double: e^-708.4).
template <class F>
ACTLAYER_HD constexpr F exp_tail() {
  return sizeof(F) == sizeof(float) ? F(80) : F(700);
}

/// dy * k * e^-c for c > exp_tail<F>() (k = 1 or 4), keeping dy's relative precision where e^-c
/// itself would be subnormal or zero. float: one double-precision product (e^-c is normal in
/// double for every c where the float result is not 0). double: exponent arithmetic (below).
ACTLAYER_HD float mul_exp_neg(float dy, float k, float c) {
  return static_cast<float>(static_cast<double>(dy) * static_cast<double>(k) *
                            ::exp(-static_cast<double>(c)));
}
ACTLAYER_HD double mul_exp_neg(double dy, double k, double c) {
  // Cody-Waite: c = m ln2 + r with |r| <= ln2/2, then dy * k * e^-c = (m(dy) k e^-r) 2^(e(dy)-m)
  // with dy = m(dy) 2^e(dy): one exp of a small argument, and the scaling is exact until the
  // final ldexp rounds once into the subnormals.
  if (c > 1500.0) return dy * 0.0;  // below the smallest subnormal for every finite dy
  const double m = ::rint(c * 1.4426950408889634);
  const double r = (c - m * 6.93147180369123816490e-01) - m * 1.90821492927058770002e-10;
  int e = 0;
  const double mantissa = ::frexp(dy, &e);
  return ::ldexp(mantissa * k * ::exp(-r), e - static_cast<int>(m));
}

/// dy * k * e^-c where f'(z) = k e^-c to F's precision (sigmoid: k = 1, c = |z|; tanh: k = 4,
/// c = 2|z|) beyond exp_tail: NaN propagates, +-inf z is flat (+0), an infinite dy stays
/// infinite (f' > 0 for finite z), and the product keeps dy's precision.
template <class F>
ACTLAYER_HD F saturated_grad(F z, F dy, F k, F c) {
  if (math::is_nan(z) || math::is_nan(dy)) return z + dy;
  if (math::is_inf(z)) return F(0);
  if (math::is_inf(dy)) return dy;
  return mul_exp_neg(dy, k, c);
}

template <class Op, class F, class = void>
struct has_grad : std::false_type {};
template <class Op, class F>
struct has_grad<Op, F, std::void_t<decltype(std::declval<const Op&>().grad(F(), F()))>>
    : std::true_type {};

template <class Op, class F, class = void>
struct has_grad_from_output : std::false_type {};
template <class Op, class F>
struct has_grad_from_output<
    Op, F, std::void_t<decltype(std::declval<const Op&>().grad_from_output(F(), F()))>>
    : std::true_type {};

template <class Op, class F, class = void>
struct has_derivative_from_output : std::false_type {};
template <class Op, class F>
struct has_derivative_from_output<
    Op, F, std::void_t<decltype(std::declval<const Op&>().derivative_from_output(F()))>>
    : std::true_type {};

}  // namespace detail

// ============================================================================================
// The functors
// ============================================================================================

/// f(z) = z.
struct Identity {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z;
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z == z ? F(1) : z;
  }
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return derivative(y);
  }
};

/// f(z) = 1 for z >= 0 (-0 included), 0 otherwise. Its derivative is 0 everywhere: it cannot
/// learn by gradient descent (the course's point).
struct Step {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z >= F(0) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z == z ? F(0) : z;
  }
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return derivative(y);
  }
};

/// The logistic function sigma(z) = 1 / (1 + e^-z).
struct Sigmoid {
  /// For z < 0 the form e^z / (1 + e^z): no cancellation, and subnormal results stay subnormal
  /// (not 0) down to z = -103.9 in float.
  template <class F>
  ACTLAYER_HD F value(F z) const {
    if (z >= F(0)) return F(1) / (F(1) + math::exp(-z));
    const F e = math::exp(z);
    return e / (F(1) + e);
  }
  /// sigma(z) * sigma(-z) = e / (1 + e)^2 with e = e^-|z|: relative accuracy for every z, where
  /// the naive sigma(1 - sigma) returns 0 for z > 17 (float).
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F e = math::exp(-math::abs(z));
    const F s = F(1) + e;
    return e / (s * s);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const F a = math::abs(z);
    if (a <= detail::exp_tail<F>()) return dy * derivative(z);
    return detail::saturated_grad(z, dy, F(1), a);  // sigma'(z) = e^-|z| there (or NaN)
  }
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return y * (F(1) - y);
  }
};

/// tanh z.
struct Tanh {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return math::tanh(z);
  }
  /// sech^2 z = 4e / (1 + e)^2 with e = e^-2|z|: relative accuracy for every z, where the naive
  /// 1 - tanh^2 loses it for |z| > 1 and returns 0 for |z| > 9 (float).
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F e = math::exp(F(-2) * math::abs(z));
    const F s = F(1) + e;
    return (F(4) * e) / (s * s);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const F a = math::abs(z);
    if (F(2) * a <= detail::exp_tail<F>()) return dy * derivative(z);
    return detail::saturated_grad(z, dy, F(4), F(2) * a);  // tanh'(z) = 4 e^-2|z| there
  }
  /// (1 - y)(1 + y): one factor is exact (Sterbenz) wherever the other is near 0.
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return (F(1) - y) * (F(1) + y);
  }
};

/// max(0, z) with relu(-0) = +0 and NaN propagated (unlike fmaxf, which drops it).
struct Relu {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z > F(0) ? z : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(0) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return derivative(y);
  }
};

/// z for z >= 0; for z < 0 either slope*z (divisor == 0) or z/divisor (the course's form,
/// divided as written). RReLU in eval mode is this with slope = Activation::eval_slope().
struct LeakyRelu {
  float slope = 0.01f;
  float divisor = 0.0f;

  /// The linear map of the negative side, applied to z in the forward and to dy in the
  /// backward: v/divisor, or slope*v with a zero slope giving +0.
  template <class F>
  ACTLAYER_HD F negative_side(F v) const {
    return divisor != 0.0f ? v / F(divisor) : scale(F(slope), v);
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z >= F(0) ? z : negative_side(z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    if (z > F(0)) return F(1);
    if (z != z) return z;
    return divisor != 0.0f ? F(1) / F(divisor) : F(slope);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return z > F(0) ? dy : (z == z ? negative_side(dy) : z);
  }
  /// Valid when the negative side keeps the sign (slope > 0 or a divisor): then y > 0 iff z > 0.
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return grad(y, dy);
  }
};

/// PReLU: z for z >= 0, alpha*z otherwise, with a trainable slope alpha per channel (any real
/// value: negative, zero or > 1). The slope is an argument, in the working precision F (the
/// fp32 master parameter for half and bfloat16 data, double for double).
struct PRelu {
  template <class F>
  ACTLAYER_HD static F value(F z, F alpha) {
    return z >= F(0) ? z : scale(alpha, z);
  }
  /// dx = dy for z > 0, alpha*dy otherwise (the left branch at 0).
  template <class F>
  ACTLAYER_HD static F grad(F z, F alpha, F dy) {
    return z > F(0) ? dy : (z == z ? scale(alpha, dy) : z);
  }
  /// One element's share of d(loss)/d(alpha): z*dy where z <= 0 (or NaN), else 0; a zero factor
  /// gives 0 even against an infinity. A is the accumulation type (double).
  template <class A, class F>
  ACTLAYER_HD static A alpha_term(F z, F dy) {
    if (z > F(0)) return A(0);
    if (z != z || dy != dy) return A(z) + A(dy);  // NaN
    return (z == F(0) || dy == F(0)) ? A(0) : A(z) * A(dy);
  }
};

/// RReLU in training: z for z >= 0, r*z otherwise, with a slope r per element drawn from the
/// 32-bit Philox word w of that element (docs/design.md §5; the kernels draw w). In eval mode
/// RReLU is LeakyRelu with Activation::eval_slope().
struct RRelu {
  float lower = 1.0f / 8;
  float upper = 1.0f / 3;

  /// r = fmaf(upper - lower, u, lower) with u = (w >> 8) * 2^-24, exact in float and in [0, 1).
  /// r is in [lower, upper]: upper itself only when lower == upper or when the fma rounds up to
  /// it (u within a few 2^-24 of 1).
  ACTLAYER_HD float slope(std::uint32_t w) const {
    return ::fmaf(upper - lower, static_cast<float>(w >> 8) * 0x1p-24f, lower);
  }
  template <class F>
  ACTLAYER_HD static F value(F z, float r) {
    return PRelu::value(z, F(r));
  }
  template <class F>
  ACTLAYER_HD static F grad(F z, float r, F dy) {
    return PRelu::grad(z, F(r), dy);
  }
  /// The slope actually applied to z, as the saved-noise variant stores it: 1 where z > 0, r
  /// where z <= 0, NaN where z is NaN (so that dx = applied * dy propagates it).
  template <class F>
  ACTLAYER_HD static float applied_slope(F z, float r) {
    return z > F(0) ? 1.0f : (z == z ? r : static_cast<float>(z));
  }
  /// dx from a saved applied slope: scale(applied, dy), the same bits as grad().
  template <class F>
  ACTLAYER_HD static F grad_from_applied(float applied, F dy) {
    return scale(F(applied), dy);
  }
};

// ============================================================================================
// Generic entry points: what the kernels call
// ============================================================================================

/// dy * f'(z) for any functor: its grad() when it has one, else scale(f'(z), dy).
template <class Op, class F>
ACTLAYER_HD F backward(const Op& op, F z, F dy) {
  if constexpr (detail::has_grad<Op, F>::value) {
    return op.grad(z, dy);
  } else {
    return scale(op.derivative(z), dy);
  }
}

/// True when the functor can compute its gradient from the forward's output.
template <class Op, class F = float>
inline constexpr bool has_output_form_v =
    detail::has_grad_from_output<Op, F>::value || detail::has_derivative_from_output<Op, F>::value;

/// dy * f'(z) from y = f(z), for functors with an output form.
template <class Op, class F>
ACTLAYER_HD F backward_from_output(const Op& op, F y, F dy) {
  static_assert(has_output_form_v<Op, F>, "this functor has no output form");
  if constexpr (detail::has_grad_from_output<Op, F>::value) {
    return op.grad_from_output(y, dy);
  } else {
    return scale(op.derivative_from_output(y), dy);
  }
}

// ============================================================================================
// From an Activation to its functor
// ============================================================================================

/// Calls fn with the functor of `act` (rrelu: its eval-mode LeakyRelu; training mode draws its
/// slopes per element, see RRelu) and returns true; returns false without calling fn for an
/// out-of-range act.op. The one place that maps Activation to ops.cuh.
///
///   float y;
///   actlayer::ops::visit(act, [&](auto op) { y = op.value(2.0f); });
template <class Fn>
bool visit(const Activation& act, Fn&& fn) {
  switch (act.op) {
    case Op::identity:
      fn(Identity{});
      return true;
    case Op::step:
      fn(Step{});
      return true;
    case Op::sigmoid:
      fn(Sigmoid{});
      return true;
    case Op::tanh:
      fn(Tanh{});
      return true;
    case Op::relu:
      fn(Relu{});
      return true;
    case Op::leaky_relu:
      fn(LeakyRelu{act.slope, act.divisor});
      return true;
    case Op::rrelu:
      fn(LeakyRelu{act.eval_slope(), 0.0f});
      return true;
  }
  return false;
}

// ============================================================================================
// Storage <-> working precision
// ============================================================================================

/// Widens a stored element to its working precision (exact).
ACTLAYER_HD float widen(float v) { return v; }
ACTLAYER_HD double widen(double v) { return v; }
ACTLAYER_HD float widen(__half v) { return __half2float(v); }
ACTLAYER_HD float widen(__nv_bfloat16 v) { return __bfloat162float(v); }

/// Rounds a working-precision result to the storage type, once, to nearest even.
template <class T>
ACTLAYER_HD T narrow(float v);
template <>
ACTLAYER_HD float narrow<float>(float v) {
  return v;
}
template <>
ACTLAYER_HD __half narrow<__half>(float v) {
  return __float2half_rn(v);
}
template <>
ACTLAYER_HD __nv_bfloat16 narrow<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <class T>
ACTLAYER_HD T narrow(double v) {
  static_assert(std::is_same_v<T, double>, "double results are stored as double");
  return v;
}

}  // namespace actlayer::ops
