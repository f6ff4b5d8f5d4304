// actlayer/detail/blend.hpp — one element's final step, shared by the CUDA loop and the CPU
// loop of custom activations so that both blend and round alike.
#pragma once

#include "actlayer/ops.cuh"

namespace actlayer::detail {

/// narrow<T>(alpha * r + beta * old) in r's precision; old is not read when beta == 0.
template <class T, class F>
ACTLAYER_HD T blend_result(F r, float alpha, float beta, const T& old) {
  F v = F(alpha) * r;
  if (beta != 0.0f) v = v + F(beta) * ops::widen(old);
  return ops::narrow<T>(v);
}

}  // namespace actlayer::detail
