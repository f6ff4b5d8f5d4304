// cuda/activation.cuh — the elementwise passes of the built-in ops: a Body per pass around an
// ops.cuh functor, run through the one loop. Included once per element type by
// activation_<type>.cu, so the four types compile in parallel.
#pragma once

#include "actlayer/detail/elementwise.cuh"
#include "actlayer/detail/instantiate.hpp"
#include <type_traits>

#include "actlayer/ops.cuh"
#include "launch.hpp"
#include "mask.cuh"
#include "rrelu.cuh"

namespace actlayer::cuda_impl {

using detail::BackwardBody;
using detail::BackwardFromOutputBody;
using detail::ForwardBody;
using detail::launch_elementwise;

/// fn(op) for act's functor (ops::visit). The host layer validated act: the error is for an
/// op out of range, and for a pass the op has no form of (unreachable).
template <class Fn>
CudaResult with_op(const Activation& act, Fn&& fn) {
  CudaResult result{cudaErrorInvalidValue, "ops::visit(act)", __FILE__, __LINE__};
  ops::visit(act, [&](auto row, auto op) { result = fn(row, op); });
  return result;
}

constexpr CudaResult kNoSuchPass{cudaErrorInvalidValue, "no such pass for this op", __FILE__,
                                 __LINE__};

template <class T>
CudaResult launch_forward(const Activation& act, const T* x, T* y, std::size_t n,
                          cudaStream_t stream, Blend blend) {
  if (act.op == Op::rrelu && act.training) {
    return launch_rrelu_forward(act, x, y, static_cast<float*>(nullptr), n, stream, blend);
  }
  return with_op(act, [&](auto, auto op) {
    return launch_elementwise<T, 1>(ForwardBody<decltype(op)>{op}, y, {x}, n, stream, blend);
  });
}

template <class T>
CudaResult launch_backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                           cudaStream_t stream, Blend blend) {
  if (act.op == Op::rrelu && act.training) {
    return launch_rrelu_backward(act, x, dy, dx, n, stream, blend);
  }
  return with_op(act, [&](auto, auto op) {
    return launch_elementwise<T, 2>(BackwardBody<decltype(op)>{op}, dx, {x, dy}, n, stream, blend);
  });
}

template <class T>
CudaResult launch_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                       std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto, auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (ops::has_output_form_v<Op>) {
      return launch_elementwise<T, 2>(BackwardFromOutputBody<Op>{op}, dx, {y, dy}, n, stream,
                                      blend);
    } else {
      return kNoSuchPass;
    }
  });
}

template <class T>
CudaResult launch_forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                                    std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto row, auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      return launch_forward_mask(x, y, mask, n, OpValue<Op>{op}, stream, blend);
    } else {
      return kNoSuchPass;
    }
  });
}

template <class T>
CudaResult launch_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                     T* dx, std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto row, auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      return launch_elementwise<T, 1>(MaskBackwardBody<Op>{op, mask}, dx, {dy}, n, stream, blend);
    } else {
      return kNoSuchPass;
    }
  });
}

ACTLAYER_ENTRY_POINTS(activation_launchers, &launch_forward<T>, &launch_backward<T>,
                      &launch_backward_from_output<T>, &launch_rrelu_forward<T>,
                      &launch_rrelu_backward_saved<T>, &launch_forward_with_mask<T>,
                      &launch_backward_from_mask<T>)

}  // namespace actlayer::cuda_impl
