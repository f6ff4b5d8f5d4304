// actlayer/reference.hpp — the CPU reference: the same calls as actlayer/cuda.hpp on host
// pointers, synchronous.
//
// The reference is written independently of ops.cuh, from the formulas, in long double
// (__float128 for double results), and rounds each result once to T. It is the ground truth of the
// tests and the backend of the layers on Device::cpu buffers. It validates its arguments as the
// CUDA calls do, and also rejects a device counter in activation.philox.device_offset, which it
// cannot read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer::reference {

/// y = alpha*f(x) + beta*y on host memory. See actlayer::forward.
template <class T, class = if_element_t<T>>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend = {});

/// dx = alpha*(dy * f'(x)) + beta*dx on host memory. See actlayer::backward.
template <class T, class = if_element_t<T>>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                Blend blend = {});

/// dx from the forward's output y on host memory. See actlayer::backward_from_output.
template <class T, class = if_element_t<T>>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            Blend blend = {});

/// RReLU training forward with the applied slopes saved. See actlayer::rrelu_forward_save_noise.
template <class T, class = if_element_t<T>>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, Blend blend = {});

/// dx = noise * dy. See actlayer::rrelu_backward_saved_noise.
template <class T, class = if_element_t<T>>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  Blend blend = {});

/// forward() and the mask of x > 0 on host memory. See actlayer::forward_with_mask.
template <class T, class = if_element_t<T>>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, Blend blend = {});

/// dx from the mask on host memory. See actlayer::backward_from_mask.
template <class T, class = if_element_t<T>>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, Blend blend = {});

/// The slopes r_0 .. r_{n-1} RReLU draws in training under act.philox (every element's,
/// whatever its sign): docs/design.md §5, bit for bit what the kernels use.
Status rrelu_slopes(const Activation& act, float* r, std::size_t n);

}  // namespace actlayer::reference

namespace actlayer::reference {

/// PReLU forward on host memory. See actlayer::prelu_forward.
template <class T, class = if_element_t<T>>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, ChannelShape shape);

/// PReLU backward on host memory (dalpha summed in long double, no workspace). See
/// actlayer::prelu_backward.
template <class T, class = if_element_t<T>>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, ChannelShape shape, Blend dalpha_blend = {});

/// PReLU forward and the mask of x > 0 on host memory. See actlayer::prelu_forward_with_mask.
template <class T, class = if_element_t<T>>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               ChannelShape shape);

/// PReLU's dx from the mask on host memory. See actlayer::prelu_backward_dx_from_mask.
template <class T, class = if_element_t<T>>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, ChannelShape shape);

}  // namespace actlayer::reference

namespace actlayer::reference {

/// y = f(x + bias[c]) on host memory. See actlayer::bias_act_forward.
template <class T, class = if_element_t<T>>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape);

/// dx and dbias on host memory (dbias summed in long double in index order, no workspace).
/// See actlayer::bias_act_backward.
template <class T, class = if_element_t<T>>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, Blend dbias_blend = {});

/// dx and dbias from the forward's output on host memory. See
/// actlayer::bias_act_backward_from_output.
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape,
                                     Blend dbias_blend = {});

/// bias_act_forward and the mask of x + bias > 0 on host memory. See
/// actlayer::bias_act_forward_with_mask.
template <class T, class = if_element_t<T>>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape);

/// dx and dbias from the mask on host memory. See actlayer::bias_act_backward_from_mask.
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape,
                                   Blend dbias_blend = {});

}  // namespace actlayer::reference

namespace actlayer::reference {

/// Gated forward, packed rows [a | b] or [b | a], on host memory. See actlayer::gated_forward.
template <class T, class = if_element_t<T>>
Status gated_forward(const Gated& gated, const T* in, T* y, GatedShape shape, Blend blend = {});

/// Gated forward, a and b apart, on host memory. See actlayer::gated_forward_split.
template <class T, class = if_element_t<T>>
Status gated_forward_split(const Gated& gated, const T* a, const T* b, T* y, std::size_t n,
                           Blend blend = {});

/// Gated backward, packed, on host memory. See actlayer::gated_backward.
template <class T, class = if_element_t<T>>
Status gated_backward(const Gated& gated, const T* in, const T* dy, T* din, GatedShape shape,
                      Blend blend = {});

/// Gated backward, a and b apart, on host memory. See actlayer::gated_backward_split.
template <class T, class = if_element_t<T>>
Status gated_backward_split(const Gated& gated, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, Blend blend = {});

}  // namespace actlayer::reference
