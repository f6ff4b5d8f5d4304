// cuda/bias_act.cuh — y = f(x + bias[c]) and its backward, dx = dy f'(x + bias[c]) and
// dbias[c] = the sum of dx over the channel: the channel kernels (channel.cuh) with a policy
// around an ops.cuh functor, the bias as the per-channel parameter.
//
// z = x + bias[c] is rounded once to the working precision F (as cuBLASLt's bias epilogue
// does) and f is evaluated at that z. dbias sums the F values of dx, before they are rounded to
// a 16-bit T, in double, in the plan's fixed order.
#pragma once

#include "actlayer/detail/instantiate.hpp"
#include "activation.cuh"
#include "channel.cuh"
#include "channel_math.hpp"
#include "mask.cuh"

namespace actlayer::cuda_impl {

/// The policies: channel_math.hpp's, loading x, y or the mask's proxies.
template <class Op>
struct BiasActPolicy : InputStream, BiasActMath<Op> {};

template <class Op>
struct BiasActFromOutputPolicy : InputStream, BiasActFromOutputMath<Op> {};

template <class Op>
struct BiasActFromMaskPolicy : BiasActFromMaskMath<Op> {
  const std::uint32_t* mask;
  template <class T>
  __device__ __forceinline__ void load(const T*, std::size_t i, std::size_t count, bool,
                                       compute_t<T> (&v)[kGranule]) const {
#pragma unroll
    for (int j = 0; j < static_cast<int>(kGranule); ++j) {
      v[j] = j < static_cast<int>(count) ? proxy<compute_t<T>>(mask, i + j) : compute_t<T>(0);
    }
  }
};

/// The mask forward's value: z = x + bias[c] (its sign is the bit), y = f(z).
template <class Op, class P>
struct BiasActValue {
  Op op;
  const P* bias;
  std::size_t channels, inner;
  template <class F>
  __device__ __forceinline__ F pre(F x, std::size_t i) const {
    return x + F(bias[(i / inner) % channels]);
  }
  template <class F>
  __device__ __forceinline__ F operator()(F z, std::size_t) const {
    return op.value(z);
  }
};

template <class T>
CudaResult launch_bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias,
                                   T* y, const ChannelPlan& plan, cudaStream_t stream) {
  return with_op(act, [&](auto, auto op) {
    using Policy = BiasActPolicy<decltype(op)>;
    return launch_channel_main<T, false>(
        ChannelArgs<T, Policy>{x, bias, nullptr, y, nullptr, plan, Policy{{}, {{}, op}}}, stream);
  });
}

template <class T>
CudaResult launch_bias_act_backward(const Activation& act, Pass pass, const T* in,
                                    const compute_t<T>* bias, const T* dy, T* dx,
                                    compute_t<T>* dbias, const ChannelPlan& plan, double* workspace,
                                    cudaStream_t stream, Blend dbias_blend) {
  return with_op(act, [&](auto, auto op) -> CudaResult {
    using Op = decltype(op);
    if (pass == Pass::backward) {
      using Policy = BiasActPolicy<Op>;
      return launch_channel_backward(
          ChannelArgs<T, Policy>{in, bias, dy, dx, workspace, plan, Policy{{}, {{}, op}}}, dbias,
          dbias_blend, stream);
    }
    if constexpr (ops::has_output_form_v<Op>) {
      using Policy = BiasActFromOutputPolicy<Op>;
      return launch_channel_backward(
          ChannelArgs<T, Policy>{in, nullptr, dy, dx, workspace, plan, Policy{{}, {{}, op}}}, dbias,
          dbias_blend, stream);
    } else {
      return kNoSuchPass;
    }
  });
}

template <class T>
CudaResult launch_bias_act_forward_with_mask(const Activation& act, const T* x,
                                             const compute_t<T>* bias, T* y, std::uint32_t* mask,
                                             ChannelShape shape, cudaStream_t stream) {
  return with_op(act, [&](auto row, auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      const std::size_t n = shape.outer * shape.channels * shape.inner;
      return launch_forward_mask(
          x, y, mask, n, BiasActValue<Op, compute_t<T>>{op, bias, shape.channels, shape.inner},
          stream, Blend{});
    } else {
      return kNoSuchPass;
    }
  });
}

template <class T>
CudaResult launch_bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask,
                                              const T* dy, T* dx, compute_t<T>* dbias,
                                              const ChannelPlan& plan, double* workspace,
                                              cudaStream_t stream, Blend dbias_blend) {
  return with_op(act, [&](auto row, auto op) -> CudaResult {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      using Policy = BiasActFromMaskPolicy<Op>;
      return launch_channel_backward(
          ChannelArgs<T, Policy>{nullptr, nullptr, dy, dx, workspace, plan, Policy{{{}, op}, mask}},
          dbias, dbias_blend, stream);
    } else {
      return kNoSuchPass;
    }
  });
}

ACTLAYER_ENTRY_POINTS(bias_act_launchers, &launch_bias_act_forward<T>, &launch_bias_act_backward<T>,
                      &launch_bias_act_forward_with_mask<T>, &launch_bias_act_backward_from_mask<T>)

}  // namespace actlayer::cuda_impl
