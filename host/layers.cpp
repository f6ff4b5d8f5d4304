// The layer objects: argument checks on Buffers, then the CUDA call or the CPU reference.
#include "actlayer/layers.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/validate.hpp"
#include "../cuda/launch.hpp"
#include "actlayer/detail/calls.hpp"

namespace actlayer {

namespace {

/// Throws unless every buffer has `out`'s device and size.
template <class T, class... Rest>
void require_like(const char* function, const char* out_name, const Buffer<T>& out,
                  const Rest&... rest) {
  const auto check = [&](const char* name, const Buffer<T>& b) {
    if (b.device() != out.device()) {
      throw Error(Status::invalid_argument,
                  detail::format("%s: %s is on %s but %s is on %s", function, name,
                                 to_string(b.device()), out_name, to_string(out.device())));
    }
    if (b.size() != out.size()) {
      throw Error(Status::invalid_argument,
                  detail::format("%s: %s has %zu elements but %s has %zu", function, name, b.size(),
                                 out_name, out.size()));
    }
  };
  (check(rest.first, *rest.second), ...);
}

template <class T>
std::pair<const char*, const Buffer<T>*> arg(const char* name, const Buffer<T>& b) {
  return {name, &b};
}

}  // namespace

template <class T>
void ActivationLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y, Blend blend) const {
  require_like("ActivationLayer::forward", "y", y, arg("x", x));
  throw_if_failed(y.device() == Device::cuda
                      ? actlayer::forward(act_, x.data(), y.data(), y.size(), y.stream(), blend)
                      : reference::forward(act_, x.data(), y.data(), y.size(), blend));
}

template <class T>
void ActivationLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx,
                                  Blend blend) const {
  require_like("ActivationLayer::backward", "dx", dx, arg("x", x), arg("dy", dy));
  throw_if_failed(
      dx.device() == Device::cuda
          ? actlayer::backward(act_, x.data(), dy.data(), dx.data(), dx.size(), dx.stream(), blend)
          : reference::backward(act_, x.data(), dy.data(), dx.data(), dx.size(), blend));
}

template <class T>
void ActivationLayer<T>::backward_from_output(const Buffer<T>& y, const Buffer<T>& dy,
                                              Buffer<T>& dx, Blend blend) const {
  require_like("ActivationLayer::backward_from_output", "dx", dx, arg("y", y), arg("dy", dy));
  throw_if_failed(dx.device() == Device::cuda
                      ? actlayer::backward_from_output(act_, y.data(), dy.data(), dx.data(),
                                                       dx.size(), dx.stream(), blend)
                      : reference::backward_from_output(act_, y.data(), dy.data(), dx.data(),
                                                        dx.size(), blend));
}

template <class T>
PReluLayer<T>::PReluLayer(std::size_t channels, Device device, cudaStream_t stream, Param init)
    : alpha_(Buffer<Param>::from_host(std::vector<Param>(channels, init), device, stream)),
      dalpha_(Buffer<Param>::from_host(std::vector<Param>(channels, Param(0)), device, stream)) {
  if (channels == 0) {
    throw Error(Status::invalid_argument, "PReluLayer: channels must be >= 1 (got 0)");
  }
  if (device == Device::cuda) {
    // The kernels may run on other streams: the uploads must have landed first.
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
      throw Error(
          Status::cuda_error,
          detail::format("PReluLayer: cudaStreamSynchronize failed with %s", cudaGetErrorName(e)));
    }
  }
}

namespace {

/// Throws unless shape has the layer's channels and `count` elements.
void require_shape(const char* function, std::size_t channels, PReluShape shape,
                   std::size_t count) {
  std::size_t n = 0;
  if (shape.channels != channels) {
    throw Error(Status::invalid_argument,
                detail::format("%s: shape.channels = %zu but the layer has %zu channels", function,
                               shape.channels, channels));
  }
  if (!detail::prelu_size(shape, &n) || n != count) {
    throw Error(Status::invalid_argument,
                detail::format("%s: shape {outer %zu, channels %zu, inner %zu} does not match "
                               "the buffers' %zu elements",
                               function, shape.outer, shape.channels, shape.inner, count));
  }
}

}  // namespace

template <class T>
void PReluLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y, PReluShape shape) const {
  const char* const fn = "PReluLayer::forward";
  require_like(fn, "y", y, arg("x", x));
  require_shape(fn, channels(), shape, y.size());
  if (y.device() != alpha_.device()) {
    throw Error(Status::invalid_argument,
                detail::format("%s: y is on %s but the layer is on %s", fn, to_string(y.device()),
                               to_string(alpha_.device())));
  }
  throw_if_failed(
      y.device() == Device::cuda
          ? actlayer::prelu_forward(x.data(), alpha_.data(), y.data(), shape, y.stream())
          : reference::prelu_forward(x.data(), alpha_.data(), y.data(), shape));
}

template <class T>
void PReluLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx,
                             PReluShape shape, bool accumulate) {
  const char* const fn = "PReluLayer::backward";
  require_like(fn, "dx", dx, arg("x", x), arg("dy", dy));
  require_shape(fn, channels(), shape, dx.size());
  if (dx.device() != alpha_.device()) {
    throw Error(Status::invalid_argument,
                detail::format("%s: dx is on %s but the layer is on %s", fn, to_string(dx.device()),
                               to_string(alpha_.device())));
  }
  const Blend blend{1.0f, accumulate ? 1.0f : 0.0f};
  if (dx.device() == Device::cpu) {
    throw_if_failed(reference::prelu_backward(x.data(), alpha_.data(), dy.data(), dx.data(),
                                              dalpha_.data(), shape, blend));
    return;
  }
  const std::size_t bytes = prelu_backward_workspace_bytes(shape);
  if (workspace_.size() * sizeof(double) < bytes) {
    workspace_ =
        Buffer<double>((bytes + sizeof(double) - 1) / sizeof(double), Device::cuda, dx.stream());
  }
  throw_if_failed(actlayer::prelu_backward(x.data(), alpha_.data(), dy.data(), dx.data(),
                                           dalpha_.data(), shape, workspace_.data(),
                                           workspace_.size() * sizeof(double), dx.stream(), blend));
}

template class PReluLayer<float>;
template class PReluLayer<double>;
template class PReluLayer<__half>;
template class PReluLayer<__nv_bfloat16>;

template <class T>
void ActivationLayer<T>::forward_keep_mask(const Buffer<T>& x, Buffer<T>& y, Blend blend) {
  require_like("ActivationLayer::forward_keep_mask", "y", y, arg("x", x));
  if (mask_.device() != y.device() || mask_.size() != mask_words(y.size())) {
    mask_ = Buffer<std::uint32_t>(mask_words(y.size()), y.device(), y.stream());
  }
  mask_n_ = 0;  // no valid mask until this call succeeds
  throw_if_failed(
      y.device() == Device::cuda
          ? actlayer::forward_with_mask(act_, x.data(), y.data(), mask_.data(), y.size(),
                                        y.stream(), blend)
          : reference::forward_with_mask(act_, x.data(), y.data(), mask_.data(), y.size(), blend));
  mask_n_ = y.size();
}

template <class T>
void ActivationLayer<T>::backward_from_kept_mask(const Buffer<T>& dy, Buffer<T>& dx,
                                                 Blend blend) const {
  const char* const fn = "ActivationLayer::backward_from_kept_mask";
  require_like(fn, "dx", dx, arg("dy", dy));
  if (mask_n_ != dx.size() || mask_.device() != dx.device()) {
    throw Error(
        Status::invalid_argument,
        detail::format("%s: the kept mask covers %zu elements on %s, dx has %zu on %s (call "
                       "forward_keep_mask first)",
                       fn, mask_n_, to_string(mask_.device()), dx.size(), to_string(dx.device())));
  }
  throw_if_failed(dx.device() == Device::cuda
                      ? actlayer::backward_from_mask(act_, mask_.data(), dy.data(), dx.data(),
                                                     dx.size(), dx.stream(), blend)
                      : reference::backward_from_mask(act_, mask_.data(), dy.data(), dx.data(),
                                                      dx.size(), blend));
}

// ---- RReluLayer -----------------------------------------------------------------------------

template <class T>
RReluLayer<T>::RReluLayer(std::uint64_t seed, float lower, float upper, Device device,
                          cudaStream_t stream)
    : seed_(seed), lower_(lower), upper_(upper), device_(device) {
  const Activation act = Activation::rrelu(lower, upper);
  throw_if_failed(detail::ArgCheck("RReluLayer").activation(act, Pass::forward).status());
  eval_slope_ = act.eval_slope();
  if (device == Device::cuda) {
    counter_ = Buffer<std::uint64_t>::from_host({~std::uint64_t{0}}, Device::cuda, stream);
    partials_ = Buffer<double>(cuda_impl::kSlopeSumBlocks, Device::cuda, stream);
    sums_ = Buffer<double>::from_host({0.0, 0.0}, Device::cuda, stream);
    // The kernels may run on other streams: the uploads must have landed first.
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
      throw Error(
          Status::cuda_error,
          detail::format("RReluLayer: cudaStreamSynchronize failed with %s", cudaGetErrorName(e)));
    }
  }
  last_stream_ = stream;
}

template <class T>
Activation RReluLayer<T>::training_activation(std::uint64_t offset) const {
  // On CUDA the offset is the device counter's value when the kernel runs.
  return device_ == Device::cuda
             ? Activation::rrelu_training(Philox{seed_, 0, counter_.data()}, lower_, upper_)
             : Activation::rrelu_training(Philox{seed_, offset, nullptr}, lower_, upper_);
}

template <class T>
void RReluLayer<T>::train(bool on) {
  training_ = on;
  if (!on && eval_mean_) eval_slope_ = static_cast<float>(slope_mean());
}

template <class T>
void RReluLayer<T>::eval_with_drawn_mean(bool on) {
  const float slope =
      on ? static_cast<float>(slope_mean()) : Activation::rrelu(lower_, upper_).eval_slope();
  if (!(slope >= 0.0f)) {
    throw Error(Status::invalid_argument,
                "RReluLayer::eval_with_drawn_mean: no slopes tracked yet (track_slopes(true) "
                "while training)");
  }
  eval_mean_ = on;
  eval_slope_ = slope;
}

template <class T>
double RReluLayer<T>::slope_mean() const {
  if (device_ == Device::cpu) {
    return cpu_count_ > 0 ? static_cast<double>(cpu_sum_ / cpu_count_)
                          : std::numeric_limits<double>::quiet_NaN();
  }
  // The sums were accumulated on the last forward's stream.
  const cudaError_t e = cudaStreamSynchronize(last_stream_);
  if (e != cudaSuccess) {
    throw Error(Status::cuda_error,
                detail::format("RReluLayer::slope_mean: cudaStreamSynchronize failed with %s",
                               cudaGetErrorName(e)));
  }
  const std::vector<double> sums = sums_.to_host();
  return sums[1] > 0 ? sums[0] / sums[1] : std::numeric_limits<double>::quiet_NaN();
}

template <class T>
void RReluLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y) {
  const char* const fn = "RReluLayer::forward";
  require_like(fn, "y", y, arg("x", x));
  if (y.device() != device_) {
    throw Error(Status::invalid_argument,
                detail::format("%s: y is on %s but the layer is on %s", fn, to_string(y.device()),
                               to_string(device_)));
  }
  if (!training_) {
    const Activation act = Activation::leaky_relu(eval_slope_);
    throw_if_failed(device_ == Device::cuda
                        ? actlayer::forward(act, x.data(), y.data(), y.size(), y.stream())
                        : reference::forward(act, x.data(), y.data(), y.size()));
    return;
  }
  const Activation act = training_activation(forwards_);
  if (device_ == Device::cuda) {
    throw_if_failed(rrelu_advance_offset(counter_.data(), y.stream()));
    ++forwards_;  // the device counter has moved: keep the count with it, whatever follows
    last_stream_ = y.stream();
    throw_if_failed(actlayer::forward(act, x.data(), y.data(), y.size(), y.stream()));
    if (track_ && y.size() > 0) {
      throw_if_failed(
          detail::launched(cuda_impl::launch_rrelu_slope_sum(act, y.size(), partials_.data(),
                                                             sums_.data(), y.stream()),
                           fn));
    }
  } else {
    throw_if_failed(reference::forward(act, x.data(), y.data(), y.size()));
    if (track_ && y.size() > 0) {
      std::vector<float> r(y.size());
      throw_if_failed(reference::rrelu_slopes(act, r.data(), r.size()));
      for (float v : r) cpu_sum_ += v;
      cpu_count_ += static_cast<double>(r.size());
    }
    ++forwards_;
  }
}

template <class T>
void RReluLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx) const {
  const char* const fn = "RReluLayer::backward";
  require_like(fn, "dx", dx, arg("x", x), arg("dy", dy));
  if (dx.device() != device_) {
    throw Error(Status::invalid_argument,
                detail::format("%s: dx is on %s but the layer is on %s", fn, to_string(dx.device()),
                               to_string(device_)));
  }
  if (training_ && forwards_ == 0) {
    throw Error(Status::invalid_argument,
                detail::format("%s: no training forward to take the slopes of", fn));
  }
  const Activation act =
      training_ ? training_activation(forwards_ - 1) : Activation::leaky_relu(eval_slope_);
  throw_if_failed(
      device_ == Device::cuda
          ? actlayer::backward(act, x.data(), dy.data(), dx.data(), dx.size(), dx.stream())
          : reference::backward(act, x.data(), dy.data(), dx.data(), dx.size()));
}

template class RReluLayer<float>;
template class RReluLayer<double>;
template class RReluLayer<__half>;
template class RReluLayer<__nv_bfloat16>;

template class ActivationLayer<float>;
template class ActivationLayer<double>;
template class ActivationLayer<__half>;
template class ActivationLayer<__nv_bfloat16>;

}  // namespace actlayer
