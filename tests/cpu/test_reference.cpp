// The CPU reference against closed forms, against finite differences of itself, and its
// rounding against the CUDA headers' conversions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/numeric.hpp"
#include "reference/round.hpp"

namespace actlayer::testing {
namespace {

double ref_forward(const Activation& act, double x) {
  double y = 0;
  EXPECT_EQ(reference::forward(act, &x, &y, 1), Status::success) << last_error();
  return y;
}

double ref_derivative(const Activation& act, double x) {
  const double one = 1.0;
  double d = 0;
  EXPECT_EQ(reference::backward(act, &x, &one, &d, 1), Status::success) << last_error();
  return d;
}

// ---- Closed forms ---------------------------------------------------------------------------

struct ClosedForm {
  Activation act;
  double x, y, dydx;  // correctly rounded values (50-digit decimal arithmetic)
};

TEST(Reference, MatchesClosedFormsInDouble) {
  const Activation sig = Activation::sigmoid(), th = Activation::tanh();
  const ClosedForm rows[] = {
      {sig, 0, 0.5, 0.25},
      {sig, 1, 0.7310585786300049, 0.19661193324148185},
      {sig, -1, 0.2689414213699951, 0.19661193324148185},
      {sig, 2, 0.88079707797788243, 0.10499358540350652},
      {sig, -3, 0.047425873177566781, 0.04517665973091213},
      {sig, 0.5, 0.62245933120185459, 0.23500371220159449},
      {sig, 10, 0.99995460213129761, 4.5395807735951673e-05},
      {sig, -10, 4.5397868702434395e-05, 4.5395807735951673e-05},
      {th, 0, 0, 1},
      {th, 1, 0.76159415595576485, 0.41997434161402608},
      {th, -1, -0.76159415595576485, 0.41997434161402608},
      {th, 2, 0.9640275800758169, 0.070650824853164471},
      {th, -3, -0.99505475368673046, 0.0098660371654401904},
      {th, 0.5, 0.46211715726000974, 0.7864477329659274},
      {th, 10, 0.99999999587769273, 8.2446144557673968e-09},
      {Activation::relu(), 3.5, 3.5, 1},
      {Activation::relu(), -3.5, 0, 0},
      {Activation::leaky_relu(0.25f), -3.5, -0.875, 0.25},
      {Activation::leaky_relu_divisor(4.0f), -3.5, -0.875, 0.25},
      {Activation::leaky_relu_divisor(10.0f), -3.0, -0.3, 0.1},  // z/a as written: 3/10
      {Activation::rrelu(0.125f, 0.375f), -2, -0.5, 0.25},       // slope (l+u)/2
      {Activation::step(), 0, 1, 0},
      {Activation::step(), -1e-300, 0, 0},
      {Activation::identity(), -7.25, -7.25, 1},
      {Activation::gelu(), 1, 0.8413447460685429, 1.0833154705876864},
      {Activation::gelu(), -1, -0.15865525393145705, -0.0833154705876863},
      {Activation::gelu(), 2, 1.9544997361036416, 1.085231801078197},
      {Activation::gelu(), -3, -0.0040496940948902835, -0.011945647204183927},
      {Activation::gelu(), -0.5, -0.15426876936299344, 0.13250487534383715},
      {Activation::gelu(), 5, 4.999998566742141, 1.000007146946002},
      {Activation::gelu(), -10, -7.619853024160526e-23, -7.618400096464814e-22},
      {Activation::gelu_tanh(), 1, 0.8411919906082767, 1.0829640838457826},
      {Activation::gelu_tanh(), -1, -0.1588080093917233, -0.08296408384578255},
      {Activation::gelu_tanh(), -3, -0.003637392081773019, -0.011584166630969726},
      {Activation::gelu_tanh(), 0.5, 0.34571400982514394, 0.8673699035346423},
      // 1 + tanh(u) = 2.4e-38 here: evaluated as written it cancels 38 digits (even 40-digit
      // arithmetic gets -1.20419e-37); the reference uses 1/(1 + e^-2u).
      {Activation::gelu_tanh(), -10, -1.204092348209806e-37, -2.7576380638540315e-36},
      {Activation::hardsigmoid(0.25f, 0.5f), 1, 0.75, 0.25},
      {Activation::hardsigmoid(0.25f, 0.5f), -3, 0, 0},
      {Activation::hardswish(), 1, 2.0 / 3, 5.0 / 6},
      {Activation::hardswish(), -1, -1.0 / 3, 1.0 / 6},
      {Activation::hardswish(), 3, 3, 1.5},  // the left branch at the kink
      {Activation::hardswish(), -3, 0, 0},
      {Activation::hardtanh(), 0.25, 0.25, 1},
      {Activation::hardtanh(), -2, -1, 0},
      {Activation::relu6(), 7, 6, 0},
      {Activation::softshrink(), 2, 1.5, 1},
      {Activation::softshrink(), -0.5, 0, 0},
      {Activation::hardshrink(), 0.75, 0.75, 1},
      {Activation::hardshrink(), -0.25, 0, 0},
      {Activation::thresholded(1.0f, -2.0f), 0.5, -2, 0},
      {Activation::thresholded(1.0f, -2.0f), 1.5, 1.5, 1},
      {Activation::squared_relu(), 3, 9, 6},
      {Activation::squared_relu(), -3, 0, 0},
  };
  for (const ClosedForm& r : rows) {
    SCOPED_TRACE(::testing::Message() << "op " << static_cast<int>(r.act.op) << " x = " << r.x);
    EXPECT_LE(ulp_distance(ref_forward(r.act, r.x), r.y), 1u) << ref_forward(r.act, r.x);
    EXPECT_LE(ulp_distance(ref_derivative(r.act, r.x), r.dydx), 1u) << ref_derivative(r.act, r.x);
  }
}

TEST(Reference, DoubleResultsAreCorrectlyRounded) {
  // tanh of this double is closer than 2^-64 (relative) to a midpoint between two doubles: a
  // long double reference rounds it to ...8f4; correctly rounded (50 digits) it is ...8f5.
  const double x = from_bits<double>(0x3f5bc5953cc6510dULL);
  EXPECT_EQ(bits(ref_forward(Activation::tanh(), x)), 0x3f5bc5937e8848f5ULL);
  // Blended with alpha = 3: rounded once from the exact value, not from the rounded tanh.
  double y = 0;
  ASSERT_EQ(reference::forward(Activation::tanh(), &x, &y, 1, Blend{3.0f, 0.0f}), Status::success);
  EXPECT_EQ(y, static_cast<double>(3 * tanhq(static_cast<__float128>(x))));
}

TEST(Reference, QuadRoundsToDoubleToNearestEven) {
  using reference::detail::Quad;
  using reference::detail::round_to;
  const Quad one = 1, ulp = ldexpq(1, -52), tie = ulp / 2, tiny = ldexpq(1, -100);
  EXPECT_EQ(round_to<double>(one + tie), 1.0);                   // tie -> even
  EXPECT_EQ(round_to<double>(one + tie + tiny), 1.0 + 0x1p-52);  // just above the tie
  EXPECT_EQ(round_to<double>(one + 3 * tie), 1.0 + 0x1p-51);     // tie -> even (up)
  EXPECT_EQ(round_to<double>(ldexpq(3, -1075)), 0x1p-1073);      // subnormal tie -> even
  EXPECT_EQ(round_to<double>(ldexpq(1, -1075)), 0.0);            // half the smallest -> 0
  EXPECT_TRUE(std::signbit(round_to<double>(-ldexpq(1, -1100))));
  EXPECT_TRUE(std::isinf(round_to<double>(ldexpq(1, 1024))));
  EXPECT_EQ(round_to<double>(static_cast<Quad>(0x1.fffffffffffffp1023)), 0x1.fffffffffffffp1023);
  // Widening is exact.
  const double d = from_bits<double>(0x3ff123456789abcdULL);
  EXPECT_EQ(round_to<double>(reference::detail::exact(d)), d);
}

TEST(Reference, SigmoidKeepsSubnormalResultsInFloat) {
  // sigma(-100) = 3.72e-44 is a float subnormal: neither 0 nor rounded to a normal.
  const float x = -100.0f;
  float y = 1;
  ASSERT_EQ(reference::forward(Activation::sigmoid(), &x, &y, 1), Status::success);
  EXPECT_GT(y, 0.0f);
  EXPECT_LT(y, 1.1754944e-38f);
  EXPECT_NEAR(y, 3.720075976e-44, 1.5e-45);
}

TEST(Reference, DerivativesKeepRelativeAccuracyForLargeInputs) {
  // sigma'(z) ~ e^-|z| and tanh'(z) ~ 4e^-2|z|: the naive forms give exactly 0 here.
  for (double z : {40.0, -40.0, 300.0, -300.0}) {
    const double want_sigmoid = std::exp(-std::fabs(z));
    EXPECT_NEAR(ref_derivative(Activation::sigmoid(), z) / want_sigmoid, 1.0, 1e-15) << z;
  }
  for (double z : {20.0, -20.0, 150.0}) {
    const double want_tanh = 4 * std::exp(-2 * std::fabs(z));
    EXPECT_NEAR(ref_derivative(Activation::tanh(), z) / want_tanh, 1.0, 1e-14) << z;
  }
}

// ---- Finite differences -----------------------------------------------------------------

/// Within 10^-3 of a point where the smooth op's derivative (or the op) jumps: elu, selu and
/// celu at 0 (f' = alpha or lambda*alpha on the left), softplus at threshold/beta (the linear
/// region starts there).
bool near_kink(const Activation& act, double z) {
  switch (act.op) {
    case Op::elu:
    case Op::selu:
    case Op::celu:
      return std::fabs(z) < 1e-3;
    case Op::softplus:
      return std::fabs(z - static_cast<double>(act.threshold) / act.beta) < 1e-3;
    default:
      return false;
  }
}

/// Where an op's derivative jumps: central differences straddling one mean nothing.
std::vector<double> kinks(const Activation& act) {
  if (act.op == Op::hardtanh) return {act.lo, act.hi};
  if (act.op == Op::hardsigmoid && act.hard_slope != 0) {
    return {-act.hard_offset / act.hard_slope, (1 - act.hard_offset) / act.hard_slope};
  }
  if (act.op == Op::hardswish) return {-3, 3};
  if (act.op == Op::softshrink || act.op == Op::hardshrink) return {-act.lambda, act.lambda};
  if (act.op == Op::thresholded) return {act.threshold};
  return {0};
}

TEST(Reference, DerivativesMatchCentralDifferences) {
  // (f(z+h) - f(z-h)) / 2h in long double over double results: truncation ~h^2, rounding
  // ~1e-16/h; both ~1e-10 with h = 1e-5. Points within 1e-3 of a kink are skipped.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> dist(-8.0, 8.0);
  for (const OpCase& c : op_cases()) {
    const std::vector<double> at = kinks(c.act);
    for (int k = 0; k < 2000; ++k) {
      const double z = dist(rng);
      if (!c.smooth && std::fabs(z) < 1e-3) continue;
      if (near_kink(c.act, z)) continue;
      const auto near = [&](double kink) { return std::fabs(z - kink) < 1e-3; };
      if (std::any_of(at.begin(), at.end(), near)) continue;
      const double h = 1e-5;
      const long double fd = (static_cast<long double>(ref_forward(c.act, z + h)) -
                              static_cast<long double>(ref_forward(c.act, z - h))) /
                             (2.0L * h);
      const double d = ref_derivative(c.act, z);
      EXPECT_NEAR(static_cast<double>(fd), d, 1e-8 + 1e-7 * std::fabs(d))
          << c.name << " at z = " << z;
    }
  }
}

// ---- Rounding -----------------------------------------------------------------------------

template <class T>
void expect_rounding_matches_cuda_conversion() {
  // Every float converts to T by one rounding; the reference's rounding must agree bit for bit.
  std::mt19937_64 rng(11);
  for (int k = 0; k < 2'000'000; ++k) {
    const float f = from_bits<float>(static_cast<std::uint32_t>(rng()));
    const T want = from_double<T>(f);  // __float2half_rn / __float2bfloat16_rn
    const T got = reference::detail::round_to<T>(f);
    ASSERT_TRUE(same(got, want)) << f << ": " << show(got) << " vs " << show(want);
  }
}

TEST(Reference, RoundingToHalfMatchesCudaConversion) {
  expect_rounding_matches_cuda_conversion<__half>();
}
TEST(Reference, RoundingToBfloat16MatchesCudaConversion) {
  expect_rounding_matches_cuda_conversion<__nv_bfloat16>();
}

TEST(Reference, RoundingTiesAndOverflow) {
  using reference::detail::round_to;
  const auto h = [](long double v) { return to_double(round_to<__half>(v)); };
  EXPECT_EQ(h(1.0L + std::ldexp(1.0L, -11)), 1.0);                            // tie -> even
  EXPECT_EQ(h(1.0L + 3 * std::ldexp(1.0L, -11)), 1.0 + std::ldexp(1.0, -9));  // tie -> even
  EXPECT_EQ(h(1.0L + std::ldexp(1.0L, -11) + std::ldexp(1.0L, -40)), 1.0 + std::ldexp(1.0, -10));
  EXPECT_EQ(h(65519.99L), 65504.0);
  EXPECT_TRUE(std::isinf(h(65520.0L)));
  EXPECT_EQ(h(std::ldexp(1.0L, -25)), 0.0);  // half the smallest: even
  EXPECT_EQ(h(1.5L * std::ldexp(1.0L, -25)), std::ldexp(1.0, -24));
  EXPECT_TRUE(std::signbit(h(-std::ldexp(1.0L, -30))));  // -tiny -> -0
  const auto b = [](long double v) { return to_double(round_to<__nv_bfloat16>(v)); };
  EXPECT_EQ(b(1.0L + std::ldexp(1.0L, -8)), 1.0);
  EXPECT_EQ(b(1.0L + std::ldexp(1.0L, -8) + std::ldexp(1.0L, -60)), 1.0 + std::ldexp(1.0, -7));
  EXPECT_TRUE(std::isinf(b(std::ldexp(1.0L, 128))));
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::reference::detail {
namespace {

TEST(Reference, ABlendRoundsOnce) {
  // alpha*f + beta*old from the exact f, rounded once: in half, rounding f first and blending
  // the rounded value would differ for many inputs.
  std::size_t checked = 0;
  for (std::uint32_t b = 0; b < 65536; b += 7) {
    const __half x = actlayer::testing::from_bits<__half>(static_cast<std::uint16_t>(b));
    const Wide z = wide(x);
    if (std::isnan(z) || std::isinf(z)) continue;
    const __half old = __float2half_rn(0.3f);
    __half y = old;
    ASSERT_EQ(reference::forward(Activation::sigmoid(), &x, &y, 1, Blend{3.0f, 0.5f}),
              Status::success);
    const Wide sigma = 1.0L / (1.0L + std::exp(-z));
    const __half want = round_to<__half>(3.0L * sigma + 0.5L * wide(old));
    ASSERT_EQ(actlayer::testing::bits(y), actlayer::testing::bits(want)) << "x = " << double(z);
    ++checked;
  }
  EXPECT_GT(checked, 9000u);
}

}  // namespace
}  // namespace actlayer::reference::detail
