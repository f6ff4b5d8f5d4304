// tests/common/cases.hpp — the activations every accuracy test sweeps, with their bounds.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "actlayer/activation.hpp"

namespace actlayer::testing {

enum class Pass { forward, backward, backward_from_output };
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

struct OpCase {
  const char* name;
  Activation act;
  bool smooth;       // sigmoid, tanh: ULP bounds; the others are piecewise linear
  bool from_output;  // has a backward from the output
};

inline std::vector<OpCase> op_cases() {
  return {
      {"identity", Activation::identity(), false, true},
      {"step", Activation::step(), false, true},
      {"sigmoid", Activation::sigmoid(), true, true},
      {"tanh", Activation::tanh(), true, true},
      {"relu", Activation::relu(), false, true},
      {"leaky_relu(0.01)", Activation::leaky_relu(0.01f), false, true},
      {"leaky_relu(0)", Activation::leaky_relu(0.0f), false, false},
      {"leaky_relu(1.5)", Activation::leaky_relu(1.5f), false, true},
      {"leaky_relu_divisor(10)", Activation::leaky_relu_divisor(10.0f), false, true},
      {"leaky_relu_divisor(3)", Activation::leaky_relu_divisor(3.0f), false, true},
      {"rrelu(eval)", Activation::rrelu(), false, true},
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
