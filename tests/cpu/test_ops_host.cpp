// The ops.cuh functors evaluated on the host, exactly as the kernel's loop evaluates them
// (widen, compute in float or double, round once), against the independent CPU reference:
// exhaustively over every half and bfloat16 bit pattern, and over 10^6 random values plus the
// extremal ones in float and double (the double reference in __float128). The reference runs on
// every hardware thread. Bounds: docs/design.md §4 (tests/common/cases.hpp).
#include <gtest/gtest.h>

#include <quadmath.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

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

/// Random values of the float and double sweeps (the floor: 10^6 per op and pass, the
/// double references in __float128 included), plus every pair of extremal values.
constexpr std::size_t kRandom = 1'000'000;

/// A smooth op in double (its reference is in __float128): derivative() alone, a second look at
/// what the sweep above covers through grad(), runs on fewer inputs there.
template <class T>
bool quad_row(const OpCase& c) {
  return std::is_same_v<T, double> && c.smooth;
}

/// Runs f(begin, end) over [0, n) on every hardware thread.
template <class F>
void parallel_for(std::size_t n, F f) {
  const std::size_t workers = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t chunk = std::max<std::size_t>(1, (n + workers - 1) / workers);
  std::vector<std::thread> threads;
  for (std::size_t b = 0; b < n; b += chunk) threads.emplace_back(f, b, std::min(n, b + chunk));
  for (auto& t : threads) t.join();
}

/// A reference call over [0, n) in chunks on every hardware thread: call(begin, end) returns
/// its Status; the first failure (with its last_error message, which is per thread) is kept.
template <class Call>
Status reference_parallel(std::size_t n, Call call, std::string* message) {
  std::mutex m;
  Status status = Status::success;
  parallel_for(n, [&](std::size_t b, std::size_t e) {
    const Status s = call(b, e);
    if (s == Status::success) return;
    const std::lock_guard<std::mutex> lock(m);
    if (status == Status::success) status = s, *message = last_error();
  });
  return status;
}

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
    s.a = random_values<T>(kRandom, 20261127);
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
  // The forward does not read dy: it runs over the distinct inputs only (every bit pattern in
  // the 16-bit types), and the output form's y = f(x) of each pair is looked up from it.
  std::vector<T> fwd_in;
  if constexpr (sizeof(T) == 2) fwd_in = all_values<T>();
  std::printf("%-10s %-24s %-12s %8s %6s  (%zu inputs)\n", "dtype", "op", "pass", "max ulp",
              "bound", s.a.size());

  for (const OpCase& c : op_cases()) {
    const std::size_t n = s.a.size();
    const std::vector<T>& x = sizeof(T) == 2 ? fwd_in : s.a;  // the forward's inputs
    std::vector<T> got(n), want(n), y(n), fwd_want(x.size());
    ops::visit(c.act, [&](auto, auto op) {
      for (Pass pass : kPasses) {
        if (pass == Pass::backward_from_output && !c.from_output) continue;
        std::string message;
        Status status = Status::success;
        std::size_t count = n;
        switch (pass) {
          case Pass::forward:
            count = x.size();
            parallel_for(count, [&](std::size_t b, std::size_t e) {
              for (std::size_t i = b; i < e; ++i) got[i] = host_forward(op, x[i]);
            });
            status = reference_parallel(
                count,
                [&](std::size_t b, std::size_t e) {
                  return reference::forward(c.act, x.data() + b, fwd_want.data() + b, e - b);
                },
                &message);
            std::copy(fwd_want.begin(), fwd_want.end(), want.begin());
            // The output form's domain is f's range: y = f(x) for every swept x.
            for (std::size_t i = 0; i < n; ++i)
              y[i] = sizeof(T) == 2 ? fwd_want[bits(s.a[i])] : fwd_want[i];
            break;
          case Pass::backward:
            parallel_for(n, [&](std::size_t b, std::size_t e) {
              for (std::size_t i = b; i < e; ++i) got[i] = host_backward(op, s.a[i], s.dy[i]);
            });
            status = reference_parallel(
                n,
                [&](std::size_t b, std::size_t e) {
                  return reference::backward(c.act, s.a.data() + b, s.dy.data() + b,
                                             want.data() + b, e - b);
                },
                &message);
            break;
          case Pass::backward_from_output:
            parallel_for(n, [&](std::size_t b, std::size_t e) {
              for (std::size_t i = b; i < e; ++i)
                got[i] = host_backward_from_output(op, y[i], s.dy[i]);
            });
            status = reference_parallel(
                n,
                [&](std::size_t b, std::size_t e) {
                  return reference::backward_from_output(c.act, y.data() + b, s.dy.data() + b,
                                                         want.data() + b, e - b);
                },
                &message);
            break;
        }
        ASSERT_EQ(status, Status::success) << message;
        const std::uint64_t bound = ulp_bound<T>(c, pass);
        const Comparison r = compare(got.data(), want.data(), count, bound, [&](std::size_t i) {
          const T in = pass == Pass::forward ? x[i] : pass == Pass::backward ? s.a[i] : y[i];
          return (pass == Pass::forward ? "x=" : "in=") + show(in) +
                 (pass == Pass::forward ? "" : " dy=" + show(s.dy[i]));
        });
        std::printf("%-10s %-24s %-12s %8llu %6llu%s\n", type_name<T>(), c.name, to_string(pass),
                    static_cast<unsigned long long>(r.max_ulp),
                    static_cast<unsigned long long>(bound),
                    bound == 0                            ? " (bit-exact)"
                    : count == x.size() && sizeof(T) == 2 ? " (every input)"
                                                          : "");
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
  // 200,000 random values (20,000 for the smooth ops in double), or every 16-bit pattern.
  const auto inputs = [](std::size_t random) {
    std::vector<T> x;
    if constexpr (sizeof(T) == 2) {
      x = all_values<T>();
    } else {
      x = random_values<T>(random, 99);
    }
    for (T v : extremal_values<T>()) x.push_back(v);
    return x;
  };
  const std::vector<T> x_full = inputs(200'000), x_quad = inputs(20'000);
  for (const OpCase& c : op_cases()) {
    const std::vector<T>& x = quad_row<T>(c) ? x_quad : x_full;
    const std::vector<T> ones(x.size(), from_double<T>(1.0));
    std::vector<T> got(x.size()), want(x.size());
    ops::visit(c.act, [&](auto, auto op) {
      for (std::size_t i = 0; i < x.size(); ++i)
        got[i] = ops::narrow<T>(op.derivative(ops::widen(x[i])));
      std::string message;
      ASSERT_EQ(reference_parallel(
                    x.size(),
                    [&](std::size_t b, std::size_t e) {
                      return reference::backward(c.act, x.data() + b, ones.data() + b,
                                                 want.data() + b, e - b);
                    },
                    &message),
                Status::success)
          << message;
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

/// The largest ulp distance of mul_exp_neg's dy * k * e^-c from long double's, over c in
/// [c_lo, c_hi] (beyond exp_tail) and |dy| = 10^[e_lo, e_hi], both signs, k = 1 and 4.
template <class F>
std::uint64_t worst_tail_product(F c_lo, F c_hi, F e_lo, F e_hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<F> cs(c_lo, c_hi), exps(e_lo, e_hi);
  std::uint64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const F c = cs(rng), k = i % 3 ? F(1) : F(4);
    const F dy = static_cast<F>(std::pow(10.0, static_cast<double>(exps(rng)))) * (i % 2 ? 1 : -1);
    const F got = ops::detail::mul_exp_neg(dy, k, c);
    const F want =
        static_cast<F>(static_cast<long double>(dy) * k * std::exp(-static_cast<long double>(c)));
    worst = std::max(worst, ulp_distance(got, want));
  }
  return worst;
}

TEST(OpsMath, TailProductKeepsPrecision) {
  // double: c beyond double's exp underflow; float: beyond exp_tail (80) up to where every
  // product is 0, with no math-library call. Against long double, within 2 ulp.
  const std::uint64_t d = worst_tail_product<double>(700, 1500, -300, 308, 12);
  const std::uint64_t f = worst_tail_product<float>(80, 210, -44, 38, 13);
  std::printf("tail dy*k*e^-c: double max %llu ulp, float max %llu ulp\n",
              static_cast<unsigned long long>(d), static_cast<unsigned long long>(f));
  EXPECT_LE(d, 2u);
  EXPECT_LE(f, 2u);
  EXPECT_EQ(ops::detail::mul_exp_neg(3e38f, 4.0f, 1e30f), 0.0f);
  EXPECT_TRUE(std::signbit(ops::detail::mul_exp_neg(-3e38f, 4.0f, 300.0f)));
}

TEST(OpsMath, FloatTanhIsWithinTwoUlpEverywhere) {
  // Every 61st float up to 10 (beyond, tanh rounds to 1), both signs, against tanhl rounded once.
  std::uint64_t worst = 0;
  float worst_x = 0;
  for (std::uint32_t b = 0; b <= bits(10.0f); b += 61) {
    for (const float x : {from_bits<float>(b), -from_bits<float>(b)}) {
      const float want = static_cast<float>(std::tanh(static_cast<long double>(x)));
      const std::uint64_t d = ulp_distance(ops::math::tanh(x), want);
      if (d > worst) worst = d, worst_x = x;
    }
  }
  std::printf("float tanh: max %llu ulp (at %.9g)\n", static_cast<unsigned long long>(worst),
              worst_x);
  EXPECT_LE(worst, 2u) << "at x = " << worst_x;
  EXPECT_TRUE(std::signbit(ops::math::tanh(-0.0f)));
  EXPECT_EQ(ops::math::tanh(-1e-40f), -1e-40f);
  EXPECT_EQ(ops::math::tanh(20.0f), 1.0f);
  EXPECT_EQ(ops::math::tanh(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_TRUE(std::isnan(ops::math::tanh(std::nanf(""))));
}

TEST(OpsMath, DoubleExpAndTanhAgainstQuad) {
  // 2e6 random inputs over exp's whole range, near 0 and around tanh's switch at 0.55, against
  // __float128 rounded once: exp within 1 ulp, tanh within 2.
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> wide(-745.2, 709.78), mid(-20, 20), unit(-1, 1);
  std::uniform_int_distribution<int> scale(-60, 0);
  std::uint64_t worst_exp = 0, worst_tanh = 0;
  double at_exp = 0, at_tanh = 0;
  for (int i = 0; i < 2000000; ++i) {
    const double x = i % 3 == 0   ? wide(rng)
                     : i % 3 == 1 ? mid(rng)
                                  : std::ldexp(unit(rng), scale(rng));
    const auto e = ulp_distance(ops::math::exp(x), static_cast<double>(expq(x)));
    const auto t = ulp_distance(ops::math::tanh(x), static_cast<double>(tanhq(x)));
    if (e > worst_exp) worst_exp = e, at_exp = x;
    if (t > worst_tanh) worst_tanh = t, at_tanh = x;
  }
  std::printf("double exp: max %llu ulp (at %.17g); tanh: max %llu ulp (at %.17g)\n",
              static_cast<unsigned long long>(worst_exp), at_exp,
              static_cast<unsigned long long>(worst_tanh), at_tanh);
  EXPECT_LE(worst_exp, 1u) << "at x = " << at_exp;
  EXPECT_LE(worst_tanh, 2u) << "at x = " << at_tanh;
  // The edges: overflow, the last subnormals, the signs of tanh.
  EXPECT_TRUE(std::isinf(ops::math::exp(709.79)));
  EXPECT_LE(ulp_distance(ops::math::exp(709.78), static_cast<double>(expq(709.78))), 1u);
  EXPECT_EQ(ops::math::exp(-745.1), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(ops::math::exp(-745.2), 0.0);
  EXPECT_TRUE(std::isnan(ops::math::exp(std::nan(""))));
  EXPECT_TRUE(std::signbit(ops::math::tanh(-0.0)));
  EXPECT_EQ(ops::math::tanh(400.0), 1.0);
  EXPECT_EQ(ops::math::tanh(-1e-310), -1e-310);
}

}  // namespace
}  // namespace actlayer::testing
