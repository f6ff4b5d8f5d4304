// cpu/loop.hpp — the CPU backend's one elementwise loop: the host twin of
// include/actlayer/detail/elementwise.cuh. A Body computes one element's result from its K
// widened inputs and its index (the kernels' Body, one element at a time); the loop does the
// rest: the tasks of threads.hpp, a loop the compiler vectorises, the blend and the single
// rounding to T. The results depend on neither the split nor the pointers'
// alignment: every element is computed alone, from the same ops.cuh expression as on the GPU.
#pragma once

#include <array>
#include <cstddef>

#include "actlayer/activation.hpp"
#include "actlayer/detail/blend.hpp"
#include "actlayer/element.hpp"
#include "actlayer/ops.cuh"
#include "threads.hpp"

/// The hot loops are compiled twice, for x86-64-v3 (AVX2 and FMA: ops.cuh's fmaf becomes one
/// instruction) and for the baseline, and picked once at load time (GCC's target_clones).
/// Everything they call is inlined into them (flatten), so no function compiled for AVX2 can
/// be reached from elsewhere. The two give the same bits: no contraction (-ffp-contract=off),
/// and fmaf rounds once either way.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ACTLAYER_CPU_HOT __attribute__((target_clones("arch=x86-64-v3", "default"), flatten))
#else
#define ACTLAYER_CPU_HOT
#endif

namespace actlayer::cpu_impl {

/// Elements [begin, end) one by one, in a loop the compiler vectorises where the Body's math
/// if-converts into selects (hence the flags of CMakeLists.txt's actlayer_cpu, which change no
/// value): the piecewise-linear ops, sigmoid's forward. Math-library calls stay scalar.
template <bool kBlend, class T, std::size_t K, class Body>
inline void run_elements(const Body& body, T* out, const std::array<const T*, K>& in,
                         std::size_t begin, std::size_t end, Blend blend) {
  static_assert(K == 1 || K == 2, "one or two input streams");
  // Local copies: not reloaded after each store to out, so the op's parameters are loop
  // invariants; and a copy of the Body per task, which may keep state of its own (RReLU's
  // Philox words).
  const Body f = body;
  const T* const a = in[0];
  const T* const b = in[K - 1];
  for (std::size_t i = begin; i < end; ++i) {
    compute_t<T> r;
    if constexpr (K == 1) {
      r = f(i, ops::widen(a[i]));
    } else {
      r = f(i, ops::widen(a[i]), ops::widen(b[i]));
    }
    if constexpr (kBlend) {
      out[i] = detail::blend_result(r, blend.alpha, blend.beta, out[i]);
    } else {
      out[i] = ops::narrow<T>(r);
    }
  }
}

template <bool kBlend, class T, std::size_t K, class Body>
ACTLAYER_CPU_HOT void run_range(const Body& body, T* out, const std::array<const T*, K>& in,
                                std::size_t begin, std::size_t end, Blend blend) {
  run_elements<kBlend>(body, out, in, begin, end, blend);
}

/// out[i] = alpha * body(i, in[0][i], ..., in[K-1][i]) + beta * out[i] for i < n. alpha = 1,
/// beta = 0 stores body's result rounded once, as blend_result does.
template <class T, std::size_t K, class Body>
void run_elementwise(const Body& body, T* out, const std::array<const T*, K>& in, std::size_t n,
                     Blend blend) {
  const bool plain = blend.alpha == 1.0f && blend.beta == 0.0f;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    if (plain) {
      run_range<false>(body, out, in, begin, end, blend);
    } else {
      run_range<true>(body, out, in, begin, end, blend);
    }
  });
}

// ---- The bodies of the three passes, for any ops.cuh-shaped functor -----------------------
// A host Body is elementwise.cuh's Body one element at a time: body(i, z) or body(i, z, dy)
// returns element i's result in the working precision.

template <class Op>
struct ForwardBody {
  Op op;
  template <class F>
  F operator()(std::size_t, F z) const {
    return op.value(z);
  }
};

template <class Op>
struct BackwardBody {
  Op op;
  template <class F>
  F operator()(std::size_t, F z, F dy) const {
    return ops::backward(op, z, dy);
  }
};

template <class Op>
struct BackwardFromOutputBody {
  Op op;
  template <class F>
  F operator()(std::size_t, F y, F dy) const {
    return ops::backward_from_output(op, y, dy);
  }
};

}  // namespace actlayer::cpu_impl
