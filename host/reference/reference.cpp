// The CPU reference: each activation written from its formula in extended precision (long
// double for float, half and bfloat16 results, __float128 for double results: Exact<T>),
// rounded once.
//
// Written independently of ops.cuh (it must not include it): a GPU-vs-CPU comparison proves
// something only when the two sides were written separately. Plain loops, no tricks: the
// formulas are templates on the precision E (ext:: has the math in both).
#include <cmath>
#include <cstdint>
#include <limits>

#include "actlayer/reference.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "elementwise.hpp"
#include "philox.hpp"
#include "round.hpp"

namespace actlayer::reference {
namespace {

using actlayer::Pass;
using actlayer::detail::ArgCheck;
using detail::Exact;
using detail::nan_value;
using detail::positive_zero;
using detail::product;
using detail::quotient;
using detail::round_to;
using detail::Value;
using detail::Wide;
using detail::wide;
namespace ext = detail::ext;

/// x widened exactly to the precision T's results are computed in.
template <class T>
Exact<T> to_exact(T v) {
  return detail::exact(v);
}

template <class T>
Value<T> passed(T v) {  // a T passed through unchanged
  return {v, to_exact(v)};
}
template <class T>
Value<T> rounded(Exact<T> v) {
  return {round_to<T>(v), v};
}
template <class T>
Value<T> zero() {
  return {positive_zero<T>(), 0};
}
template <class T>
Value<T> not_a_number() {
  return {nan_value<T>(), ext::quiet_nan<Exact<T>>()};
}

// ---- Leaky ReLU's negative side -----------------------------------------------------------

struct NegativeSide {
  bool divide;  // v / k (the course's form) or k * v
  Wide k;
};

NegativeSide negative_side(const Activation& act) {
  if (act.op == Op::rrelu) return {false, act.eval_slope()};  // eval mode
  if (act.divisor != 0.0f) return {true, act.divisor};
  return {false, act.slope};
}

/// v on the negative side; a zero slope gives +0 even for an infinite v.
template <class T>
Value<T> negative(const NegativeSide& side, T v) {
  using E = Exact<T>;
  if (side.divide) return {quotient<T>(wide(v), side.k), to_exact(v) / E(side.k)};
  if (side.k == 0) return zero<T>();
  return {product<T>(side.k, wide(v)), E(side.k) * to_exact(v)};
}

// ---- Sigmoid and tanh ---------------------------------------------------------------------

template <class E>
E sigma(E z) {
  return 1 / (1 + ext::exp(-z));
}

/// dy * d where d > 0 is the exact derivative (which may have underflowed E): an infinite dy
/// stays infinite.
template <class T>
Value<T> times_positive(T dy, Exact<T> d) {
  if (std::isinf(wide(dy))) return passed(dy);
  return rounded<T>(to_exact(dy) * d);
}

/// dy * d for a derivative d computed from the output: d == 0 is a flat point (+0).
template <class T>
Value<T> times_from_output(T dy, Exact<T> d) {
  if (d == 0) return zero<T>();
  return rounded<T>(to_exact(dy) * d);
}

// ---- The exponential family: elu ... tanhshrink --------------------------------------------
// From the formulas in Exact<T>, with expm1 and log1p where they have e^x - 1 and log(1 + x),
// log(1 + e^t) split as t + log1p(e^-t) for t > 0 (no overflow), tanhshrink's Taylor series
// next to 0 (z - tanh z cancels even in extended precision), and the limits at +-inf written
// out.

template <class E>
E selu_lambda() {
  static const E v = ext::parse<E>("1.0507009873554804934193349852946");
  return v;
}
template <class E>
E selu_alpha() {
  static const E v = ext::parse<E>("1.6732632423543772848170429916717");
  return v;
}
template <class E>
E quick_gelu_beta() {
  static const E v = ext::parse<E>("1.702");
  return v;
}

/// log(1 + e^t).
template <class E>
E softplus_of(E t) {
  return t > 0 ? t + ext::log1p(ext::exp(-t)) : ext::log1p(ext::exp(t));
}

/// d/dt [t sigma(t)] = sigma(t) (1 + t sigma(-t)).
template <class E>
E silu_slope(E t) {
  return sigma(t) * (1 + t * sigma(-t));
}

/// z sigma(b z) for swish, silu (b = 1) and quick_gelu (b = 1.702), with its limits.
template <class E>
E swish_of(E z, E b) {
  if (b == 0) return z / 2;
  if (ext::isinf(z)) return b * z > 0 ? z : (z > 0 ? E(0) : -E(0));  // z, or 0 from z's side
  return z * sigma(b * z);
}

/// z - tanh z; below 2^-12 its series z^3/3 - 2z^5/15 + 17z^7/315 - 62z^9/2835 (the next term
/// is 2^-96 of the first there).
template <class E>
E tanhshrink_of(E z) {
  if (ext::fabs(z) >= E(1) / 4096) return z - ext::tanh(z);
  const E s = z * z;
  return z * s * (E(1) / 3 - s * (E(2) / 15 - s * (E(17) / 315 - s * (E(62) / 2835))));
}

/// mish'(z) = tanh(sp) + z sigma(z) sech^2(sp), sp = softplus(z); for z < 0 written as
/// e^z ((e^z + 2)/(e^z (e^z + 2) + 2) + z sech^2(sp)/(1 + e^z)), so that the sign survives
/// where e^z underflows E (mish' < 0 for every z < -1.19).
template <class E>
E mish_slope(E z) {
  const E sp = softplus_of(z), c = ext::cosh(sp), sech2 = 1 / (c * c);
  if (z >= 0) return ext::tanh(sp) + z * sigma(z) * sech2;
  const E u = ext::exp(z);
  return u * ((u + 2) / (u * (u + 2) + 2) + z * sech2 / (1 + u));
}

/// dy * d where f'(z) = d is not 0 at this z (d may have underflowed or overflowed E, its sign
/// is right): a zero or infinite dy gives a zero or infinity with the product's sign.
template <class T>
Value<T> times_nonzero(T dy, Exact<T> d) {
  const Exact<T> g = to_exact(dy);
  if (g == 0 || ext::isinf(g)) return rounded<T>(ext::signbit(d) ? -g : g);
  return rounded<T>(g * d);
}

/// swish's beta: silu 1, quick_gelu 1.702, swish act.beta.
template <class E>
E swish_beta(const Activation& act) {
  return act.op == Op::swish ? E(act.beta) : act.op == Op::quick_gelu ? quick_gelu_beta<E>() : E(1);
}

// ---- The GELUs, hard clamps, shrinks, thresholded and squared ReLU ------------------------

/// dy * d for a derivative d that is != 0 at every finite z (the GELUs: their roots are
/// irrational) but may have underflowed E: an infinite dy gives an infinite dx, of the sign of
/// d (negative where d underflowed: the far negative tail).
template <class T>
Value<T> times_nonzero_gelu(T dy, Exact<T> d) {
  using E = Exact<T>;
  if (std::isinf(wide(dy))) return rounded<T>(to_exact(dy) * (d > 0 ? E(1) : E(-1)));
  return rounded<T>(to_exact(dy) * d);
}

/// a + b rounded once to T (a, b exact in T's working precision or in long double): IEEE
/// arithmetic for float and double; for half and bfloat16 the long double sum rounded to odd
/// (its last bit set when inexact), from which rounding to 8 or 11 bits is correct.
template <class T>
T sum_once(Wide a, Wide b) {
  if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(a) + static_cast<double>(b);
  } else if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(a) + static_cast<float>(b);
  } else {
    Wide s = a + b;
    if (!std::isfinite(s)) return round_to<T>(s);
    const Wide bb = s - a;
    const Wide err = (a - (s - bb)) + (b - bb);  // a + b = s + err exactly
    int e = 0;
    const Wide m = std::ldexp(std::frexp(s, &e), std::numeric_limits<Wide>::digits);
    if (err != 0 && std::fmod(m, 2.0L) == 0) {
      s = std::nextafter(s, err > 0 ? std::numeric_limits<Wide>::infinity()
                                    : -std::numeric_limits<Wide>::infinity());
    }
    return round_to<T>(s);
  }
}

/// GELU's Phi(z) = erfc(-z/sqrt 2)/2 and phi(z) = e^(-z^2/2)/sqrt(2 pi), in E.
template <class E>
E gauss_cdf(E z) {
  static const E root2 = ext::sqrt(E(2));
  return ext::erfc(-z / root2) / 2;
}
template <class E>
E gauss_pdf(E z) {
  static const E root_two_pi =
      ext::sqrt(2 * ext::parse<E>("3.14159265358979323846264338327950288"));
  return ext::exp(-z * z / 2) / root_two_pi;
}

/// gelu_tanh's W = 2 sqrt(2/pi) (z + 0.044715 z^3), so that (1 + tanh(W/2))/2 = 1/(1 + e^-W)
/// (the form without the cancellation of 1 + tanh for very negative z), and W'.
template <class E>
E gelu_tanh_w(E z) {
  static const E a = 2 * ext::sqrt(2 / ext::parse<E>("3.14159265358979323846264338327950288"));
  static const E kappa = ext::parse<E>("0.044715");
  return a * (z + kappa * z * z * z);
}
template <class E>
E gelu_tanh_dw(E z) {
  static const E a = 2 * ext::sqrt(2 / ext::parse<E>("3.14159265358979323846264338327950288"));
  static const E kappa = ext::parse<E>("0.044715");
  return a * (1 + 3 * kappa * z * z);
}

/// hardsigmoid's a z + b as the working precision rounds it (float for float, half and
/// bfloat16, double for double): its interior 0 < . < 1 is where f' = a.
template <class T>
bool hard_interior(const Activation& act, T x) {
  if (act.hard_slope == 0.0f) return act.hard_offset > 0.0f && act.hard_offset < 1.0f;
  if constexpr (std::is_same_v<T, double>) {
    const double v =
        std::fma(static_cast<double>(act.hard_slope), x, static_cast<double>(act.hard_offset));
    return v > 0 && v < 1;
  } else {
    const float v = std::fma(act.hard_slope, static_cast<float>(wide(x)), act.hard_offset);
    return v > 0 && v < 1;
  }
}

/// hardsigmoid(z) rounded once to T: clamp(RN(a z + b)) = RN(clamp(a z + b)) (0 and 1 are
/// exact); RN(a z + b) is IEEE's fma in float and double, and for half and bfloat16 the sum of
/// the exact long double product a z and b (sum_once).
template <class T>
Value<T> hard_sigmoid(const Activation& act, T x) {
  using E = Exact<T>;
  const E z = to_exact(x);
  const E v =
      act.hard_slope == 0.0f ? E(act.hard_offset) : E(act.hard_slope) * z + E(act.hard_offset);
  if (!(v > 0)) return zero<T>();
  if (v >= 1) return rounded<T>(E(1));
  T r;
  if (act.hard_slope == 0.0f) {
    r = round_to<T>(wide(act.hard_offset));
  } else if constexpr (std::is_same_v<T, double>) {
    r = std::fma(static_cast<double>(act.hard_slope), x, static_cast<double>(act.hard_offset));
  } else if constexpr (std::is_same_v<T, float>) {
    r = std::fma(act.hard_slope, x, act.hard_offset);
  } else {
    r = sum_once<T>(Wide{act.hard_slope} * wide(x), act.hard_offset);  // a z: exact
  }
  return {r, v};
}

// ---- One element of each pass -------------------------------------------------------------

template <class T>
Value<T> forward_one(const Activation& act, T x) {
  using E = Exact<T>;
  const E z = to_exact(x);
  if (ext::isnan(z)) return not_a_number<T>();
  switch (act.op) {
    case Op::identity:
      return passed(x);
    case Op::step:
      return rounded<T>(z >= 0 ? 1 : 0);
    case Op::sigmoid:
      return rounded<T>(sigma(z));
    case Op::tanh:
      return rounded<T>(ext::tanh(z));
    case Op::relu:
      return z > 0 ? passed(x) : zero<T>();
    case Op::leaky_relu:
    case Op::rrelu:
      return z >= 0 ? passed(x) : negative(negative_side(act), x);
    case Op::elu:
      if (z >= 0) return passed(x);
      if (act.alpha == 0) return zero<T>();
      return rounded<T>(E(act.alpha) * ext::expm1(z));
    case Op::selu:
      return rounded<T>(selu_lambda<E>() * (z >= 0 ? z : selu_alpha<E>() * ext::expm1(z)));
    case Op::celu:
      if (z >= 0) return passed(x);
      return rounded<T>(E(act.alpha) * ext::expm1(z / E(act.alpha)));
    case Op::silu:
    case Op::swish:
    case Op::quick_gelu:
      return rounded<T>(swish_of(z, swish_beta<E>(act)));
    case Op::mish:
      if (ext::isinf(z)) return z > 0 ? passed(x) : rounded<T>(-E(0));  // 0 from below
      return rounded<T>(z * ext::tanh(softplus_of(z)));
    case Op::softplus: {
      const E t = E(act.beta) * z;  // exact
      if (t > E(act.threshold)) return passed(x);
      return rounded<T>(softplus_of(t) / E(act.beta));
    }
    case Op::logsigmoid:
      return rounded<T>(-softplus_of(-z));
    case Op::softsign:
      if (ext::isinf(z)) return rounded<T>(z > 0 ? 1 : -1);
      return rounded<T>(z / (1 + ext::fabs(z)));
    case Op::tanhshrink:
      if (ext::isinf(z)) return passed(x);
      return rounded<T>(tanhshrink_of(z));
    case Op::gelu:  // z Phi(z); the limit at -inf is -0 (the values below are negative)
      if (ext::isinf(z)) return z > 0 ? passed(x) : rounded<T>(-E(0));
      return rounded<T>(z * gauss_cdf(z));
    case Op::gelu_tanh:  // z (1 + tanh(W/2))/2 = z / (1 + e^-W)
      if (ext::isinf(z)) return z > 0 ? passed(x) : rounded<T>(-E(0));
      return rounded<T>(z / (1 + ext::exp(-gelu_tanh_w(z))));
    case Op::hardsigmoid:
      return hard_sigmoid(act, x);
    case Op::hardswish:  // z min(max(z + 3, 0), 6) / 6
      if (!(z > -3)) return zero<T>();
      if (z >= 3) return passed(x);
      return rounded<T>(z * (z + 3) / 6);
    case Op::hardtanh:  // a clamped result is the bound, +0 for a bound of -0
      if (z <= E(act.lo)) return act.lo == 0 ? zero<T>() : rounded<T>(E(act.lo));
      if (z >= E(act.hi)) return act.hi == 0 ? zero<T>() : rounded<T>(E(act.hi));
      return passed(x);
    case Op::softshrink:
      if (z > E(act.lambda)) return {sum_once<T>(wide(x), -Wide{act.lambda}), z - E(act.lambda)};
      if (z < -E(act.lambda)) return {sum_once<T>(wide(x), Wide{act.lambda}), z + E(act.lambda)};
      return zero<T>();
    case Op::hardshrink:
      return z > E(act.lambda) || z < -E(act.lambda) ? passed(x) : zero<T>();
    case Op::thresholded:
      if (z > E(act.threshold)) return passed(x);
      return act.value == 0 ? zero<T>() : rounded<T>(E(act.value));
    case Op::squared_relu:
      return z > 0 ? rounded<T>(z * z) : zero<T>();
  }
  return not_a_number<T>();  // unreachable: act.op was validated
}

template <class T>
Value<T> backward_one(const Activation& act, T x, T dy) {
  using E = Exact<T>;
  const E z = to_exact(x);
  if (ext::isnan(z) || std::isnan(wide(dy))) return not_a_number<T>();
  switch (act.op) {
    case Op::identity:
      return passed(dy);
    case Op::step:
      return zero<T>();
    case Op::relu:
      return z > 0 ? passed(dy) : zero<T>();
    case Op::leaky_relu:
    case Op::rrelu:
      return z > 0 ? passed(dy) : negative(negative_side(act), dy);
    case Op::sigmoid:  // sigma'(z) = sigma(z) sigma(-z), flat only at +-inf
      if (ext::isinf(z)) return zero<T>();
      return times_positive(dy, sigma(z) * sigma(-z));
    case Op::tanh: {  // tanh'(z) = 1 / cosh^2 z, flat only at +-inf
      if (ext::isinf(z)) return zero<T>();
      const E c = ext::cosh(z);
      return times_positive(dy, 1 / (c * c));
    }
    case Op::elu:  // alpha e^z for z <= 0 (left branch at 0)
      if (z > 0) return passed(dy);
      if (act.alpha == 0 || ext::isinf(z)) return zero<T>();  // flat
      return times_nonzero(dy, E(act.alpha) * ext::exp(z));
    case Op::selu:
      if (z > 0) return rounded<T>(selu_lambda<E>() * to_exact(dy));
      if (ext::isinf(z)) return zero<T>();
      return times_nonzero(dy, selu_lambda<E>() * selu_alpha<E>() * ext::exp(z));
    case Op::celu: {  // e^(z/alpha) for z <= 0
      if (z > 0) return passed(dy);
      const E q = z / E(act.alpha);
      if (ext::isinf(q) && q < 0) return zero<T>();  // z = -inf, alpha > 0: flat
      return times_nonzero(dy, ext::exp(q));
    }
    case Op::silu:
    case Op::swish:
    case Op::quick_gelu: {  // silu'(b z)
      const E b = swish_beta<E>(act);
      if (b == 0) return rounded<T>(to_exact(dy) / 2);
      const E t = b * z;
      if (ext::isinf(t)) return t > 0 ? passed(dy) : zero<T>();  // 1, or flat
      return times_nonzero(dy, silu_slope(t));
    }
    case Op::mish:
      if (ext::isinf(z)) return z > 0 ? passed(dy) : zero<T>();  // 1, or flat
      return times_nonzero(dy, mish_slope(z));
    case Op::softplus: {  // sigma(beta z), 1 in the linear region
      const E t = E(act.beta) * z;
      if (t > E(act.threshold)) return passed(dy);
      if (ext::isinf(t)) return zero<T>();  // -inf: flat
      return times_nonzero(dy, sigma(t));
    }
    case Op::logsigmoid:  // sigma(-z)
      if (ext::isinf(z)) return z < 0 ? passed(dy) : zero<T>();
      return times_nonzero(dy, sigma(-z));
    case Op::softsign: {  // 1 / (1 + |z|)^2
      if (ext::isinf(z)) return zero<T>();
      const E d = 1 + ext::fabs(z);
      return times_nonzero(dy, 1 / (d * d));
    }
    case Op::tanhshrink: {  // tanh^2 z, 0 at z = 0
      if (ext::isinf(z)) return passed(dy);
      if (z == 0) return zero<T>();
      const E t = ext::tanh(z);
      return times_nonzero(dy, t * t);
    }
    case Op::gelu:  // Phi(z) + z phi(z): 1 at +inf, flat at -inf, != 0 at every finite z
      if (ext::isinf(z)) return z > 0 ? passed(dy) : zero<T>();
      return times_nonzero_gelu(dy, gauss_cdf(z) + z * gauss_pdf(z));
    case Op::gelu_tanh: {  // s (1 + z W' (1 - s)), s = sigma(W): as gelu
      if (ext::isinf(z)) return z > 0 ? passed(dy) : zero<T>();
      const E w = gelu_tanh_w(z);
      const E s = 1 / (1 + ext::exp(-w)), s_bar = 1 / (1 + ext::exp(w));
      return times_nonzero_gelu(dy, s * (1 + z * gelu_tanh_dw(z) * s_bar));
    }
    case Op::hardsigmoid:  // a where 0 < a z + b < 1 (as the working precision rounds it)
      if (!hard_interior(act, x) || act.hard_slope == 0.0f) return zero<T>();
      return {product<T>(act.hard_slope, wide(dy)), E(act.hard_slope) * to_exact(dy)};
    case Op::hardswish: {  // (2z + 3)/6 on (-3, 3], 0 below, 1 above
      if (!(z > -3)) return zero<T>();
      if (z > 3) return passed(dy);
      const E d = (2 * z + 3) / 6;
      return d == 0 ? zero<T>() : rounded<T>(to_exact(dy) * d);
    }
    case Op::hardtanh:
      return z > E(act.lo) && z < E(act.hi) ? passed(dy) : zero<T>();
    case Op::softshrink:
    case Op::hardshrink:
      return z > E(act.lambda) || z < -E(act.lambda) ? passed(dy) : zero<T>();
    case Op::thresholded:
      return z > E(act.threshold) ? passed(dy) : zero<T>();
    case Op::squared_relu:  // 2z; dy = 0 at z = +inf is +0 (a zero factor beats an infinity)
      if (!(z > 0) || (ext::isinf(z) && wide(dy) == 0)) return zero<T>();
      return rounded<T>(2 * z * to_exact(dy));
  }
  return not_a_number<T>();
}

template <class T>
Value<T> backward_from_output_one(const Activation& act, T y_, T dy) {
  using E = Exact<T>;
  const E y = to_exact(y_);
  if (ext::isnan(y) || std::isnan(wide(dy))) return not_a_number<T>();
  switch (act.op) {
    case Op::identity:
      return passed(dy);
    case Op::step:
      return zero<T>();
    case Op::relu:
      return y > 0 ? passed(dy) : zero<T>();
    case Op::leaky_relu:
    case Op::rrelu:
      return y > 0 ? passed(dy) : negative(negative_side(act), dy);
    case Op::sigmoid:
      return times_from_output(dy, y * (1 - y));
    case Op::tanh:
      return times_from_output(dy, (1 - y) * (1 + y));
    case Op::elu:  // alpha >= 0 here: y <= 0 exactly where z <= 0
      if (y > 0) return passed(dy);
      return times_from_output(dy, y + E(act.alpha));
    case Op::selu:
      if (y > 0) return rounded<T>(selu_lambda<E>() * to_exact(dy));
      return times_from_output(dy, y + selu_lambda<E>() * selu_alpha<E>());
    case Op::celu:  // y <= 0 exactly where z <= 0, for either sign of alpha
      if (y > 0) return passed(dy);
      return times_from_output(dy, 1 + y / E(act.alpha));
    case Op::softplus: {  // 1 - e^(-beta y); 1 where beta y > threshold (threshold >= 17 here)
      const E p = E(act.beta) * y;
      if (p > E(act.threshold)) return passed(dy);
      return times_from_output(dy, -ext::expm1(-p));
    }
    case Op::logsigmoid:
      return times_from_output(dy, -ext::expm1(y));
    case Op::softsign: {
      const E a = 1 - ext::fabs(y);
      return times_from_output(dy, a * a);
    }
    case Op::silu:
    case Op::swish:
    case Op::quick_gelu:
    case Op::mish:
    case Op::tanhshrink:
      return not_a_number<T>();  // no output form: refused by the checks
    case Op::hardsigmoid:        // a where 0 < y < 1
      if (!(y > 0 && y < 1) || act.hard_slope == 0.0f) return zero<T>();
      return {product<T>(act.hard_slope, wide(dy)), E(act.hard_slope) * to_exact(dy)};
    case Op::hardtanh:
      return y > E(act.lo) && y < E(act.hi) ? passed(dy) : zero<T>();
    case Op::softshrink:
    case Op::hardshrink:
      return y != 0 ? passed(dy) : zero<T>();
    case Op::thresholded:  // accepted only where value <= threshold (in every element type)
      return y > E(act.threshold) ? passed(dy) : zero<T>();
    case Op::squared_relu:  // 2 sqrt(y)
      if (!(y > 0) || (ext::isinf(y) && wide(dy) == 0)) return zero<T>();
      return rounded<T>(2 * ext::sqrt(y) * to_exact(dy));
    case Op::gelu:  // not invertible: refused by the argument checks
    case Op::gelu_tanh:
    case Op::hardswish:
      break;
  }
  return not_a_number<T>();
}

// ---- RReLU in training mode ----------------------------------------------------------------

/// r_i of docs/design.md §5, as written there.
float training_slope(const Activation& act, std::size_t i) {
  const std::uint32_t w = detail::philox_word(act.philox.seed, act.philox.offset, i);
  const float u = static_cast<float>(w >> 8) * 0x1p-24f;  // exact
  return std::fma(act.upper - act.lower, u, act.lower);
}

bool is_training(const Activation& act) { return act.op == Op::rrelu && act.training; }

template <class T>
Value<T> training_forward_one(T x, float r) {
  const Wide z = wide(x);
  if (std::isnan(z)) return not_a_number<T>();
  return z >= 0 ? passed(x) : negative(NegativeSide{false, r}, x);
}

template <class T>
Value<T> training_backward_one(T x, float r, T dy) {
  const Wide z = wide(x);
  if (std::isnan(z) || std::isnan(wide(dy))) return not_a_number<T>();
  return z > 0 ? passed(dy) : negative(NegativeSide{false, r}, dy);
}

/// alpha * f + beta * old from the exact f, rounded once; old is not read when beta == 0.
template <class T>
T blend_one(const Value<T>& f, const T* old, Blend blend) {
  using E = Exact<T>;
  if (blend.alpha == 1 && blend.beta == 0) return f.rounded;
  if (blend.beta == 0) return round_to<T>(E{blend.alpha} * f.exact);
  return round_to<T>(E{blend.alpha} * f.exact + E{blend.beta} * to_exact(*old));
}

}  // namespace

template <class T>
Exact<T> detail::exact_value(const Activation& act, T z) {
  return forward_one(act, z).exact;
}
template <class T>
Exact<T> detail::exact_derivative(const Activation& act, T z) {
  return backward_one(act, z, T(1)).exact;  // dy * f'(z) at dy = 1, exactly
}
template Exact<float> detail::exact_value(const Activation&, float);
template Exact<double> detail::exact_value(const Activation&, double);
template Exact<float> detail::exact_derivative(const Activation&, float);
template Exact<double> detail::exact_derivative(const Activation&, double);

template <class T, class>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_forward(
      "actlayer::reference::forward", actlayer::detail::Memory::host, act, x, y, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const Value<T> f = is_training(act) ? training_forward_one(x[i], training_slope(act, i))
                                        : forward_one(act, x[i]);
    y[i] = blend_one(f, &y[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_backward("actlayer::reference::backward",
                                                    actlayer::detail::Memory::host, Pass::backward,
                                                    act, x, dy, dx, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const Value<T> g = is_training(act) ? training_backward_one(x[i], training_slope(act, i), dy[i])
                                        : backward_one(act, x[i], dy[i]);
    dx[i] = blend_one(g, &dx[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            Blend blend) {
  const Status s = actlayer::detail::check_backward(
      "actlayer::reference::backward_from_output", actlayer::detail::Memory::host,
      Pass::backward_from_output, act, y, dy, dx, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    dx[i] = blend_one(backward_from_output_one(act, y[i], dy[i]), &dx[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_save_noise(
      "actlayer::reference::rrelu_forward_save_noise", actlayer::detail::Memory::host, act, x, y,
      noise, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const float r = training_slope(act, i);
    const Wide z = wide(x[i]);
    noise[i] = std::isnan(z) ? std::nanf("") : z > 0 ? 1.0f : r;  // before y: y may be x
    y[i] = blend_one(training_forward_one(x[i], r), &y[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  Blend blend) {
  const Status s = actlayer::detail::check_saved_noise_backward(
      "actlayer::reference::rrelu_backward_saved_noise", noise, dy, dx, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const Value<T> g = std::isnan(noise[i]) || std::isnan(wide(dy[i]))
                           ? not_a_number<T>()
                           : negative(NegativeSide{false, noise[i]}, dy[i]);
    dx[i] = blend_one(g, &dx[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_forward_with_mask(
      "actlayer::reference::forward_with_mask", act, x, y, mask, n, blend);
  if (s != Status::success) return s;
  for (std::size_t w = 0; w < mask_words(n); ++w) mask[w] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (wide(x[i]) > 0) mask[i / 32] |= std::uint32_t{1} << (i % 32);  // before y: y may be x
    y[i] = blend_one(forward_one(act, x[i]), &y[i], blend);
  }
  return Status::success;
}

template <class T, class>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_backward_from_mask(
      "actlayer::reference::backward_from_mask", act, mask, dy, dx, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const bool positive = (mask[i / 32] >> (i % 32)) & 1u;
    Value<T> g = not_a_number<T>();
    if (!std::isnan(wide(dy[i]))) {
      if (act.op == Op::step)
        g = zero<T>();
      else if (positive)
        g = passed(dy[i]);
      else if (act.op == Op::relu)
        g = zero<T>();
      else
        g = negative(negative_side(act), dy[i]);  // leaky_relu, rrelu (eval)
    }
    dx[i] = blend_one(g, &dx[i], blend);
  }
  return Status::success;
}

namespace detail {

template <class T>
Value<T> forward_value(const Activation& act, T x) {
  return forward_one(act, x);
}
template <class T>
Value<T> backward_value(const Activation& act, T x, T dy) {
  return backward_one(act, x, dy);
}
template <class T>
Value<T> backward_from_output_value(const Activation& act, T y, T dy) {
  return backward_from_output_one(act, y, dy);
}
#define ACTLAYER_REFERENCE_VALUES(F)                         \
  template Value<F> forward_value(const Activation&, F);     \
  template Value<F> backward_value(const Activation&, F, F); \
  template Value<F> backward_from_output_value(const Activation&, F, F);
ACTLAYER_REFERENCE_VALUES(float)
ACTLAYER_REFERENCE_VALUES(double)
#undef ACTLAYER_REFERENCE_VALUES

}  // namespace detail

ACTLAYER_ENTRY_POINTS(reference_entry_points, &forward<T>, &backward<T>, &backward_from_output<T>,
                      &rrelu_forward_save_noise<T>, &rrelu_backward_saved_noise<T>,
                      &forward_with_mask<T>, &backward_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(reference_entry_points)

Status rrelu_slopes(const Activation& act, float* r, std::size_t n) {
  const Status s =
      ArgCheck("actlayer::reference::rrelu_slopes")
          .activation(act, Pass::forward)
          .require(act.op == Op::rrelu, Status::invalid_argument, "activation must be rrelu")
          .host_memory(act)
          .output("r", r, n)
          .status();
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) r[i] = training_slope(act, i);
  return Status::success;
}

}  // namespace actlayer::reference
