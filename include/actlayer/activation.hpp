// actlayer/activation.hpp — the vocabulary shared by every actlayer call: which activation, its
// parameters, how the result is blended into the output, and what a call returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "actlayer/element.hpp"

namespace actlayer {

/// The built-in elementwise activations, one row each: (name, ops.cuh functor, formula). Op,
/// to_string(Op), op_from_string, the named constructors without parameters and ops::visit are
/// generated from this list; adding an op is a row here, a functor in ops.cuh, a case in the
/// reference and a row in the tests (docs/design.md §2). PReLU has its own calls (it has a
/// parameter tensor).
#define ACTLAYER_OPS(X)                                                                        \
  X(identity, Identity, "y = z")                                                               \
  X(step, Step, "y = 1 if z >= 0, else 0")                                                     \
  X(sigmoid, Sigmoid, "y = 1 / (1 + e^-z), the logistic function")                             \
  X(tanh, Tanh, "y = tanh z")                                                                  \
  X(relu, Relu, "y = z if z > 0, else +0")                                                     \
  X(leaky_relu, LeakyRelu, "y = z if z >= 0, else slope*z (or z/divisor)")                     \
  X(rrelu, RRelu, "y = z if z >= 0, else r*z: r random in training, (lower+upper)/2 in eval")  \
  X(elu, Elu, "y = z if z >= 0, else alpha*(e^z - 1)")                                         \
  X(selu, Selu, "y = lambda*(z if z >= 0, else alpha*(e^z - 1)), PyTorch's lambda, alpha")     \
  X(celu, Celu, "y = max(0, z) + min(0, alpha*(e^(z/alpha) - 1))")                             \
  X(silu, Silu, "y = z * sigmoid(z)")                                                          \
  X(swish, Swish, "y = z * sigmoid(beta*z)")                                                   \
  X(quick_gelu, QuickGelu, "y = z * sigmoid(1.702*z)")                                         \
  X(mish, Mish, "y = z * tanh(softplus(z))")                                                   \
  X(softplus, Softplus, "y = log(1 + e^(beta*z))/beta, or z where beta*z > threshold")         \
  X(logsigmoid, LogSigmoid, "y = log(sigmoid(z)) = -softplus(-z)")                             \
  X(softsign, Softsign, "y = z / (1 + |z|)")                                                   \
  X(tanhshrink, Tanhshrink, "y = z - tanh z")                                                  \
  X(gelu, Gelu, "y = z Phi(z) = z/2 (1 + erf(z/sqrt 2)), Phi the standard normal CDF")         \
  X(gelu_tanh, GeluTanh, "y = z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))")                  \
  X(hardsigmoid, HardSigmoid, "y = max(0, min(1, hard_slope*z + hard_offset))")                \
  X(hardswish, HardSwish, "y = z * max(0, min(1, z/6 + 1/2))")                                 \
  X(hardtanh, HardTanh, "y = min(max(z, lo), hi)")                                             \
  X(softshrink, SoftShrink, "y = z - lambda if z > lambda, z + lambda if z < -lambda, else 0") \
  X(hardshrink, HardShrink, "y = z if |z| > lambda, else 0")                                   \
  X(thresholded, Thresholded, "y = z if z > threshold, else value")                            \
  X(squared_relu, SquaredRelu, "y = max(0, z)^2")

enum class Op : std::uint8_t {
#define ACTLAYER_OP_ENUM(name, functor, formula) name,
  ACTLAYER_OPS(ACTLAYER_OP_ENUM)
#undef ACTLAYER_OP_ENUM
};

/// Every op, in list order.
inline constexpr Op kOps[] = {
#define ACTLAYER_OP_VALUE(name, functor, formula) Op::name,
    ACTLAYER_OPS(ACTLAYER_OP_VALUE)
#undef ACTLAYER_OP_VALUE
};

/// The op's name as written in the list ("leaky_relu"), or "unknown op".
constexpr const char* to_string(Op op) noexcept {
  switch (op) {
#define ACTLAYER_OP_NAME(name, functor, formula) \
  case Op::name:                                 \
    return #name;
    ACTLAYER_OPS(ACTLAYER_OP_NAME)
#undef ACTLAYER_OP_NAME
  }
  return "unknown op";
}

/// The op's formula, as in the list.
constexpr const char* formula(Op op) noexcept {
  switch (op) {
#define ACTLAYER_OP_FORMULA(name, functor, formula) \
  case Op::name:                                    \
    return formula;
    ACTLAYER_OPS(ACTLAYER_OP_FORMULA)
#undef ACTLAYER_OP_FORMULA
  }
  return "";
}

/// *op = the op named `name` ("sigmoid", as to_string writes it); false if there is none.
constexpr bool op_from_string(std::string_view name, Op* op) noexcept {
  for (Op o : kOps) {
    if (name == to_string(o)) {
      *op = o;
      return true;
    }
  }
  return false;
}

/// The three elementwise passes: y from x, dx from x and dy, dx from y and dy.
enum class Pass { forward, backward, backward_from_output };

/// Key of the counter-based Philox4x32-10 generator that draws RReLU's training slopes.
/// The slopes depend on (seed, offset, element index) only.
///
/// For element i: q = i / 4 and w = Philox4x32-10(counter {lo(offset), hi(offset), lo(q),
/// hi(q)}, key {lo(seed), hi(seed)})[i % 4], which is what cuRAND's curand_init(seed, q,
/// 4*offset) followed by curand4() returns (for offset < 2^62).
struct Philox {
  std::uint64_t seed = 0;    ///< the user's seed
  std::uint64_t offset = 0;  ///< advanced by one per training forward (RReluLayer does it)
  /// Optional, CUDA calls only: a device counter the kernel reads when it runs and adds to
  /// `offset`, so that a CUDA graph replay draws fresh noise (see rrelu_advance_offset).
  const std::uint64_t* device_offset = nullptr;
};

/// An activation and its parameters: a cheap value type, validated at every call.
///
/// Fields that an op does not use are ignored (and not validated).
struct Activation {
  Op op = Op::relu;
  float slope = 0.01f;  ///< leaky_relu: y = slope*z for z < 0; finite and >= 0
  /// leaky_relu, the course's form: when non-zero, y = z/divisor for z < 0 and `slope` is
  /// ignored; finite and > 1.
  float divisor = 0.0f;
  float lower = 1.0f / 8;  ///< rrelu: slopes drawn from U[lower, upper]; 0 <= lower <= upper
  float upper = 1.0f / 3;  ///< rrelu: upper bound, finite
  bool training = false;   ///< rrelu: random slopes when true, eval_slope() when false
  Philox philox{};         ///< rrelu: training noise key
  float alpha = 1.0f;      ///< elu, celu: the alpha of alpha*(e^z - 1); finite (celu: != 0)
  float beta = 1.0f;       ///< softplus, swish: the beta of z*beta; finite (softplus: > 0)
  /// softplus: y = z where beta*z > threshold (PyTorch's 20); thresholded: y = z where z > it
  float threshold = 20.0f;
  float value = 0.0f;           ///< thresholded: y = value where z <= threshold; finite
  float lo = -1.0f;             ///< hardtanh: y = min(max(z, lo), hi); finite, lo < hi
  float hi = 1.0f;              ///< hardtanh: upper bound
  float lambda = 0.5f;          ///< softshrink, hardshrink: finite, >= 0
  float hard_slope = 1.0f / 6;  ///< hardsigmoid: y = max(0, min(1, hard_slope*z + hard_offset))
  float hard_offset = 0.5f;     ///< hardsigmoid: (ONNX HardSigmoid: 0.2 and 0.5)

#define ACTLAYER_OP_CONSTRUCTOR(name, functor, formula) \
  static constexpr Activation name() { return with(Op::name); }
  ACTLAYER_OPS(ACTLAYER_OP_CONSTRUCTOR)  // Activation::sigmoid(), ... with default parameters
#undef ACTLAYER_OP_CONSTRUCTOR

  /// y = z for z >= 0, slope*z otherwise (PyTorch's form; leaky_relu() has slope 0.01).
  static constexpr Activation leaky_relu(float slope) {
    Activation a = with(Op::leaky_relu);
    a.slope = slope;
    return a;
  }
  /// The course's form: y = z for z >= 0, z/a otherwise, with a > 1. The division is done as
  /// written (one rounding), not as a multiplication by a rounded 1/a.
  static constexpr Activation leaky_relu_divisor(float a) {
    Activation act = with(Op::leaky_relu);
    act.divisor = a;
    return act;
  }
  /// RReLU in eval mode: a leaky ReLU with slope (lower + upper)/2, the mean training slope
  /// (rrelu() has PyTorch's bounds 1/8 and 1/3).
  static constexpr Activation rrelu(float lower, float upper = 1.0f / 3) {
    Activation a = with(Op::rrelu);
    a.lower = lower;
    a.upper = upper;
    return a;
  }
  /// RReLU in training mode: slope r_i ~ U[lower, upper] per element, drawn from `key`.
  static constexpr Activation rrelu_training(Philox key, float lower = 1.0f / 8,
                                             float upper = 1.0f / 3) {
    Activation a = rrelu(lower, upper);
    a.training = true;
    a.philox = key;
    return a;
  }

  /// ELU: y = z for z >= 0, alpha*(e^z - 1) otherwise (elu() has alpha 1); alpha finite.
  static constexpr Activation elu(float alpha) {
    Activation a = with(Op::elu);
    a.alpha = alpha;
    return a;
  }
  /// CELU: y = max(0, z) + min(0, alpha*(e^(z/alpha) - 1)) (celu() has alpha 1); alpha finite
  /// and != 0.
  static constexpr Activation celu(float alpha) {
    Activation a = with(Op::celu);
    a.alpha = alpha;
    return a;
  }
  /// Swish: y = z*sigmoid(beta*z) (swish() has beta 1: silu); beta finite.
  static constexpr Activation swish(float beta) {
    Activation a = with(Op::swish);
    a.beta = beta;
    return a;
  }
  /// Softplus: y = log(1 + e^(beta*z))/beta, and y = z where beta*z > threshold (softplus() has
  /// PyTorch's beta 1, threshold 20); beta finite and > 0, threshold finite.
  static constexpr Activation softplus(float beta, float threshold = 20.0f) {
    Activation a = with(Op::softplus);
    a.beta = beta;
    a.threshold = threshold;
    return a;
  }
  /// y = min(max(z, lo), hi) with lo < hi (hardtanh() has PyTorch's -1 and 1).
  static constexpr Activation hardtanh(float low, float high) {
    Activation a = with(Op::hardtanh);
    a.lo = low;
    a.hi = high;
    return a;
  }
  /// ReLU6, min(max(z, 0), 6): hardtanh(0, 6), as PyTorch's relu6.
  static constexpr Activation relu6() { return hardtanh(0.0f, 6.0f); }
  /// cuDNN's clipped ReLU (CUDNN_ACTIVATION_CLIPPED_RELU, coefficient c): hardtanh(0, c).
  static constexpr Activation clipped_relu(float c) { return hardtanh(0.0f, c); }
  /// y = max(0, min(1, slope*z + offset)) (hardsigmoid() has PyTorch's 1/6 and 1/2; ONNX
  /// HardSigmoid's defaults are 0.2 and 0.5).
  static constexpr Activation hardsigmoid(float slope, float offset) {
    Activation a = with(Op::hardsigmoid);
    a.hard_slope = slope;
    a.hard_offset = offset;
    return a;
  }
  /// Soft shrinkage with threshold l >= 0 (softshrink() has PyTorch's 0.5).
  static constexpr Activation softshrink(float l) {
    Activation a = with(Op::softshrink);
    a.lambda = l;
    return a;
  }
  /// Hard shrinkage with threshold l >= 0 (hardshrink() has PyTorch's 0.5).
  static constexpr Activation hardshrink(float l) {
    Activation a = with(Op::hardshrink);
    a.lambda = l;
    return a;
  }
  /// y = z where z > t, else v: PyTorch's threshold(z, t, v); ONNX ThresholdedRelu(alpha) is
  /// thresholded(alpha). (The parameterless thresholded() has the fields' defaults, t = 20 and
  /// v = 0: give the threshold.)
  static constexpr Activation thresholded(float t, float v = 0.0f) {
    Activation a = with(Op::thresholded);
    a.threshold = t;
    a.value = v;
    return a;
  }

  /// The slope RReLU uses in eval mode: the float nearest to (lower + upper)/2.
  constexpr float eval_slope() const {
    return static_cast<float>((static_cast<double>(lower) + static_cast<double>(upper)) * 0.5);
  }

 private:
  static constexpr Activation with(Op op) {
    Activation a;
    a.op = op;
    return a;
  }
};

/// Which half of a packed gated input row is the gate a (the other is b, the "up" or linear
/// half).
enum class GatedLayout : std::uint8_t {
  gate_first,   ///< [a | b]: TransformerEngine's, vLLM's and LLaMA-style fused gate_up order
  gate_second,  ///< [b | a]: PyTorch's F.glu, whose SECOND half is the gate
};

/// A packed gated call's view: input rows x 2*hidden, output rows x hidden.
struct GatedShape {
  std::size_t rows = 0;
  std::size_t hidden = 0;
};

/// A gated activation y = g(a') * (b' + linear_offset): the gate op g of any Activation, and
/// an optional clamp a' = min(a, limit), b' = clamp(b, -limit, limit) (limit = inf: none, a' =
/// a, b' = b). The clamp's gradient passes where its input lies inside [-inf or -limit, limit],
/// ends included, and is 0 elsewhere (NaN included), as PyTorch's clamp backward.
struct Gated {
  Activation gate = Activation::silu();
  GatedLayout layout = GatedLayout::gate_first;
  float limit = std::numeric_limits<float>::infinity();  ///< > 0, or inf (no clamp)
  float linear_offset = 0.0f;  ///< finite; 0 adds nothing (b' keeps its -0)

  /// Any op as the gate (not rrelu in training mode), in either layout.
  static constexpr Gated of(Activation gate, GatedLayout layout = GatedLayout::gate_first) {
    Gated g;
    g.gate = gate;
    g.layout = layout;
    return g;
  }
  /// PyTorch's F.glu: sigmoid gate, the second half: y = b * sigmoid(a) with in = [b | a].
  static constexpr Gated glu() { return of(Activation::sigmoid(), GatedLayout::gate_second); }
  static constexpr Gated reglu() { return of(Activation::relu()); }            ///< relu(a) * b
  static constexpr Gated geglu() { return of(Activation::gelu()); }            ///< gelu(a) * b
  static constexpr Gated geglu_tanh() { return of(Activation::gelu_tanh()); }  ///< tanh approx.
  static constexpr Gated swiglu() { return of(Activation::silu()); }           ///< silu(a) * b
  /// a*sigmoid(beta*a) * b.
  static constexpr Gated swish(float beta) { return of(Activation::swish(beta)); }
  /// GPT-OSS's clamped SwiGLU: a' = min(a, limit), b' = clamp(b, -limit, limit),
  /// y = a'*sigmoid(alpha*a') * (b' + 1). (GPT-OSS's checkpoints interleave a and b; give them
  /// de-interleaved, as two pointers or [a | b] rows.)
  static constexpr Gated clamped_swiglu(float limit = 7.0f, float alpha = 1.702f) {
    Gated g = of(Activation::swish(alpha));
    g.limit = limit;
    g.linear_offset = 1.0f;
    return g;
  }
};

/// out = alpha*f(...) + beta*out, as in cuDNN. With beta == 0 the old output is never read, so
/// garbage or NaN there cannot leak into the result. Both must be finite.
struct Blend {
  float alpha = 1.0f;
  float beta = 0.0f;
};

/// What every actlayer call returns. last_error() has the details of the latest failure.
enum class [[nodiscard]] Status{
    success,           ///< done (for CUDA calls: enqueued on the stream)
    invalid_argument,  ///< a parameter, pointer or size was wrong; nothing was launched or
                       ///< written
    not_supported,     ///< valid, but this combination has no implementation (e.g. backward
                       ///< from the output of a leaky ReLU with slope 0)
    cuda_error,        ///< the CUDA runtime reported an error
};

/// "success", "invalid_argument", "not_supported" or "cuda_error".
const char* to_string(Status status) noexcept;

/// The message of the latest non-success Status returned to this thread by any actlayer call:
/// the argument and what was wrong with it, or the CUDA call with file:line. Empty if none.
const char* last_error() noexcept;

/// 32-bit words of a 1-bit mask over n elements (bit i % 32 of word i / 32 is element i's).
constexpr std::size_t mask_words(std::size_t n) noexcept { return n / 32 + (n % 32 != 0); }

/// A tensor viewed as [outer][channels][inner], with one parameter per channel (the middle
/// index): PReLU's slope, bias_act's bias. NCHW: {N, C, H*W}; NHWC: {N*H*W, C, 1}; rows x
/// features: {rows, F, 1}; one shared parameter: {1, 1, n}.
struct ChannelShape {
  std::size_t outer = 1;
  std::size_t channels = 1;
  std::size_t inner = 1;
};
/// PReLU's name for it (the shape came with PReLU first).
using PReluShape = ChannelShape;

}  // namespace actlayer
