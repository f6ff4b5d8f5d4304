// actlayer/element.hpp — the element types actlayer computes on.
#pragma once

#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace actlayer {

/// True for the element types every actlayer call accepts: float, double, __half and
/// __nv_bfloat16.
template <class T>
inline constexpr bool is_element_v = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                     std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

/// The precision the math runs in for element type T, and the type of parameters (PReLU's
/// alpha): double for double, float for the others (half and bfloat16 are widened on load and
/// rounded once at the store; their parameters are fp32 masters).
template <class T>
using compute_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

/// X(T, a) for each element type T: instantiations and type lists are written once from this.
#define ACTLAYER_FOR_EACH_ELEMENT(X, a) X(float, a) X(double, a) X(__half, a) X(__nv_bfloat16, a)

/// Enables a public template for the element types only.
template <class T>
using if_element_t = std::enable_if_t<is_element_v<T>>;

/// "float", "double", "half" or "bfloat16".
template <class T>
constexpr const char* element_name() {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else if constexpr (std::is_same_v<T, __half>)
    return "half";
  else
    return "bfloat16";
}

}  // namespace actlayer
