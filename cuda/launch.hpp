// cuda/launch.hpp — what the CUDA layer offers the host layer: kernel launchers that assume
// validated arguments and report the CUDA call that failed, if one did.
//
// Internal: not installed. The host layer (host/) turns a CudaResult into a Status and a
// last_error() message; this layer knows nothing of Status messages.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "actlayer/activation.hpp"
#include "actlayer/detail/cuda_result.hpp"
#include "channel_plan.hpp"

namespace actlayer::cuda_impl {

using detail::CudaResult;

// Elementwise passes. Arguments are validated and n > 0.
template <class T>
CudaResult launch_forward(const Activation& act, const T* x, T* y, std::size_t n,
                          cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                           cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                       std::size_t n, cudaStream_t stream, Blend blend);

// 1-bit masks (mask.cuh): for relu, leaky_relu, step and rrelu in eval mode.
template <class T>
CudaResult launch_forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                                    std::size_t n, cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                     T* dx, std::size_t n, cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y,
                                          std::uint32_t* mask, ChannelShape shape,
                                          cudaStream_t stream);
template <class T>
CudaResult launch_prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                              const T* dy, T* dx, ChannelShape shape,
                                              cudaStream_t stream);

// RReLU in training mode (rrelu.cuh); the plain forward/backward above dispatch to the first
// two when act.training is set.
template <class T>
CudaResult launch_rrelu_forward(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_rrelu_backward(const Activation& act, const T* x, const T* dy, T* dx,
                                 std::size_t n, cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_rrelu_backward_saved(const float* noise, const T* dy, T* dx, std::size_t n,
                                       cudaStream_t stream, Blend blend);
/// *counter += 1 on the device, in stream order.
CudaResult launch_rrelu_advance(std::uint64_t* counter, cudaStream_t stream);
/// Blocks of the slope-sum pass: fixed, so the sum's order is the same on every device.
constexpr unsigned kSlopeSumBlocks = 1024;
/// accumulator[0] += the sum of the n slopes drawn by act.philox, accumulator[1] += n, in a
/// fixed order; partials holds kSlopeSumBlocks doubles.
CudaResult launch_rrelu_slope_sum(const Activation& act, std::size_t n, double* partials,
                                  double* accumulator, cudaStream_t stream);

// The channel kernels (channel.cuh). Arguments are validated; `plan` is
// make_channel_plan(shape).

// PReLU (prelu.cuh).
template <class T>
CudaResult launch_prelu_forward(const T* x, const compute_t<T>* alpha, T* y,
                                const ChannelPlan& plan, cudaStream_t stream);
template <class T>
CudaResult launch_prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                                 compute_t<T>* dalpha, const ChannelPlan& plan, double* workspace,
                                 cudaStream_t stream, Blend dalpha_blend);

// bias_act (bias_act.cuh): `in` is x (pass backward, with the bias) or y (pass
// backward_from_output, bias unread).
template <class T>
CudaResult launch_bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias,
                                   T* y, const ChannelPlan& plan, cudaStream_t stream);
template <class T>
CudaResult launch_bias_act_backward(const Activation& act, Pass pass, const T* in,
                                    const compute_t<T>* bias, const T* dy, T* dx,
                                    compute_t<T>* dbias, const ChannelPlan& plan, double* workspace,
                                    cudaStream_t stream, Blend dbias_blend);
template <class T>
CudaResult launch_bias_act_forward_with_mask(const Activation& act, const T* x,
                                             const compute_t<T>* bias, T* y, std::uint32_t* mask,
                                             ChannelShape shape, cudaStream_t stream);
template <class T>
CudaResult launch_bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask,
                                              const T* dy, T* dx, compute_t<T>* dbias,
                                              const ChannelPlan& plan, double* workspace,
                                              cudaStream_t stream, Blend dbias_blend);
// Gated activations (gated.cuh): a and b point at the first element's a and b; hidden = H for
// the packed layouts (a, b, and backward's da, db are rows of 2H), 0 for two separate arrays;
// n = rows * H > 0.
template <class T>
CudaResult launch_gated_forward(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                                std::size_t hidden, cudaStream_t stream, Blend blend);
template <class T>
CudaResult launch_gated_backward(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                                 std::size_t n, std::size_t hidden, cudaStream_t stream,
                                 Blend blend);

}  // namespace actlayer::cuda_impl
