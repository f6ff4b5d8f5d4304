// cpu/gated.hpp — the gated activations on the CPU: the kernels' per-element gated_value and
// gated_grads (cuda/gated_math.hpp) through the one host loop (loop.hpp), two inputs and one
// output forward, three inputs and two outputs backward, the packed layouts as the loop's row
// streams (the same bits as cuda/gated.cuh's Rows). Included once per element type by
// gated_<type>.cpp.
#pragma once

#include <array>
#include <cstddef>

#include "../cuda/gated_math.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "kernels.hpp"
#include "loop.hpp"

namespace actlayer::cpu_impl {

using cuda_impl::GatedClamp;

template <class Op>
struct GatedForwardBody {
  Op op;
  GatedClamp clamp;
  template <class F>
  F operator()(std::size_t, F a, F b) const {
    return cuda_impl::gated_value(op, clamp, a, b);
  }
};

template <class Op>
struct GatedBackwardBody {
  Op op;
  GatedClamp clamp;
  template <class F>
  std::array<F, 2> operator()(std::size_t, F a, F b, F dy) const {
    std::array<F, 2> r;
    cuda_impl::gated_grads(op, clamp, a, b, dy, r[0], r[1]);
    return r;
  }
};

template <class T>
void gated_forward(const Gated& g, const T* a, const T* b, T* y, std::size_t n, std::size_t hidden,
                   Blend blend) {
  ops::visit(g.gate, [&](auto, auto op) {
    run_elementwise<T, 2, 1>(GatedForwardBody<decltype(op)>{op, GatedClamp::of(g)},
                             std::array<T*, 1>{y}, {a, b}, n, blend,
                             RowStreams{hidden, cuda_impl::kGatedForwardRows});
  });
}

template <class T>
void gated_backward(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                    std::size_t n, std::size_t hidden, Blend blend) {
  ops::visit(g.gate, [&](auto, auto op) {
    run_elementwise<T, 3, 2>(GatedBackwardBody<decltype(op)>{op, GatedClamp::of(g)},
                             std::array<T*, 2>{da, db}, {a, b, dy}, n, blend,
                             RowStreams{hidden, cuda_impl::kGatedBackwardRows});
  });
}

ACTLAYER_ENTRY_POINTS(gated_passes, &gated_forward<T>, &gated_backward<T>)

}  // namespace actlayer::cpu_impl
