// host/reference/round.hpp — the reference's arithmetic: exact widening to long double (float,
// half, bfloat16) or __float128 (double), correct rounding (to nearest, ties to even) from there
// to each element type, and the extended-precision math functions in both.
// Internal to the reference and its tests; independent of ops.cuh.
#pragma once

#include <quadmath.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "actlayer/element.hpp"

namespace actlayer::reference::detail {

using Wide = long double;
static_assert(std::numeric_limits<Wide>::digits >= 64,
              "the reference needs a long double with a 64-bit (or wider) significand");

inline Wide wide(float v) { return v; }
inline Wide wide(double v) { return v; }
inline Wide wide(__half v) { return __half2float(v); }
inline Wide wide(__nv_bfloat16 v) { return __bfloat162float(v); }

/// Rounds v to nearest (ties to even) in a binary format with `precision` significand bits,
/// smallest normal exponent `emin` (subnormals below it) and largest finite value `max`;
/// the result is exactly representable in that format, or +-inf.
inline Wide round_to_format(Wide v, int precision, int emin, Wide max) {
  if (std::isnan(v) || std::isinf(v) || v == 0) return v;
  int e = 0;
  std::frexp(v, &e);  // |v| = m * 2^e, m in [0.5, 1): the leading bit has exponent e - 1
  const int quantum = std::max(e - 1, emin) - (precision - 1);
  const Wide r = std::ldexp(std::nearbyint(std::ldexp(v, -quantum)), quantum);
  return std::fabs(r) > max ? std::copysign(std::numeric_limits<Wide>::infinity(), v) : r;
}

/// v rounded once to T.
template <class T>
T round_to(Wide v) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(v);
  } else if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(v);
  } else if constexpr (std::is_same_v<T, __half>) {
    // binary16: 11 bits, normals from 2^-14, max 65504. The rounded value is exact in float.
    return __float2half_rn(static_cast<float>(round_to_format(v, 11, -14, 65504.0L)));
  } else {
    static_assert(std::is_same_v<T, __nv_bfloat16>);
    // bfloat16: 8 bits, float's exponent range, max (2 - 2^-7) * 2^127.
    return __float2bfloat16_rn(
        static_cast<float>(round_to_format(v, 8, -126, std::ldexp(255.0L, 120))));
  }
}

// ---- Double in __float128 ------------------------------------------------------------------
// A 64-bit significand is not enough to round a double result correctly: the exact value can
// sit closer than 2^-64 (relative) to a midpoint between two doubles (tanh of 0x3f5bc5953cc6510d
// in long double rounds to ...8f4, the correctly rounded result is ...8f5). The reference
// computes double results in __float128 (libquadmath: 113 bits, long double's exponent range),
// whose functions are within an ulp or two of 2^-113: rounding to double is then correct but
// for results within ~2^-110 of a midpoint, which no test input is known to hit.

using Quad = __float128;

/// The precision the reference computes T's results in: Quad for double, Wide otherwise.
template <class T>
using Exact = std::conditional_t<std::is_same_v<T, double>, Quad, Wide>;

/// v widened exactly to Exact<T>.
template <class T>
Exact<T> exact(T v) {
  return static_cast<Exact<T>>(wide(v));  // double -> long double -> __float128: both exact
}

/// v rounded once to T (double or float: libgcc's conversion rounds to nearest even, subnormals
/// included). Only an argument of exactly Quad type selects this overload.
template <class T, class Q, std::enable_if_t<std::is_same_v<Q, Quad>, int> = 0>
T round_to(Q v) {
  static_assert(std::is_same_v<T, double> || std::is_same_v<T, float>,
                "__float128 results are rounded to double (or float)");
  return static_cast<T>(v);
}

/// The math the reference uses, in Wide (the C++ library's long double functions) and in Quad
/// (libquadmath's), one name for both: the reference's formulas are templates on the precision.
namespace ext {
inline Wide exp(Wide v) { return std::exp(v); }
inline Quad exp(Quad v) { return expq(v); }
inline Wide expm1(Wide v) { return std::expm1(v); }
inline Quad expm1(Quad v) { return expm1q(v); }
inline Wide log(Wide v) { return std::log(v); }
inline Quad log(Quad v) { return logq(v); }
inline Wide log1p(Wide v) { return std::log1p(v); }
inline Quad log1p(Quad v) { return log1pq(v); }
inline Wide tanh(Wide v) { return std::tanh(v); }
inline Quad tanh(Quad v) { return tanhq(v); }
inline Wide cosh(Wide v) { return std::cosh(v); }
inline Quad cosh(Quad v) { return coshq(v); }
inline Wide sqrt(Wide v) { return std::sqrt(v); }
inline Quad sqrt(Quad v) { return sqrtq(v); }
inline Wide erf(Wide v) { return std::erf(v); }
inline Quad erf(Quad v) { return erfq(v); }
inline Wide erfc(Wide v) { return std::erfc(v); }
inline Quad erfc(Quad v) { return erfcq(v); }
inline Wide fabs(Wide v) { return std::fabs(v); }
inline Quad fabs(Quad v) { return fabsq(v); }
inline bool isnan(Wide v) { return std::isnan(v); }
inline bool isnan(Quad v) { return isnanq(v) != 0; }
inline bool isinf(Wide v) { return std::isinf(v); }
inline bool isinf(Quad v) { return isinfq(v) != 0; }
inline bool signbit(Wide v) { return std::signbit(v); }
inline bool signbit(Quad v) { return signbitq(v) != 0; }

/// A constant given in decimal (enough digits for E), parsed once per call site: cache it in a
/// static.
template <class E>
E parse(const char* digits) {
  if constexpr (std::is_same_v<E, Quad>) {
    return strtoflt128(digits, nullptr);
  } else {
    static_assert(std::is_same_v<E, Wide>);
    return std::strtold(digits, nullptr);
  }
}
template <class E>
E quiet_nan() {
  if constexpr (std::is_same_v<E, Quad>) {
    return nanq("");
  } else {
    return std::numeric_limits<Wide>::quiet_NaN();
  }
}
template <class E>
E infinity() {
  return static_cast<E>(std::numeric_limits<Wide>::infinity());
}
}  // namespace ext

template <class T>
T nan_value() {
  return round_to<T>(std::numeric_limits<Wide>::quiet_NaN());
}

template <class T>
T positive_zero() {
  return round_to<T>(0.0L);
}

// ---- Exactly rounded products and quotients ----------------------------------------------
// For float, half and bfloat16 operands the product is exact in long double and the quotient
// rounded to 64 bits first rounds correctly afterwards (64 >= 2p + 2). For double neither holds,
// and double arithmetic itself rounds exactly.

template <class T>
T product(Wide a, Wide b) {
  if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(a) * static_cast<double>(b);
  } else {
    return round_to<T>(a * b);
  }
}

template <class T>
T quotient(Wide a, Wide b) {
  if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(a) / static_cast<double>(b);
  } else {
    return round_to<T>(a / b);
  }
}

}  // namespace actlayer::reference::detail
