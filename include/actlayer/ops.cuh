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
