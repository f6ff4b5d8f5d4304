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

/// is_detected<Member, Op, F...>: true when Member<Op, F...> is well formed.
template <class, template <class...> class Member, class... A>
struct detector : std::false_type {};
template <template <class...> class Member, class... A>
struct detector<std::void_t<Member<A...>>, Member, A...> : std::true_type {};
template <template <class...> class Member, class... A>
inline constexpr bool is_detected = detector<void, Member, A...>::value;

template <class Op, class F>
using grad_member = decltype(std::declval<const Op&>().grad(F(), F()));
template <class Op, class F>
using grad_from_output_member = decltype(std::declval<const Op&>().grad_from_output(F(), F()));
template <class Op, class F>
using derivative_from_output_member =
    decltype(std::declval<const Op&>().derivative_from_output(F()));
template <class Op>
using from_member = decltype(Op::from(std::declval<const Activation&>()));
template <class Op>
using no_output_form_member = decltype(std::declval<const Op&>().no_output_form());

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
  /// With e = e^-|z|: 1 / (1 + e), and for z < 0 the form e / (1 + e): no cancellation, and
  /// subnormal results stay subnormal (not 0) down to z = -103.9 in float. One exp either way.
  template <class F>
  ACTLAYER_HD F value(F z) const {
    const F e = math::exp(-math::abs(z));
    return (z >= F(0) ? F(1) : e) / (F(1) + e);
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
    return detail::exp_grad(z, dy, dy * derivative(z), F(1), math::abs(z));  // e^-|z| far out
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
    return detail::exp_grad(z, dy, dy * derivative(z), F(4), F(2) * math::abs(z));  // 4 e^-2|z|
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
// The exponential family: elu, selu, celu, silu, swish, quick_gelu, mish, softplus,
// logsigmoid, softsign, tanhshrink
// ============================================================================================
//
// Each computes in double for every element type (float, half and bfloat16 data: one rounding
// at the end) with the helpers of detail/math.hpp: expm1 and log1p near 0, the argument's
// rounding error carried as t + e where a product or quotient feeds an exponential, forms
// without cancellation next to the roots of silu' and mish', and mul_exp where e^z alone would
// be subnormal (the saturated tails). The members below are written once in double; the
// template members round the double result once to F.

namespace detail {
/// selu's constants (PyTorch's): lambda, and lambda*alpha as double-double.
inline constexpr double kSeluLambda = 1.0507009873554805;
inline constexpr double kSeluAlpha = 1.6732632423543772;
inline constexpr double kSeluLambdaAlpha = 1.7580993408473768;
inline constexpr double kSeluLambdaAlphaLo = 1.41535193800845e-17;
/// quick_gelu's 1.702 as double-double.
inline constexpr double kQuickGeluBeta = 1.702;
inline constexpr double kQuickGeluBetaLo = 4.263256414560601e-17;
/// mish'(z) = e^z w(z) / D(z)^2 has its root at z1 (double-double) where w(z1) = 0; about it
/// w(z) = E1 (A3 (E1^2 + 3 E1 + 3) + A2 (E1 + 2) + A1) + 4 d (1 + e^z), d = z - z1, E1 =
/// expm1(d), A3 = e^3z1, A2 = 4 e^2z1, A1 = (6 + 4 z1) e^z1: every term has the sign of d.
inline constexpr double kMishRoot = -1.1924312145154952;
inline constexpr double kMishRootLo = -4.8484829848031044e-17;
inline constexpr double kMishA3 = 0.027951242009170138;
inline constexpr double kMishA2 = 0.3684065968836178;
inline constexpr double kMishA1 = 0.3733670191691929;

/// z for z >= 0, k (e^z - 1) otherwise, times `pos` on the positive side: elu (pos = 1,
/// k = alpha) and selu (pos = lambda, k = lambda*alpha as k + k_lo).
struct ScaledElu {
  double pos, k, k_lo;
  ACTLAYER_HD double value(double z) const {
    return z >= 0.0 ? (pos == 1.0 ? z : pos * z) : scale(k, ::expm1(z));
  }
  ACTLAYER_HD double derivative(double z) const {
    if (z > 0.0) return pos;
    if (math::is_nan(z)) return z;
    return grad(z, 1.0);
  }
  /// dy k e^z on the left: directly while k e^z is a full-precision normal, else mul_exp.
  ACTLAYER_HD double grad(double z, double dy) const {
    if (z > 0.0) return pos == 1.0 ? dy : pos * dy;
    if (math::is_nan(z) || math::is_nan(dy)) return z + dy;
    const double d = k * ::exp(z);
    if (math::abs(d) >= 0x1p-960 || (d == 0.0 && (k == 0.0 || math::is_inf(z))))
      return scale(d, dy);
    return mul_exp(dy, k, z);
  }
  /// y > 0: pos; y <= 0: y + k, where y + k_hi is exact next to the saturation (Sterbenz).
  ACTLAYER_HD double grad_from_output(double y, double dy) const {
    if (y > 0.0) return pos == 1.0 ? dy : pos * dy;
    return scale((y + k) + k_lo, dy);
  }
};
}  // namespace detail

/// elu(z) = z for z >= 0 (-0 kept), alpha (e^z - 1) otherwise (PyTorch's ELU, alpha = 1).
/// f' = 1 for z > 0, alpha e^z for z <= 0 (left branch at 0); from y: y + alpha for y <= 0.
struct Elu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kAlpha;
  float alpha = 1.0f;

  static Elu from(const Activation& act) { return {act.alpha}; }
  /// With alpha < 0 the left side is positive too: y does not tell the sides apart.
  const char* no_output_form() const {
    return alpha < 0.0f ? "alpha < 0: y > 0 on both sides of 0" : nullptr;
  }
  ACTLAYER_HD detail::ScaledElu d() const { return {1.0, alpha, 0.0}; }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(d().value(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(d().derivative(z));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(d().grad(z, dy));
  }
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return static_cast<F>(d().grad_from_output(y, dy));
  }
};

/// selu(z) = lambda elu(z, alpha) with PyTorch's constants lambda = 1.0507009873554804934...,
/// alpha = 1.6732632423543772848... (not parameters).
struct Selu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  ACTLAYER_HD static detail::ScaledElu d() {
    return {detail::kSeluLambda, detail::kSeluLambdaAlpha, detail::kSeluLambdaAlphaLo};
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(d().value(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(d().derivative(z));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(d().grad(z, dy));
  }
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    return static_cast<F>(d().grad_from_output(y, dy));
  }
};

/// celu(z) = max(0, z) + min(0, alpha (e^(z/alpha) - 1)) = z for z >= 0, alpha expm1(z/alpha)
/// otherwise, for either sign of alpha (!= 0). f' = e^(z/alpha) for z <= 0; from y:
/// (y + alpha)/alpha for y <= 0 (y <= 0 exactly on the left for either sign of alpha).
struct Celu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kAlphaNonZero;
  float alpha = 1.0f;

  static Celu from(const Activation& act) { return {act.alpha}; }

  /// z/alpha as t + e (its rounding error matters once e^t amplifies it: alpha < 0).
  ACTLAYER_HD static double value_d(double z, double a) {
    if (z >= 0.0) return z;
    const detail::Arg q = detail::quotient_arg(z, a);
    if (q.t > detail::exp_family_tail()) return detail::mul_exp(a, 1.0 + q.e, q.t);  // a e^t
    const double e1 = ::expm1(q.t);
    return a * (q.e == 0.0 ? e1 : e1 + (e1 + 1.0) * q.e);
  }
  ACTLAYER_HD static double grad_d(double z, double a, double dy) {
    if (z > 0.0) return dy;
    if (math::is_nan(z) || math::is_nan(dy)) return z + dy;
    const detail::Arg q = detail::quotient_arg(z, a);
    if (math::is_inf(z) && q.t < 0.0) return 0.0;  // flat at z = -inf (alpha > 0)
    if (math::abs(q.t) > detail::exp_family_tail()) return detail::mul_exp(dy, 1.0 + q.e, q.t);
    const double E = ::exp(q.t);
    return dy * (E + E * q.e);
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(value_d(z, alpha));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return math::is_nan(z) ? z : static_cast<F>(grad_d(z, alpha, 1.0));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(grad_d(z, alpha, dy));
  }
  /// (y + alpha)/alpha: y + alpha exact next to the saturation -alpha (alpha > 0); for
  /// alpha < 0 no cancellation, and where the quotient overflows, (y + alpha) dy / alpha.
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    if (y > F(0)) return dy;
    const double a = alpha, s = static_cast<double>(y) + a, q = s / a;
    return static_cast<F>(math::is_inf(q) ? (s * dy) / a : scale(q, static_cast<double>(dy)));
  }
};

/// silu(z) = z sigma(z) (swish with beta = 1). Its minimum at z0 = -1.278...: no output form.
struct Silu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(detail::swish_value_arg(z, {z, 0.0}));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(detail::silu_derivative({z, 0.0}));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(detail::silu_grad({z, 0.0}, dy, z));
  }
};

/// swish(z) = z sigma(beta z), cuDNN's CUDNN_ACTIVATION_SWISH (beta = 1: silu); any finite
/// beta (0: z/2). f'(z) = silu'(beta z). beta z is carried as t + e (exact to first order).
struct Swish {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kBeta;
  float beta = 1.0f;

  static Swish from(const Activation& act) { return {act.beta}; }
  ACTLAYER_HD detail::Arg arg(double z) const { return detail::product_arg(beta, 0.0, z); }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    if (beta == 0.0f) return z * F(0.5);
    return static_cast<F>(detail::swish_value_arg(z, arg(z)));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    if (beta == 0.0f) return math::is_nan(z) ? z : F(0.5);
    return static_cast<F>(detail::silu_derivative(arg(z)));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    if (beta == 0.0f) return math::is_nan(z) ? z : dy * F(0.5);
    return static_cast<F>(detail::silu_grad(arg(z), dy, z));
  }
};

/// quick_gelu(z) = z sigma(1.702 z) (CLIP's GELU approximation), 1.702 exactly: carried as a
/// double-double constant, so 1.702 z is exact to first order.
struct QuickGelu {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  ACTLAYER_HD static detail::Arg arg(double z) {
    return detail::product_arg(detail::kQuickGeluBeta, detail::kQuickGeluBetaLo, z);
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(detail::swish_value_arg(z, arg(z)));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(detail::silu_derivative(arg(z)));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(detail::silu_grad(arg(z), dy, z));
  }
};

/// mish(z) = z tanh(softplus(z)) = z N / D with N = e^z (e^z + 2), D = N + 2 for z <= 0 and
/// N = 1 + 2w, D = 1 + 2w + 2w^2 (w = e^-z) for z > 0, the sums and products kept exact (Pair)
/// so that only the exp, the division and one addition round. Its minimum at z1 = -1.192...:
/// no output form.
struct Mish {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;

  /// e^z and N, D of the left side (z <= 0).
  struct Left {
    double u;
    detail::Pair n, d;
  };
  ACTLAYER_HD static Left left(double z) {
    const double u = ::exp(z);
    const detail::Pair uu = detail::two_prod(u, u), n = detail::two_sum(uu.hi, 2.0 * u);
    const detail::Pair d = detail::two_sum(n.hi, 2.0);
    const double n_lo = n.lo + uu.lo;
    return {u, {n.hi, n_lo}, {d.hi, d.lo + n_lo}};
  }
  ACTLAYER_HD static double value_d(double z) {
    if (z == 0.0) return z;  // +-0
    if (z > 0.0) {
      if (math::is_inf(z)) return z;
      const double w = ::exp(-z);
      const detail::Pair n = detail::two_sum(1.0, 2.0 * w), w2 = detail::two_prod(2.0 * w, w);
      const detail::Pair d = detail::two_sum(n.hi, w2.hi);
      const detail::Pair zn = detail::two_prod(z, n.hi);
      return detail::div_pair({zn.hi, zn.lo + z * n.lo}, {d.hi, d.lo + n.lo + w2.lo});
    }
    if (z < -detail::exp_family_tail()) {  // z e^z to double precision
      return math::is_inf(z) ? -0.0 : detail::mul_exp(z, 1.0, z);
    }
    const Left l = left(z);
    const detail::Pair zn = detail::two_prod(z, l.n.hi);
    return detail::div_pair({zn.hi, zn.lo + z * l.n.lo}, l.d);
  }
  /// z > 0: 1 + w^2 ((4z - 2) + (4z - 4) w - 4w^2) / (1 + 2w + 2w^2)^2 with w = e^-z (the
  /// correction to 1 is small where it cancels). z <= 0: e^z w(z) / D^2, w(z) = 4(z + 1) +
  /// e^z ((4z + 6) + e^z (4 + e^z)) below -3 (little cancellation), expanded about the root
  /// above (detail::kMishRoot).
  ACTLAYER_HD static double derivative_d(double z) {
    if (z > 40.0) return 1.0;  // the correction is below 2^-100
    if (z > 0.0) {
      const double w = ::exp(-z), w2 = w * w, den = 1.0 + 2.0 * w * (1.0 + w);
      const double b = (4.0 * z - 2.0) + (4.0 * z - 4.0) * w - 4.0 * w2;
      return 1.0 + (w2 * b) / (den * den);
    }
    if (z < -detail::exp_family_tail()) {  // e^z (z + 1) to double precision
      return math::is_inf(z) ? 0.0 : detail::mul_exp(z + 1.0, 1.0, z);
    }
    const Left l = left(z);
    const double u = l.u;
    double w;
    if (z <= -3.0) {
      w = 4.0 * (z + 1.0) + u * ((4.0 * z + 6.0) + u * (4.0 + u));
    } else {
      const double d = (z - detail::kMishRoot) - detail::kMishRootLo, e1 = ::expm1(d);
      w = e1 * (detail::kMishA3 * (e1 * (e1 + 3.0) + 3.0) + detail::kMishA2 * (e1 + 2.0) +
                detail::kMishA1) +
          4.0 * d * (1.0 + u);
    }
    return detail::div_pair(detail::two_prod(u, w), detail::square_pair(l.d));
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(value_d(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(derivative_d(z));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const double x = z;
    if (math::is_nan(x) || math::is_nan(static_cast<double>(dy))) return z + dy;
    if (x < -detail::exp_family_tail()) {
      return static_cast<F>(math::is_inf(x) ? 0.0 : detail::mul_exp(dy, x + 1.0, x));
    }
    return static_cast<F>(dy * derivative_d(x));
  }
};

/// softplus(z) = log(1 + e^(beta z)) / beta, and z itself where beta z > threshold (PyTorch's
/// Softplus: beta = 1, threshold = 20; beta z compared exactly). f' = sigma(beta z), 1 in the
/// linear region (left branch at the threshold). From y: 1 - e^(-beta y), 1 where beta y >
/// threshold: exact but for y within e^-threshold/beta above threshold/beta, where the log
/// region's largest outputs overlap the linear region's smallest (relative error e^-threshold
/// at most); so the output form needs threshold >= 17 (e^-17 < 2^-24).
struct Softplus {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kSoftplus;
  float beta = 1.0f;
  float threshold = 20.0f;

  static Softplus from(const Activation& act) { return {act.beta, act.threshold}; }
  const char* no_output_form() const {
    return threshold < 17.0f ? "threshold < 17: y does not tell the linear region from the "
                               "log region"
                             : nullptr;
  }
  ACTLAYER_HD detail::Arg arg(double z) const { return detail::product_arg(beta, 0.0, z); }
  /// beta z > threshold, decided exactly (fma: beta z's rounding error).
  ACTLAYER_HD bool linear(detail::Arg a, double z) const {
    const double h = threshold;
    return a.t > h || (a.t == h && ::fma(static_cast<double>(beta), z, -a.t) > 0.0);
  }
  /// log(1 + e^(t+e)) for t >= -exp_family_tail(): t + log1p(e^-t) for t > 0, log1p(e^t)
  /// otherwise, plus sigma(t) e.
  ACTLAYER_HD static double log_region(detail::Arg a) {
    const double sp = a.t > 0.0 ? a.t + ::log1p(::exp(-a.t)) : ::log1p(::exp(a.t));
    return a.e == 0.0 ? sp : sp + detail::sigmoid_arg({a.t, 0.0}) * a.e;
  }
  ACTLAYER_HD double value_d(double z) const {
    const detail::Arg a = arg(z);
    if (linear(a, z)) return z;
    if (a.t < -detail::exp_family_tail()) {  // e^(t+e) / beta
      return math::is_inf(a.t) ? 0.0 : detail::mul_exp(1.0 / beta, 1.0 + a.e, a.t);
    }
    return log_region(a) / beta;
  }
  ACTLAYER_HD double grad_d(double z, double dy) const {
    if (math::is_nan(z) || math::is_nan(dy)) return z + dy;
    const detail::Arg a = arg(z);
    if (linear(a, z)) return dy;
    if (a.t < -detail::exp_family_tail()) {  // flat at z = -inf only
      return math::is_inf(z) ? 0.0 : detail::mul_exp(dy, 1.0 + a.e, a.t);
    }
    return dy * detail::sigmoid_arg(a);
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(value_d(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return math::is_nan(z) ? z : static_cast<F>(grad_d(z, 1.0));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    return static_cast<F>(grad_d(z, dy));
  }
  /// -expm1(-beta y) (no cancellation for small y), beta y as t + e.
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    const detail::Arg p = arg(y);
    if (linear(p, y)) return dy;
    const double d = -::expm1(-p.t);
    return static_cast<F>(scale(p.e == 0.0 ? d : d + ::exp(-p.t) * p.e, static_cast<double>(dy)));
  }
};

/// logsigmoid(z) = log sigma(z) = -softplus(-z): -log1p(e^-z) for z >= 0 (keeps -e^-z's
/// relative accuracy), z - log1p(e^z) for z < 0 (no cancellation). f' = sigma(-z); from y:
/// 1 - e^y = -expm1(y).
struct LogSigmoid {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  ACTLAYER_HD static double value_d(double z) {
    return z >= 0.0 ? -::log1p(::exp(-z)) : z - ::log1p(::exp(z));
  }
  ACTLAYER_HD static double derivative_d(double z) {
    if (z >= 0.0) {
      const double E = ::exp(-z);
      return E / (1.0 + E);
    }
    return 1.0 / (1.0 + ::exp(z));
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(value_d(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return static_cast<F>(derivative_d(z));
  }
  /// dy e^-z without forming a subnormal e^-z beyond the tail; flat (+0) at +inf.
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const double x = z;
    if (math::is_nan(x) || math::is_nan(static_cast<double>(dy))) return z + dy;
    if (x > detail::exp_family_tail()) {
      return static_cast<F>(math::is_inf(x) ? 0.0 : detail::mul_exp(dy, 1.0, -x));
    }
    return static_cast<F>(dy * derivative_d(x));
  }
  template <class F>
  ACTLAYER_HD F derivative_from_output(F y) const {
    return static_cast<F>(-::expm1(static_cast<double>(y)));
  }
};

/// softsign(z) = z / (1 + |z|), +-1 at +-inf. f' = 1 / (1 + |z|)^2, divided twice (no
/// overflow of the square); from y: (1 - |y|)^2 (NaN for a NaN y).
struct Softsign {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    const double x = z;
    if (math::is_inf(x)) return x > 0.0 ? F(1) : F(-1);
    return static_cast<F>(x / (1.0 + math::abs(x)));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return grad(z, F(1));
  }
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const double x = z;
    if (math::is_nan(x) || math::is_nan(static_cast<double>(dy))) return z + dy;
    if (math::is_inf(x)) return F(0);  // flat
    const double d = 1.0 + math::abs(x);
    return static_cast<F>((dy / d) / d);
  }
  /// dy (1 - |y|)^2 with the difference and the square exact: one rounding.
  template <class F>
  ACTLAYER_HD F grad_from_output(F y, F dy) const {
    const detail::Pair a = detail::two_sum(1.0, -math::abs(static_cast<double>(y)));
    const detail::Pair a2 = detail::two_prod(a.hi, a.hi);
    if (a2.hi == 0.0) return scale(F(0), dy);  // y = +-1: flat
    const double g = dy;
    if (math::is_inf(g)) return static_cast<F>(g * a2.hi);
    return static_cast<F>(::fma(g, a2.hi, g * (a2.lo + 2.0 * a.hi * a.lo)));
  }
};

/// tanhshrink(z) = z - tanh z. For |z| < 2, where the difference cancels, z K / (1 + K) from
/// Lambert's continued fraction tanh z = z / (1 + K), K = z^2/(3 + z^2/(5 + ...)) to 12 levels
/// (all terms positive; truncation below 2^-66). f' = tanh^2 z (0 at z = 0). Its derivative is
/// not a closed-form function of y: no output form.
struct Tanhshrink {
  static constexpr bool kSmooth = true;
  static constexpr bool kSignOnly = false;
  static constexpr unsigned kParams = kNoParams;
  ACTLAYER_HD static double value_d(double z) {
    if (!(math::abs(z) < 2.0)) return z - ::tanh(z);
    if (z == 0.0) return z;  // +-0
    const detail::Pair s = detail::two_prod(z, z);
    double k = s.hi / 25.0;
    for (int j = 11; j >= 1; --j) k = s.hi / (2.0 * j + 1.0 + k);
    if (s.hi > 0x1p-900) k += k * (s.lo / s.hi);  // K grows as z^2 to first order
    // z K / (1 + K) with the product and the sum exact.
    return detail::div_pair(detail::two_prod(z, k), detail::two_sum(1.0, k));
  }
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return static_cast<F>(value_d(z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const double t = ::tanh(static_cast<double>(z));
    return static_cast<F>(t * t);
  }
  /// (dy tanh z) tanh z: no underflow of tanh^2 z before dy scales it; +0 at z = 0 (flat).
  template <class F>
  ACTLAYER_HD F grad(F z, F dy) const {
    const double t = ::tanh(static_cast<double>(z));
    if (t == 0.0) return scale(F(0), dy);
    return static_cast<F>((dy * t) * t);
  }
};

// ============================================================================================
// Generic entry points: what the kernels call
// ============================================================================================

/// dy * f'(z) for any functor: its grad() when it has one, else scale(f'(z), dy).
template <class Op, class F>
ACTLAYER_HD F backward(const Op& op, F z, F dy) {
  if constexpr (detail::is_detected<detail::grad_member, Op, F>) {
    return op.grad(z, dy);
  } else {
    return scale(op.derivative(z), dy);
  }
}

/// True when the functor can compute its gradient from the forward's output.
template <class Op, class F = float>
inline constexpr bool has_output_form_v =
    detail::is_detected<detail::grad_from_output_member, Op, F> ||
    detail::is_detected<detail::derivative_from_output_member, Op, F>;

/// dy * f'(z) from y = f(z), for functors with an output form.
template <class Op, class F>
ACTLAYER_HD F backward_from_output(const Op& op, F y, F dy) {
  static_assert(has_output_form_v<Op, F>, "this functor has no output form");
  if constexpr (detail::is_detected<detail::grad_from_output_member, Op, F>) {
    return op.grad_from_output(y, dy);
  } else {
    return scale(op.derivative_from_output(y), dy);
  }
}

// ============================================================================================
// From an Activation to its functor
// ============================================================================================

/// The functor an Activation runs through the elementwise loop: Op::from(act), or Op{}.
template <class Op>
auto make(const Activation& act) {
  if constexpr (detail::is_detected<detail::from_member, Op>) {
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
  } else if constexpr (detail::is_detected<detail::no_output_form_member, Op>) {
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
