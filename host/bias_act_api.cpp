// The bias_act entry points of actlayer/cuda.hpp: check the arguments, then launch.
#include "actlayer/cuda.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "actlayer/detail/calls.hpp"
#include "../cuda/launch.hpp"

namespace actlayer {

std::size_t bias_act_backward_workspace_bytes(ChannelShape shape) noexcept {
  return prelu_backward_workspace_bytes(shape);  // the same plan
}

using namespace detail;  // the checks

template <class T, class>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::bias_act_forward";
  std::size_t n = 0;
  return checked_launch(fn, check_bias_act_forward(fn, act, x, bias, y, nullptr, false, shape, &n),
                        n, [&] {
                          return cuda_impl::launch_bias_act_forward(
                              act, x, bias, y, cuda_impl::make_channel_plan(shape), stream);
                        });
}

namespace {

/// The three backwards: check (saved x, y or the mask), then launch.
template <class T, class Launch>
Status bias_act_backward_call(const char* fn, const Activation& act, Saved saved, const T* in,
                              const std::uint32_t* mask, const compute_t<T>* bias, const T* dy,
                              T* dx, compute_t<T>* dbias, ChannelShape shape, void* workspace,
                              std::size_t workspace_bytes, Blend blend, Launch&& launch) {
  std::size_t n = 0;
  return checked_launch(fn,
                        check_bias_act_backward(fn, act, saved, in, mask, bias, dy, dx, dbias,
                                                shape, blend, workspace, workspace_bytes,
                                                bias_act_backward_workspace_bytes(shape), &n),
                        true, [&] { return launch(cuda_impl::make_channel_plan(shape)); });
}

}  // namespace

template <class T, class>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, void* workspace,
                         std::size_t workspace_bytes, cudaStream_t stream, Blend dbias_blend) {
  return bias_act_backward_call("actlayer::bias_act_backward", act, Saved::x, x, nullptr, bias, dy,
                                dx, dbias, shape, workspace, workspace_bytes, dbias_blend,
                                [&](const cuda_impl::ChannelPlan& plan) {
                                  return cuda_impl::launch_bias_act_backward(
                                      act, Pass::backward, x, bias, dy, dx, dbias, plan,
                                      static_cast<double*>(workspace), stream, dbias_blend);
                                });
}

template <class T, class>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape, void* workspace,
                                     std::size_t workspace_bytes, cudaStream_t stream,
                                     Blend dbias_blend) {
  return bias_act_backward_call(
      "actlayer::bias_act_backward_from_output", act, Saved::y, y, nullptr,
      static_cast<const compute_t<T>*>(nullptr), dy, dx, dbias, shape, workspace, workspace_bytes,
      dbias_blend, [&](const cuda_impl::ChannelPlan& plan) {
        return cuda_impl::launch_bias_act_backward(
            act, Pass::backward_from_output, y, static_cast<const compute_t<T>*>(nullptr), dy, dx,
            dbias, plan, static_cast<double*>(workspace), stream, dbias_blend);
      });
}

template <class T, class>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::bias_act_forward_with_mask";
  std::size_t n = 0;
  return checked_launch(
      fn, check_bias_act_forward(fn, act, x, bias, y, mask, true, shape, &n), n, [&] {
        return cuda_impl::launch_bias_act_forward_with_mask(act, x, bias, y, mask, shape, stream);
      });
}

template <class T, class>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape, void* workspace,
                                   std::size_t workspace_bytes, cudaStream_t stream,
                                   Blend dbias_blend) {
  return bias_act_backward_call(
      "actlayer::bias_act_backward_from_mask", act, Saved::mask, static_cast<const T*>(nullptr),
      mask, static_cast<const compute_t<T>*>(nullptr), dy, dx, dbias, shape, workspace,
      workspace_bytes, dbias_blend, [&](const cuda_impl::ChannelPlan& plan) {
        return cuda_impl::launch_bias_act_backward_from_mask(
            act, mask, dy, dx, dbias, plan, static_cast<double*>(workspace), stream, dbias_blend);
      });
}

ACTLAYER_ENTRY_POINTS(bias_act_api_entry_points, &bias_act_forward<T>, &bias_act_backward<T>,
                      &bias_act_backward_from_output<T>, &bias_act_forward_with_mask<T>,
                      &bias_act_backward_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(bias_act_api_entry_points)

}  // namespace actlayer
