// The ops.cuh functors evaluated on the host, exactly as the kernel's loop evaluates them
// (widen, compute in float or double, round once), against the independent CPU reference:
// exhaustively over every half and bfloat16 bit pattern, and over 10^6 random values plus the
// extremal ones in float and double. Bounds: docs/design.md §4 (tests/common/cases.hpp).
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/cases.hpp"
#include "common/compare.hpp"
#include "common/functors.hpp"

namespace actlayer::testing {
namespace {

/// Inputs (x, or y for the output form) paired with gradients dy.
template <class T>
struct Sweep {
  std::vector<T> a;
  std::vector<T> dy;
};

template <class T>
Sweep<T> make_sweep() {
  Sweep<T> s;
  std::vector<T> partners = extremal_values<T>();
  for (double v : {1.0, -0.75, 3.0}) partners.push_back(from_double<T>(v));
  if constexpr (sizeof(T) == 2) {
    // Every bit pattern as the input with each partner gradient, and as the gradient with each
    // partner input.
    const std::vector<T> all = all_values<T>();
    for (T d : partners) {
      for (T v : all) {
        s.a.push_back(v);
        s.dy.push_back(d);
      }
    }
    for (T v : partners) {
      for (T d : all) {
        s.a.push_back(v);
        s.dy.push_back(d);
      }
    }
  } else {
    s.a = random_values<T>(1'000'000, 20261127);
    s.dy = random_gradients<T>(s.a.size(), 7);
    for (T v : partners) {
      for (T d : partners) {
        s.a.push_back(v);
        s.dy.push_back(d);
      }
    }
  }
  return s;
}

template <class T>
class OpsOnHost : public ::testing::Test {};
TYPED_TEST_SUITE(OpsOnHost, ElementTypes);

TYPED_TEST(OpsOnHost, MatchReferenceWithinUlpBounds) {
  using T = TypeParam;
  const Sweep<T> s = make_sweep<T>();
  const std::size_t n = s.a.size();
  // The forward depends on x alone, and the 16-bit sweep's first 65,536 inputs are every bit
  // pattern once: it runs once per distinct input.
  const std::size_t n_forward = sizeof(T) == 2 ? 65536 : n;
  std::vector<T> got(n), want(n), y(n);
  std::printf("%-10s %-24s %-12s %8s %6s  (%zu inputs)\n", "dtype", "op", "pass", "max ulp",
              "bound", n);

  for (const OpCase& c : op_cases()) {
    ops::visit(c.act, [&](auto, auto op) {
      for (Pass pass : kPasses) {
        if (pass == Pass::backward_from_output && !c.from_output) continue;
        Status status = Status::success;
        switch (pass) {
          case Pass::forward:
            for (std::size_t i = 0; i < n_forward; ++i) got[i] = host_forward(op, s.a[i]);
            status = reference::forward(c.act, s.a.data(), want.data(), n_forward);
            break;
          case Pass::backward:
            for (std::size_t i = 0; i < n; ++i) {
              got[i] = host_backward(op, s.a[i], s.dy[i]);
            }
            status = reference::backward(c.act, s.a.data(), s.dy.data(), want.data(), n);
            break;
          case Pass::backward_from_output:
            // The output form's domain is f's range: y = f(x) for every swept x.
            ASSERT_EQ(reference::forward(c.act, s.a.data(), y.data(), n), Status::success);
            for (std::size_t i = 0; i < n; ++i) {
              got[i] = host_backward_from_output(op, y[i], s.dy[i]);
            }
            status = reference::backward_from_output(c.act, y.data(), s.dy.data(), want.data(), n);
            break;
        }
        ASSERT_EQ(status, Status::success) << last_error();
        const std::uint64_t bound = ulp_bound<T>(c, pass);
        const std::size_t count = pass == Pass::forward ? n_forward : n;
        const Comparison r = compare(got.data(), want.data(), count, bound, [&](std::size_t i) {
          const T in = pass == Pass::backward_from_output ? y[i] : s.a[i];
          return (pass == Pass::forward ? "x=" : "in=") + show(in) +
                 (pass == Pass::forward ? "" : " dy=" + show(s.dy[i]));
        });
        std::printf("%-10s %-24s %-12s %8llu %6llu%s\n", type_name<T>(), c.name, to_string(pass),
                    static_cast<unsigned long long>(r.max_ulp),
                    static_cast<unsigned long long>(bound), bound == 0 ? " (bit-exact)" : "");
        EXPECT_EQ(r.failures, 0u) << type_name<T>() << " " << c.name << " " << to_string(pass)
                                  << ": " << r.failures << " outside " << bound << " ulp\n"
                                  << r.report;
      }
    });
  }
}

// derivative(z) on its own (what users call from fused kernels and the gallery plots) against
// the reference gradient for dy = 1.
TYPED_TEST(OpsOnHost, DerivativeMatchesReferenceGradientOfOne) {
  using T = TypeParam;
  std::vector<T> x = sizeof(T) == 2 ? std::vector<T>{} : random_values<T>(200'000, 99);
  if constexpr (sizeof(T) == 2) x = all_values<T>();
  for (T v : extremal_values<T>()) x.push_back(v);
  const std::vector<T> ones(x.size(), from_double<T>(1.0));
  std::vector<T> got(x.size()), want(x.size());
  for (const OpCase& c : op_cases()) {
    ops::visit(c.act, [&](auto, auto op) {
      for (std::size_t i = 0; i < x.size(); ++i)
        got[i] = ops::narrow<T>(op.derivative(ops::widen(x[i])));
      ASSERT_EQ(reference::backward(c.act, x.data(), ones.data(), want.data(), x.size()),
                Status::success);
      const std::uint64_t bound = ulp_bound<T>(c, Pass::backward);
      const Comparison r =
          compare(got, want, bound, [&](std::size_t i) { return "x=" + show(x[i]); });
      EXPECT_EQ(r.failures, 0u) << type_name<T>() << " " << c.name << " derivative\n" << r.report;
    });
  }
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

TEST(OpsMath, FloatExpIsWithinOneUlpEverywhere) {
  // Every 61st float between -104 and 89 (35 million), and the edges: against expl rounded
  // once to float.
  std::uint64_t worst = 0;
  float worst_x = 0;
  std::size_t checked = 0;
  const auto check = [&](float x) {
    const float got = ops::math::exp(x);
    const float want = static_cast<float>(std::exp(static_cast<long double>(x)));
    const std::uint64_t d = ulp_distance(got, want);
    if (d > worst) worst = d, worst_x = x;
    ++checked;
  };
  for (std::uint32_t b = 0; b <= bits(89.0f); b += 61) check(from_bits<float>(b));
  for (std::uint32_t b = 0x80000000u; b <= bits(-104.0f); b += 61) check(from_bits<float>(b));
  for (float x : {-104.0f, -103.97208f, -87.33655f, -87.0f, 0.0f, 88.72283f, 88.7228394f, 88.99f})
    check(x);
  std::printf("float exp: %zu inputs, max %llu ulp (at %.9g)\n", checked,
              static_cast<unsigned long long>(worst), worst_x);
  EXPECT_LE(worst, 1u) << "at x = " << worst_x;
  EXPECT_TRUE(std::isinf(ops::math::exp(89.0f)));
  EXPECT_TRUE(std::isinf(ops::math::exp(1e30f)));
  EXPECT_EQ(ops::math::exp(-1e30f), 0.0f);
  EXPECT_TRUE(std::isnan(ops::math::exp(std::nanf(""))));
}

TEST(OpsMath, DoubleTailProductKeepsPrecision) {
  // dy * k * e^-c for c beyond double's exp underflow, against long double.
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> cs(700, 1500), exps(-300, 308);
  std::uint64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double c = cs(rng), dy = std::pow(10.0, exps(rng)) * (i % 2 ? 1 : -1), k = i % 3 ? 1 : 4;
    const double got = ops::detail::mul_exp_neg(dy, k, c);
    const double want = static_cast<double>(static_cast<long double>(dy) * k *
                                            std::exp(-static_cast<long double>(c)));
    worst = std::max(worst, ulp_distance(got, want));
  }
  std::printf("double tail dy*k*e^-c: max %llu ulp\n", static_cast<unsigned long long>(worst));
  EXPECT_LE(worst, 2u);
}

}  // namespace
}  // namespace actlayer::testing
