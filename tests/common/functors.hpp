// tests/common/functors.hpp — the ops.cuh functor of an activation, and one element evaluated on
// the host exactly as the kernel's loop evaluates it: widen, compute in float or double, round
// once.
#pragma once

#include <limits>

#include "actlayer/activation.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::testing {

template <class T, class Op>
T host_forward(const Op& op, T x) {
  return ops::narrow<T>(op.value(ops::widen(x)));
}
template <class T, class Op>
T host_backward(const Op& op, T x, T dy) {
  return ops::narrow<T>(ops::backward(op, ops::widen(x), ops::widen(dy)));
}
/// NaN for a functor without an output form (the calls refuse it; the tests skip it).
template <class T, class Op>
T host_backward_from_output(const Op& op, T y, T dy) {
  if constexpr (ops::has_output_form_v<Op>) {
    return ops::narrow<T>(ops::backward_from_output(op, ops::widen(y), ops::widen(dy)));
  } else {
    using F = decltype(ops::widen(y));
    return ops::narrow<T>(std::numeric_limits<F>::quiet_NaN());
  }
}

}  // namespace actlayer::testing
