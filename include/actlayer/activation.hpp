// actlayer/activation.hpp — the vocabulary shared by every actlayer call: which activation, its
// parameters, how the result is blended into the output, and what a call returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace actlayer {

/// The built-in elementwise activations. PReLU has its own calls (it has a parameter tensor).
enum class Op : std::uint8_t {
  identity,    ///< y = z
  step,        ///< y = 1 if z >= 0, else 0
  sigmoid,     ///< y = 1 / (1 + e^-z), the logistic function
  tanh,        ///< y = tanh z
  relu,        ///< y = z if z > 0, else +0
  leaky_relu,  ///< y = z if z >= 0, else slope*z (or z/divisor, the course's form)
  rrelu,       ///< randomized leaky ReLU: random slope per element in training, fixed in eval
};

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

  static constexpr Activation identity() { return with(Op::identity); }
  static constexpr Activation step() { return with(Op::step); }
  static constexpr Activation sigmoid() { return with(Op::sigmoid); }
  static constexpr Activation tanh() { return with(Op::tanh); }
  static constexpr Activation relu() { return with(Op::relu); }
  /// y = z for z >= 0, slope*z otherwise (PyTorch's form; slope 0.01 by default).
  static constexpr Activation leaky_relu(float slope = 0.01f) {
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
  /// RReLU in eval mode: a leaky ReLU with slope (lower + upper)/2, the mean training slope.
  static constexpr Activation rrelu(float lower = 1.0f / 8, float upper = 1.0f / 3) {
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

/// out = alpha*f(...) + beta*out, as in cuDNN. With beta == 0 the old output is never read, so
/// garbage or NaN there cannot leak into the result. Both must be finite.
struct Blend {
  float alpha = 1.0f;
  float beta = 0.0f;
};

/// What every actlayer call returns. last_error() has the details of the latest failure.
enum class [[nodiscard]] Status{
    success,           ///< done (for CUDA calls: enqueued on the stream)
    invalid_argument,  ///< a parameter, pointer or size was wrong; nothing was launched or written
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

/// PReLU's view of its input: [outer][channels][inner]. NCHW: {N, C, H*W}; NHWC: {N*H*W, C, 1};
/// one shared slope: {1, 1, n}.
struct PReluShape {
  std::size_t outer = 1;
  std::size_t channels = 1;
  std::size_t inner = 1;
};

/// The type of parameters (PReLU's alpha) for data of type T: double for double, float for
/// float, __half and __nv_bfloat16 (an fp32 master parameter).
template <class T>
using param_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

}  // namespace actlayer
