// The PReLU entry points of actlayer/cuda.hpp: check the arguments, then launch.
#include "actlayer/cuda.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "actlayer/detail/calls.hpp"
#include "../cuda/launch.hpp"

namespace actlayer {

std::size_t prelu_backward_workspace_bytes(ChannelShape shape) noexcept {
  std::size_t n = 0;
  if (!detail::channel_size(shape, &n)) return 0;
  return cuda_impl::make_channel_plan(shape).workspace_bytes();
}

using namespace detail;  // the checks

template <class T, class>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, ChannelShape shape,
                     cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_forward";
  std::size_t n = 0;  // set by the check: read after it (argument order is unspecified)
  const Status checked = check_prelu_forward(fn, x, alpha, y, nullptr, false, shape, &n);
  return checked_launch(fn, checked, n, [&] {
    return cuda_impl::launch_prelu_forward(x, alpha, y, cuda_impl::make_channel_plan(shape),
                                           stream);
  });
}

template <class T, class>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, ChannelShape shape, void* workspace,
                      std::size_t workspace_bytes, cudaStream_t stream, Blend dalpha_blend) {
  const char* const fn = "actlayer::prelu_backward";
  std::size_t n = 0;
  return checked_launch(
      fn,
      check_prelu_backward(fn, x, alpha, dy, dx, dalpha, shape, dalpha_blend, workspace,
                           workspace_bytes, prelu_backward_workspace_bytes(shape), &n),
      true, [&] {
        return cuda_impl::launch_prelu_backward(
            x, alpha, dy, dx, dalpha, cuda_impl::make_channel_plan(shape),
            static_cast<double*>(workspace), stream, dalpha_blend);
      });
}

template <class T, class>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               ChannelShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_forward_with_mask";
  std::size_t n = 0;
  const Status checked = check_prelu_forward(fn, x, alpha, y, mask, true, shape, &n);
  return checked_launch(fn, checked, n, [&] {
    return cuda_impl::launch_prelu_forward_with_mask(x, alpha, y, mask, shape, stream);
  });
}

template <class T, class>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, ChannelShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_backward_dx_from_mask";
  std::size_t n = 0;
  const Status checked = check_prelu_dx_from_mask(fn, mask, alpha, dy, dx, shape, &n);
  return checked_launch(fn, checked, n, [&] {
    return cuda_impl::launch_prelu_backward_dx_from_mask(mask, alpha, dy, dx, shape, stream);
  });
}

ACTLAYER_ENTRY_POINTS(prelu_api_entry_points, &prelu_forward<T>, &prelu_backward<T>,
                      &prelu_forward_with_mask<T>, &prelu_backward_dx_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(prelu_api_entry_points)

}  // namespace actlayer
