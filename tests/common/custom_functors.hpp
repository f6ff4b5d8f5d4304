// tests/common/custom_functors.hpp — user-defined activations for the custom-activation tests:
// a ReLU written by a user (must match the built-in bit for bit) and swish with a parameter.
#pragma once

#include "actlayer/ops.cuh"

namespace actlayer::testing {

/// ReLU as a user would write it, from the README's conventions.
struct UserRelu {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z > F(0) ? z : (z == z ? F(0) : z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return z > F(0) ? F(1) : (z == z ? F(0) : z);
  }
};

/// swish_beta(z) = z * sigmoid(beta z); derivative s + beta z s (1 - s) with s = sigmoid(beta z).
struct Swish {
  float beta = 1.0f;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z * ops::Sigmoid{}.value(F(beta) * z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F s = ops::Sigmoid{}.value(F(beta) * z);
    return s + F(beta) * z * s * (F(1) - s);
  }
};

}  // namespace actlayer::testing
