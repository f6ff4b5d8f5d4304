// tests/common/cases.hpp — the activations every accuracy test sweeps, with their bounds.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "actlayer/activation.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::testing {

inline const char* to_string(Pass p) {
  switch (p) {
    case Pass::forward:
      return "forward";
    case Pass::backward:
      return "backward";
    case Pass::backward_from_output:
      return "from_output";
  }
  return "?";
}
inline constexpr Pass kPasses[] = {Pass::forward, Pass::backward, Pass::backward_from_output};

/// One row of the accuracy sweeps: an activation with parameters; its traits come from its
/// functor (ops.cuh).
struct OpCase {
  const char* name;
  Activation act;
  bool smooth;       // ulp bounds (the functor's kSmooth); else bit-exact
  bool from_output;  // has a backward from the output for these parameters
};

inline OpCase op_case(const char* name, const Activation& act) {
  OpCase c{name, act, false, false};
  ops::visit(act, [&](auto row, auto op) {
    c.smooth = decltype(row)::kSmooth;
    c.from_output = ops::no_output_form(op) == nullptr;
  });
  return c;
}

/// The test rows: every op of ACTLAYER_OPS at least once (TestRows.EveryOpHasARow), the
/// parameter edge cases of the ops that have parameters.
inline std::vector<OpCase> op_cases() {
  return {
      op_case("identity", Activation::identity()),
      op_case("step", Activation::step()),
      op_case("sigmoid", Activation::sigmoid()),
      op_case("tanh", Activation::tanh()),
      op_case("relu", Activation::relu()),
      op_case("leaky_relu(0.01)", Activation::leaky_relu(0.01f)),
      op_case("leaky_relu(0)", Activation::leaky_relu(0.0f)),
      op_case("leaky_relu(1.5)", Activation::leaky_relu(1.5f)),
      op_case("leaky_relu_divisor(10)", Activation::leaky_relu_divisor(10.0f)),
      op_case("leaky_relu_divisor(3)", Activation::leaky_relu_divisor(3.0f)),
      op_case("rrelu(eval)", Activation::rrelu()),
      op_case("elu", Activation::elu()),
      op_case("elu(0.5)", Activation::elu(0.5f)),
      op_case("elu(-0.75)", Activation::elu(-0.75f)),
      op_case("elu(0)", Activation::elu(0.0f)),
      op_case("selu", Activation::selu()),
      op_case("celu", Activation::celu()),
      op_case("celu(0.3)", Activation::celu(0.3f)),
      op_case("celu(-1.5)", Activation::celu(-1.5f)),
      op_case("silu", Activation::silu()),
      op_case("swish(1.5)", Activation::swish(1.5f)),
      op_case("swish(-0.3)", Activation::swish(-0.3f)),
      op_case("swish(0)", Activation::swish(0.0f)),
      op_case("quick_gelu", Activation::quick_gelu()),
      op_case("mish", Activation::mish()),
      op_case("softplus", Activation::softplus()),
      op_case("softplus(0.3,25)", Activation::softplus(0.3f, 25.0f)),
      op_case("softplus(2,3)", Activation::softplus(2.0f, 3.0f)),
      op_case("logsigmoid", Activation::logsigmoid()),
      op_case("softsign", Activation::softsign()),
      op_case("tanhshrink", Activation::tanhshrink()),
      op_case("gelu", Activation::gelu()),
      op_case("gelu_tanh", Activation::gelu_tanh()),
      op_case("hardsigmoid", Activation::hardsigmoid()),
      op_case("hardsigmoid(0.2,0.5)", Activation::hardsigmoid(0.2f, 0.5f)),
      op_case("hardsigmoid(-3,0.25)", Activation::hardsigmoid(-3.0f, 0.25f)),
      op_case("hardsigmoid(0,0.75)", Activation::hardsigmoid(0.0f, 0.75f)),
      op_case("hardswish", Activation::hardswish()),
      op_case("hardtanh", Activation::hardtanh()),
      op_case("relu6", Activation::relu6()),
      op_case("hardtanh(-2.5,-0.5)", Activation::hardtanh(-2.5f, -0.5f)),
      op_case("hardtanh(-0.1,0.1)", Activation::hardtanh(-0.1f, 0.1f)),
      op_case("softshrink", Activation::softshrink()),
      op_case("softshrink(0)", Activation::softshrink(0.0f)),
      op_case("softshrink(1e-3)", Activation::softshrink(1e-3f)),
      op_case("hardshrink", Activation::hardshrink()),
      op_case("hardshrink(0)", Activation::hardshrink(0.0f)),
      op_case("thresholded(1)", Activation::thresholded(1.0f)),
      op_case("thresholded(-1,-2.5)", Activation::thresholded(-1.0f, -2.5f)),
      op_case("thresholded(0.5,3)", Activation::thresholded(0.5f, 3.0f)),
      op_case("thresholded()", Activation::thresholded()),
      op_case("squared_relu", Activation::squared_relu()),
  };
}

/// The accuracy contract of docs/design.md §4, in ulp of T against the reference. 0 means
/// bit-exact (sign of zero included).
template <class T>
std::uint64_t ulp_bound(const OpCase& c, Pass pass) {
  constexpr bool narrow = sizeof(T) == 2;
  if (!c.smooth) return narrow ? 1 : 0;
  if (narrow) return 1;
  return pass == Pass::backward ? 8 : 4;
}

}  // namespace actlayer::testing
