// The PReLU entry points of actlayer/cuda.hpp: check the arguments, then launch.
#include "actlayer/cuda.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "actlayer/detail/calls.hpp"
#include "../cuda/launch.hpp"

namespace actlayer {

std::size_t prelu_backward_workspace_bytes(PReluShape shape) noexcept {
  std::size_t n = 0;
  if (!detail::prelu_size(shape, &n)) return 0;
  return cuda_impl::make_prelu_plan(shape).workspace_bytes();
}

namespace detail {

template <class T>
Status prelu_forward_impl(const T* x, const param_t<T>* alpha, T* y, PReluShape shape,
                          cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_forward";
  std::size_t n = 0;
  const Status s = check_prelu_forward(fn, x, alpha, y, nullptr, false, shape, &n);
  if (s != Status::success || n == 0) return s;
  return launched(
      cuda_impl::launch_prelu_forward(x, alpha, y, cuda_impl::make_prelu_plan(shape), stream), fn);
}

template <class T>
Status prelu_backward_impl(const T* x, const param_t<T>* alpha, const T* dy, T* dx,
                           param_t<T>* dalpha, PReluShape shape, void* workspace,
                           std::size_t workspace_bytes, cudaStream_t stream, Blend dalpha_blend) {
  const char* const fn = "actlayer::prelu_backward";
  std::size_t n = 0;
  const Status s =
      check_prelu_backward(fn, x, alpha, dy, dx, dalpha, shape, dalpha_blend, workspace,
                           workspace_bytes, prelu_backward_workspace_bytes(shape), &n);
  if (s != Status::success) return s;
  return launched(
      cuda_impl::launch_prelu_backward(x, alpha, dy, dx, dalpha, cuda_impl::make_prelu_plan(shape),
                                       static_cast<double*>(workspace), stream, dalpha_blend),
      fn);
}

template <class T>
Status prelu_forward_with_mask_impl(const T* x, const param_t<T>* alpha, T* y, std::uint32_t* mask,
                                    PReluShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_forward_with_mask";
  std::size_t n = 0;
  const Status s = check_prelu_forward(fn, x, alpha, y, mask, true, shape, &n);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_prelu_forward_with_mask(x, alpha, y, mask, shape, stream), fn);
}

template <class T>
Status prelu_backward_dx_from_mask_impl(const std::uint32_t* mask, const param_t<T>* alpha,
                                        const T* dy, T* dx, PReluShape shape, cudaStream_t stream) {
  const char* const fn = "actlayer::prelu_backward_dx_from_mask";
  std::size_t n = 0;
  const Status s = check_prelu_dx_from_mask(fn, mask, alpha, dy, dx, shape, &n);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_prelu_backward_dx_from_mask(mask, alpha, dy, dx, shape, stream),
                  fn);
}

#define ACTLAYER_INSTANTIATE(T)                                                                    \
  template Status prelu_forward_impl<T>(const T*, const param_t<T>*, T*, PReluShape,               \
                                        cudaStream_t);                                             \
  template Status prelu_backward_impl<T>(const T*, const param_t<T>*, const T*, T*, param_t<T>*,   \
                                         PReluShape, void*, std::size_t, cudaStream_t, Blend);     \
  template Status prelu_forward_with_mask_impl<T>(const T*, const param_t<T>*, T*, std::uint32_t*, \
                                                  PReluShape, cudaStream_t);                       \
  template Status prelu_backward_dx_from_mask_impl<T>(const std::uint32_t*, const param_t<T>*,     \
                                                      const T*, T*, PReluShape, cudaStream_t);
ACTLAYER_INSTANTIATE(float)
ACTLAYER_INSTANTIATE(double)
ACTLAYER_INSTANTIATE(__half)
ACTLAYER_INSTANTIATE(__nv_bfloat16)
#undef ACTLAYER_INSTANTIATE

}  // namespace detail
}  // namespace actlayer
