// cpu/kernels.hpp — what the CPU backend offers the host layer (the twin of cuda/launch.hpp):
// the passes of actlayer/cpu.hpp on validated arguments, n > 0 where it says so. They cannot
// fail. Internal: not installed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer::cpu_impl {

// Elementwise passes (activation.hpp), rrelu training included; n > 0.
template <class T>
void forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend);
template <class T>
void backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n, Blend blend);
template <class T>
void backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                          Blend blend);
template <class T>
void rrelu_forward(const Activation& act, const T* x, T* y, float* noise, std::size_t n,
                   Blend blend);
template <class T>
void rrelu_backward_saved(const float* noise, const T* dy, T* dx, std::size_t n, Blend blend);
template <class T>
void forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask, std::size_t n,
                       Blend blend);
template <class T>
void backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                        std::size_t n, Blend blend);

// PReLU (prelu.hpp); the shape is valid, with n = outer * channels * inner elements (any n for
// the backward, whose dalpha is written even for n = 0, else n > 0).
template <class T>
void prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape);
template <class T>
void prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx, compute_t<T>* dalpha,
                    PReluShape shape, Blend dalpha_blend);
template <class T>
void prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                             PReluShape shape);
template <class T>
void prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha, const T* dy,
                                 T* dx, PReluShape shape);

// Gated (gated.hpp): a and b the first element's (packed: the row's halves, hidden = H; apart:
// hidden = 0), n = rows * H > 0, as cuda_impl's launchers.
template <class T>
void gated_forward(const Gated& g, const T* a, const T* b, T* y, std::size_t n, std::size_t hidden,
                   Blend blend);
template <class T>
void gated_backward(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                    std::size_t n, std::size_t hidden, Blend blend);

// bias_act (bias_act.hpp); the shape is valid, the act has the pass, n > 0 for the forwards
// (the backwards write dbias even for n = 0).
template <class T>
void bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                      ChannelShape shape);
/// pass: backward (in = x, with the bias) or backward_from_output (in = y, bias null).
template <class T>
void bias_act_backward(const Activation& act, Pass pass, const T* in, const compute_t<T>* bias,
                       const T* dy, T* dx, compute_t<T>* dbias, ChannelShape shape,
                       Blend dbias_blend);
template <class T>
void bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                std::uint32_t* mask, ChannelShape shape);
template <class T>
void bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                 T* dx, compute_t<T>* dbias, ChannelShape shape, Blend dbias_blend);

}  // namespace actlayer::cpu_impl
