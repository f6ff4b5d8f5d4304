// host/reference/round.hpp — the reference's arithmetic: exact widening to long double and
// correct rounding (to nearest, ties to even) from long double to each element type.
// Internal to the reference and its tests; independent of ops.cuh.
#pragma once

#include <algorithm>
#include <cmath>
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
