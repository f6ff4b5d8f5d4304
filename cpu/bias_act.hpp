// cpu/bias_act.hpp — y = f(x + bias[c]) and its backward on the CPU: policies of the
// per-channel family (channel.hpp) around an ops.cuh functor, as cuda/bias_act.cuh's, with
// dbias summed in exactly the GPU's order. z = x + bias[c] is rounded once to the working
// precision F and f is evaluated at that z; dbias sums the F values of dx, before they are
// rounded to T. Included once per element type by bias_act_<type>.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../cuda/channel_math.hpp"
#include "../cuda/channel_plan.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "activation.hpp"
#include "channel.hpp"
#include "kernels.hpp"

namespace actlayer::cpu_impl {

/// bias_act.cuh's policies: channel_math.hpp's, loading x, y or the mask's proxies.
template <class Op>
struct BiasActPolicy : InputStream, cuda_impl::BiasActMath<Op> {};

template <class Op>
struct BiasActFromOutputPolicy : InputStream, cuda_impl::BiasActFromOutputMath<Op> {};

template <class Op>
struct BiasActFromMaskPolicy : cuda_impl::BiasActFromMaskMath<Op> {
  const std::uint32_t* mask;
  template <class T>
  compute_t<T> input(const T*, std::size_t i) const {
    return proxy<compute_t<T>>(mask, i);
  }
};

template <class T>
void bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                      ChannelShape shape) {
  ops::visit(act, [&](auto, auto op) {
    channel_forward(BiasActPolicy<decltype(op)>{{}, {{}, op}}, x, bias, y, nullptr, shape);
  });
}

template <class T>
void bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                std::uint32_t* mask, ChannelShape shape) {
  ops::visit(act, [&](auto row, auto op) {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      channel_forward(BiasActPolicy<Op>{{}, {{}, op}}, x, bias, y, mask, shape);
    }
  });
}

/// The host layer checked that act has the pass: the other branches are unreachable.
template <class T>
void bias_act_backward(const Activation& act, Pass pass, const T* in, const compute_t<T>* bias,
                       const T* dy, T* dx, compute_t<T>* dbias, ChannelShape shape,
                       Blend dbias_blend) {
  const ChannelPlan plan = cuda_impl::make_channel_plan(shape);
  ops::visit(act, [&](auto, auto op) {
    using Op = decltype(op);
    if (pass == Pass::backward) {
      using Policy = BiasActPolicy<Op>;
      return channel_backward(ChannelArgs<T, Policy>{in, bias, dy, dx, plan, Policy{{}, {{}, op}}},
                              dbias, dbias_blend);
    }
    if constexpr (ops::has_output_form_v<Op>) {
      using Policy = BiasActFromOutputPolicy<Op>;
      channel_backward(ChannelArgs<T, Policy>{in, nullptr, dy, dx, plan, Policy{{}, {{}, op}}},
                       dbias, dbias_blend);
    }
  });
}

template <class T>
void bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                 T* dx, compute_t<T>* dbias, ChannelShape shape,
                                 Blend dbias_blend) {
  const ChannelPlan plan = cuda_impl::make_channel_plan(shape);
  ops::visit(act, [&](auto row, auto op) {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      using Policy = BiasActFromMaskPolicy<Op>;
      channel_backward(
          ChannelArgs<T, Policy>{nullptr, nullptr, dy, dx, plan, Policy{{{}, op}, mask}}, dbias,
          dbias_blend);
    }
  });
}

ACTLAYER_ENTRY_POINTS(bias_act_passes, &bias_act_forward<T>, &bias_act_backward<T>,
                      &bias_act_forward_with_mask<T>, &bias_act_backward_from_mask<T>)

}  // namespace actlayer::cpu_impl
