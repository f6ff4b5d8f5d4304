// actlayer/layers.hpp — layer objects over Buffers. They run the CUDA kernels on Device::cuda
// buffers and the CPU backend (cpu.hpp) on Device::cpu buffers, and throw actlayer::Error on any
// failure.
//
// Streams: a call is enqueued on its output buffer's stream (y for forward, dx for backward),
// and is not ordered against the streams of the input buffers: when those differ, order them
// yourself (an event, or a synchronisation). A layer with state on the device (PReluLayer's
// and BiasActivationLayer's workspace, RReluLayer's counter and sums, ActivationLayer's kept
// mask) is meant for one stream at a time. Constructors synchronise the stream they upload on.
//
// Constructors, one rule for every layer: the layer's own parameters first, then
// `Device device = Device::cuda`, then (for the layers that upload state when constructed)
// `cudaStream_t stream = nullptr` — the order of Buffer(n, device, stream) and of PyTorch's
// modules (nn.PReLU(num_parameters, init, device)). A layer works on buffers of its device
// only. A CUDA layer needs a CUDA device when constructed: without one it throws
// Error(cuda_error) "<Layer>: no CUDA device (...); pass Device::cpu to run on the CPU".
//
// Buffers: an empty buffer (size 0) is a valid empty tensor; a moved-from buffer
// (Buffer::moved_from()) is refused with invalid_argument "<call>: x is a moved-from Buffer".
#pragma once

#include <cstdint>

#include "actlayer/activation.hpp"
#include "actlayer/buffer.hpp"

namespace actlayer {

/// An elementwise activation layer (identity, step, sigmoid, tanh, relu, leaky_relu, rrelu in
/// eval mode). RReLU in training mode is refused (invalid_argument): its key would be the same
/// at every call, so every forward would draw the same slopes; RReluLayer draws fresh ones.
///
/// @code
///   actlayer::ActivationLayer<float> layer(actlayer::Activation::leaky_relu_divisor(10.0f));
///   layer.forward(x, y);            // y = f(x)
///   layer.backward(x, dy, dx);      // dx = dy * f'(x)
/// @endcode
template <class T>
class ActivationLayer {
 public:
  explicit ActivationLayer(Activation activation = Activation::relu(),
                           Device device = Device::cuda);

  const Activation& activation() const noexcept { return act_; }
  Device device() const noexcept { return device_; }

  /// y = alpha*f(x) + beta*y. x and y: same device and size; y may be x.
  void forward(const Buffer<T>& x, Buffer<T>& y, Blend blend = {}) const;
  /// dx = alpha*(dy * f'(x)) + beta*dx.
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx, Blend blend = {}) const;
  /// dx from the forward's output y (ops where that is defined; else Error not_supported).
  void backward_from_output(const Buffer<T>& y, const Buffer<T>& dy, Buffer<T>& dx,
                            Blend blend = {}) const;

  /// forward(), keeping a 1-bit mask of x > 0 in the layer instead of x (relu, leaky_relu, step,
  /// rrelu eval; else Error not_supported): x may be released or overwritten afterwards.
  void forward_keep_mask(const Buffer<T>& x, Buffer<T>& y, Blend blend = {});
  /// dx from the kept mask (see backward_from_mask for NaN in x).
  void backward_from_kept_mask(const Buffer<T>& dy, Buffer<T>& dx, Blend blend = {}) const;
  /// The mask the last forward_keep_mask kept: mask_words(n) words.
  const Buffer<std::uint32_t>& kept_mask() const noexcept { return mask_; }

 private:
  Activation act_;
  Device device_;
  Buffer<std::uint32_t> mask_;
  std::size_t mask_n_ = 0;
};

/// How a backward writes a layer's parameter gradient (PReluLayer's dalpha): replace it with
/// this call's gradient, or add this call's gradient to it, as PyTorch adds into `.grad`
/// (then zero it yourself between optimiser steps).
enum class ParamGrad { overwrite, accumulate };

/// PReLU with a trainable slope per channel. Owns the slopes (`channels` values, 0.25 each by
/// default, as PyTorch) and their gradient, on the device of its choice, and the workspace of
/// its CUDA backward. Training code applies its optimiser to alpha() using dalpha().
///
/// @code
///   actlayer::PReluLayer<float> prelu(64);                    // 64 channels on the GPU
///   actlayer::PReluLayer<float> on_cpu(64, 0.25f, actlayer::Device::cpu);
///   actlayer::PReluShape nchw{batch, 64, h * w};
///   prelu.forward(x, y, nchw);
///   prelu.backward(x, dy, dx, nchw, actlayer::ParamGrad::overwrite);  // dalpha() = dL/dalpha
/// @endcode
template <class T>
class PReluLayer {
 public:
  using Param = compute_t<T>;

  explicit PReluLayer(std::size_t channels, Param init = Param(0.25), Device device = Device::cuda,
                      cudaStream_t stream = nullptr);

  std::size_t channels() const noexcept { return alpha_.size(); }
  Device device() const noexcept { return device_; }
  Buffer<Param>& alpha() noexcept { return alpha_; }
  const Buffer<Param>& alpha() const noexcept { return alpha_; }
  Buffer<Param>& dalpha() noexcept { return dalpha_; }
  const Buffer<Param>& dalpha() const noexcept { return dalpha_; }

  /// y = x for x >= 0, alpha[c]*x otherwise. shape.channels must be channels(); x and y hold
  /// shape's element count on the layer's device.
  void forward(const Buffer<T>& x, Buffer<T>& y, PReluShape shape) const;
  /// dx, and dalpha: `ParamGrad::overwrite` sets dalpha = dL/dalpha, `ParamGrad::accumulate`
  /// adds it (dalpha += dL/dalpha, PyTorch's behaviour for `.grad`). No default: say which.
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx, PReluShape shape,
                ParamGrad dalpha_mode);

 private:
  Device device_;
  Buffer<Param> alpha_;
  Buffer<Param> dalpha_;
  Buffer<double> workspace_;  // CUDA backward's partial sums, grown on demand
};

/// A per-channel bias fused with an activation: y = f(x + bias[c]) (bias_act_forward), and
/// in the backward dx and dbias = the sum of dx over each channel, in one pass and a fixed-order
/// final sum (dbias bitwise reproducible). Owns the bias (`channels` values of compute_t<T>,
/// the fp32 master copy for half and bfloat16 data; zero-initialised, as a freshly constructed
/// layer whose bias your initialiser then sets), its gradient, and the workspace of its CUDA
/// backward. The activation is checked when constructed (rrelu in training mode is refused).
///
/// @code
///   actlayer::BiasActivationLayer<float> hidden(256, actlayer::Activation::gelu());
///   actlayer::ChannelShape rows{batch, 256, 1};  // rows x features
///   hidden.forward(x, y, rows);                  // y = gelu(x + bias)
///   hidden.backward(x, dy, dx, rows, actlayer::ParamGrad::overwrite);  // dx, dbias()
/// @endcode
template <class T>
class BiasActivationLayer {
 public:
  using Param = compute_t<T>;

  explicit BiasActivationLayer(std::size_t channels, Activation act = Activation::relu(),
                               Device device = Device::cuda, cudaStream_t stream = nullptr);

  std::size_t channels() const noexcept { return bias_.size(); }
  Device device() const noexcept { return device_; }
  const Activation& activation() const noexcept { return act_; }
  Buffer<Param>& bias() noexcept { return bias_; }
  const Buffer<Param>& bias() const noexcept { return bias_; }
  Buffer<Param>& dbias() noexcept { return dbias_; }
  const Buffer<Param>& dbias() const noexcept { return dbias_; }

  /// y = f(x + bias[c]). shape.channels must be channels(); x and y hold shape's element
  /// count on the layer's device.
  void forward(const Buffer<T>& x, Buffer<T>& y, ChannelShape shape) const;
  /// dx = dy f'(x + bias[c]) from the forward's input x, and dbias (overwritten or accumulated,
  /// as PReluLayer's dalpha).
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx, ChannelShape shape,
                ParamGrad dbias_mode);
  /// The same from the forward's output y, for the ops with an output form (relu, sigmoid,
  /// tanh, ...: see backward_from_output); Error(not_supported) for the others.
  void backward_from_output(const Buffer<T>& y, const Buffer<T>& dy, Buffer<T>& dx,
                            ChannelShape shape, ParamGrad dbias_mode);
  /// forward(), keeping a 1-bit mask of x + bias > 0 in the layer instead of x (relu,
  /// leaky_relu, step, rrelu eval; else Error not_supported): x may be released afterwards.
  void forward_keep_mask(const Buffer<T>& x, Buffer<T>& y, ChannelShape shape);
  /// dx and dbias from the kept mask (see bias_act_backward_from_mask).
  void backward_from_kept_mask(const Buffer<T>& dy, Buffer<T>& dx, ChannelShape shape,
                               ParamGrad dbias_mode);

 private:
  Activation act_;
  Device device_;
  Buffer<Param> bias_;
  Buffer<Param> dbias_;
  Buffer<double> workspace_;  // CUDA backward's partial sums, grown on demand
  Buffer<std::uint32_t> mask_;
  std::size_t mask_n_ = 0;  // elements the kept mask covers (0: none)
};

/// RReLU: in training, a random slope r_i ~ U[lower, upper] per element, from Philox keyed by
/// the user's seed and an offset that advances by one per training forward; in eval, the fixed
/// slope (lower + upper)/2 — or, when asked, the mean of the slopes it actually drew in
/// training, which is what the course describes. A backward belongs to the latest forward, as
/// in PyTorch (which saves the noise): it uses that forward's slopes, whatever train() was
/// called with in between.
///
/// On CUDA the offset is a counter in device memory, advanced on the device before each
/// training forward: a CUDA graph holding forward + backward draws fresh slopes at every replay.
/// A CPU layer and a CUDA layer with the same seed draw the same slopes, bit for bit.
///
/// @code
///   actlayer::RReluLayer<float> rrelu(/*seed=*/1234);
///   rrelu.forward(x, y);           // training: slopes drawn under offset 0
///   rrelu.backward(x, dy, dx);     // the same slopes, drawn again
///   rrelu.train(false);
///   rrelu.forward(x, y);           // eval: slope (1/8 + 1/3)/2
///   actlayer::RReluLayer<float> on_cpu(1234, 1.0f / 8, 1.0f / 3, actlayer::Device::cpu);
/// @endcode
template <class T>
class RReluLayer {
 public:
  explicit RReluLayer(std::uint64_t seed, float lower = 1.0f / 8, float upper = 1.0f / 3,
                      Device device = Device::cuda, cudaStream_t stream = nullptr);

  /// Training mode (the default) or eval mode. With eval_with_drawn_mean on, switching to eval
  /// reads slope_mean() (a synchronisation; Error cuda_error if it fails).
  void train(bool on = true);
  bool training() const noexcept { return training_; }
  /// While on, every training forward also sums the slopes it drew (a second, compute-only
  /// pass that draws them again), for slope_mean().
  void track_slopes(bool on) noexcept { track_ = on; }
  /// Eval with slope_mean() instead of (lower + upper)/2 (needs track_slopes while training).
  void eval_with_drawn_mean(bool on);
  /// The mean of every slope drawn while tracking (NaN before any). Synchronises on CUDA.
  double slope_mean() const;
  /// Training forwards so far: the next one draws under offset forwards().
  std::uint64_t forwards() const noexcept { return forwards_; }
  /// The slope eval mode uses now.
  float eval_slope() const noexcept { return eval_slope_; }

  /// Training: draws under offset forwards(), then forwards() + 1. Eval: eval_slope().
  void forward(const Buffer<T>& x, Buffer<T>& y);
  /// dx with the slopes of the latest successful forward: its drawn slopes if it was a training
  /// forward, its eval slope if it was an eval one (train() in between changes nothing).
  /// invalid_argument before any forward.
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx) const;

 private:
  Activation training_activation(std::uint64_t offset) const;

  std::uint64_t seed_;
  float lower_, upper_;
  Device device_;
  bool training_ = true;
  bool track_ = false;
  bool eval_mean_ = false;
  float eval_slope_;
  std::uint64_t forwards_ = 0;
  bool forwarded_ = false;         // a forward succeeded: backward uses last_forward_
  Activation last_forward_{};      // the activation of the latest successful forward
  Buffer<std::uint64_t> counter_;  // CUDA: the offset of the latest forward (starts at -1)
  Buffer<double> partials_;        // CUDA: the slope sum's per-block partials
  Buffer<double> sums_;            // CUDA: {sum of slopes, count}
  long double cpu_sum_ = 0;        // CPU: the same
  double cpu_count_ = 0;
  cudaStream_t last_stream_ = nullptr;  // CUDA: where the latest sums were accumulated
};

/// A gated activation layer (GLU family): y = g(a) * b for a Gated (Gated::swiglu(), glu(),
/// geglu(), ... or any op as the gate), over a packed input of rows x 2H (Gated's layout says
/// which half is the gate) or over a and b in two buffers. RReLU in training mode is refused
/// as a gate.
///
/// @code
///   actlayer::GatedActivationLayer<__nv_bfloat16> swiglu(actlayer::Gated::swiglu());
///   actlayer::GatedShape shape{tokens, hidden};  // in: tokens x 2*hidden, y: tokens x hidden
///   swiglu.forward(in, y, shape);
///   swiglu.backward(in, dy, din, shape);       // din: da and db where a and b lie in `in`
///   swiglu.forward(a, b, y2);                  // gate and up projections in two buffers
/// @endcode
template <class T>
class GatedActivationLayer {
 public:
  explicit GatedActivationLayer(Gated gated = Gated::swiglu(), Device device = Device::cuda);

  const Gated& gated() const noexcept { return gated_; }
  Device device() const noexcept { return device_; }

  /// y = alpha*g(a)*b + beta*y over packed rows: in has shape.rows * 2 * shape.hidden elements,
  /// y shape.rows * shape.hidden.
  void forward(const Buffer<T>& in, Buffer<T>& y, GatedShape shape, Blend blend = {}) const;
  /// din (in's size and layout; may be in) = da and db from dy (y's size).
  void backward(const Buffer<T>& in, const Buffer<T>& dy, Buffer<T>& din, GatedShape shape,
                Blend blend = {}) const;
  /// y = alpha*g(a)*b + beta*y over a and b in two buffers of y's size (y may be a or b).
  void forward(const Buffer<T>& a, const Buffer<T>& b, Buffer<T>& y, Blend blend = {}) const;
  /// da and db (disjoint; each may be a, b or dy), all of one size.
  void backward(const Buffer<T>& a, const Buffer<T>& b, const Buffer<T>& dy, Buffer<T>& da,
                Buffer<T>& db, Blend blend = {}) const;

 private:
  Gated gated_;
  Device device_;
};

}  // namespace actlayer
