// tests/common/numeric.hpp — bit-level helpers for the tests: ULP distance, exact comparison,
// printing, and the input sets (extremal, random, exhaustive) the accuracy tests sweep.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "actlayer/element.hpp"

namespace actlayer::testing {

// ---- Bits --------------------------------------------------------------------------------

template <class T>
using bits_t = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

template <class T>
bits_t<T> bits(T v) {
  bits_t<T> b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

template <class T>
T from_bits(bits_t<T> b) {
  T v;
  std::memcpy(static_cast<void*>(&v), &b, sizeof v);
  return v;
}

inline double to_double(float v) { return v; }
inline double to_double(double v) { return v; }
inline double to_double(__half v) { return __half2float(v); }
inline double to_double(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, float>)
    return static_cast<float>(v);
  else if constexpr (std::is_same_v<T, double>)
    return v;
  else if constexpr (std::is_same_v<T, __half>)
    return __float2half_rn(static_cast<float>(v));
  else
    return __float2bfloat16_rn(static_cast<float>(v));
}

template <class T>
bool is_nan(T v) {
  return std::isnan(to_double(v));
}

template <class T>
const char* type_name() {
  return element_name<T>();
}

/// Distance in units in the last place between two values of T: the number of representable
/// values between them. +0 and -0 are 0 apart; NaN is 0 from NaN and infinitely far from the rest.
template <class T>
std::uint64_t ulp_distance(T a, T b) {
  const bool na = is_nan(a), nb = is_nan(b);
  if (na || nb) return na && nb ? 0 : std::numeric_limits<std::uint64_t>::max();
  using B = bits_t<T>;
  constexpr B sign = B{1} << (8 * sizeof(T) - 1);
  const auto ordered = [](B v) -> std::int64_t {
    const auto magnitude = static_cast<std::int64_t>(v & ~sign);
    return (v & sign) ? -magnitude : magnitude;
  };
  const std::int64_t d = ordered(bits(a)) - ordered(bits(b));
  return static_cast<std::uint64_t>(d < 0 ? -d : d);
}

/// Identical bits, or both NaN.
template <class T>
bool same(T a, T b) {
  return (is_nan(a) && is_nan(b)) || bits(a) == bits(b);
}

template <class T>
std::string show(T v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g (0x%llx)", to_double(v),
                static_cast<unsigned long long>(bits(v)));
  return buf;
}

// ---- Input sets --------------------------------------------------------------------------

/// The extremal values of docs/design.md §4, in T: +-0, +-smallest and largest subnormal,
/// +-smallest normal, +-max, +-inf, NaN, +-1e-8, +-1, +-20, +-50, +-89, +-104 (the last ones
/// saturate or overflow in the narrower types).
template <class T>
std::vector<T> extremal_values() {
  using B = bits_t<T>;
  std::vector<T> v;
  const auto both = [&](T x) {
    v.push_back(x);
    v.push_back(from_bits<T>(static_cast<B>(bits(x) ^ (B{1} << (8 * sizeof(T) - 1)))));
  };
  const int mantissa = std::is_same_v<T, double>   ? 52
                       : std::is_same_v<T, float>  ? 23
                       : std::is_same_v<T, __half> ? 10
                                                   : 7;
  const B exp_all = static_cast<B>((~B{0} >> 1) & ~((B{1} << mantissa) - 1));  // inf
  both(from_bits<T>(0));                                                       // zero
  both(from_bits<T>(1));                                                       // smallest subnormal
  both(from_bits<T>(static_cast<B>((B{1} << mantissa) - 1)));                  // largest subnormal
  both(from_bits<T>(static_cast<B>(B{1} << mantissa)));                        // smallest normal
  both(from_bits<T>(static_cast<B>(exp_all - 1)));                             // max
  both(from_bits<T>(exp_all));                                                 // inf
  v.push_back(from_bits<T>(static_cast<B>(exp_all | (B{1} << (mantissa - 1)))));  // NaN
  for (double x : {1e-8, 1.0, 20.0, 50.0, 89.0, 104.0}) both(from_double<T>(x));
  return v;
}

/// Every bit pattern of a 16-bit type.
template <class T>
std::vector<T> all_values() {
  static_assert(sizeof(T) == 2);
  std::vector<T> v(65536);
  for (std::uint32_t b = 0; b < 65536; ++b) v[b] = from_bits<T>(static_cast<std::uint16_t>(b));
  return v;
}

/// n random values of T from a fixed seed: a third uniform over all bit patterns (every
/// exponent, subnormals, infinities, NaN), a third uniform over [-wide, wide] (wide = 120 for
/// float, 800 for double: through the saturated tails), a third uniform over [-20, 20].
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double wide = std::is_same_v<T, double> ? 800.0 : 120.0;
  std::uniform_real_distribution<double> in_wide(-wide, wide), in_core(-20.0, 20.0);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (i % 3) {
      case 0:
        v[i] = from_bits<T>(static_cast<bits_t<T>>(rng()));
        break;
      case 1:
        v[i] = from_double<T>(in_wide(rng));
        break;
      default:
        v[i] = from_double<T>(in_core(rng));
        break;
    }
  }
  return v;
}

/// Gradients to pair with inputs: mostly moderate values of both signs, with some huge, tiny,
/// zero, infinite and NaN ones.
template <class T>
std::vector<T> random_gradients(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> moderate(-4.0, 4.0);
  const std::vector<T> special = extremal_values<T>();
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = rng();
    if (r % 16 == 0)
      v[i] = special[(r >> 8) % special.size()];
    else if (r % 16 == 1)
      v[i] = from_bits<T>(static_cast<bits_t<T>>(rng()));
    else
      v[i] = from_double<T>(moderate(rng));
  }
  return v;
}

}  // namespace actlayer::testing
