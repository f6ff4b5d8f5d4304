// actlayer/detail/convert.hpp — stored element <-> working precision (compute_t): widened
// exactly on load, rounded once to nearest even on store. Host and device.
#pragma once

#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "actlayer/detail/config.hpp"

namespace actlayer::ops {

/// Widens a stored element to its working precision (exact).
ACTLAYER_HD float widen(float v) { return v; }
ACTLAYER_HD double widen(double v) { return v; }
ACTLAYER_HD float widen(__half v) { return __half2float(v); }
ACTLAYER_HD float widen(__nv_bfloat16 v) { return __bfloat162float(v); }

/// Rounds a working-precision result to the storage type, once, to nearest even.
template <class T>
ACTLAYER_HD T narrow(float v);
template <>
ACTLAYER_HD float narrow<float>(float v) {
  return v;
}
template <>
ACTLAYER_HD __half narrow<__half>(float v) {
  return __float2half_rn(v);
}
template <>
ACTLAYER_HD __nv_bfloat16 narrow<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <class T>
ACTLAYER_HD T narrow(double v) {
  static_assert(std::is_same_v<T, double>, "double results are stored as double");
  return v;
}

}  // namespace actlayer::ops
