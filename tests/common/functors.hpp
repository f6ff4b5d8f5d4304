// tests/common/functors.hpp — the ops.cuh functor of an activation, chosen by the tests
// independently of cuda/, and one element evaluated on the host exactly as the kernel's loop
// evaluates it: widen, compute in float or double, round once.
#pragma once

#include <gtest/gtest.h>

#include "actlayer/activation.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::testing {

template <class Fn>
void with_functor(const Activation& a, Fn&& fn) {
  switch (a.op) {
    case Op::identity: return fn(ops::Identity{});
    case Op::step: return fn(ops::Step{});
    case Op::sigmoid: return fn(ops::Sigmoid{});
    case Op::tanh: return fn(ops::Tanh{});
    case Op::relu: return fn(ops::Relu{});
    case Op::leaky_relu: return fn(ops::LeakyRelu{a.slope, a.divisor});
    case Op::rrelu: return fn(ops::LeakyRelu{a.eval_slope(), 0.0f});
  }
  FAIL() << "unknown op";
}

template <class T, class Op>
T host_forward(const Op& op, T x) {
  return ops::narrow<T>(op.value(ops::widen(x)));
}
template <class T, class Op>
T host_backward(const Op& op, T x, T dy) {
  return ops::narrow<T>(ops::backward(op, ops::widen(x), ops::widen(dy)));
}
template <class T, class Op>
T host_backward_from_output(const Op& op, T y, T dy) {
  return ops::narrow<T>(ops::backward_from_output(op, ops::widen(y), ops::widen(dy)));
}

}  // namespace actlayer::testing
