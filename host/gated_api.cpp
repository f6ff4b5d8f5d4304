// The gated entry points of actlayer/cuda.hpp: check the arguments, then launch. The packed
// layouts pass the loop a and b's first elements (the row's halves) and the row length H.
#include "actlayer/cuda.hpp"
#include "actlayer/detail/calls.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "../cuda/launch.hpp"

namespace actlayer {

using namespace detail;  // the checks

template <class T, class>
Status gated_forward(const Gated& g, const T* in, T* y, GatedShape shape, cudaStream_t stream,
                     Blend blend) {
  const char* const fn = "actlayer::gated_forward";
  std::size_t n = 0;
  const Status s = check_gated_forward(fn, g, in, y, shape, blend, &n);
  return checked_launch(fn, s, n, [&] {
    const GatedHalves h = gated_halves(g, shape.hidden);
    return cuda_impl::launch_gated_forward(g, in + h.a, in + h.b, y, n, shape.hidden, stream,
                                           blend);
  });
}

template <class T, class>
Status gated_backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape shape,
                      cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::gated_backward";
  std::size_t n = 0;
  const Status s = check_gated_backward(fn, g, in, dy, din, shape, blend, &n);
  return checked_launch(fn, s, n, [&] {
    const GatedHalves h = gated_halves(g, shape.hidden);
    return cuda_impl::launch_gated_backward(g, in + h.a, in + h.b, dy, din + h.a, din + h.b, n,
                                            shape.hidden, stream, blend);
  });
}

template <class T, class>
Status gated_forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                           cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::gated_forward_split";
  return checked_launch(fn, check_gated_forward(fn, g, a, b, y, n, blend), n, [&] {
    return cuda_impl::launch_gated_forward(g, a, b, y, n, 0, stream, blend);
  });
}

template <class T, class>
Status gated_backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::gated_backward_split";
  return checked_launch(fn, check_gated_backward(fn, g, a, b, dy, da, db, n, blend), n, [&] {
    return cuda_impl::launch_gated_backward(g, a, b, dy, da, db, n, 0, stream, blend);
  });
}

ACTLAYER_ENTRY_POINTS(gated_entry_points, &gated_forward<T>, &gated_backward<T>,
                      &gated_forward_split<T>, &gated_backward_split<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(gated_entry_points)

}  // namespace actlayer
