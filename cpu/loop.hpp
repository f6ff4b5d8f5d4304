// cpu/loop.hpp — the CPU backend's one elementwise loop: the host twin of
// include/actlayer/detail/elementwise.cuh. A Body computes one element's result from its K
// widened inputs and its index (the kernels' Body, one element at a time), one result or M; the
// loop does the rest: the tasks of threads.hpp, a loop the compiler vectorises, the gated
// layouts' packed rows, the blend and the single rounding to T. The results depend on neither the
// split nor the pointers' alignment: every element is computed alone, from the same ops.cuh
// expression as on the GPU.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

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

/// out = r rounded once to T, or blended with out (blend_result: not read when beta == 0).
template <bool kBlend, class T, class F>
inline void store_result(T& out, F r, Blend blend) {
  if constexpr (kBlend) {
    out = detail::blend_result(r, blend.alpha, blend.beta, out);
  } else {
    out = ops::narrow<T>(r);
  }
}

/// Elements [begin, end) one by one, in a loop the compiler vectorises where the Body's math
/// if-converts into selects (hence the flags of CMakeLists.txt's actlayer_cpu, which change no
/// value): the piecewise-linear ops, sigmoid and tanh (but double's gradients from x, whose tail
/// is branched to). Math-library calls (the exp and GELU families) stay scalar. Every
/// input of an element is read before its outputs are written (an output may be an input).
template <bool kBlend, class T, std::size_t K, std::size_t M, class Body>
inline void run_elements(const Body& body, const std::array<T*, M>& out,
                         const std::array<const T*, K>& in, std::size_t begin, std::size_t end,
                         Blend blend) {
  static_assert(K >= 1 && K <= 3, "one to three input streams");
  static_assert(M == 1 || M == 2, "one or two outputs (a Body with two returns a std::array)");
  using F = compute_t<T>;
  // Local copies: not reloaded after each store to out, so the op's parameters are loop
  // invariants; and a copy of the Body per task, which may keep state of its own (RReLU's
  // Philox words).
  const Body f = body;
  const T* const a = in[0];
  const T* const b = in[K > 1 ? 1 : 0];
  const T* const c = in[K - 1];
  T* const o = out[0];
  T* const o2 = out[M - 1];
  for (std::size_t i = begin; i < end; ++i) {
    std::conditional_t<M == 1, F, std::array<F, M>> r;
    if constexpr (K == 1) {
      r = f(i, ops::widen(a[i]));
    } else if constexpr (K == 2) {
      r = f(i, ops::widen(a[i]), ops::widen(b[i]));
    } else {
      r = f(i, ops::widen(a[i]), ops::widen(b[i]), ops::widen(c[i]));
    }
    if constexpr (M == 1) {
      store_result<kBlend>(o[i], r, blend);
    } else {
      store_result<kBlend>(o[i], r[0], blend);
      store_result<kBlend>(o2[i], r[1], blend);
    }
  }
}

template <bool kBlend, class T, std::size_t K, std::size_t M, class Body>
ACTLAYER_CPU_HOT void run_range(const Body& body, const std::array<T*, M>& out,
                                const std::array<const T*, K>& in, std::size_t begin,
                                std::size_t end, Blend blend) {
  run_elements<kBlend>(body, out, in, begin, end, blend);
}

/// The gated layouts' packed rows (gated.cuh's Rows): the streams whose bit is set in `streams`
/// (inputs 0..K-1, then outputs K..K+M-1) hold element i of row r = i / row at i + r * row;
/// the others at i. row == 0: every stream flat.
struct RowStreams {
  std::size_t row = 0;
  unsigned streams = 0;
};

/// out[m][i] = alpha * body(i, in[0][i], ..., in[K-1][i])[m] + beta * out[m][i] for i < n.
/// alpha = 1, beta = 0 stores body's result rounded once, as blend_result does. With rows,
/// each task's range is cut at the rows' ends and the row streams shifted to the row: the loop
/// itself only ever sees flat streams.
template <class T, std::size_t K, std::size_t M, class Body>
void run_elementwise(const Body& body, const std::array<T*, M>& out,
                     const std::array<const T*, K>& in, std::size_t n, Blend blend,
                     RowStreams rows = {}) {
  const bool plain = blend.alpha == 1.0f && blend.beta == 0.0f;
  parallel_ranges(n, kTaskElements, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end;) {
      std::size_t stop = end;
      std::array<T*, M> o = out;
      std::array<const T*, K> s = in;
      if (rows.row != 0) {
        const std::size_t r = i / rows.row;
        stop = (r + 1) * rows.row < end ? (r + 1) * rows.row : end;
        for (std::size_t k = 0; k < K; ++k) s[k] += (rows.streams >> k & 1u) ? r * rows.row : 0;
        for (std::size_t m = 0; m < M; ++m)
          o[m] += (rows.streams >> (K + m) & 1u) ? r * rows.row : 0;
      }
      if (plain) {
        run_range<false>(body, o, s, i, stop, blend);
      } else {
        run_range<true>(body, o, s, i, stop, blend);
      }
      i = stop;
    }
  });
}

/// run_elementwise with one output.
template <class T, std::size_t K, class Body>
void run_elementwise(const Body& body, T* out, const std::array<const T*, K>& in, std::size_t n,
                     Blend blend) {
  run_elementwise<T, K, 1>(body, std::array<T*, 1>{out}, in, n, blend);
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
