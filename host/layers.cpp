// The layer objects: argument checks on Buffers, then the CUDA call or the CPU reference.
#include "actlayer/layers.hpp"

#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/validate.hpp"

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
                  detail::format("%s: %s has %zu elements but %s has %zu", function, name,
                                 b.size(), out_name, out.size()));
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

template class ActivationLayer<float>;
template class ActivationLayer<double>;
template class ActivationLayer<__half>;
template class ActivationLayer<__nv_bfloat16>;

}  // namespace actlayer
