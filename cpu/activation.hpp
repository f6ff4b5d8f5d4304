// cpu/activation.hpp — the elementwise passes of the built-in ops on the CPU: a Body per pass
// around an ops.cuh functor through the one host loop (loop.hpp), as cuda/activation.cuh does
// on the GPU; RReLU's slopes drawn from cuRAND's own Philox, the kernels' generator; the 1-bit
// masks. Included once per element type by activation_<type>.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>  // uint4, uint2 for cuRAND's Philox

// cuRAND's Philox4x32-10 as host code (its functions are __device__ by default; the header has
// a host path for the 32x32->64 product): the kernels' generator, not the reference's own.
#define QUALIFIERS static inline
#include <curand_philox4x32_x.h>
#undef QUALIFIERS

#include "../cuda/rrelu_plan.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "actlayer/ops.cuh"
#include "kernels.hpp"
#include "loop.hpp"

namespace actlayer::cpu_impl {

constexpr int kMaskBits = 32;

/// The 4 Philox words of group q (elements 4q .. 4q+3) under act.philox (rrelu_plan.hpp).
struct PhiloxDraw {
  std::uint64_t seed, offset;
  cuda_impl::PhiloxWords operator()(std::uint64_t q) const {
    const cuda_impl::PhiloxInput in = cuda_impl::philox_input(seed, offset, q);
    const uint4 w =
        curand_Philox4x32_10(make_uint4(in.counter[0], in.counter[1], in.counter[2], in.counter[3]),
                             make_uint2(in.key[0], in.key[1]));
    return {{w.x, w.y, w.z, w.w}};
  }
};

/// Element i's slope: word i % 4 of group i / 4's draw (rrelu_plan.hpp), the group's words kept
/// for its next elements. Mutable state in a Body is safe because run_elements copies the Body
/// for each task (loop.hpp).
struct Slopes {
  ops::RRelu op;
  PhiloxDraw draw;
  mutable std::uint64_t group = ~std::uint64_t{0};
  mutable cuda_impl::PhiloxWords words{};
  float operator()(std::size_t i) const {
    if (i / 4 != group) {
      group = i / 4;
      words = draw(group);
    }
    return op.slope(words.w[i % 4]);
  }
};

struct RReluForwardBody {
  Slopes slope;
  float* noise;  // nullptr: not saved
  template <class F>
  F operator()(std::size_t i, F z) const {
    const float r = slope(i);
    if (noise) noise[i] = ops::RRelu::applied_slope(z, r);
    return ops::RRelu::value(z, r);
  }
};

struct RReluBackwardBody {
  Slopes slope;
  template <class F>
  F operator()(std::size_t i, F z, F dy) const {
    return ops::RRelu::grad(z, slope(i), dy);
  }
};

struct RReluSavedBackwardBody {
  const float* noise;
  template <class F>
  F operator()(std::size_t i, F dy) const {
    return ops::RRelu::grad_from_applied(noise[i], dy);
  }
};

/// The proxy input of element i: +1 where the mask says x > 0, -1 where not (cuda/mask.cuh).
template <class F>
inline F proxy(const std::uint32_t* mask, std::size_t i) {
  return (mask[i / kMaskBits] >> (i % kMaskBits)) & 1u ? F(1) : F(-1);
}

template <class Op>
struct MaskBackwardBody {
  Op op;
  const std::uint32_t* mask;
  template <class F>
  F operator()(std::size_t i, F dy) const {
    return ops::backward(op, proxy<F>(mask, i), dy);
  }
};

/// The value whose sign is element i's bit: x itself (bias_act's is x + bias[c]).
struct OwnSign {
  template <class F>
  F operator()(F x, std::size_t) const {
    return x;
  }
};

/// The mask words of pre(x[i], i) > 0 over [begin, end), begin a multiple of 32; the bits past
/// n are 0.
template <class T, class Pre = OwnSign>
ACTLAYER_CPU_HOT void write_mask(const T* x, std::uint32_t* mask, std::size_t begin,
                                 std::size_t end, Pre pre = {}) {
  using F = compute_t<T>;
  for (std::size_t w = begin / kMaskBits; w * kMaskBits < end; ++w) {
    std::uint32_t bits = 0;
    const std::size_t i0 = w * kMaskBits;
    const int count = static_cast<int>(end - i0 < kMaskBits ? end - i0 : kMaskBits);
    for (int l = 0; l < count; ++l) {
      bits |= std::uint32_t{pre(ops::widen(x[i0 + l]), i0 + l) > F(0)} << l;
    }
    mask[w] = bits;
  }
}

/// run_elementwise that also writes the mask of in[0] > 0, each task's words before its
/// outputs (x may be y).
template <class T, class Body>
void run_with_mask(const Body& body, T* out, const T* x, std::uint32_t* mask, std::size_t n,
                   Blend blend) {
  const bool plain = blend.alpha == 1.0f && blend.beta == 0.0f;
  static_assert(kTaskElements % kMaskBits == 0, "tasks start on a mask word");
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    write_mask(x, mask, begin, end);
    if (plain) {
      run_range<false, T, 1, 1>(body, {out}, {x}, begin, end, blend);
    } else {
      run_range<true, T, 1, 1>(body, {out}, {x}, begin, end, blend);
    }
  });
}

// ---- The passes ----------------------------------------------------------------------------

template <class T>
void rrelu_forward(const Activation& act, const T* x, T* y, float* noise, std::size_t n,
                   Blend blend) {
  const RReluForwardBody body{
      Slopes{ops::RRelu{act.lower, act.upper}, PhiloxDraw{act.philox.seed, act.philox.offset}},
      noise};
  run_elementwise<T, 1>(body, y, {x}, n, blend);
}

template <class T>
void rrelu_backward_saved(const float* noise, const T* dy, T* dx, std::size_t n, Blend blend) {
  run_elementwise<T, 1>(RReluSavedBackwardBody{noise}, dx, {dy}, n, blend);
}

template <class T>
void forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend) {
  if (act.op == Op::rrelu && act.training) return rrelu_forward(act, x, y, nullptr, n, blend);
  ops::visit(act, [&](auto, auto op) {
    run_elementwise<T, 1>(ForwardBody<decltype(op)>{op}, y, {x}, n, blend);
  });
}

template <class T>
void backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n, Blend blend) {
  if (act.op == Op::rrelu && act.training) {
    const RReluBackwardBody body{
        Slopes{ops::RRelu{act.lower, act.upper}, PhiloxDraw{act.philox.seed, act.philox.offset}}};
    return run_elementwise<T, 2>(body, dx, {x, dy}, n, blend);
  }
  ops::visit(act, [&](auto, auto op) {
    run_elementwise<T, 2>(BackwardBody<decltype(op)>{op}, dx, {x, dy}, n, blend);
  });
}

/// The host layer checked that act has the pass: the other branches are unreachable.
template <class T>
void backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                          Blend blend) {
  ops::visit(act, [&](auto, auto op) {
    using Op = decltype(op);
    if constexpr (ops::has_output_form_v<Op>) {
      run_elementwise<T, 2>(BackwardFromOutputBody<Op>{op}, dx, {y, dy}, n, blend);
    }
  });
}

template <class T>
void forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask, std::size_t n,
                       Blend blend) {
  ops::visit(act, [&](auto row, auto op) {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      run_with_mask(ForwardBody<Op>{op}, y, x, mask, n, blend);
    }
  });
}

template <class T>
void backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                        std::size_t n, Blend blend) {
  ops::visit(act, [&](auto row, auto op) {
    using Op = decltype(op);
    if constexpr (decltype(row)::kSignOnly && Op::kSignOnly) {
      run_elementwise<T, 1>(MaskBackwardBody<Op>{op, mask}, dx, {dy}, n, blend);
    }
  });
}

ACTLAYER_ENTRY_POINTS(activation_passes, &forward<T>, &backward<T>, &backward_from_output<T>,
                      &rrelu_forward<T>, &rrelu_backward_saved<T>, &forward_with_mask<T>,
                      &backward_from_mask<T>)

}  // namespace actlayer::cpu_impl
