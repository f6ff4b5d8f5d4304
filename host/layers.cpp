// The layer objects: argument checks on Buffers, then the CUDA call or the CPU backend.
#include "actlayer/layers.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "../cuda/launch.hpp"
#include "actlayer/detail/calls.hpp"

namespace actlayer {

namespace {

[[noreturn]] void throw_invalid(std::string message) {
  throw Error(Status::invalid_argument, std::move(message));
}

/// A Buffer argument of a layer call and its name in the messages.
template <class T>
struct Arg {
  const char* name;
  const Buffer<T>& buffer;
};
template <class T>
Arg<T> arg(const char* name, const Buffer<T>& buffer) {
  return {name, buffer};
}

/// The checks on a call's buffers: none of `in` (in the order given) nor `out` is moved-from;
/// each of `in` has out's device and size; out is on the layer's device.
template <class O, class... In>
void check_buffers(const char* function, Device layer, const O& out, const In&... in) {
  const auto live = [&](const auto& a) {
    if (a.buffer.moved_from()) {
      throw_invalid(detail::format("%s: %s is a moved-from Buffer", function, a.name));
    }
  };
  (live(in), ...);
  live(out);
  [[maybe_unused]] const auto like_out = [&](const auto& a) {
    if (a.buffer.device() != out.buffer.device()) {
      throw_invalid(detail::format("%s: %s is on %s but %s is on %s", function, a.name,
                                   to_string(a.buffer.device()), out.name,
                                   to_string(out.buffer.device())));
    }
    if (a.buffer.size() != out.buffer.size()) {
      throw_invalid(detail::format("%s: %s has %zu elements but %s has %zu", function, a.name,
                                   a.buffer.size(), out.name, out.buffer.size()));
    }
  };
  (like_out(in), ...);
  if (out.buffer.device() != layer) {
    throw_invalid(detail::format("%s: %s is on %s but the layer is on %s", function, out.name,
                                 to_string(out.buffer.device()), to_string(layer)));
  }
}

/// A CUDA layer needs a CUDA device: "<who>: no CUDA device (...); pass Device::cpu ...".
void require_device(const char* who, Device device) {
  if (device == Device::cuda) (void)detail::current_cuda_device(who);
}

/// cudaStreamSynchronize(stream), or an Error "<who>: cudaStreamSynchronize failed with ...".
void synchronize(const char* who, cudaStream_t stream) {
  const cudaError_t e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) {
    throw Error(Status::cuda_error, detail::format("%s: cudaStreamSynchronize failed with %s", who,
                                                   cudaGetErrorName(e)));
  }
}

/// The one backend switch of the layers: on a Device::cuda output buffer `cuda(its stream)`,
/// on a Device::cpu one `cpu()` (the CPU backend, cpu.hpp); a failed call is thrown as an Error.
/// The message names the layer function the user called, not the call it made: "<who>: <what>".
template <class T, class Cuda, class Cpu>
void run(const char* who, const Buffer<T>& out, Cuda&& cuda, Cpu&& cpu) {
  const Status s = out.device() == Device::cuda ? cuda(out.stream()) : cpu();
  if (s == Status::success) return;
  const std::string message = last_error();
  const std::size_t colon = message.find(": ");
  throw Error(s, who + (colon == std::string::npos ? ": " + message : message.substr(colon)));
}

/// run() for an elementwise call: the CPU backend's `cpu(args..., blend)` or cuda.hpp's
/// `cuda(args..., stream, blend)` (the same signature with the stream before the Blend).
template <class T, class Cuda, class Cpu, class... A>
void run_elementwise(const char* who, const Buffer<T>& out, Cuda cuda, Cpu cpu, Blend blend,
                     const A&... args) {
  run(
      who, out, [&](cudaStream_t stream) { return cuda(args..., stream, blend); },
      [&] { return cpu(args..., blend); });
}

/// Throws unless the kept mask covers n elements.
void require_kept_mask(const char* function, std::size_t mask_n, std::size_t n) {
  if (mask_n != n) {
    throw_invalid(detail::format(
        "%s: the kept mask covers %zu elements, dx has %zu (call forward_keep_mask first)",
        function, mask_n, n));
  }
}

/// mask resized to hold mask_words(n) words (on `device`, allocated on `stream`).
void size_mask(Buffer<std::uint32_t>& mask, std::size_t n, Device device, cudaStream_t stream) {
  if (mask.size() != mask_words(n)) mask = Buffer<std::uint32_t>(mask_words(n), device, stream);
}

}  // namespace

// ---- ActivationLayer ------------------------------------------------------------------------

template <class T>
ActivationLayer<T>::ActivationLayer(Activation activation, Device device)
    : act_(activation), device_(device) {
  if (activation.op == Op::rrelu && activation.training) {
    throw_invalid(
        "ActivationLayer: Activation::rrelu_training would draw the same slopes at every forward "
        "(its key never advances here); use RReluLayer, which advances the key per forward and "
        "keeps it for the backward");
  }
  require_device("ActivationLayer", device);
}

template <class T>
void ActivationLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y, Blend blend) const {
  const char* const fn = "ActivationLayer::forward";
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  run_elementwise(fn, y, actlayer::forward<T>, cpu::forward<T>, blend, act_, x.data(), y.data(),
                  y.size());
}

template <class T>
void ActivationLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx,
                                  Blend blend) const {
  const char* const fn = "ActivationLayer::backward";
  check_buffers(fn, device_, arg("dx", dx), arg("x", x), arg("dy", dy));
  run_elementwise(fn, dx, actlayer::backward<T>, cpu::backward<T>, blend, act_, x.data(), dy.data(),
                  dx.data(), dx.size());
}

template <class T>
void ActivationLayer<T>::backward_from_output(const Buffer<T>& y, const Buffer<T>& dy,
                                              Buffer<T>& dx, Blend blend) const {
  const char* const fn = "ActivationLayer::backward_from_output";
  check_buffers(fn, device_, arg("dx", dx), arg("y", y), arg("dy", dy));
  run_elementwise(fn, dx, actlayer::backward_from_output<T>, cpu::backward_from_output<T>, blend,
                  act_, y.data(), dy.data(), dx.data(), dx.size());
}

template <class T>
void ActivationLayer<T>::forward_keep_mask(const Buffer<T>& x, Buffer<T>& y, Blend blend) {
  const char* const fn = "ActivationLayer::forward_keep_mask";
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  size_mask(mask_, y.size(), device_, y.stream());
  mask_n_ = 0;  // no valid mask until this call succeeds
  run_elementwise(fn, y, actlayer::forward_with_mask<T>, cpu::forward_with_mask<T>, blend, act_,
                  x.data(), y.data(), mask_.data(), y.size());
  mask_n_ = y.size();
}

template <class T>
void ActivationLayer<T>::backward_from_kept_mask(const Buffer<T>& dy, Buffer<T>& dx,
                                                 Blend blend) const {
  const char* const fn = "ActivationLayer::backward_from_kept_mask";
  check_buffers(fn, device_, arg("dx", dx), arg("dy", dy));
  require_kept_mask(fn, mask_n_, dx.size());
  run_elementwise(fn, dx, actlayer::backward_from_mask<T>, cpu::backward_from_mask<T>, blend, act_,
                  mask_.data(), dy.data(), dx.data(), dx.size());
}

template class ActivationLayer<float>;
template class ActivationLayer<double>;
template class ActivationLayer<__half>;
template class ActivationLayer<__nv_bfloat16>;

// ---- PReluLayer -----------------------------------------------------------------------------

template <class T>
PReluLayer<T>::PReluLayer(std::size_t channels, Param init, Device device, cudaStream_t stream)
    : device_(device) {
  if (channels == 0) throw_invalid("PReluLayer: channels must be >= 1 (got 0)");
  require_device("PReluLayer", device);
  alpha_ = Buffer<Param>::from_host(std::vector<Param>(channels, init), device, stream);
  dalpha_ = Buffer<Param>::from_host(std::vector<Param>(channels, Param(0)), device, stream);
  // The kernels may run on other streams: the uploads must have landed first.
  if (device == Device::cuda) synchronize("PReluLayer", stream);
}

namespace {

/// Throws unless shape has the layer's channels and `count` elements.
void require_shape(const char* function, std::size_t channels, ChannelShape shape,
                   std::size_t count) {
  std::size_t n = 0;
  if (shape.channels != channels) {
    throw_invalid(detail::format("%s: shape.channels = %zu but the layer has %zu channels",
                                 function, shape.channels, channels));
  }
  if (!detail::channel_size(shape, &n)) {
    throw_invalid(
        detail::format("%s: shape {outer %zu, channels %zu, inner %zu}: the element "
                       "count overflows size_t",
                       function, shape.outer, shape.channels, shape.inner));
  }
  if (n != count) {
    throw_invalid(
        detail::format("%s: shape {outer %zu, channels %zu, inner %zu} does not match "
                       "the buffers' %zu elements",
                       function, shape.outer, shape.channels, shape.inner, count));
  }
}

/// run() for a backward with a parameter gradient: on CUDA, the layer's `workspace` grown to
/// `bytes` (never shrunk; allocated on out's stream), then cuda(stream, workspace, its bytes).
template <class T, class Cuda, class Cpu>
void run_with_workspace(const char* who, const Buffer<T>& out, Buffer<double>& workspace,
                        std::size_t bytes, Cuda&& cuda, Cpu&& cpu) {
  run(
      who, out,
      [&](cudaStream_t s) {
        if (workspace.size() * sizeof(double) < bytes) {
          workspace =
              Buffer<double>((bytes + sizeof(double) - 1) / sizeof(double), out.device(), s);
        }
        return cuda(s, workspace.data(), workspace.size() * sizeof(double));
      },
      cpu);
}

Blend param_blend(ParamGrad mode) {
  return Blend{1.0f, mode == ParamGrad::accumulate ? 1.0f : 0.0f};
}

}  // namespace

template <class T>
void PReluLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y, PReluShape shape) const {
  const char* const fn = "PReluLayer::forward";
  check_buffers(fn, device_, arg("alpha", alpha_));
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  require_shape(fn, channels(), shape, y.size());
  run(
      fn, y,
      [&](cudaStream_t s) {
        return actlayer::prelu_forward(x.data(), alpha_.data(), y.data(), shape, s);
      },
      [&] { return cpu::prelu_forward(x.data(), alpha_.data(), y.data(), shape); });
}

template <class T>
void PReluLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx,
                             PReluShape shape, ParamGrad dalpha_mode) {
  const char* const fn = "PReluLayer::backward";
  check_buffers(fn, device_, arg("dalpha", dalpha_), arg("alpha", alpha_));
  check_buffers(fn, device_, arg("dx", dx), arg("x", x), arg("dy", dy));
  require_shape(fn, channels(), shape, dx.size());
  const Blend dalpha_blend = param_blend(dalpha_mode);
  run_with_workspace(
      fn, dx, workspace_, prelu_backward_workspace_bytes(shape),
      [&](cudaStream_t s, double* ws, std::size_t bytes) {
        return actlayer::prelu_backward(x.data(), alpha_.data(), dy.data(), dx.data(),
                                        dalpha_.data(), shape, ws, bytes, s, dalpha_blend);
      },
      [&] {
        return cpu::prelu_backward(x.data(), alpha_.data(), dy.data(), dx.data(), dalpha_.data(),
                                   shape, dalpha_blend);
      });
}

template class PReluLayer<float>;
template class PReluLayer<double>;
template class PReluLayer<__half>;
template class PReluLayer<__nv_bfloat16>;

// ---- BiasActivationLayer --------------------------------------------------------------------

template <class T>
BiasActivationLayer<T>::BiasActivationLayer(std::size_t channels, Activation act, Device device,
                                            cudaStream_t stream)
    : act_(act), device_(device) {
  const char* const fn = "BiasActivationLayer";
  if (channels == 0) throw_invalid("BiasActivationLayer: channels must be >= 1 (got 0)");
  detail::ArgCheck check(fn);
  throw_if_failed(detail::bias_act_activation(check, act, detail::Saved::x).status());
  require_device(fn, device);
  bias_ = Buffer<Param>::from_host(std::vector<Param>(channels, Param(0)), device, stream);
  dbias_ = Buffer<Param>::from_host(std::vector<Param>(channels, Param(0)), device, stream);
  // The kernels may run on other streams: the uploads must have landed first.
  if (device == Device::cuda) synchronize(fn, stream);
}

template <class T>
void BiasActivationLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y, ChannelShape shape) const {
  const char* const fn = "BiasActivationLayer::forward";
  check_buffers(fn, device_, arg("bias", bias_));
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  require_shape(fn, channels(), shape, y.size());
  run(
      fn, y,
      [&](cudaStream_t s) {
        return actlayer::bias_act_forward(act_, x.data(), bias_.data(), y.data(), shape, s);
      },
      [&] { return cpu::bias_act_forward(act_, x.data(), bias_.data(), y.data(), shape); });
}

template <class T>
void BiasActivationLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx,
                                      ChannelShape shape, ParamGrad dbias_mode) {
  const char* const fn = "BiasActivationLayer::backward";
  check_buffers(fn, device_, arg("dbias", dbias_), arg("bias", bias_));
  check_buffers(fn, device_, arg("dx", dx), arg("x", x), arg("dy", dy));
  require_shape(fn, channels(), shape, dx.size());
  const Blend blend = param_blend(dbias_mode);
  run_with_workspace(
      fn, dx, workspace_, bias_act_backward_workspace_bytes(shape),
      [&](cudaStream_t s, double* ws, std::size_t bytes) {
        return actlayer::bias_act_backward(act_, x.data(), bias_.data(), dy.data(), dx.data(),
                                           dbias_.data(), shape, ws, bytes, s, blend);
      },
      [&] {
        return cpu::bias_act_backward(act_, x.data(), bias_.data(), dy.data(), dx.data(),
                                      dbias_.data(), shape, blend);
      });
}

template <class T>
void BiasActivationLayer<T>::backward_from_output(const Buffer<T>& y, const Buffer<T>& dy,
                                                  Buffer<T>& dx, ChannelShape shape,
                                                  ParamGrad dbias_mode) {
  const char* const fn = "BiasActivationLayer::backward_from_output";
  check_buffers(fn, device_, arg("dbias", dbias_));
  check_buffers(fn, device_, arg("dx", dx), arg("y", y), arg("dy", dy));
  require_shape(fn, channels(), shape, dx.size());
  const Blend blend = param_blend(dbias_mode);
  run_with_workspace(
      fn, dx, workspace_, bias_act_backward_workspace_bytes(shape),
      [&](cudaStream_t s, double* ws, std::size_t bytes) {
        return actlayer::bias_act_backward_from_output(act_, y.data(), dy.data(), dx.data(),
                                                       dbias_.data(), shape, ws, bytes, s, blend);
      },
      [&] {
        return cpu::bias_act_backward_from_output(act_, y.data(), dy.data(), dx.data(),
                                                  dbias_.data(), shape, blend);
      });
}

template <class T>
void BiasActivationLayer<T>::forward_keep_mask(const Buffer<T>& x, Buffer<T>& y,
                                               ChannelShape shape) {
  const char* const fn = "BiasActivationLayer::forward_keep_mask";
  check_buffers(fn, device_, arg("bias", bias_));
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  require_shape(fn, channels(), shape, y.size());
  size_mask(mask_, y.size(), device_, y.stream());
  mask_n_ = 0;  // no valid mask until this call succeeds
  run(
      fn, y,
      [&](cudaStream_t s) {
        return actlayer::bias_act_forward_with_mask(act_, x.data(), bias_.data(), y.data(),
                                                    mask_.data(), shape, s);
      },
      [&] {
        return cpu::bias_act_forward_with_mask(act_, x.data(), bias_.data(), y.data(), mask_.data(),
                                               shape);
      });
  mask_n_ = y.size();
}

template <class T>
void BiasActivationLayer<T>::backward_from_kept_mask(const Buffer<T>& dy, Buffer<T>& dx,
                                                     ChannelShape shape, ParamGrad dbias_mode) {
  const char* const fn = "BiasActivationLayer::backward_from_kept_mask";
  check_buffers(fn, device_, arg("dbias", dbias_));
  check_buffers(fn, device_, arg("dx", dx), arg("dy", dy));
  require_shape(fn, channels(), shape, dx.size());
  require_kept_mask(fn, mask_n_, dx.size());
  const Blend blend = param_blend(dbias_mode);
  run_with_workspace(
      fn, dx, workspace_, bias_act_backward_workspace_bytes(shape),
      [&](cudaStream_t s, double* ws, std::size_t bytes) {
        return actlayer::bias_act_backward_from_mask(act_, mask_.data(), dy.data(), dx.data(),
                                                     dbias_.data(), shape, ws, bytes, s, blend);
      },
      [&] {
        return cpu::bias_act_backward_from_mask(act_, mask_.data(), dy.data(), dx.data(),
                                                dbias_.data(), shape, blend);
      });
}

template class BiasActivationLayer<float>;
template class BiasActivationLayer<double>;
template class BiasActivationLayer<__half>;
template class BiasActivationLayer<__nv_bfloat16>;

// ---- RReluLayer -----------------------------------------------------------------------------

template <class T>
RReluLayer<T>::RReluLayer(std::uint64_t seed, float lower, float upper, Device device,
                          cudaStream_t stream)
    : seed_(seed), lower_(lower), upper_(upper), device_(device) {
  const Activation act = Activation::rrelu(lower, upper);
  throw_if_failed(detail::ArgCheck("RReluLayer").activation(act, Pass::forward).status());
  eval_slope_ = act.eval_slope();
  require_device("RReluLayer", device);
  if (device == Device::cuda) {
    counter_ = Buffer<std::uint64_t>::from_host({~std::uint64_t{0}}, Device::cuda, stream);
    partials_ = Buffer<double>(cuda_impl::kSlopeSumBlocks, Device::cuda, stream);
    sums_ = Buffer<double>::from_host({0.0, 0.0}, Device::cuda, stream);
    // The kernels may run on other streams: the uploads must have landed first.
    synchronize("RReluLayer", stream);
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
    throw_invalid(
        "RReluLayer::eval_with_drawn_mean: no slopes tracked yet (track_slopes(true) while "
        "training)");
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
  synchronize("RReluLayer::slope_mean", last_stream_);
  const std::vector<double> sums = sums_.to_host();
  return sums[1] > 0 ? sums[0] / sums[1] : std::numeric_limits<double>::quiet_NaN();
}

template <class T>
void RReluLayer<T>::forward(const Buffer<T>& x, Buffer<T>& y) {
  const char* const fn = "RReluLayer::forward";
  check_buffers(fn, device_, arg("y", y), arg("x", x));
  forwarded_ = false;  // a backward has no forward to belong to until this one succeeds
  const Activation act =
      training_ ? training_activation(forwards_) : Activation::leaky_relu(eval_slope_);
  if (training_) {
    if (device_ == Device::cuda) {
      throw_if_failed(rrelu_advance_offset(counter_.data(), y.stream()));
      last_stream_ = y.stream();
    }
    ++forwards_;  // the offset has moved (on CUDA, the device counter): count it, whatever follows
  }
  run_elementwise(fn, y, actlayer::forward<T>, cpu::forward<T>, Blend{}, act, x.data(), y.data(),
                  y.size());
  if (training_ && track_ && y.size() > 0) {
    run(
        fn, y,
        [&](cudaStream_t s) {
          return detail::launched(
              cuda_impl::launch_rrelu_slope_sum(act, y.size(), partials_.data(), sums_.data(), s),
              fn);
        },
        [&] {
          std::vector<float> r(y.size());
          const Status status = reference::rrelu_slopes(act, r.data(), r.size());
          if (status != Status::success) return status;
          for (float v : r) cpu_sum_ += v;
          cpu_count_ += static_cast<double>(r.size());
          return status;
        });
  }
  last_forward_ = act;
  forwarded_ = true;
}

template <class T>
void RReluLayer<T>::backward(const Buffer<T>& x, const Buffer<T>& dy, Buffer<T>& dx) const {
  const char* const fn = "RReluLayer::backward";
  check_buffers(fn, device_, arg("dx", dx), arg("x", x), arg("dy", dy));
  if (!forwarded_) {
    throw_invalid(detail::format("%s: no forward to take the slopes of (call forward first)", fn));
  }
  // A training forward's activation on CUDA reads the device counter, which only training
  // forwards advance: when its kernel runs, the counter still holds that forward's offset.
  run_elementwise(fn, dx, actlayer::backward<T>, cpu::backward<T>, Blend{}, last_forward_, x.data(),
                  dy.data(), dx.data(), dx.size());
}

template class RReluLayer<float>;
template class RReluLayer<double>;
template class RReluLayer<__half>;
template class RReluLayer<__nv_bfloat16>;

// ---- GatedActivationLayer -------------------------------------------------------------------

namespace {

/// Throws unless `count` elements are what `shape` needs for `name` (`halves` = 2 for the
/// packed input and its gradient, 1 for y and dy).
void require_gated_size(const char* function, GatedShape shape, const char* name, std::size_t count,
                        std::size_t halves) {
  std::size_t n = 0;
  throw_if_failed(detail::ArgCheck(function).gated_shape(shape, &n).status());
  if (n * halves != count) {
    throw_invalid(
        detail::format("%s: %s has %zu elements but shape {rows %zu, hidden %zu} needs "
                       "%s = %zu",
                       function, name, count, shape.rows, shape.hidden,
                       halves == 2 ? "rows*2*hidden" : "rows*hidden", n * halves));
  }
}

}  // namespace

template <class T>
GatedActivationLayer<T>::GatedActivationLayer(Gated gated, Device device)
    : gated_(gated), device_(device) {
  throw_if_failed(detail::ArgCheck("GatedActivationLayer").gated(gated).status());
  require_device("GatedActivationLayer", device);
}

template <class T>
void GatedActivationLayer<T>::forward(const Buffer<T>& in, Buffer<T>& y, GatedShape shape,
                                      Blend blend) const {
  const char* const fn = "GatedActivationLayer::forward";
  check_buffers(fn, device_, arg("y", y));
  check_buffers(fn, device_, arg("in", in));
  require_gated_size(fn, shape, "in", in.size(), 2);
  require_gated_size(fn, shape, "y", y.size(), 1);
  run_elementwise(fn, y, actlayer::gated_forward<T>, cpu::gated_forward<T>, blend, gated_,
                  in.data(), y.data(), shape);
}

template <class T>
void GatedActivationLayer<T>::backward(const Buffer<T>& in, const Buffer<T>& dy, Buffer<T>& din,
                                       GatedShape shape, Blend blend) const {
  const char* const fn = "GatedActivationLayer::backward";
  check_buffers(fn, device_, arg("din", din), arg("in", in));
  check_buffers(fn, device_, arg("dy", dy));
  require_gated_size(fn, shape, "in", in.size(), 2);
  require_gated_size(fn, shape, "dy", dy.size(), 1);
  run_elementwise(fn, din, actlayer::gated_backward<T>, cpu::gated_backward<T>, blend, gated_,
                  in.data(), dy.data(), din.data(), shape);
}

template <class T>
void GatedActivationLayer<T>::forward(const Buffer<T>& a, const Buffer<T>& b, Buffer<T>& y,
                                      Blend blend) const {
  const char* const fn = "GatedActivationLayer::forward";
  check_buffers(fn, device_, arg("y", y), arg("a", a), arg("b", b));
  run_elementwise(fn, y, actlayer::gated_forward_split<T>, cpu::gated_forward_split<T>, blend,
                  gated_, a.data(), b.data(), y.data(), y.size());
}

template <class T>
void GatedActivationLayer<T>::backward(const Buffer<T>& a, const Buffer<T>& b, const Buffer<T>& dy,
                                       Buffer<T>& da, Buffer<T>& db, Blend blend) const {
  const char* const fn = "GatedActivationLayer::backward";
  check_buffers(fn, device_, arg("da", da), arg("a", a), arg("b", b), arg("dy", dy));
  check_buffers(fn, device_, arg("db", db), arg("a", a));
  run_elementwise(fn, da, actlayer::gated_backward_split<T>, cpu::gated_backward_split<T>, blend,
                  gated_, a.data(), b.data(), dy.data(), da.data(), db.data(), da.size());
}

template class GatedActivationLayer<float>;
template class GatedActivationLayer<double>;
template class GatedActivationLayer<__half>;
template class GatedActivationLayer<__nv_bfloat16>;

}  // namespace actlayer
