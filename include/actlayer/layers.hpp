// actlayer/layers.hpp — layer objects over Buffers. They run the CUDA kernels on Device::cuda
// buffers and the CPU reference on Device::cpu buffers, and throw actlayer::Error on any
// failure.
//
// Streams: a call is enqueued on its output buffer's stream (y for forward, dx for backward),
// and is not ordered against the streams of the input buffers: when those differ, order them
// yourself (an event, or a synchronisation). A layer with a workspace (PReluLayer) is meant
// for one stream at a time.
#pragma once

#include "actlayer/activation.hpp"
#include "actlayer/buffer.hpp"

namespace actlayer {

/// An elementwise activation layer (identity, step, sigmoid, tanh, relu, leaky_relu, rrelu in
/// eval mode).
///
/// @code
///   actlayer::ActivationLayer<float> layer(actlayer::Activation::leaky_relu_divisor(10.0f));
///   layer.forward(x, y);            // y = f(x)
///   layer.backward(x, dy, dx);      // dx = dy * f'(x)
/// @endcode
template <class T>
class ActivationLayer {
 public:
  explicit ActivationLayer(Activation activation = Activation::relu()) : act_(activation) {}

  const Activation& activation() const noexcept { return act_; }

  /// y = alpha*f(x) + beta*y. x and y: same device and size; y may be x.
  void forward(const Buffer<T>& x, Buffer<T>& y, Blend blend = {}) const;
  /// dx = alpha*(dy * f'(x)) + beta*dx.
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx, Blend blend = {}) const;
  /// dx from the forward's output y (ops where that is defined; else Error not_supported).
  void backward_from_output(const Buffer<T>& y, const Buffer<T>& dy, Buffer<T>& dx,
                            Blend blend = {}) const;

 private:
  Activation act_;
};

/// PReLU with a trainable slope per channel. Owns the slopes (`channels` values, 0.25 each by
/// default, as PyTorch) and their gradient, on the device of its choice, and the workspace of
/// its CUDA backward. Training code applies its optimiser to alpha() using dalpha().
///
/// @code
///   actlayer::PReluLayer<float> prelu(64);                    // 64 channels on the GPU
///   actlayer::PReluShape nchw{batch, 64, h * w};
///   prelu.forward(x, y, nchw);
///   prelu.backward(x, dy, dx, nchw);                          // dx, and dalpha() = dL/dalpha
/// @endcode
template <class T>
class PReluLayer {
 public:
  using Param = param_t<T>;

  explicit PReluLayer(std::size_t channels, Device device = Device::cuda,
                      cudaStream_t stream = nullptr, Param init = Param(0.25));

  std::size_t channels() const noexcept { return alpha_.size(); }
  Device device() const noexcept { return alpha_.device(); }
  Buffer<Param>& alpha() noexcept { return alpha_; }
  const Buffer<Param>& alpha() const noexcept { return alpha_; }
  Buffer<Param>& dalpha() noexcept { return dalpha_; }
  const Buffer<Param>& dalpha() const noexcept { return dalpha_; }

  /// y = x for x >= 0, alpha[c]*x otherwise. shape.channels must be channels(); x and y hold
  /// shape's element count on the layer's device.
  void forward(const Buffer<T>& x, Buffer<T>& y, PReluShape shape) const;
  /// dx, and dalpha = dL/dalpha (or dalpha += dL/dalpha when `accumulate`).
  void backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx, PReluShape shape,
                bool accumulate = false);

 private:
  Buffer<Param> alpha_;
  Buffer<Param> dalpha_;
  Buffer<double> workspace_;  // CUDA backward's partial sums, grown on demand
};

}  // namespace actlayer
