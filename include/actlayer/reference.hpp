// actlayer/reference.hpp — the CPU reference: the same calls as actlayer/cuda.hpp on host
// pointers, synchronous.
//
// The reference is written independently of ops.cuh, from the formulas, in long double, and
// rounds each result once to T. It is the ground truth of the tests and the backend of the
// layers on Device::cpu buffers. It validates its arguments as the CUDA calls do, and also
// rejects a device counter in activation.philox.device_offset, which it cannot read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer::reference {

namespace detail {
template <class T>
Status forward_impl(const Activation&, const T*, T*, std::size_t, Blend);
template <class T>
Status backward_impl(const Activation&, const T*, const T*, T*, std::size_t, Blend);
template <class T>
Status backward_from_output_impl(const Activation&, const T*, const T*, T*, std::size_t, Blend);
template <class T>
Status rrelu_forward_save_noise_impl(const Activation&, const T*, T*, float*, std::size_t, Blend);
template <class T>
Status rrelu_backward_saved_noise_impl(const float*, const T*, T*, std::size_t, Blend);
template <class T>
Status forward_with_mask_impl(const Activation&, const T*, T*, std::uint32_t*, std::size_t, Blend);
template <class T>
Status backward_from_mask_impl(const Activation&, const std::uint32_t*, const T*, T*, std::size_t,
                               Blend);
}  // namespace detail

/// y = alpha*f(x) + beta*y on host memory. See actlayer::forward.
template <class T>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::forward_impl(act, x, y, n, blend);
}

/// dx = alpha*(dy * f'(x)) + beta*dx on host memory. See actlayer::backward.
template <class T>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::backward_impl(act, x, dy, dx, n, blend);
}

/// dx from the forward's output y on host memory. See actlayer::backward_from_output.
template <class T>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::backward_from_output_impl(act, y, dy, dx, n, blend);
}

/// RReLU training forward with the applied slopes saved. See actlayer::rrelu_forward_save_noise.
template <class T>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::rrelu_forward_save_noise_impl(act, x, y, noise, n, blend);
}

/// dx = noise * dy. See actlayer::rrelu_backward_saved_noise.
template <class T>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::rrelu_backward_saved_noise_impl(noise, dy, dx, n, blend);
}

/// forward() and the mask of x > 0 on host memory. See actlayer::forward_with_mask.
template <class T>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::forward_with_mask_impl(act, x, y, mask, n, blend);
}

/// dx from the mask on host memory. See actlayer::backward_from_mask.
template <class T>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, Blend blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::backward_from_mask_impl(act, mask, dy, dx, n, blend);
}

/// The slopes r_0 .. r_{n-1} RReLU draws in training under act.philox (every element's,
/// whatever its sign): docs/design.md §5, bit for bit what the kernels use.
Status rrelu_slopes(const Activation& act, float* r, std::size_t n);

}  // namespace actlayer::reference

namespace actlayer::reference {

namespace detail {
template <class T>
Status prelu_forward_impl(const T*, const param_t<T>*, T*, PReluShape);
template <class T>
Status prelu_backward_impl(const T*, const param_t<T>*, const T*, T*, param_t<T>*, PReluShape,
                           Blend);
template <class T>
Status prelu_forward_with_mask_impl(const T*, const param_t<T>*, T*, std::uint32_t*, PReluShape);
template <class T>
Status prelu_backward_dx_from_mask_impl(const std::uint32_t*, const param_t<T>*, const T*, T*,
                                        PReluShape);
}  // namespace detail

/// PReLU forward on host memory. See actlayer::prelu_forward.
template <class T>
Status prelu_forward(const T* x, const param_t<T>* alpha, T* y, PReluShape shape) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::prelu_forward_impl(x, alpha, y, shape);
}

/// PReLU backward on host memory (dalpha summed in long double, no workspace). See
/// actlayer::prelu_backward.
template <class T>
Status prelu_backward(const T* x, const param_t<T>* alpha, const T* dy, T* dx, param_t<T>* dalpha,
                      PReluShape shape, Blend dalpha_blend = {}) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::prelu_backward_impl(x, alpha, dy, dx, dalpha, shape, dalpha_blend);
}

/// PReLU forward and the mask of x > 0 on host memory. See actlayer::prelu_forward_with_mask.
template <class T>
Status prelu_forward_with_mask(const T* x, const param_t<T>* alpha, T* y, std::uint32_t* mask,
                               PReluShape shape) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::prelu_forward_with_mask_impl(x, alpha, y, mask, shape);
}

/// PReLU's dx from the mask on host memory. See actlayer::prelu_backward_dx_from_mask.
template <class T>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const param_t<T>* alpha, const T* dy,
                                   T* dx, PReluShape shape) {
  static_assert(is_element_v<T>, "actlayer: T must be float, double, __half or __nv_bfloat16");
  return detail::prelu_backward_dx_from_mask_impl(mask, alpha, dy, dx, shape);
}

}  // namespace actlayer::reference
