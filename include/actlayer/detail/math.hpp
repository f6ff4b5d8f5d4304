// actlayer/detail/math.hpp — the scalar math under ops.cuh's functors: the library's own float
// exp (the same bits on the host and the device), and the products that keep their precision
// where a derivative underflows. Host and device; no CUDA math library calls where the bits
// matter.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstring>

#include "actlayer/detail/config.hpp"

namespace actlayer::ops {

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

}  // namespace detail

}  // namespace actlayer::ops
