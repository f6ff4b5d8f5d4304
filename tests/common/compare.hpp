// tests/common/compare.hpp — element-by-element comparison against the reference under an ULP
// bound, with a readable report of the worst error and the first failures.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "numeric.hpp"

namespace actlayer::testing {

struct Comparison {
  std::uint64_t max_ulp = 0;
  std::size_t failures = 0;
  std::string report;  // the first few failures, one per line
};

/// Compares got[i] with want[i] for i < n: within `bound` ulp, or bit-identical when bound == 0
/// (so the sign of zero counts). `describe(i)` names the inputs of element i in the report.
template <class T>
Comparison compare(const T* got, const T* want, std::size_t n, std::uint64_t bound,
                   const std::function<std::string(std::size_t)>& describe) {
  Comparison c;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t d = ulp_distance(got[i], want[i]);
    const bool ok = bound == 0 ? same(got[i], want[i]) : d <= bound;
    if (d > c.max_ulp) c.max_ulp = d;
    if (!ok && ++c.failures <= 8) {
      c.report += "  [" + std::to_string(i) + "] " + describe(i) + ": got " + show(got[i]) +
                  ", want " + show(want[i]) + "\n";
    }
  }
  return c;
}

template <class T>
Comparison compare(const std::vector<T>& got, const std::vector<T>& want, std::uint64_t bound,
                   const std::function<std::string(std::size_t)>& describe) {
  return compare(got.data(), want.data(), want.size(), bound, describe);
}

template <class T>
double unit_roundoff() {
  return std::is_same_v<T, double>   ? 0x1p-53
         : std::is_same_v<T, float>  ? 0x1p-24
         : std::is_same_v<T, __half> ? 0x1p-11
                                     : 0x1p-8;
}

/// A blended result: the kernel blends its unrounded f in F, the reference blends the rounded
/// f, so the two agree to a few roundings of the terms' magnitude.
template <class T>
bool blend_close(T got, T want, T f, T old, Blend b, std::uint64_t bound) {
  if (is_nan(got) || is_nan(want)) return is_nan(got) && is_nan(want);
  if (std::isinf(to_double(got)) || std::isinf(to_double(want))) return same(got, want);
  const double mag = std::fabs(b.alpha * to_double(f)) + std::fabs(b.beta * to_double(old));
  const double tol = (static_cast<double>(bound) + 3) * 2 * unit_roundoff<T>() * mag +
                     to_double(from_bits<T>(1));  // + the smallest subnormal
  return std::fabs(to_double(got) - to_double(want)) <= tol;
}

}  // namespace actlayer::testing
