// actlayer/detail/math.hpp — the scalar math under ops.cuh's functors: the library's own float
// exp (the same bits on the host and the device), and the products that keep their precision
// where a derivative underflows. Host and device; no CUDA math library calls where the bits
// matter.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "actlayer/detail/config.hpp"

namespace actlayer::ops {

namespace math {

/// 2^k in F, exactly, for k in F's normal exponents (float: [-126, 127]; double: [-1022, 1023]).
template <class F = float>
ACTLAYER_HD F pow2(int k) {
  constexpr bool kFloat = sizeof(F) == sizeof(float);
  using Bits = std::conditional_t<kFloat, std::uint32_t, std::uint64_t>;
  const Bits bits = static_cast<Bits>(k + (kFloat ? 127 : 1023)) << (kFloat ? 23 : 52);
#if defined(__CUDA_ARCH__)
  if constexpr (kFloat) {
    return __uint_as_float(bits);
  } else {
    return __longlong_as_double(static_cast<long long>(bits));
  }
#else
  F f;
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

/// e^x in double within 1 ulp (0.89 at most over 2e7 inputs against __float128), the float
/// version's method: Cody-Waite with fdlibm's ln2 split (n ln2_hi exact for |n| <= 2^11), the
/// Taylor series to r^13 (truncation 4e-18) in fma, then 2^n in two exact factors.
ACTLAYER_HD double exp(double x) {
  if (!(x < 709.79)) return x != x ? x : DBL_MAX * 2.0;  // NaN, or overflow to +inf
  if (x < -745.2) return 0.0;                            // below half the smallest subnormal
  const double n = ::rint(x * 1.4426950408889634);
  double r = ::fma(n, -6.93147180369123816490e-01, x);
  r = ::fma(n, -1.90821492927058770002e-10, r);
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = ::fma(p, r, 1.0 / 479001600.0);
  p = ::fma(p, r, 1.0 / 39916800.0);
  p = ::fma(p, r, 1.0 / 3628800.0);
  p = ::fma(p, r, 1.0 / 362880.0);
  p = ::fma(p, r, 1.0 / 40320.0);
  p = ::fma(p, r, 1.0 / 5040.0);
  p = ::fma(p, r, 1.0 / 720.0);
  p = ::fma(p, r, 1.0 / 120.0);
  p = ::fma(p, r, 1.0 / 24.0);
  p = ::fma(p, r, 1.0 / 6.0);
  p = ::fma(p, r, 0.5);
  p = ::fma(p, r, 1.0);
  p = ::fma(p, r, 1.0);
  const int k = static_cast<int>(n);  // in [-1075, 1024]
  const int k1 = k / 2;
  return (p * pow2<double>(k1)) * pow2<double>(k - k1);
}

/// tanh x in float within 2 ulp, on the library's exp (the same bits on the host and the
/// device, where CUDA's tanhf and glibc's differ). Below 0.55, x + x^3 P(x^2) with P a degree-4
/// fit of (tanh x / x - 1) / x^2 (relative error 1e-9, 0.8 ulp after rounding); above,
/// 1 - 2 / (e^2x + 1), whose quotient is below 0.5 (1.6 ulp; e^2x = inf gives 1). Both are
/// computed on |x| and the sign put back (tanh(-0) = -0); the select keeps the loop branch-free.
ACTLAYER_HD float tanh(float x) {
  const float a = ::fabsf(x);
  const float z = a * a;
  float p = -6.28244691e-3f;
  p = ::fmaf(p, z, 2.10777391e-2f);
  p = ::fmaf(p, z, -5.38538508e-2f);
  p = ::fmaf(p, z, 1.33326009e-1f);
  p = ::fmaf(p, z, -3.33333194e-1f);
  const float small = ::fmaf(a, z * p, a);
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  return ::copysignf(a < 0.55f ? small : large, x);
}

/// tanh x in double within 2 ulp (1.6 measured), as the float version: below 0.55 a degree-10
/// P (relative error 5e-19), above 1 - 2 / (e^2x + 1) on the library's exp.
ACTLAYER_HD double tanh(double x) {
  const double a = ::fabs(x);
  const double z = a * a;
  double p = -0x1.4781c0f098297p-16;
  p = ::fma(p, z, 0x1.5da304189c382p-14);
  p = ::fma(p, z, -0x1.e98070ba99c92p-13);
  p = ::fma(p, z, 0x1.34855c9153261p-11);
  p = ::fma(p, z, -0x1.7d9009625a2e3p-10);
  p = ::fma(p, z, 0x1.d6d29fe2aed12p-9);
  p = ::fma(p, z, -0x1.226e2f3098661p-7);
  p = ::fma(p, z, 0x1.664f485a543a5p-6);
  p = ::fma(p, z, -0x1.ba1ba1b981ab6p-5);
  p = ::fma(p, z, 0x1.11111111107ebp-3);
  p = ::fma(p, z, -0x1.555555555554fp-2);
  const double small = ::fma(a, z * p, a);
  const double large = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  return ::copysign(a < 0.55 ? small : large, x);
}
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
/// itself would be subnormal or zero. float: the library's exp and exact double products, one
/// rounding (no math-library call: the GPU's bits). double: exponent arithmetic (below).
ACTLAYER_HD float mul_exp_neg(float dy, float k, float c) {
  // c = n ln2 + r (exp's reduction), then dy k e^-r 2^-n in double: every product is exact
  // (24 + 24 + 2 bits; 2^-n normal in double) and the conversion to float rounds once. c is
  // clamped to 200 (no branch; n stays in range for any c, inf and NaN included): beyond it
  // the result rounds to 0 for every finite dy.
  const float m = c < 200.0f ? c : 200.0f;
  const float n = ::rintf(m * 1.44269502f);
  float r = ::fmaf(n, -0.693145751953125f, m);
  r = ::fmaf(n, -1.42860677e-6f, r);
  return static_cast<float>(static_cast<double>(dy) * static_cast<double>(k) *
                            static_cast<double>(math::exp(-r)) *
                            math::pow2<double>(-static_cast<int>(n)));
}
ACTLAYER_HD double mul_exp_neg(double dy, double k, double c) {
  // Cody-Waite: c = m ln2 + r with |r| <= ln2/2, then dy * k * e^-c = (m(dy) k e^-r) 2^(e(dy)-m)
  // with dy = m(dy) 2^e(dy): one exp of a small argument, and the scaling is exact until the
  // final ldexp rounds once into the subnormals.
  if (!(c <= 1500.0)) return dy * 0.0;  // below the smallest subnormal for every finite dy
  const double m = ::rint(c * 1.4426950408889634);
  const double r = (c - m * 6.93147180369123816490e-01) - m * 1.90821492927058770002e-10;
  int e = 0;
  const double mantissa = ::frexp(dy, &e);
  return ::ldexp(mantissa * k * math::exp(-r), e - static_cast<int>(m));
}

/// dy * k * e^-c where f'(z) = k e^-c to F's precision (sigmoid: k = 1, c = |z|; tanh: k = 4,
/// c = 2|z|) beyond exp_tail: NaN propagates, +-inf z is flat (+0), an infinite dy stays
/// infinite (f' > 0 for finite z), and the product keeps dy's precision.
/// The product is computed first and the special cases selected, without a branch.
template <class F>
ACTLAYER_HD F saturated_grad(F z, F dy, F k, F c) {
  const F product = mul_exp_neg(dy, k, c);
  return math::is_nan(z) || math::is_nan(dy) ? z + dy
         : math::is_inf(z)                   ? F(0)
         : math::is_inf(dy)                  ? dy
                                             : product;
}

/// dy * f'(z) for f'(z) = k e^-c: `head` (dy times f'(z)'s closed form) up to exp_tail, then
/// saturated_grad. The same values either way; in float the host computes both and selects one
/// (no branch: the CPU loop vectorises), the device branches (a warp seldom diverges, and the
/// tail's instructions would otherwise be spent on every element). In double the tail calls
/// frexp and ldexp, and is branched to on both.
ACTLAYER_HD float exp_grad(float z, float dy, float head, float k, float c) {
#if defined(__CUDA_ARCH__)
  if (c <= exp_tail<float>()) return head;
  return saturated_grad(z, dy, k, c);
#else
  const float tail = saturated_grad(z, dy, k, c);
  return c <= exp_tail<float>() ? head : tail;
#endif
}
ACTLAYER_HD double exp_grad(double z, double dy, double head, double k, double c) {
  return c <= exp_tail<double>() ? head : saturated_grad(z, dy, k, c);
}

// ---- The exponential family (elu ... tanhshrink): evaluated in double ---------------------
// The functors of these ops compute in double for every element type (float data: one
// rounding at the end, within 1 ulp) and take care in double where a plain formula loses
// precision: an argument's own rounding error (b*z, z/a) amplified by e^x, cancellation near
// the root of a derivative, and tails where e^x alone would be subnormal.

/// The argument t + e of an exponential: t = fl(b*z) (or z/a) and its rounding error e, exact
/// to first order (|e| <= ulp(t)/2). e^(t+e) = e^t (1 + e): with |t| up to ~745, e alone would
/// cost |t|/2 ulp. e = 0 where |t| > 2^11: e^t is 0 or infinite in double there anyway, and
/// 1 + e stays a small correction.
struct Arg {
  double t;
  double e;
};

/// (b_hi + b_lo) * z as t + e (fma gives b_hi*z's error exactly; b_lo carries a constant's
/// digits beyond double, 0 for a float parameter).
ACTLAYER_HD Arg product_arg(double b_hi, double b_lo, double z) {
  const double t = b_hi * z;
  if (!(math::abs(t) <= 2048.0)) return {t, 0.0};
  return {t, ::fma(b_hi, z, -t) + b_lo * z};
}

/// z / a as t + e: the remainder z - t*a is exact (fma), e = remainder / a.
ACTLAYER_HD Arg quotient_arg(double z, double a) {
  const double t = z / a;
  if (!(math::abs(t) <= 2048.0)) return {t, 0.0};
  return {t, ::fma(-t, a, z) / a};
}

/// dy * k * e^x for any x, keeping dy's precision where e^x alone is subnormal, zero or
/// infinite but the product is not (k != 0, |k| < 2^1000). Cody-Waite: x = m ln2 + r, |r| <=
/// ln2/2, then (m(dy) k e^r) 2^(e(dy)+m) with dy = m(dy) 2^e(dy): one exp of a small argument,
/// and the scaling rounds once at the end (into the subnormals, or to infinity). A zero or
/// infinite dy gives a zero or infinity with the product's sign (never NaN).
ACTLAYER_HD double mul_exp(double dy, double k, double x) {
  const double sdy = k < 0 ? -dy : dy;  // dy with the product's sign
  if (dy == 0.0 || math::is_inf(dy)) return sdy;
  if (x < -1500.0) return sdy * 0.0;      // below the smallest subnormal for every finite dy
  if (x > 1500.0) return sdy * HUGE_VAL;  // above DBL_MAX for every nonzero dy
  const double m = ::rint(x * 1.4426950408889634);
  const double r = (x - m * 6.93147180369123816490e-01) - m * 1.90821492927058770002e-10;
  int e = 0;
  const double mantissa = ::frexp(dy, &e);
  return ::ldexp(mantissa * k * ::exp(r), e + static_cast<int>(m));
}

/// |x| beyond which e^x may be subnormal in double (e^-708.4 is the smallest normal): the
/// tails switch to mul_exp there.
ACTLAYER_HD constexpr double exp_family_tail() { return 700.0; }

/// a + b or a * b as hi + lo exactly (Knuth's two-sum; the fma's product error): the
/// compensated forms below round two or three times where the plain ones round five or six.
struct Pair {
  double hi;
  double lo;
};
ACTLAYER_HD Pair two_sum(double a, double b) {
  const double s = a + b, bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
ACTLAYER_HD Pair two_prod(double a, double b) {
  const double p = a * b;
  return {p, ::fma(a, b, -p)};
}
/// (n.hi + n.lo) / (d.hi + d.lo) to first order: one division, one addition.
ACTLAYER_HD double div_pair(Pair n, Pair d) {
  const double q = n.hi / d.hi;
  return q + (n.lo - q * d.lo) / d.hi;
}
/// (d.hi + d.lo)^2.
ACTLAYER_HD Pair square_pair(Pair d) {
  const Pair s = two_prod(d.hi, d.hi);
  return {s.hi, s.lo + 2.0 * d.hi * d.lo};
}

/// sigma(t + e) for t >= -exp_family_tail() (or NaN): sigma(t) (1 + sigma(-t) e), from
/// E = e^-|t| without cancellation.
ACTLAYER_HD double sigmoid_arg(Arg a) {
  const double E = ::exp(-math::abs(a.t)), s = 1.0 + E;
  const double sig = a.t >= 0.0 ? 1.0 / s : E / s;      // sigma(t)
  const double sig_neg = a.t >= 0.0 ? E / s : 1.0 / s;  // sigma(-t)
  return a.e == 0.0 ? sig : sig + sig * sig_neg * a.e;
}

/// silu(t) = t sigma(t) has its minimum at t0 = -1 - W(1/e): silu'(t) = sigma'(t) g(t) with
/// g(t) = 1 + t + e^t, and g(t0) = 0 makes g(t) = d + c expm1(d), d = t - t0, c = e^t0: two
/// terms of the sign of d, so silu' keeps its relative accuracy next to its root.
/// t0 = kSiluRoot + kSiluRootLo (double-double), c = kSiluRootExp = -1 - t0.
inline constexpr double kSiluRoot = -1.2784645427610737;
inline constexpr double kSiluRootLo = -1.0946994183093437e-16;
inline constexpr double kSiluRootExp = 0.2784645427610738;

/// silu'(t + e) = d/dt [t sigma(t)] for t >= -exp_family_tail() (or NaN; 1 at +inf), as
/// N / (1 + E)^2 with the sum 1 + E, the square and the product N kept exact (Pair):
///   t >= 0: N = 1 + E + tE, E = e^-t (all terms positive), plus e silu''(t) with
///           silu'' = sigma'(t) (2 + t (sigma(-t) - sigma(t)));
///   t <  0: N = E g(t + e), E = e^t, g = (1 + t + e) + E for t <= -2 (little cancellation),
///           d + c expm1(d) above -2; sigma'(t + e) = sigma'(t) (1 + e (1 - E)/(1 + E)).
ACTLAYER_HD double silu_derivative_arg(Arg a) {
  const double t = a.t;
  if (math::is_inf(t)) return 1.0;  // +inf (the tail below handles the negative side)
  const double E = ::exp(-math::abs(t));
  const Pair s = two_sum(1.0, E), s2 = square_pair(s);  // 1 + E, (1 + E)^2
  if (t >= 0.0) {
    const Pair tE = two_prod(t, E), n = two_sum(s.hi, tE.hi);
    const double d = div_pair({n.hi, n.lo + s.lo + tE.lo}, s2);
    return a.e == 0.0 ? d : d + a.e * (E / s2.hi) * (2.0 + t * (E - 1.0) / (1.0 + E));
  }
  double g;
  if (t <= -2.0) {
    g = ((1.0 + t) + a.e) + E;
  } else {
    const double d = ((t - kSiluRoot) + a.e) - kSiluRootLo;
    g = d + kSiluRootExp * ::expm1(d);
  }
  const Pair n = two_prod(E, g);
  const double d = div_pair(n, s2);
  return a.e == 0.0 ? d : d + d * a.e * ((1.0 - E) / (1.0 + E));
}

/// silu'(t + e) for every t: below -exp_family_tail() it is e^(t+e) (1 + t + e) to double
/// precision (by mul_exp: subnormal results keep what they can); 0 at t = -inf (z = -inf, or
/// beta z beyond double's range).
ACTLAYER_HD double silu_derivative(Arg a) {
  if (a.t < -exp_family_tail()) {
    if (math::is_inf(a.t)) return 0.0;
    return mul_exp((1.0 + a.t) + a.e, 1.0 + a.e, a.t);
  }
  return silu_derivative_arg(a);
}

/// dy * silu'(t + e) for every t, keeping dy's precision in the tail; a flat +0 at z = -inf
/// (t = beta z; a finite z whose t overflowed has a nonzero slope: an infinite dy stays
/// infinite).
ACTLAYER_HD double silu_grad(Arg a, double dy, double z) {
  if (math::is_nan(a.t) || math::is_nan(dy)) return a.t + dy;
  if (a.t < -exp_family_tail()) {
    if (math::is_inf(z)) return 0.0;  // flat
    return mul_exp(dy, ((1.0 + a.t) + a.e) * (1.0 + a.e), a.t);
  }
  return dy * silu_derivative_arg(a);  // nonzero and finite: the root t0 is not a double
}

/// z sigma(t + e) (swish with t + e = beta z) = z (1 or E) / (1 + E) (1 + sigma(-t) e) with
/// E = e^-|t|, the product z E and the sum 1 + E exact: two roundings after the exp. Below
/// -exp_family_tail() z e^(t+e) by mul_exp; z sigma(-inf) is a zero with z's sign (the limit).
ACTLAYER_HD double swish_value_arg(double z, Arg a) {
  if (z == 0.0) return z;  // +-0 (sigma(0) = 1/2)
  if (math::is_inf(z)) return a.t > 0 ? z : (z > 0 ? 0.0 : -0.0);
  if (a.t < -exp_family_tail()) return mul_exp(z, 1.0 + a.e, a.t);
  const double E = ::exp(-math::abs(a.t));
  const Pair s = two_sum(1.0, E);
  const Pair n = a.t >= 0.0 ? Pair{z, 0.0} : two_prod(z, E);
  const double sig_neg = (a.t >= 0.0 ? E : 1.0) / s.hi;
  return div_pair({n.hi, n.lo + n.hi * (sig_neg * a.e)}, s);
}

}  // namespace detail

}  // namespace actlayer::ops
