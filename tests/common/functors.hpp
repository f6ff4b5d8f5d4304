// tests/common/functors.hpp — the ops.cuh functor of an activation, and one element evaluated on
// the host exactly as the kernel's loop evaluates it: widen, compute in float or double, round
// once.
#pragma once

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
/// For an op without an output form (gelu, hardswish, ...) it returns y unchanged: the callers
/// skip such rows (OpCase::from_output), and the reference refuses them anyway.
template <class T, class Op>
T host_backward_from_output(const Op& op, T y, T dy) {
  if constexpr (ops::has_output_form_v<Op>) {
    return ops::narrow<T>(ops::backward_from_output(op, ops::widen(y), ops::widen(dy)));
  } else {
    return y;
  }
}

}  // namespace actlayer::testing
