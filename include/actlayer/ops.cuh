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

#include <cstdint>
#include <type_traits>
#include <utility>

#include "actlayer/activation.hpp"
#include "actlayer/detail/config.hpp"
#include "actlayer/detail/convert.hpp"
#include "actlayer/detail/math.hpp"
#include "actlayer/detail/gelu_math.hpp"

namespace actlayer::ops {

// ============================================================================================
// Traits, detected on the functor
// ============================================================================================

namespace detail {

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
//
// Each carries its traits, read by the validation, the mask calls, the tests, the bench and the
// samples:
//   kSmooth     ulp bounds (true) or bit-exact (false: piecewise linear)
//   kSignOnly   f' depends on the sign of z alone: the 1-bit mask calls accept it
//   kParams     the Activation fields it reads (Params bits; validated per call)
//   from(act)   the functor for an Activation's parameters (when it has any)
// The output form (backward from y) is detected from the members; `no_output_form(act)` says
// why an op that has one cannot use it for these parameters (nullptr when it can).

/// Activation fields an op reads.
enum Params : unsigned {
  kNoParams = 0,
  kSlopeOrDivisor = 1u << 0,  // leaky_relu: slope, or divisor when non-zero
  kLowerUpper = 1u << 1,      // rrelu: lower, upper (and training, philox)
  kAlpha = 1u << 2,           // elu: alpha finite
  kAlphaNonZero = 1u << 3,    // celu: alpha finite and != 0
  kBeta = 1u << 4,            // swish: beta finite
  kSoftplus = 1u << 5,        // softplus: beta finite and > 0, threshold finite
  kLoHi = 1u << 6,            // hardtanh: lo, hi finite, lo < hi
  kLambda = 1u << 7,          // shrinks: lambda finite, >= 0
  kHardSigmoid = 1u << 8,     // hardsigmoid: hard_slope, hard_offset finite
  kThresholdValue = 1u << 9,  // threshold: threshold, value finite
};

/// f(z) = z.
struct Identity {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;  // 1, but NaN z must give NaN: not one bit's worth
  static constexpr unsigned kParams = kNoParams;
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
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = true;
  static constexpr unsigned kParams = kNoParams;
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
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
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
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
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
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = true;
  static constexpr unsigned kParams = kNoParams;
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
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = true;
  static constexpr unsigned kParams = kSlopeOrDivisor;
  float slope = 0.01f;
  float divisor = 0.0f;

  static LeakyRelu from(const Activation& act) { return {act.slope, act.divisor}; }
  /// y = 0 for every z <= 0 with slope 0: y cannot tell the sides apart.
  const char* no_output_form() const {
    return slope == 0.0f && divisor == 0.0f ? "slope 0: y = 0 for every z <= 0" : nullptr;
  }

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
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = true;  // in eval mode; the calls refuse training mode
  static constexpr unsigned kParams = kLowerUpper;
  float lower = 1.0f / 8;
  float upper = 1.0f / 3;

  /// The elementwise passes see RReLU in eval mode: LeakyRelu with the mean slope. (Training
  /// mode draws a slope per element: cuda/rrelu.cuh, through value() and grad() below.)
  static LeakyRelu from(const Activation& act) { return {act.eval_slope(), 0.0f}; }

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

// ---- The GELUs, the hard clamps, the shrinks, thresholded and squared ReLU -----------------
//
// Their math in double is detail/gelu_math.hpp (the GELUs) and the helpers below. Conventions
// as above; at a kink between a flat piece and a sloped one the derivative is 0, the flat
// side's (PyTorch's choice too, and what the output form can tell from y).

namespace detail {
/// The helpers of the clamps and shrinks (their own namespace: detail is shared by every op).
namespace clamp {
/// a * b + c rounded once, in F (fmaf for float: ::fma would round in double first).
ACTLAYER_HD float fused_mul_add(float a, float b, float c) { return ::fmaf(a, b, c); }
ACTLAYER_HD double fused_mul_add(double a, double b, double c) { return ::fma(a, b, c); }

/// dy through a flat piece: +0, or NaN for a NaN dy.
template <class F>
ACTLAYER_HD F flat(F dy) {
  return dy == dy ? F(0) : dy;
}

/// v rounded to half and to bfloat16 (the 16-bit element types, whose working precision is
/// float), back in float: where an output form compares y with a parameter, that parameter
/// must not round to the other side of the comparison (host only: no_output_form).
inline float as_half(float v) { return widen(narrow<__half>(v)); }
inline float as_bfloat16(float v) { return widen(narrow<__nv_bfloat16>(v)); }
}  // namespace clamp
}  // namespace detail

/// GELU, the exact form: z Phi(z) = z/2 (1 + erf(z/sqrt 2)), Phi the standard normal CDF
/// (PyTorch's gelu, approximate='none'; ONNX Gelu). Computed in double for every element type
/// (detail::dd::gelu_erf): within 2 ulp in double over the whole range, the tiny results of very
/// negative z and the derivative's zero crossing at z = -0.7518 included. gelu(+-0) = +-0,
/// gelu(-inf) = -0 (the limit from below), gelu'(-inf) = +0 (flat), gelu'(+inf) = 1.
struct Gelu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(detail::dd::gelu_erf(static_cast<double>(z)));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(detail::dd::gelu_erf_grad(static_cast<double>(z), 1.0));
  }
  /// dy * gelu'(z): for very negative z, dy * e^(-z^2/2) * ... keeps dy's precision where
  /// gelu'(z) itself underflows.
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(
        detail::dd::gelu_erf_grad(static_cast<double>(z), static_cast<double>(dy)));
  }
};

/// GELU, the tanh form: z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) = z sigma(W) with
/// W = 2 sqrt(2/pi) (z + 0.044715 z^3) (PyTorch's gelu, approximate='tanh'). Computed in double
/// (detail::dd::gelu_tanh, W in double-double): within 2 ulp in double, 3 for the derivative.
/// Conventions as Gelu.
struct GeluTanh {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(detail::dd::gelu_tanh(static_cast<double>(z)));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(detail::dd::gelu_tanh_grad(static_cast<double>(z), 1.0));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(
        detail::dd::gelu_tanh_grad(static_cast<double>(z), static_cast<double>(dy)));
  }
};

/// max(0, min(1, a z + b)) with a = hard_slope, b = hard_offset (PyTorch's hardsigmoid: 1/6
/// and 1/2, a = 1/6 rounded to float; ONNX HardSigmoid: 0.2 and 0.5). a z + b is one fma: the
/// exact value rounded once to F, so the result is bit-exact in float and double. f' = a where
/// 0 < a z + b < 1 as rounded to F (the same region the output form sees), else 0; a = 0 gives
/// y = clamp(b) for every non-NaN z, infinities included.
struct HardSigmoid {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kHardSigmoid;
  float slope = 1.0f / 6;
  float offset = 0.5f;

  static HardSigmoid from(const Activation& act) { return {act.hard_slope, act.hard_offset}; }

  /// a z + b rounded once (b for a zero slope: a zero factor beats an infinity).
  template <class F>
  ACTLAYER_HD F linear(F z) const {
    if (slope == 0.0f) return z == z ? F(offset) : z;
    return detail::clamp::fused_mul_add(F(slope), z, F(offset));
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    const F v = linear(z);
    return v > F(0) ? (v < F(1) ? v : F(1)) : (v == v ? F(0) : v);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F v = linear(z);
    return v > F(0) && v < F(1) ? F(slope) : (v == v ? F(0) : v);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const F v = linear(z);
    return v > F(0) && v < F(1) ? scale(F(slope), dy) : (v == v ? detail::clamp::flat(dy) : v);
  }
  /// a where 0 < y < 1: where a z + b rounds to 0 or 1 (in F, or y in T), y is flat here.
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return y > F(0) && y < F(1) ? scale(F(slope), dy) : (y == y ? detail::clamp::flat(dy) : y);
  }
};

/// z * hardsigmoid(z) with PyTorch's fixed 1/6 and 1/2 (exact here, not a float 1/6):
/// z (z + 3)/6 on (-3, 3), +0 for z <= -3, z for z >= 3; hardswish(-0) = -0. Not piecewise
/// linear: z + 3 and the product are exact in double-double and the division by 6 is
/// corrected by its residual, within 1 ulp. f' = (2z + 3)/6 on (-3, 3], 0 below, 1 above (at
/// z = -3 the flat side, 0, where PyTorch gives -1/2). No output form: y is not invertible.
struct HardSwish {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    if (!(z > F(-3))) return z == z ? F(0) : z;
    if (z >= F(3) || z == F(0)) return z;
    const double x = static_cast<double>(z);
    const detail::dd::TwoDouble y =
        detail::dd::div6(detail::dd::times_two(detail::dd::two_sum(x, 3.0), x));
    return static_cast<F>(y.hi + y.lo);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return grad(z, F(1));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    if (z != z || dy != dy) return z + dy;
    if (!(z > F(-3))) return F(0);
    if (z > F(3)) return dy;
    const double x = static_cast<double>(z);
    if (x == -1.5) return F(0);  // f' = 0 here: a zero factor beats an infinite dy
    const detail::dd::TwoDouble d =
        detail::dd::div6(detail::dd::two_sum(2.0 * x, 3.0));  // (2z + 3)/6
    return static_cast<F>(detail::dd::times(d, static_cast<double>(dy)));
  }
};

/// min(max(z, lo), hi), with lo < hi (hardtanh() has PyTorch's -1 and 1; relu6() is
/// hardtanh(0, 6) and clipped_relu(c) hardtanh(0, c), cuDNN's CLIPPED_RELU). A clamped result
/// is the bound's value (relu6(-0) = +0); z inside passes unchanged (hardtanh(-0) = -0).
/// f' = 1 on (lo, hi), 0 outside and at both bounds (PyTorch's choice). The mask calls refuse
/// it: its backward needs two bits, not the sign.
struct HardTanh {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kLoHi;
  float lo = -1.0f;
  float hi = 1.0f;

  static HardTanh from(const Activation& act) { return {act.lo, act.hi}; }
  /// From y, f' = 1 where lo < y < hi. In half or bfloat16 data a bound that rounds to a value
  /// strictly inside (lo, hi) makes every clamped y look like an interior one.
  const char* no_output_form() const {
    for (float r : {detail::clamp::as_half(lo), detail::clamp::as_bfloat16(lo)}) {
      if (r > lo && r < hi) return "lo rounds into (lo, hi) in half or bfloat16";
    }
    for (float r : {detail::clamp::as_half(hi), detail::clamp::as_bfloat16(hi)}) {
      if (r > lo && r < hi) return "hi rounds into (lo, hi) in half or bfloat16";
    }
    return nullptr;
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    if (z <= F(lo)) return F(lo) + F(0);  // + 0: a bound of -0 gives +0
    if (z >= F(hi)) return F(hi) + F(0);
    return z;  // NaN included
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(lo) && z < F(hi) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return z > F(lo) && z < F(hi) ? dy : (z == z ? detail::clamp::flat(dy) : z);
  }
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return grad(y, dy);
  }
};

/// z - lambda for z > lambda, z + lambda for z < -lambda, +0 in between (lambda >= 0;
/// PyTorch's softshrink, default 0.5). z -+ lambda is rounded once: bit-exact in float and
/// double. f' = 1 where |z| > lambda, else 0 (at z = +-lambda too).
struct SoftShrink {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kLambda;
  float lambda = 0.5f;

  static SoftShrink from(const Activation& act) { return {act.lambda}; }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    if (z > F(lambda)) return z - F(lambda);
    if (z < -F(lambda)) return z + F(lambda);
    return z == z ? F(0) : z;
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(lambda) || z < -F(lambda) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return z > F(lambda) || z < -F(lambda) ? dy : (z == z ? detail::clamp::flat(dy) : z);
  }
  /// 1 where y != 0 (z -+ lambda never rounds to 0 in float or double; in half or bfloat16
  /// it can, within half a subnormal of +-lambda, and y is flat there).
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return y > F(0) || y < F(0) ? dy : (y == y ? detail::clamp::flat(dy) : y);
  }
};

/// z where |z| > lambda, else +0 (lambda >= 0; PyTorch's hardshrink, default 0.5). Exact.
/// f' = 1 where |z| > lambda, else 0 (at z = +-lambda and +-0 too); y != 0 exactly there.
struct HardShrink {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kLambda;
  float lambda = 0.5f;

  static HardShrink from(const Activation& act) { return {act.lambda}; }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z > F(lambda) || z < -F(lambda) ? z : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(lambda) || z < -F(lambda) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return z > F(lambda) || z < -F(lambda) ? dy : (z == z ? detail::clamp::flat(dy) : z);
  }
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return y > F(0) || y < F(0) ? dy : (y == y ? detail::clamp::flat(dy) : y);
  }
};

/// z where z > threshold, else value (PyTorch's threshold(z, threshold, value); ONNX
/// ThresholdedRelu(alpha) is thresholded(alpha, 0)). The op is not named `threshold`: that is
/// the Activation field (softplus's too), which a generated threshold() would clash with. The
/// parameterless thresholded() has the fields' defaults: threshold 20, value 0. f' = 1 where
/// z > threshold, else 0. Exact (value is rounded to T; a value of -0 gives +0).
struct Thresholded {
  static constexpr bool kSmooth = false;
  static constexpr bool kSignOnly = false;  // z > threshold, not the sign
  static constexpr unsigned kParams = kThresholdValue;
  float threshold = 20.0f;
  float fill = 0.0f;  ///< Activation::value, the result at or below the threshold

  static Thresholded from(const Activation& act) { return {act.threshold, act.value}; }
  /// From y, f' = 1 where y > threshold: ambiguous when the fill value is above it.
  const char* no_output_form() const {
    if (fill > threshold) return "value > threshold: y = value is also the output of z = value";
    if (detail::clamp::as_half(fill) > threshold || detail::clamp::as_bfloat16(fill) > threshold) {
      return "value rounds above threshold in half or bfloat16";
    }
    return nullptr;
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z > F(threshold) ? z : (z == z ? F(fill) + F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(threshold) ? F(1) : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return z > F(threshold) ? dy : (z == z ? detail::clamp::flat(dy) : z);
  }
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return grad(y, dy);
  }
};

/// relu(z)^2: z*z for z > 0, +0 otherwise (Primer's squared ReLU). z*z and dy * 2z are rounded
/// once: bit-exact in float and double (the tests hold them to that; the class is kSmooth for
/// the output form). f' = 2z for z > 0, else 0; dy = 0 at z = +inf gives +0 (a zero factor
/// beats an infinity). From y: f' = 2 sqrt(y) (within 1 ulp); a z whose square underflows to 0
/// is flat there.
struct SquaredRelu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;  // f' = 2z needs z, not its sign
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z > F(0) ? z * z : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(0) ? F(2) * z : (z == z ? F(0) : z);
  }
  /// dy * 2z with one rounding: 2z is exact unless it overflows, and then (dy z) 2 is.
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    if (!(z > F(0))) return z == z ? detail::clamp::flat(dy) : z;
    if (math::is_inf(z)) return dy == F(0) ? F(0) : dy * z;
    const F half_max = sizeof(F) == sizeof(float) ? F(FLT_MAX / 2) : F(DBL_MAX / 2);
    return z < half_max ? dy * (F(2) * z) : (dy * z) * F(2);
  }
  /// dy * 2 sqrt(y), in double (float: one rounding of a double result).
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    if (!(y > F(0))) return y == y ? detail::clamp::flat(dy) : y;
    if (math::is_inf(y)) return dy == F(0) ? F(0) : dy * y;
    return static_cast<F>(static_cast<double>(dy) * (2.0 * ::sqrt(static_cast<double>(y))));
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

namespace detail {
template <class Op, class = void>
struct has_from : std::false_type {};
template <class Op>
struct has_from<Op, std::void_t<decltype(Op::from(std::declval<const Activation&>()))>>
    : std::true_type {};
template <class Op, class = void>
struct has_no_output_form : std::false_type {};
template <class Op>
struct has_no_output_form<Op, std::void_t<decltype(std::declval<const Op&>().no_output_form())>>
    : std::true_type {};
}  // namespace detail

/// The functor an Activation runs through the elementwise loop: Op::from(act), or Op{}.
template <class Op>
auto make(const Activation& act) {
  if constexpr (detail::has_from<Op>::value) {
    return Op::from(act);
  } else {
    return Op{};
  }
}

/// nullptr when `op` can compute its backward from y, else why not.
template <class Op>
const char* no_output_form(const Op& op) {
  if constexpr (!has_output_form_v<Op>) {
    return "its derivative is not a function of y";
  } else if constexpr (detail::has_no_output_form<Op>::value) {
    return op.no_output_form();
  } else {
    return nullptr;
  }
}

/// Calls fn(list_functor, functor): the functor of act.op's row in ACTLAYER_OPS (whose traits
/// describe the op) and the functor built from act's parameters (which the loop runs: rrelu's
/// is its eval-mode LeakyRelu); returns false without calling fn for an out-of-range act.op.
/// The one place that maps Activation to ops.cuh.
///
///   float y;
///   actlayer::ops::visit(act, [&](auto row, auto op) { y = op.value(2.0f); });
template <class Fn>
bool visit(const Activation& act, Fn&& fn) {
  switch (act.op) {
#define ACTLAYER_OP_VISIT(name, functor, formula) \
  case Op::name:                                  \
    fn(functor{}, make<functor>(act));            \
    return true;
    ACTLAYER_OPS(ACTLAYER_OP_VISIT)
#undef ACTLAYER_OP_VISIT
  }
  return false;
}

}  // namespace actlayer::ops
