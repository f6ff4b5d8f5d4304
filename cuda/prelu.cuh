// cuda/prelu.cuh — PReLU forward and backward: the channel kernels (channel.cuh) with PReLU's
// policy, the slope as the per-channel parameter and dalpha as its gradient.
#pragma once

#include "actlayer/detail/instantiate.hpp"
#include "channel.cuh"
#include "channel_math.hpp"
#include "mask.cuh"

namespace actlayer::cuda_impl {

/// PReluMath (channel_math.hpp) loading x.
struct PReluPolicy : InputStream, PReluMath {};

template <class T>
using PReluArgs = ChannelArgs<T, PReluPolicy>;

template <class T>
CudaResult launch_prelu_forward(const T* x, const compute_t<T>* alpha, T* y,
                                const ChannelPlan& plan, cudaStream_t stream) {
  return launch_channel_main<T, false>(PReluArgs<T>{x, alpha, nullptr, y, nullptr, plan, {}},
                                       stream);
}

template <class T>
CudaResult launch_prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                                 compute_t<T>* dalpha, const ChannelPlan& plan, double* workspace,
                                 cudaStream_t stream, Blend dalpha_blend) {
  return launch_channel_backward(PReluArgs<T>{x, alpha, dy, dx, workspace, plan, {}}, dalpha,
                                 dalpha_blend, stream);
}

ACTLAYER_ENTRY_POINTS(prelu_launchers, &launch_prelu_forward<T>, &launch_prelu_backward<T>,
                      &launch_prelu_forward_with_mask<T>, &launch_prelu_backward_dx_from_mask<T>)

}  // namespace actlayer::cuda_impl
