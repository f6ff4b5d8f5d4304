// actlayer/cuda.hpp — the raw CUDA entry points.
//
// Every call takes device pointers, checks its arguments, enqueues its work on `stream` and
// returns. It allocates nothing and never synchronises, so it can be captured in a CUDA graph.
// It works on the device that is current on the calling thread; calls from several threads on
// several streams or devices at once are safe. On any Status other than success nothing was
// launched and no output was touched; last_error() says why.
#pragma once

#include <cstddef>

#include <cuda_runtime_api.h>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer {

namespace detail {
template <class T>
Status forward_impl(const Activation&, const T*, T*, std::size_t, cudaStream_t, Blend);
template <class T>
Status backward_impl(const Activation&, const T*, const T*, T*, std::size_t, cudaStream_t, Blend);
template <class T>
Status backward_from_output_impl(const Activation&, const T*, const T*, T*, std::size_t,
                                 cudaStream_t, Blend);
}  // namespace detail

/// y = alpha*f(x) + beta*y, elementwise over n elements.
///
/// @param act    the activation and its parameters (validated)
/// @param x      n inputs on the device; may equal y (in place), must not partly overlap it
/// @param y      n outputs on the device; read only when blend.beta != 0
/// @param n      element count; 0 is a no-op
/// @param stream the stream to enqueue on
/// @param blend  alpha and beta, both finite
/// @return success, invalid_argument (bad parameter, null or misaligned pointer, partial
///         overlap, size overflow), not_supported (rrelu training: see the RReLU calls) or
///         cuda_error (the launch failed).
///
/// @code
///   actlayer::Status s = actlayer::forward(actlayer::Activation::tanh(), d_x, d_y, n, stream);
/// @endcode
template <class T>
Status forward(const Activation& act, const T* x, T* y, std::size_t n,
               cudaStream_t stream = nullptr, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::forward_impl(act, x, y, n, stream, blend);
}

/// dx = alpha*(dy * f'(x)) + beta*dx, elementwise. dx may equal x or dy exactly.
///
/// @code
///   actlayer::Status s = actlayer::backward(act, d_x, d_dy, d_dx, n, stream);
/// @endcode
template <class T>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                cudaStream_t stream = nullptr, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::backward_impl(act, x, dy, dx, n, stream, blend);
}

/// dx = alpha*(dy * f'(x)) + beta*dx computed from the forward's output y = f(x), for the ops
/// whose derivative is a function of y: identity, step, sigmoid, tanh, relu, and leaky_relu /
/// rrelu (eval) with a slope > 0. Others return not_supported.
///
/// @code
///   actlayer::Status s = actlayer::backward_from_output(act, d_y, d_dy, d_dx, n, stream);
/// @endcode
template <class T>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            cudaStream_t stream = nullptr, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::backward_from_output_impl(act, y, dy, dx, n, stream, blend);
}

}  // namespace actlayer
