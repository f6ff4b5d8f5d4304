// actlayer/custom.hpp — bring your own activation, on the CPU.
//
// A custom activation is a functor shaped like the ones in ops.cuh: `value(z)` and
// `derivative(z)` for z of the working precision (float for float, half and bfloat16 data;
// double for double), usually as member templates; optionally `grad(z, dy)` where dy * f'(z)
// can be computed more accurately than the product. Mark them ACTLAYER_HD (= __host__
// __device__ under nvcc) and the same functor runs here and, through custom.cuh, on the GPU.
//
//   struct Softplus {
//     template <class F> ACTLAYER_HD F value(F z) const { ... }
//     template <class F> ACTLAYER_HD F derivative(F z) const { ... }
//   };
//   actlayer::Status s = actlayer::reference::custom_forward(Softplus{}, x, y, n);
//
// The calls check their arguments exactly like the built-in ones, blend like them and round
// once like them: the CPU loop here gives the bits the GPU loop gives, up to the math library.
#pragma once

#include <cstddef>

#include "actlayer/activation.hpp"
#include "actlayer/detail/blend.hpp"
#include "actlayer/detail/calls.hpp"
#include "actlayer/element.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::reference {

/// y = alpha * fn.value(x) + beta * y on host memory.
template <class T, class Fn>
Status custom_forward(const Fn& fn, const T* x, T* y, std::size_t n, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  const void* inputs[] = {x};
  const char* names[] = {"x"};
  const Status s = ::actlayer::detail::check_elementwise_call(
      "actlayer::reference::custom_forward", inputs, names, 1, y, "y", n, sizeof(T), blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    y[i] =
        ::actlayer::detail::blend_result(fn.value(ops::widen(x[i])), blend.alpha, blend.beta, y[i]);
  }
  return Status::success;
}

/// dx = alpha * dy * fn'(x) + beta * dx on host memory (fn.grad when it has one).
template <class T, class Fn>
Status custom_backward(const Fn& fn, const T* x, const T* dy, T* dx, std::size_t n,
                       Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  const void* inputs[] = {x, dy};
  const char* names[] = {"x", "dy"};
  const Status s = ::actlayer::detail::check_elementwise_call(
      "actlayer::reference::custom_backward", inputs, names, 2, dx, "dx", n, sizeof(T), blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    dx[i] = ::actlayer::detail::blend_result(ops::backward(fn, ops::widen(x[i]), ops::widen(dy[i])),
                                             blend.alpha, blend.beta, dx[i]);
  }
  return Status::success;
}

}  // namespace actlayer::reference
