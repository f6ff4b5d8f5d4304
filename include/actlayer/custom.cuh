// actlayer/custom.cuh — bring your own activation, on the GPU: your functor (see custom.hpp)
// through actlayer's one vectorised elementwise loop, instantiated in your translation unit
// (compile it with nvcc). Same argument checks, Status, Blend, stream and alignment handling as
// the built-in ops: 16-byte accesses where the pointers allow, scalar heads and tails, size_t
// indices, no allocation, no synchronisation, capturable in a CUDA graph.
//
//   struct Swish {  // z * sigmoid(beta z)
//     float beta = 1;
//     template <class F> ACTLAYER_HD F value(F z) const { ... }
//     template <class F> ACTLAYER_HD F derivative(F z) const { ... }
//   };
//   actlayer::Status s = actlayer::custom_forward(Swish{1.5f}, d_x, d_y, n, stream);
#pragma once

#include <cstddef>

#include <cuda_runtime_api.h>

#include "actlayer/custom.hpp"
#include "actlayer/detail/elementwise.cuh"

namespace actlayer {

/// y = alpha * fn.value(x) + beta * y on the device, enqueued on `stream`.
template <class T, class Fn>
Status custom_forward(const Fn& fn, const T* x, T* y, std::size_t n, cudaStream_t stream = nullptr,
                      Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  const char* const function = "actlayer::custom_forward";
  const void* inputs[] = {x};
  const char* names[] = {"x"};
  const Status s =
      detail::check_elementwise_call(function, inputs, names, 1, y, "y", n, sizeof(T), blend);
  if (s != Status::success || n == 0) return s;
  return detail::launched(
      detail::launch_elementwise<T, 1>(detail::ForwardBody<Fn>{fn}, y, {x}, n, stream, blend),
      function);
}

/// dx = alpha * dy * fn'(x) + beta * dx on the device (fn.grad when it has one).
template <class T, class Fn>
Status custom_backward(const Fn& fn, const T* x, const T* dy, T* dx, std::size_t n,
                       cudaStream_t stream = nullptr, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  const char* const function = "actlayer::custom_backward";
  const void* inputs[] = {x, dy};
  const char* names[] = {"x", "dy"};
  const Status s =
      detail::check_elementwise_call(function, inputs, names, 2, dx, "dx", n, sizeof(T), blend);
  if (s != Status::success || n == 0) return s;
  return detail::launched(
      detail::launch_elementwise<T, 2>(detail::BackwardBody<Fn>{fn}, dx, {x, dy}, n, stream, blend),
      function);
}

}  // namespace actlayer
