// cpu/prelu.hpp — PReLU on the CPU: a policy of the per-channel family (channel.hpp), with
// dalpha summed in exactly the GPU's order, and the dx from the mask on its own (no sum).
// Included once per element type by prelu_<type>.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../cuda/channel_math.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "activation.hpp"
#include "channel.hpp"
#include "kernels.hpp"
#include "loop.hpp"

namespace actlayer::cpu_impl {

/// prelu.cuh's PReluPolicy: PReluMath (channel_math.hpp) loading x.
struct PReluPolicy : InputStream, cuda_impl::PReluMath {};

/// One run of dx from the mask: the proxy input of elements i .. i+len-1.
template <class T>
ACTLAYER_CPU_HOT void prelu_mask_dx_run(const std::uint32_t* mask, std::size_t i,
                                        const compute_t<T>* alpha, const T* dy, T* dx,
                                        std::size_t len, std::size_t stride) {
  using F = compute_t<T>;
  for_run<F>(alpha, len, stride, [&](std::size_t k, F a) {
    dx[k] = ops::narrow<T>(ops::PRelu::grad(proxy<F>(mask, i + k), a, ops::widen(dy[k])));
  });
}

template <class T>
void prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape) {
  channel_forward(PReluPolicy{}, x, alpha, y, nullptr, shape);
}

template <class T>
void prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                             PReluShape shape) {
  channel_forward(PReluPolicy{}, x, alpha, y, mask, shape);
}

template <class T>
void prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha, const T* dy,
                                 T* dx, PReluShape shape) {
  const std::size_t n = shape.outer * shape.channels * shape.inner;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    channel_runs(shape, begin, end,
                 [&](std::size_t i, std::size_t len, std::size_t c, std::size_t stride) {
                   prelu_mask_dx_run(mask, i, alpha + c, dy + i, dx + i, len, stride);
                 });
  });
}

template <class T>
void prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx, compute_t<T>* dalpha,
                    PReluShape shape, Blend dalpha_blend) {
  channel_backward(
      ChannelArgs<T, PReluPolicy>{x, alpha, dy, dx, cuda_impl::make_channel_plan(shape), {}},
      dalpha, dalpha_blend);
}

ACTLAYER_ENTRY_POINTS(prelu_passes, &prelu_forward<T>, &prelu_backward<T>,
                      &prelu_forward_with_mask<T>, &prelu_backward_dx_from_mask<T>)

}  // namespace actlayer::cpu_impl
