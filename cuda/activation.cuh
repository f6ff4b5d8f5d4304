// cuda/activation.cuh — the elementwise passes of the built-in ops: a Body per pass around an
// ops.cuh functor, run through the one loop. Included once per element type by
// activation_<type>.cu, so the four types compile in parallel.
#pragma once

#include "actlayer/detail/elementwise.cuh"
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

/// Calls fn with the functor of an elementwise activation (ops::visit) and returns its result;
/// an out-of-range op (the host layer validated it: unreachable) gives an error.
template <class Fn>
CudaResult with_op(const Activation& act, Fn&& fn) {
  CudaResult result{cudaErrorInvalidValue, "ops::visit(act.op)", __FILE__, __LINE__};
  ops::visit(act, [&](auto op) { result = fn(op); });
  return result;
}

template <class T>
CudaResult launch_forward(const Activation& act, const T* x, T* y, std::size_t n,
                          cudaStream_t stream, Blend blend) {
  if (act.op == Op::rrelu && act.training) {
    return launch_rrelu_forward(act, x, y, static_cast<float*>(nullptr), n, stream, blend);
  }
  return with_op(act, [&](auto op) {
    return launch_elementwise<T, 1>(ForwardBody<decltype(op)>{op}, y, {x}, n, stream, blend);
  });
}

template <class T>
CudaResult launch_backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                           cudaStream_t stream, Blend blend) {
  if (act.op == Op::rrelu && act.training) {
    return launch_rrelu_backward(act, x, dy, dx, n, stream, blend);
  }
  return with_op(act, [&](auto op) {
    return launch_elementwise<T, 2>(BackwardBody<decltype(op)>{op}, dx, {x, dy}, n, stream, blend);
  });
}

template <class T>
CudaResult launch_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                       std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto op) {
    return launch_elementwise<T, 2>(BackwardFromOutputBody<decltype(op)>{op}, dx, {y, dy}, n,
                                    stream, blend);
  });
}

/// The ops whose derivative depends on the sign of x alone (the host layer validated it): the
/// mask kernels are instantiated for these only.
template <class Op>
constexpr bool kSignOnly = std::is_same_v<Op, ops::Relu> || std::is_same_v<Op, ops::LeakyRelu> ||
                           std::is_same_v<Op, ops::Step>;

template <class T>
CudaResult launch_forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                                    std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (kSignOnly<Op>) {
      return launch_forward_mask(x, y, mask, n, OpValue<Op>{op}, stream, blend);
    } else {
      return CudaResult{cudaErrorInvalidValue, "mask op", __FILE__, __LINE__};  // unreachable
    }
  });
}

template <class T>
CudaResult launch_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                     T* dx, std::size_t n, cudaStream_t stream, Blend blend) {
  return with_op(act, [&](auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (kSignOnly<Op>) {
      return launch_elementwise<T, 1>(MaskBackwardBody<Op>{op, mask}, dx, {dy}, n, stream, blend);
    } else {
      return CudaResult{cudaErrorInvalidValue, "mask op", __FILE__, __LINE__};  // unreachable
    }
  });
}

}  // namespace actlayer::cuda_impl

#define ACTLAYER_INSTANTIATE_ACTIVATION(T)                                                         \
  namespace actlayer::cuda_impl {                                                                  \
  template CudaResult launch_forward<T>(const Activation&, const T*, T*, std::size_t,              \
                                        cudaStream_t, Blend);                                      \
  template CudaResult launch_backward<T>(const Activation&, const T*, const T*, T*, std::size_t,   \
                                         cudaStream_t, Blend);                                     \
  template CudaResult launch_backward_from_output<T>(const Activation&, const T*, const T*, T*,    \
                                                     std::size_t, cudaStream_t, Blend);            \
  template CudaResult launch_rrelu_forward<T>(const Activation&, const T*, T*, float*,             \
                                              std::size_t, cudaStream_t, Blend);                   \
  template CudaResult launch_rrelu_backward_saved<T>(const float*, const T*, T*, std::size_t,      \
                                                     cudaStream_t, Blend);                         \
  template CudaResult launch_forward_with_mask<T>(const Activation&, const T*, T*, std::uint32_t*, \
                                                  std::size_t, cudaStream_t, Blend);               \
  template CudaResult launch_backward_from_mask<T>(const Activation&, const std::uint32_t*,        \
                                                   const T*, T*, std::size_t, cudaStream_t,        \
                                                   Blend);                                         \
  }
