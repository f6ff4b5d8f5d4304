// actlayer/layers.hpp — layer objects over Buffers. They run the CUDA kernels on Device::cuda
// buffers (on the output buffer's stream) and the CPU reference on Device::cpu buffers, and
// throw actlayer::Error on any failure.
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

}  // namespace actlayer
