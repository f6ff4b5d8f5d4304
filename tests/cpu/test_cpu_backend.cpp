// The CPU backend (actlayer/cpu.hpp) against the independent reference within the published
// bounds, for every op, pass and element type (every half and bfloat16 bit pattern); the same
// bits as the ops.cuh functor evaluated element by element (so nothing of the loop — threads,
// tasks, vector blocks, alignment — changes a result); RReLU's slopes, the masks, PReLU, the
// gated forms and bias_act, and the GPU's order of dalpha and dbias (re-derived thread by
// thread); argument errors identical to the CUDA calls'.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu/prelu.hpp"
#include "../cuda/gated_math.hpp"
#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/detail/blend.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/calls.hpp"
#include "common/cases.hpp"
#include "common/compare.hpp"
#include "common/element_types.hpp"
#include "common/fused.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

/// Restores the backend's thread count when a test ends.
struct Threads {
  explicit Threads(unsigned n) { cpu::set_threads(n); }
  ~Threads() { cpu::set_threads(0); }
};

template <class T>
std::vector<T> inputs(std::size_t random, std::uint64_t seed) {
  std::vector<T> v;
  if constexpr (sizeof(T) == 2) {
    v = all_values<T>();
  } else {
    v = random_values<T>(random, seed);
  }
  for (T e : extremal_values<T>()) v.push_back(e);
  return v;
}

/// The pass run by `backend` (cpu:: or reference::, chosen by `cpu`).
template <class T>
Status run_pass(bool on_cpu, Pass pass, const Activation& act, const std::vector<T>& a,
                const std::vector<T>& dy, std::vector<T>& out, Blend blend = {}) {
  const std::size_t n = a.size();
  switch (pass) {
    case Pass::forward:
      return on_cpu ? cpu::forward(act, a.data(), out.data(), n, blend)
                    : reference::forward(act, a.data(), out.data(), n, blend);
    case Pass::backward:
      return on_cpu ? cpu::backward(act, a.data(), dy.data(), out.data(), n, blend)
                    : reference::backward(act, a.data(), dy.data(), out.data(), n, blend);
    case Pass::backward_from_output:
      return on_cpu
                 ? cpu::backward_from_output(act, a.data(), dy.data(), out.data(), n, blend)
                 : reference::backward_from_output(act, a.data(), dy.data(), out.data(), n, blend);
  }
  return Status::invalid_argument;
}

/// What the kernels' loop computes for element i: the functor in the working precision,
/// blended and rounded once (detail/blend.hpp).
template <class T>
T functor_result(Pass pass, const Activation& act, T a, T dy, T old, Blend blend) {
  T r{};
  ops::visit(act, [&](auto, auto op) {
    using Op = decltype(op);
    const auto z = ops::widen(a);
    const auto d = ops::widen(dy);
    decltype(ops::widen(a)) v{};
    if (pass == Pass::forward) {
      v = op.value(z);
    } else if (pass == Pass::backward) {
      v = ops::backward(op, z, d);
    } else if constexpr (ops::has_output_form_v<Op>) {
      v = ops::backward_from_output(op, z, d);
    }
    r = detail::blend_result(v, blend.alpha, blend.beta, old);
  });
  return r;
}

template <class T>
class CpuBackend : public ::testing::Test {};
TYPED_TEST_SUITE(CpuBackend, ElementTypes);

TYPED_TEST(CpuBackend, EveryOpWithinTheBoundsOfTheReference) {
  using T = TypeParam;
  // Double's smooth ops have a __float128 reference (microseconds a value): fewer of them.
  const std::vector<T> x = inputs<T>(std::is_same_v<T, double> ? 3000 : 20000, 11);
  const std::vector<T> dy = random_gradients<T>(x.size(), 12);
  std::vector<T> got(x.size()), want(x.size()), y(x.size());
  for (const OpCase& c : op_cases()) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !c.from_output) continue;
      SCOPED_TRACE(std::string(c.name) + " " + to_string(pass) + " " + element_name<T>());
      // The output form takes y = f(x), the reference's.
      const bool from_y = pass == Pass::backward_from_output;
      if (from_y) {
        ASSERT_EQ(reference::forward(c.act, x.data(), y.data(), x.size()), Status::success);
      }
      const std::vector<T>& a = from_y ? y : x;
      ASSERT_EQ(run_pass(true, pass, c.act, a, dy, got), Status::success) << last_error();
      ASSERT_EQ(run_pass(false, pass, c.act, a, dy, want), Status::success) << last_error();
      const Comparison r = compare(got, want, ulp_bound<T>(c, pass), [&](std::size_t i) {
        return "a = " + show(a[i]) + ", dy = " + show(dy[i]);
      });
      EXPECT_EQ(r.failures, 0u) << r.report;
    }
  }
}

TYPED_TEST(CpuBackend, SameBitsAsTheFunctorElementByElement) {
  using T = TypeParam;
  const std::vector<T> x = inputs<T>(5000, 21);
  const std::vector<T> dy = random_gradients<T>(x.size(), 22);
  const std::vector<T> old = random_gradients<T>(x.size(), 23);
  for (const OpCase& c : op_cases()) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !c.from_output) continue;
      for (Blend blend : {Blend{}, Blend{0.5f, -2.0f}}) {
        SCOPED_TRACE(std::string(c.name) + " " + to_string(pass) + " " + element_name<T>() +
                     " beta " + std::to_string(blend.beta));
        std::vector<T> got = old;
        ASSERT_EQ(run_pass(true, pass, c.act, x, dy, got, blend), Status::success);
        std::size_t wrong = 0, first = x.size();
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (!same(got[i], functor_result(pass, c.act, x[i], dy[i], old[i], blend))) {
            if (wrong++ == 0) first = i;
          }
        }
        EXPECT_EQ(wrong, 0u) << "first at x = " << (first < x.size() ? show(x[first]) : "");
      }
    }
  }
}

/// Sizes around the task and vector boundaries, misaligned pointers, 1 to 3 threads: every
/// result the same bits as the functor's.
TYPED_TEST(CpuBackend, TasksVectorsAndAlignmentChangeNothing) {
  using T = TypeParam;
  constexpr std::size_t kTask = cpu_impl::kTaskElements;
  const std::vector<T> pool = random_values<T>(3 * kTask + 64, 31);
  const std::vector<T> grads = random_gradients<T>(pool.size(), 32);
  const Activation acts[] = {Activation::relu(), Activation::sigmoid(), Activation::gelu()};
  for (unsigned threads : {1u, 2u, 3u}) {
    const Threads t(threads);
    for (std::size_t n : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                          kTask - 1, kTask, kTask + 1, 2 * kTask + 17}) {
      for (std::size_t offset : {0, 1, 3}) {
        for (const Activation& act : acts) {
          SCOPED_TRACE(::testing::Message() << to_string(act.op) << " n " << n << " offset "
                                            << offset << " threads " << threads);
          std::vector<T> out(n + 8, from_double<T>(7.0));
          ASSERT_EQ(cpu::backward(act, pool.data() + offset, grads.data() + 2, out.data() + 1, n),
                    Status::success);
          std::size_t wrong = 0;
          for (std::size_t i = 0; i < n; ++i) {
            wrong += !same(out[1 + i], functor_result(Pass::backward, act, pool[offset + i],
                                                      grads[2 + i], T{}, Blend{}));
          }
          EXPECT_EQ(wrong, 0u);
          EXPECT_TRUE(same(out[0], from_double<T>(7.0)) && same(out[n + 1], from_double<T>(7.0)))
              << "written outside [0, n)";
        }
      }
    }
  }
}

TYPED_TEST(CpuBackend, InPlace) {
  using T = TypeParam;
  const std::vector<T> x = random_values<T>(1000, 41);
  std::vector<T> y(x.size()), inplace = x;
  ASSERT_EQ(cpu::forward(Activation::tanh(), x.data(), y.data(), x.size()), Status::success);
  ASSERT_EQ(cpu::forward(Activation::tanh(), inplace.data(), inplace.data(), x.size()),
            Status::success);
  EXPECT_EQ(std::memcmp(y.data(), inplace.data(), x.size() * sizeof(T)), 0);
}

// ---- RReLU and the masks -------------------------------------------------------------------

TYPED_TEST(CpuBackend, RReluTrainingDrawsTheReferencesSlopes) {
  using T = TypeParam;
  const Activation act = Activation::rrelu_training({0x1234567890ull, 77});
  for (std::size_t offset : {0, 1, 2}) {
    const std::size_t n = cpu_impl::kTaskElements + 45;
    const std::vector<T> x = random_values<T>(n + offset, 51);
    const std::vector<T> dy = random_gradients<T>(n, 52);
    std::vector<T> y(n), want_y(n), dx(n), want_dx(n), dx_saved(n);
    std::vector<float> noise(n), want_noise(n);
    const T* xs = x.data() + offset;
    ASSERT_EQ(cpu::rrelu_forward_save_noise(act, xs, y.data(), noise.data(), n), Status::success);
    ASSERT_EQ(reference::rrelu_forward_save_noise(act, xs, want_y.data(), want_noise.data(), n),
              Status::success);
    EXPECT_EQ(
        compare(noise.data(), want_noise.data(), n, 0, [](std::size_t) { return ""; }).failures,
        0u);
    const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;
    EXPECT_EQ(compare(y, want_y, bound, [](std::size_t) { return ""; }).failures, 0u);
    std::vector<T> y_plain(n);
    ASSERT_EQ(cpu::forward(act, xs, y_plain.data(), n), Status::success);
    EXPECT_EQ(std::memcmp(y.data(), y_plain.data(), n * sizeof(T)), 0);
    ASSERT_EQ(cpu::backward(act, xs, dy.data(), dx.data(), n), Status::success);
    ASSERT_EQ(reference::backward(act, xs, dy.data(), want_dx.data(), n), Status::success);
    EXPECT_EQ(compare(dx, want_dx, bound, [](std::size_t) { return ""; }).failures, 0u);
    ASSERT_EQ(cpu::rrelu_backward_saved_noise(noise.data(), dy.data(), dx_saved.data(), n),
              Status::success);
    EXPECT_EQ(compare(dx_saved, dx, 0, [](std::size_t) { return ""; }).failures, 0u);
  }
}

TYPED_TEST(CpuBackend, MasksAsTheReference) {
  using T = TypeParam;
  for (std::size_t n : {std::size_t{31}, std::size_t{33}, cpu_impl::kTaskElements + 70}) {
    const std::vector<T> x = inputs<T>(n, 61);
    const std::vector<T> dy = random_gradients<T>(x.size(), 62);
    const std::size_t m = x.size();
    for (const Activation& act : {Activation::relu(), Activation::leaky_relu(0.2f),
                                  Activation::step(), Activation::rrelu()}) {
      SCOPED_TRACE(::testing::Message() << to_string(act.op) << " n " << m);
      std::vector<T> y(m), want_y(m), dx(m), want_dx(m);
      std::vector<std::uint32_t> mask(mask_words(m), 0xdeadbeefu), want_mask(mask_words(m));
      ASSERT_EQ(cpu::forward_with_mask(act, x.data(), y.data(), mask.data(), m), Status::success);
      ASSERT_EQ(reference::forward_with_mask(act, x.data(), want_y.data(), want_mask.data(), m),
                Status::success);
      EXPECT_EQ(mask, want_mask);
      const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;
      EXPECT_EQ(compare(y, want_y, bound, [](std::size_t) { return ""; }).failures, 0u);
      ASSERT_EQ(cpu::backward_from_mask(act, mask.data(), dy.data(), dx.data(), m),
                Status::success);
      ASSERT_EQ(reference::backward_from_mask(act, mask.data(), dy.data(), want_dx.data(), m),
                Status::success);
      EXPECT_EQ(compare(dx, want_dx, bound, [](std::size_t) { return ""; }).failures, 0u);
      std::vector<T> inplace = x;  // x may be y: the mask is taken before y is written
      std::vector<std::uint32_t> mask2(mask_words(m));
      ASSERT_EQ(cpu::forward_with_mask(act, inplace.data(), inplace.data(), mask2.data(), m),
                Status::success);
      EXPECT_EQ(mask2, want_mask);
    }
  }
}

// ---- PReLU ---------------------------------------------------------------------------------

/// Shapes of both layouts: rows (inner > 2048, with a short last segment), columns (NHWC
/// inner = 1, small maps, tiles that do not divide the channels, one row), and an empty one.
const PReluShape kShapes[] = {{3, 2, 20000}, {2, 3, 2049}, {1, 1, 40000}, {70, 3, 1}, {300, 67, 1},
                              {9, 5, 7},     {40, 700, 3}, {1, 2, 5},     {0, 4, 3}};

TYPED_TEST(CpuBackend, PReluAsTheReference) {
  using T = TypeParam;
  using P = compute_t<T>;
  for (const PReluShape& s : kShapes) {
    SCOPED_TRACE(::testing::Message()
                 << "shape {" << s.outer << ", " << s.channels << ", " << s.inner << "}");
    const std::size_t n = s.outer * s.channels * s.inner;
    const std::vector<T> x = random_values<T>(n, 71);
    const std::vector<T> dy = random_gradients<T>(n, 72);
    std::vector<P> alpha(s.channels);
    for (std::size_t c = 0; c < s.channels; ++c) alpha[c] = P(0.25) - P(0.1) * P(c % 5);
    std::vector<T> y(n), want_y(n), dx(n), want_dx(n), dx_mask(n);
    std::vector<P> dalpha(s.channels, P(1.5)), want_dalpha(s.channels, P(1.5));
    std::vector<std::uint32_t> mask(mask_words(n)), want_mask(mask_words(n));
    const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;
    const auto none = [](std::size_t) { return std::string(); };
    ASSERT_EQ(cpu::prelu_forward(x.data(), alpha.data(), y.data(), s), Status::success);
    ASSERT_EQ(reference::prelu_forward(x.data(), alpha.data(), want_y.data(), s), Status::success);
    EXPECT_EQ(compare(y, want_y, bound, none).failures, 0u);
    ASSERT_EQ(cpu::prelu_forward_with_mask(x.data(), alpha.data(), y.data(), mask.data(), s),
              Status::success);
    ASSERT_EQ(reference::prelu_forward_with_mask(x.data(), alpha.data(), want_y.data(),
                                                 want_mask.data(), s),
              Status::success);
    EXPECT_EQ(mask, want_mask);
    EXPECT_EQ(compare(y, want_y, bound, none).failures, 0u);
    const Blend accumulate{1.0f, 1.0f};
    ASSERT_EQ(cpu::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(), dalpha.data(), s,
                                  accumulate),
              Status::success);
    ASSERT_EQ(reference::prelu_backward(x.data(), alpha.data(), dy.data(), want_dx.data(),
                                        want_dalpha.data(), s, accumulate),
              Status::success);
    EXPECT_EQ(compare(dx, want_dx, bound, none).failures, 0u);
    ASSERT_EQ(
        cpu::prelu_backward_dx_from_mask(mask.data(), alpha.data(), dy.data(), dx_mask.data(), s),
        Status::success);
    ASSERT_EQ(reference::prelu_backward_dx_from_mask(mask.data(), alpha.data(), dy.data(),
                                                     want_dx.data(), s),
              Status::success);
    EXPECT_EQ(compare(dx_mask, want_dx, bound, none).failures, 0u);
    // dalpha: a sum in another order than the reference's long double one. Within the
    // summation bound: n * 2^-52 * sum |terms|, plus dalpha's own rounding.
    for (std::size_t c = 0; c < s.channels; ++c) {
      double magnitude = 1.5;
      bool nan = false;
      for (std::size_t o = 0; o < s.outer; ++o) {
        for (std::size_t k = 0; k < s.inner; ++k) {
          const std::size_t i = (o * s.channels + c) * s.inner + k;
          const double t = ops::PRelu::alpha_term<double>(ops::widen(x[i]), ops::widen(dy[i]));
          nan = nan || t != t;
          magnitude += std::fabs(t);
        }
      }
      const double got = dalpha[c], want = want_dalpha[c];
      if (got == want) continue;  // infinities included
      if (nan) {
        EXPECT_TRUE(std::isnan(got)) << "channel " << c;
        continue;
      }
      if (std::isinf(magnitude)) continue;  // double terms overflow where long double ones do not
      const double tol = magnitude * (static_cast<double>(n) * 0x1p-52 +
                                      (std::is_same_v<P, float> ? 0x1p-23 : 0x1p-52));
      EXPECT_LE(std::fabs(got - want), tol) << "channel " << c;
    }
  }
}

/// dalpha's order is the GPU plan's: it depends on the shape only, never on the threads.
TYPED_TEST(CpuBackend, PReluDalphaIsTheSameBitsOnAnyThreadCount) {
  using T = TypeParam;
  using P = compute_t<T>;
  for (const PReluShape& s : kShapes) {
    const std::size_t n = s.outer * s.channels * s.inner;
    const std::vector<T> x = random_values<T>(n, 81);
    const std::vector<T> dy = random_gradients<T>(n, 82);
    const std::vector<P> alpha(s.channels, P(0.25));
    std::vector<T> dx(n);
    std::vector<std::vector<P>> dalpha;
    for (unsigned threads : {1u, 2u, 5u}) {
      const Threads t(threads);
      dalpha.emplace_back(s.channels);
      ASSERT_EQ(cpu::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(),
                                    dalpha.back().data(), s),
                Status::success);
    }
    for (std::size_t k = 1; k < dalpha.size(); ++k) {
      EXPECT_EQ(std::memcmp(dalpha[0].data(), dalpha[k].data(), s.channels * sizeof(P)), 0);
    }
  }
}

/// cuda/reduce.cuh's block_sum, written again independently as the tree it is: lane l after
/// the shuffles with offsets 16 .. o holds tree(l, o) = tree(l, 2o) + tree(l + o, 2o), with
/// tree(l, 32) = v[l]; lane 0 at o = 1 is the warp's sum; the warps follow in order from 0.0.
double tree(const double* v, std::size_t l, std::size_t o) {
  return o == cpu_impl::kWarp ? v[l] : tree(v, l, 2 * o) + tree(v, l + o, 2 * o);
}

TEST(CpuBackendPlan, BlockSumIsTheShuffleTree) {
  std::vector<double> v(cpu_impl::kChannelThreads);
  std::mt19937_64 rng(91);
  for (int round = 0; round < 50; ++round) {
    for (double& e : v) {
      // Magnitudes over 40 binades and both signs: every order gives other bits.
      e = std::ldexp(static_cast<double>(rng() % 1000003) - 500000.0,
                     static_cast<int>(rng() % 40) - 20);
    }
    double want = 0.0;
    for (std::size_t w = 0; w < cpu_impl::kChannelThreads / cpu_impl::kWarp; ++w) {
      want += tree(v.data() + w * cpu_impl::kWarp, 0, 1);
    }
    EXPECT_EQ(cpu_impl::block_sum(v.data()), want);
  }
}

// ---- Gated ---------------------------------------------------------------------------------

constexpr Form kForms[] = {Form::gate_first, Form::gate_second, Form::split};

TYPED_TEST(CpuBackend, GatedEveryGateFormAndBlendWithinTheBoundsOfTheReference) {
  using T = TypeParam;
  for (const GateCase& c : gate_cases<T>()) {
    for (Form form : kForms) {
      for (const auto& [shape, blend] :
           {std::pair{GatedShape{33, 7}, Blend{}}, std::pair{GatedShape{4, 67}, Blend{}},
            std::pair{GatedShape{5, 64}, Blend{0.5f, -2.0f}}}) {
        check_gated_case<T>(c, form, shape, blend,
                            [&](const std::vector<T>& in, const std::vector<T>& dy,
                                std::vector<T>& y, std::vector<T>& din) {
                              run_gated(CpuGated{}, c.gated, form, in.data(), dy.data(), y.data(),
                                        din.data(), shape, blend);
                            });
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

/// What the kernels compute for every element of a packed input (the split form is one row of
/// gate_first): gated_math.hpp's expressions, blended and rounded once.
template <class T>
void gated_expected(const Gated& g, GatedShape s, const std::vector<T>& in,
                    const std::vector<T>& dy, std::vector<T>& y, std::vector<T>& din, Blend b) {
  using F = compute_t<T>;
  const std::size_t ha = g.layout == GatedLayout::gate_first ? 0 : s.hidden, hb = s.hidden - ha;
  const cuda_impl::GatedClamp clamp = cuda_impl::GatedClamp::of(g);
  ops::visit(g.gate, [&](auto, auto op) {
    for (std::size_t r = 0; r < s.rows; ++r) {
      for (std::size_t j = 0; j < s.hidden; ++j) {
        const std::size_t ia = r * 2 * s.hidden + ha + j, ib = r * 2 * s.hidden + hb + j;
        const std::size_t iy = r * s.hidden + j;
        const F a = ops::widen(in[ia]), bv = ops::widen(in[ib]);
        F da, db;
        cuda_impl::gated_grads(op, clamp, a, bv, ops::widen(dy[iy]), da, db);
        y[iy] =
            detail::blend_result(cuda_impl::gated_value(op, clamp, a, bv), b.alpha, b.beta, y[iy]);
        din[ia] = detail::blend_result(da, b.alpha, b.beta, din[ia]);
        din[ib] = detail::blend_result(db, b.alpha, b.beta, din[ib]);
      }
    }
  });
}

/// Rows across a task's end, one element per row, empty shapes, 1 to 3 threads: every element
/// the per-element expression's bits (so neither the rows nor the tasks change a result).
TYPED_TEST(CpuBackend, GatedSameBitsAsThePerElementExpression) {
  using T = TypeParam;
  for (const GatedShape& s : {GatedShape{3, cpu_impl::kTaskElements / 3 + 5}, GatedShape{1000, 1},
                              GatedShape{2, 0}, GatedShape{0, 5}}) {
    const std::size_t n = s.rows * s.hidden;
    const std::vector<T> in = gated_inputs<T>(2 * n, 201, 8.0), dy = gated_inputs<T>(n, 202, 2.0);
    const std::vector<T> old_y = gated_inputs<T>(n, 203, 4.0);
    const std::vector<T> old_din = gated_inputs<T>(2 * n, 204, 4.0);
    for (const GateCase& c : gate_cases<T>()) {
      for (Form form : kForms) {
        for (Blend blend : {Blend{}, Blend{0.5f, -2.0f}}) {
          const Threads t(1 + (static_cast<unsigned>(form) + c.name.size()) % 3);
          SCOPED_TRACE(c.name + " " + element_name<T>() + " form " + std::to_string(int(form)) +
                       " rows " + std::to_string(s.rows) + " H " + std::to_string(s.hidden) +
                       " beta " + std::to_string(blend.beta));
          std::vector<T> y = old_y, din = old_din, want_y = old_y, want_din = old_din;
          run_gated(CpuGated{}, c.gated, form, in.data(), dy.data(), y.data(), din.data(), s,
                    blend);
          Gated g = c.gated;  // the split form is one row of gate_first
          g.layout = form == Form::gate_second ? GatedLayout::gate_second : GatedLayout::gate_first;
          gated_expected(g, form == Form::split ? GatedShape{1, n} : s, in, dy, want_y, want_din,
                         blend);
          EXPECT_EQ(compare(y, want_y, 0, [](std::size_t) { return ""; }).failures, 0u);
          EXPECT_EQ(compare(din, want_din, 0, [](std::size_t) { return ""; }).failures, 0u);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

TYPED_TEST(CpuBackend, GatedInPlaceAndPackedEqualsSplit) {
  using T = TypeParam;
  const GatedShape shape{17, 64};
  const std::size_t n = shape.rows * shape.hidden;
  const Gated g = Gated::swiglu();
  const std::vector<T> in = gated_inputs<T>(2 * n, 5, 6.0), dy = gated_inputs<T>(n, 6, 2.0);
  std::vector<T> din(2 * n), y(n);
  ASSERT_EQ(cpu::gated_backward(g, in.data(), dy.data(), din.data(), shape), Status::success);
  ASSERT_EQ(cpu::gated_forward(g, in.data(), y.data(), shape), Status::success);
  std::vector<T> inplace = in;  // din = in
  ASSERT_EQ(cpu::gated_backward(g, inplace.data(), dy.data(), inplace.data(), shape),
            Status::success);
  EXPECT_EQ(std::memcmp(inplace.data(), din.data(), 2 * n * sizeof(T)), 0);
  // Split, one row at a time (a row's halves are two arrays of H), y in place over a.
  std::vector<T> split = in;
  for (std::size_t r = 0; r < shape.rows; ++r) {
    T* a = split.data() + r * 2 * shape.hidden;
    ASSERT_EQ(cpu::gated_forward_split(g, a, a + shape.hidden, a, shape.hidden), Status::success);
    EXPECT_EQ(std::memcmp(a, y.data() + r * shape.hidden, shape.hidden * sizeof(T)), 0) << r;
  }
}

// ---- bias_act ------------------------------------------------------------------------------

/// y, dx (from x, from y, from the mask) and the mask of every op against the reference within
/// the published bounds and against the per-element expression bit for bit; dbias within the
/// summation bound of the reference's.
TYPED_TEST(CpuBackend, BiasActEveryOpAsTheReferenceAndThePerElementExpression) {
  using T = TypeParam;
  using P = compute_t<T>;
  using F = compute_t<T>;
  const Blend accumulate{1.0f, 1.0f};
  const auto none = [](std::size_t) { return std::string(); };
  for (const OpCase& c : op_cases()) {
    bool sign_only = false;
    ops::visit(c.act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
    for (const ChannelShape& s : kBiasActShapes) {
      SCOPED_TRACE(::testing::Message() << c.name << " " << type_name<T>() << " shape {" << s.outer
                                        << ", " << s.channels << ", " << s.inner << "}");
      const BiasActData<T> d(s);
      const std::size_t n = shape_elements(s);
      std::vector<T> y(n), want_y(n), dx(n), want_dx(n), f_y(n), f_dx(n), f_dy(n), f_dm(n);
      std::vector<P> db = d.dbias_old, want_db = d.dbias_old;
      std::vector<std::uint32_t> mask(mask_words(n)), f_mask(mask_words(n), 0);
      ops::visit(c.act, [&](auto, auto op) {
        for (std::size_t i = 0; i < n; ++i) {
          const F z = ops::widen(d.x[i]) + F(d.bias[(i / s.inner) % s.channels]);
          const F g = ops::widen(d.dy[i]);
          f_y[i] = ops::narrow<T>(op.value(z));
          f_dx[i] = ops::narrow<T>(ops::backward(op, z, g));
          if constexpr (ops::has_output_form_v<decltype(op)>) {
            f_dy[i] = ops::narrow<T>(ops::backward_from_output(op, ops::widen(f_y[i]), g));
          }
          f_mask[i / 32] |= std::uint32_t{z > F(0)} << (i % 32);
          f_dm[i] = ops::narrow<T>(ops::backward(op, z > F(0) ? F(1) : F(-1), g));
        }
      });
      ASSERT_EQ(cpu::bias_act_forward(c.act, d.x.data(), d.bias.data(), y.data(), s),
                Status::success)
          << last_error();
      ASSERT_EQ(reference::bias_act_forward(c.act, d.x.data(), d.bias.data(), want_y.data(), s),
                Status::success);
      EXPECT_EQ(compare(y, want_y, ulp_bound<T>(c, Pass::forward), none).failures, 0u);
      EXPECT_EQ(compare(y, f_y, 0, none).failures, 0u) << "y";
      ASSERT_EQ(cpu::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(), dx.data(),
                                       db.data(), s, accumulate),
                Status::success);
      ASSERT_EQ(reference::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(),
                                             want_dx.data(), want_db.data(), s, accumulate),
                Status::success);
      EXPECT_EQ(compare(dx, want_dx, ulp_bound<T>(c, Pass::backward), none).failures, 0u);
      EXPECT_EQ(compare(dx, f_dx, 0, none).failures, 0u) << "dx";
      expect_dbias_close(want_dx, d.dbias_old, s, db, want_db);
      const std::vector<P> zeros(s.channels, P(0));
      if (c.from_output) {  // from the backend's own y
        std::vector<P> db_y(s.channels), want_db_y(s.channels);
        ASSERT_EQ(cpu::bias_act_backward_from_output(c.act, y.data(), d.dy.data(), dx.data(),
                                                     db_y.data(), s),
                  Status::success);
        ASSERT_EQ(reference::bias_act_backward_from_output(c.act, y.data(), d.dy.data(),
                                                           want_dx.data(), want_db_y.data(), s),
                  Status::success);
        EXPECT_EQ(compare(dx, want_dx, ulp_bound<T>(c, Pass::backward_from_output), none).failures,
                  0u);
        EXPECT_EQ(compare(dx, f_dy, 0, none).failures, 0u) << "dx from y";
        expect_dbias_close(want_dx, zeros, s, db_y, want_db_y);
      }
      if (sign_only) {
        std::vector<std::uint32_t> want_mask(mask_words(n));
        std::vector<P> db_m(s.channels), want_db_m(s.channels);
        ASSERT_EQ(cpu::bias_act_forward_with_mask(c.act, d.x.data(), d.bias.data(), y.data(),
                                                  mask.data(), s),
                  Status::success);
        ASSERT_EQ(reference::bias_act_forward_with_mask(c.act, d.x.data(), d.bias.data(),
                                                        want_y.data(), want_mask.data(), s),
                  Status::success);
        EXPECT_EQ(mask, want_mask);
        EXPECT_EQ(mask, f_mask);
        EXPECT_EQ(compare(y, f_y, 0, none).failures, 0u) << "y with mask";
        ASSERT_EQ(cpu::bias_act_backward_from_mask(c.act, mask.data(), d.dy.data(), dx.data(),
                                                   db_m.data(), s),
                  Status::success);
        ASSERT_EQ(reference::bias_act_backward_from_mask(c.act, mask.data(), d.dy.data(),
                                                         want_dx.data(), want_db_m.data(), s),
                  Status::success);
        EXPECT_EQ(compare(dx, want_dx, ulp_bound<T>(c, Pass::backward), none).failures, 0u);
        EXPECT_EQ(compare(dx, f_dm, 0, none).failures, 0u) << "dx from mask";
        expect_dbias_close(want_dx, zeros, s, db_m, want_db_m);
      }
    }
  }
}

// ---- The per-channel gradients in the GPU's order -----------------------------------------

/// cuda/channel.cuh's two kernels written again thread by thread from the plan (not block by
/// block, as cpu/channel.hpp replays them): term[i] summed per channel in the GPU's order, then
/// blended into grad.
template <class P>
void gpu_order_grad(const std::vector<double>& term, ChannelShape s, std::vector<P>& grad,
                    Blend blend) {
  using namespace cuda_impl;
  const ChannelPlan p = make_channel_plan(s);
  std::vector<double> ws(p.partials * p.channels, 0.0);
  const std::size_t threads = kChannelThreads;
  for (std::size_t b = 0; b < p.blocks; ++b) {
    if (p.layout == ChannelPlan::Layout::rows) {  // channel_rows_kernel
      const RowSegment seg = row_segment(p, b);
      std::vector<double> acc(threads, 0.0);
      for (std::size_t tid = 0; tid < threads; ++tid) {
        for (std::size_t i = seg.begin + tid * kGranule; i < seg.end; i += threads * kGranule) {
          for (std::size_t j = 0; j < kGranule && i + j < seg.end; ++j) acc[tid] += term[i + j];
        }
      }
      double sum = 0.0;  // block_sum: the warps' trees in order
      for (std::size_t w = 0; w < threads / cpu_impl::kWarp; ++w) {
        sum += tree(acc.data() + w * cpu_impl::kWarp, 0, 1);
      }
      ws[seg.partial] = sum;
    } else {  // channel_columns_kernel
      const ColumnTile t = column_tile(p, b);
      std::vector<double> sums(kTileEntries, 0.0);
      for (std::size_t item = 0; item < p.lanes * t.groups; ++item) {
        const std::size_t lane = item / t.groups, col = (item % t.groups) * t.group;
        for (std::size_t k = 0; k < t.group; ++k) {
          double acc = 0.0;
          for (std::size_t o = t.o0 + lane; o < t.o1; o += p.lanes) {
            acc += term[o * p.channels * p.inner + t.j0 + col + k];
          }
          sums[lane * t.width + col + k] = acc;
        }
      }
      for (std::size_t lc = 0; lc < t.channels; ++lc) {
        double total = 0.0;
        for (std::size_t lane = 0; lane < p.lanes; ++lane) {
          for (std::size_t k = 0; k < p.inner; ++k)
            total += sums[lane * t.width + lc * p.inner + k];
        }
        ws[t.partial_base + lc] = total;
      }
    }
  }
  for (std::size_t c = 0; c < s.channels; ++c) {  // channel_sum_kernel
    double total = 0.0;
    if (s.channels < 32) {
      std::vector<double> v(threads, 0.0);
      for (std::size_t tid = 0; tid < threads; ++tid) {
        for (std::size_t k = tid; k < p.partials; k += threads) v[tid] += ws[k * s.channels + c];
      }
      for (std::size_t w = 0; w < threads / cpu_impl::kWarp; ++w) {
        total += tree(v.data() + w * cpu_impl::kWarp, 0, 1);
      }
    } else {
      for (std::size_t lane = 0; lane < threads / 32; ++lane) {
        double v = 0.0;
        for (std::size_t k = lane; k < p.partials; k += threads / 32) v += ws[k * s.channels + c];
        total += v;
      }
    }
    const double old = blend.beta != 0.0f ? static_cast<double>(blend.beta) * grad[c] : 0.0;
    grad[c] = static_cast<P>(static_cast<double>(blend.alpha) * total + old);
  }
}

/// PReLU's dalpha and bias_act's dbias (from x, y and the mask) are the GPU order's bits, on
/// 1, 2, 3 and 5 threads, for both plan layouts.
TYPED_TEST(CpuBackend, ChannelGradientsAreTheGpuOrdersOnAnyThreadCount) {
  using T = TypeParam;
  using P = compute_t<T>;
  using F = compute_t<T>;
  const Activation act = Activation::leaky_relu(0.2f);  // all three bias_act backwards
  for (const PReluShape& s : kShapes) {
    const std::size_t n = s.outer * s.channels * s.inner;
    // Moderate x, and dy over 20 binades (half: 2^-10 to 2^10) of both signs: sums in double
    // that round, so that another order gives other bits.
    std::vector<T> x(n), dy(n);
    std::mt19937_64 rng(211);
    std::uniform_real_distribution<double> moderate(-3.0, 3.0), unit(-1.0, 1.0);
    const int spread = std::is_same_v<T, __half> ? 10 : 20;
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = from_double<T>(moderate(rng));
      dy[i] = from_double<T>(
          std::ldexp(unit(rng), static_cast<int>(rng() % (2 * spread + 1)) - spread));
    }
    std::vector<P> alpha(s.channels), old(s.channels);
    for (std::size_t c = 0; c < s.channels; ++c) {
      alpha[c] = P(0.25) - P(0.1) * P(c % 5);
      old[c] = P(0.375) * P(c % 3) - P(0.25);
    }
    // The terms: x * dy where x < 0 (dalpha); dx in F (dbias, from x with bias = alpha, and
    // from the mask, which differs where x is NaN).
    std::vector<double> dalpha_terms(n), dbias_terms(n), mask_terms(n);
    std::vector<T> y(n), dx(n);
    std::vector<std::uint32_t> mask(mask_words(n));
    ASSERT_EQ(
        cpu::bias_act_forward_with_mask(act, x.data(), alpha.data(), y.data(), mask.data(), s),
        Status::success);
    ops::visit(act, [&](auto, auto op) {
      for (std::size_t i = 0; i < n; ++i) {
        const F xi = ops::widen(x[i]), g = ops::widen(dy[i]);
        dalpha_terms[i] = ops::PRelu::alpha_term<double>(xi, g);
        const F z = xi + F(alpha[(i / s.inner) % s.channels]);
        dbias_terms[i] = static_cast<double>(ops::backward(op, z, g));
        mask_terms[i] = static_cast<double>(ops::backward(op, z > F(0) ? F(1) : F(-1), g));
      }
    });
    for (Blend blend : {Blend{}, Blend{0.5f, 1.0f}}) {
      SCOPED_TRACE(::testing::Message() << "shape {" << s.outer << ", " << s.channels << ", "
                                        << s.inner << "} beta " << blend.beta);
      std::vector<P> want_dalpha = old, want_dbias = old, want_mask = old;
      gpu_order_grad(dalpha_terms, s, want_dalpha, blend);
      gpu_order_grad(dbias_terms, s, want_dbias, blend);
      gpu_order_grad(mask_terms, s, want_mask, blend);
      for (unsigned threads : {1u, 2u, 3u, 5u}) {
        const Threads t(threads);
        std::vector<P> dalpha = old, db_x = old, db_y = old, db_m = old;
        ASSERT_EQ(cpu::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(), dalpha.data(),
                                      s, blend),
                  Status::success);
        ASSERT_EQ(cpu::bias_act_backward(act, x.data(), alpha.data(), dy.data(), dx.data(),
                                         db_x.data(), s, blend),
                  Status::success);
        ASSERT_EQ(cpu::bias_act_backward_from_output(act, y.data(), dy.data(), dx.data(),
                                                     db_y.data(), s, blend),
                  Status::success);
        ASSERT_EQ(cpu::bias_act_backward_from_mask(act, mask.data(), dy.data(), dx.data(),
                                                   db_m.data(), s, blend),
                  Status::success);
        // The same bits, a NaN's payload aside (its sign depends on which NaN an addition met
        // first, on the GPU as here).
        const auto same_bits = [&](const std::vector<P>& got, const std::vector<P>& want) {
          return compare(got, want, 0, [](std::size_t c) { return std::to_string(c); }).failures;
        };
        EXPECT_EQ(same_bits(dalpha, want_dalpha), 0u) << threads;
        EXPECT_EQ(same_bits(db_x, want_dbias), 0u) << threads;
        EXPECT_EQ(same_bits(db_m, want_mask), 0u) << threads;
        // From y: leaky_relu's output form reads the sign of y, the same as z's.
        EXPECT_EQ(same_bits(db_y, want_dbias), 0u) << threads;
      }
    }
  }
}

// ---- Argument errors: the CUDA calls' own, under actlayer::cpu:: ---------------------------

/// "actlayer::cpu::<call>: ..." made "actlayer::<call>: ...".
std::string as_cuda(std::string message) {
  const std::string cpu = "actlayer::cpu::";
  if (message.rfind(cpu, 0) == 0) message = "actlayer::" + message.substr(cpu.size());
  return message;
}

/// The CUDA row of tests/common/calls.hpp that a CPU row mirrors: the same name, and the
/// same arrays up to the CUDA call's workspace. Null when there is none.
const CallSpec* cuda_twin(const CallSpec& c, const std::vector<CallSpec>& cuda) {
  for (const CallSpec& k : cuda) {
    if ("actlayer::cpu::" + k.name.substr(std::string("actlayer::").size()) != c.name) continue;
    if (k.arrays.size() < c.arrays.size()) continue;
    bool same_arrays = true;
    for (std::size_t a = 0; a < c.arrays.size(); ++a) {
      same_arrays = same_arrays && std::string(k.arrays[a].name) == c.arrays[a].name;
    }
    const bool rest_is_workspace =
        k.arrays.size() == c.arrays.size() ||
        (k.arrays.size() == c.arrays.size() + 1 && k.arrays.back().kind == Kind::workspace);
    if (same_arrays && rest_is_workspace) return &k;
  }
  return nullptr;
}

/// Runs the CPU row and its CUDA twin on the same broken arguments (`breakage` edits the
/// pointers and returns the Blend): both refuse them, with the same Status and message.
template <class T, class Break>
void expect_same_refusal(const CallSpec& c, const CallSpec& k, const std::string& what,
                         Break&& breakage) {
  Arena arena(k);
  fill<T>(k, arena.pointers, false);
  std::vector<void*> p = arena.pointers;
  const Blend blend = breakage(p);
  const Status cpu_status = c.run(p.data(), blend);
  const std::string cpu_message = last_error();
  if (cpu_status == Status::success) return;  // not a refusal: nothing to compare
  const Status cuda_status = k.run(p.data(), blend);
  SCOPED_TRACE(c.name + ": " + what);
  EXPECT_EQ(cpu_status, cuda_status);
  EXPECT_EQ(as_cuda(cpu_message), last_error());
}

TYPED_TEST(CpuBackend, ArgumentErrorsAreTheCudaCallsOwn) {
  using T = TypeParam;
  const std::vector<CallSpec> cuda = call_specs<T>(true);
  std::size_t compared = 0;
  for (const CallSpec& c : cpu_call_specs<T>()) {
    const CallSpec* k = cuda_twin(c, cuda);
    ASSERT_NE(k, nullptr) << c.name << " has no CUDA twin in calls.hpp";
    ++compared;
    for (std::size_t a = 0; a < c.arrays.size(); ++a) {
      const std::string name = c.arrays[a].name;
      expect_same_refusal<T>(c, *k, name + " null", [&](std::vector<void*>& p) {
        p[a] = nullptr;
        return Blend{};
      });
      if (c.arrays[a].element > 1) {
        expect_same_refusal<T>(c, *k, name + " misaligned", [&](std::vector<void*>& p) {
          p[a] = static_cast<unsigned char*>(p[a]) + 1;
          return Blend{};
        });
      }
      for (std::size_t b = 0; b < c.arrays.size(); ++b) {
        if (b == a) continue;
        expect_same_refusal<T>(c, *k, name + " on " + c.arrays[b].name, [&](std::vector<void*>& p) {
          p[b] = static_cast<unsigned char*>(p[a]) + c.arrays[b].element;
          return Blend{};
        });
      }
    }
    if (c.blends) {
      expect_same_refusal<T>(c, *k, "NaN alpha", [](std::vector<void*>&) {
        return Blend{std::nanf(""), 0.0f};
      });
    }
  }
  EXPECT_GE(compared, 20u);
  // Bad activations.
  std::vector<T> x(8), y(8);
  Activation bad_op = Activation::relu();
  bad_op.op = static_cast<Op>(250);
  for (const Activation& act :
       {Activation::leaky_relu(std::nanf("")), Activation::hardtanh(2.0f, 1.0f),
        Activation::rrelu(0.5f, 0.2f), Activation::softplus(-1.0f), bad_op}) {
    ASSERT_NE(cpu::forward(act, x.data(), y.data(), x.size()), Status::success);
    const std::string cpu_message = last_error();
    ASSERT_NE(forward(act, x.data(), y.data(), x.size()), Status::success);
    EXPECT_EQ(as_cuda(cpu_message), last_error());
  }
  // Not supported: a pass the op lacks, a mask for an op that needs x.
  ASSERT_EQ(cpu::backward_from_output(Activation::gelu(), x.data(), x.data(), y.data(), 8),
            Status::not_supported);
  EXPECT_NE(std::string(last_error()).find("actlayer::cpu::backward_from_output"),
            std::string::npos);
}

TEST(CpuBackendArguments, RejectsADeviceCounter) {
  Activation act = Activation::rrelu_training({1, 2});
  const std::uint64_t counter = 0;
  act.philox.device_offset = &counter;
  float x[4] = {}, y[4] = {};
  EXPECT_EQ(cpu::forward(act, x, y, 4), Status::invalid_argument);
  std::string message = last_error();
  EXPECT_EQ(message.rfind("actlayer::cpu::forward: ", 0), 0u) << message;
  ASSERT_EQ(reference::forward(act, x, y, 4), Status::invalid_argument);
  EXPECT_EQ(message.substr(std::string("actlayer::cpu::").size()),
            std::string(last_error()).substr(std::string("actlayer::reference::").size()));
}

/// The CUDA PReLU calls read the element count their check computes: with work to do they
/// launch (here, without a device, they fail at the launch instead of returning success having
/// done nothing).
TEST(CpuBackendArguments, CudaPReluCallsLaunchWhenThereIsWork) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) {
    GTEST_SKIP() << "a CUDA device: the GPU suite runs these calls";
  }
  std::vector<float> x(12), y(12), alpha(3);
  std::vector<std::uint32_t> mask(1);
  const PReluShape s{2, 3, 2};
  EXPECT_EQ(prelu_forward(x.data(), alpha.data(), y.data(), s), Status::cuda_error);
  EXPECT_EQ(prelu_forward_with_mask(x.data(), alpha.data(), y.data(), mask.data(), s),
            Status::cuda_error);
  EXPECT_EQ(prelu_backward_dx_from_mask(mask.data(), alpha.data(), x.data(), y.data(), s),
            Status::cuda_error);
}

/// A child made by fork() has none of the pool's threads: its calls run on its one thread
/// (they would otherwise wait forever for helpers that do not exist).
TEST(CpuBackendThreads, WorkInAForkedChild) {
  const Threads t(2);
  const std::size_t n = 3 * cpu_impl::kTaskElements + 5;
  std::vector<float> x(n, -2.0f), y(n);
  ASSERT_EQ(cpu::forward(Activation::relu(), x.data(), y.data(), n), Status::success);  // pool up
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<float> z(n, 1.0f);
    const bool ok = cpu::forward(Activation::relu(), x.data(), z.data(), n) == Status::success &&
                    z[0] == 0.0f && z[n - 1] == 0.0f;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(CpuBackendThreads, SetAndRead) {
  {
    const Threads t(3);
    EXPECT_EQ(cpu::threads(), 3u);
  }
  EXPECT_GE(cpu::threads(), 1u);
}

}  // namespace
}  // namespace actlayer::testing
