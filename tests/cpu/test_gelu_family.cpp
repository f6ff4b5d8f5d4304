// The traps of the GELUs, the hard clamps, the shrinks, thresholded and squared ReLU, each with
// an explicit test: the GELUs' far negative tails (tiny results at full relative accuracy,
// where erfc of a rounded argument or 1 + tanh would lose it), their derivatives through their
// zero crossings and times a large dy where they underflow; hardsigmoid's single rounding;
// squared ReLU's exact products; the output forms against the backward from x.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/compare.hpp"
#include "common/functors.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

/// The functor's forward or backward (dy given) against the reference, over xs: the worst ulp.
template <class T>
std::uint64_t worst_ulp(const Activation& act, Pass pass, const std::vector<T>& xs, T dy,
                        std::string* where) {
  const std::vector<T> dys(xs.size(), dy);
  std::vector<T> got(xs.size()), want(xs.size());
  ops::visit(act, [&](auto, auto op) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      got[i] = pass == Pass::forward ? host_forward(op, xs[i]) : host_backward(op, xs[i], dy);
    }
  });
  const Status s = pass == Pass::forward
                       ? reference::forward(act, xs.data(), want.data(), xs.size())
                       : reference::backward(act, xs.data(), dys.data(), want.data(), xs.size());
  EXPECT_EQ(s, Status::success) << last_error();
  std::uint64_t worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::uint64_t d = ulp_distance(got[i], want[i]);
    if (d > worst) {
      worst = d;
      *where = "x = " + show(xs[i]) + ": got " + show(got[i]) + ", want " + show(want[i]);
    }
    // A result the reference finds nonzero is nonzero here too (and vice versa).
    EXPECT_EQ(to_double(got[i]) == 0, to_double(want[i]) == 0) << show(xs[i]);
  }
  return worst;
}

std::vector<double> grid(double from, double to, int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = from + (to - from) * (i + 0.5) / n;
  return v;
}

TEST(GeluTraps, FarNegativeTailsKeepRelativeAccuracy) {
  // gelu(z) ~ -phi(z) for z -> -inf: 1e-300 at z = -37, subnormal below -37.5. As written,
  // 0.5 z erfc(-z/sqrt 2) in double is off by ~z^2 ulp (erfc amplifies the rounding of
  // z/sqrt 2): check that the trap is real, and that the functor stays within its bounds.
  const std::vector<double> z = grid(-38.6, -1.0, 12000);
  double naive_worst = 0;
  for (double v : z) {
    const double naive = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
    double want = 0;
    ASSERT_EQ(reference::forward(Activation::gelu(), &v, &want, 1), Status::success);
    if (std::fabs(want) > DBL_MIN) {  // normal results: a relative error means something
      naive_worst = std::max(naive_worst, std::fabs(naive / want - 1) / 0x1p-53);
    }
  }
  std::printf("gelu tail: 0.5 z erfc(-z/sqrt 2) in double is off by up to %.0f ulp\n", naive_worst);
  EXPECT_GT(naive_worst, 100);
  std::string where;
  for (const Activation& act : {Activation::gelu(), Activation::gelu_tanh()}) {
    const std::uint64_t fwd = worst_ulp<double>(act, Pass::forward, z, 1.0, &where);
    EXPECT_LE(fwd, 4u) << to_string(act.op) << " " << where;
    const std::uint64_t bwd = worst_ulp<double>(act, Pass::backward, z, 1.0, &where);
    EXPECT_LE(bwd, 8u) << to_string(act.op) << " " << where;
    std::printf("%s, z in [-38.6, -1], double: forward %llu ulp, derivative %llu ulp\n",
                to_string(act.op), static_cast<unsigned long long>(fwd),
                static_cast<unsigned long long>(bwd));
  }
  // gelu_tanh as written, z/2 (1 + tanh u): 1 + tanh u cancels to 0 from z = -7 on, where the
  // result is still 1e-20 and far from underflowing.
  const double v = -8.0;
  const double u = std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v);
  EXPECT_EQ(v / 2 * (1 + std::tanh(u)), 0.0);
  double want = 0;
  ASSERT_EQ(reference::forward(Activation::gelu_tanh(), &v, &want, 1), Status::success);
  EXPECT_LT(want, -1e-30);
  EXPECT_LE(ulp_distance(host_forward(ops::GeluTanh{}, v), want), 4u);
  // Float: the same tails down to the subnormals (z = -14 for gelu, -11 for gelu_tanh).
  std::vector<float> zf;
  for (double d : grid(-16.0, -1.0, 12000)) zf.push_back(static_cast<float>(d));
  for (const Activation& act : {Activation::gelu(), Activation::gelu_tanh()}) {
    EXPECT_LE(worst_ulp<float>(act, Pass::forward, zf, 1.0f, &where), 4u) << where;
    EXPECT_LE(worst_ulp<float>(act, Pass::backward, zf, 1.0f, &where), 8u) << where;
  }
}

TEST(GeluTraps, SaturatedDerivativesTimesLargeGradients) {
  // Where gelu'(z) underflows (z < -38.5: e^(-z^2/2) < 1e-322), dy * gelu'(z) is still a normal
  // double for a large dy: dy = 1e300 at z = -50 gives -8e-242. The product must keep dy's
  // precision, not multiply by a subnormal or zero derivative.
  std::string where;
  for (double dy : {1e300, -DBL_MAX, 3e250, 1e-300}) {
    const std::uint64_t erf =
        worst_ulp<double>(Activation::gelu(), Pass::backward, grid(-54.0, -30.0, 4000), dy, &where);
    EXPECT_LE(erf, 8u) << "dy = " << dy << " " << where;
    const std::uint64_t th = worst_ulp<double>(Activation::gelu_tanh(), Pass::backward,
                                               grid(-26.0, -6.0, 4000), dy, &where);
    EXPECT_LE(th, 8u) << "dy = " << dy << " " << where;
  }
  const double z = -50.0, dy = 1e300;
  double dx = 0;
  ASSERT_EQ(reference::backward(Activation::gelu(), &z, &dy, &dx, 1), Status::success);
  EXPECT_LT(dx, -1e-250);  // normal, not 0
  EXPECT_LE(ulp_distance(host_backward(ops::Gelu{}, z, dy), dx), 8u);
  // Float: dy = 3e38 meets a derivative down to 1e-83.
  std::vector<float> zf;
  for (double d : grid(-20.0, -8.0, 4000)) zf.push_back(static_cast<float>(d));
  for (const Activation& act : {Activation::gelu(), Activation::gelu_tanh()}) {
    EXPECT_LE(worst_ulp<float>(act, Pass::backward, zf, 3e38f, &where), 8u) << where;
  }
}

template <class T>
void expect_accurate_through_the_zero(const Activation& act, double root) {
  // The derivative crosses zero at `root` (irrational): next to it, Phi(z) + z phi(z) (or
  // sigma(W) + z W' sigma(W) sigma(-W)) cancels to nothing; the relative accuracy must hold.
  std::vector<T> z;
  T below = from_double<T>(root), above = below;
  for (int i = 0; i < 2000; ++i) {
    z.push_back(below);
    z.push_back(above);
    below = std::nextafter(below, T(-1));
    above = std::nextafter(above, T(0));
  }
  for (double d : grid(root - 0.4, root + 0.4, 8000)) z.push_back(from_double<T>(d));
  std::string where;
  const std::uint64_t worst = worst_ulp<T>(act, Pass::backward, z, T(1), &where);
  std::printf("%s' next to its zero at %.17g, %s: %llu ulp\n", to_string(act.op), root,
              type_name<T>(), static_cast<unsigned long long>(worst));
  EXPECT_LE(worst, 8u) << where;
  // The sign changes exactly at the root.
  for (T v : z) {
    T g = 0;
    const T one = 1;
    ASSERT_EQ(reference::backward(act, &v, &one, &g, 1), Status::success);
    EXPECT_EQ(g > 0, to_double(v) > root) << show(v);
    ops::visit(act, [&](auto, auto op) { EXPECT_EQ(host_backward(op, v, one) > 0, g > 0); });
  }
}

TEST(GeluTraps, DerivativesKeepRelativeAccuracyThroughTheirZero) {
  const double gelu_root = -0.75179152469356446, gelu_tanh_root = -0.75246142207101626;
  expect_accurate_through_the_zero<double>(Activation::gelu(), gelu_root);
  expect_accurate_through_the_zero<float>(Activation::gelu(), gelu_root);
  expect_accurate_through_the_zero<double>(Activation::gelu_tanh(), gelu_tanh_root);
  expect_accurate_through_the_zero<float>(Activation::gelu_tanh(), gelu_tanh_root);
}

TEST(HardSigmoid, RoundsTheExactValueOnce) {
  // y = RN(a z + b), not RN(RN(a z) + b): find inputs where the two differ (they exist for
  // PyTorch's a = 1/6 rounded to float) and check that the functor and the reference agree on
  // the single rounding, in float and double.
  const Activation act = Activation::hardsigmoid();
  const float a = act.hard_slope, b = act.hard_offset;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> in(-3.0f, 3.0f);
  int found = 0;
  for (int i = 0; i < 200000 && found < 200; ++i) {
    const float z = in(rng);
    const float once = std::fma(a, z, b), twice = a * z + b;
    if (once == twice || !(once > 0 && once < 1)) continue;
    ++found;
    float want = 0;
    ASSERT_EQ(reference::forward(act, &z, &want, 1), Status::success);
    EXPECT_EQ(bits(want), bits(once)) << z;
    EXPECT_EQ(bits(host_forward(ops::HardSigmoid::from(act), z)), bits(once)) << z;
    const double zd = z, once_d = std::fma(double{a}, zd, double{b});
    double want_d = 0;
    ASSERT_EQ(reference::forward(act, &zd, &want_d, 1), Status::success);
    EXPECT_EQ(bits(want_d), bits(once_d)) << z;
    EXPECT_EQ(bits(host_forward(ops::HardSigmoid::from(act), zd)), bits(once_d)) << z;
  }
  EXPECT_GE(found, 100);
  // PyTorch's kinks are +-3; with the float 1/6 they are at +-2.99999991: z = 3 is flat (y = 1)
  // and its derivative 0, z = -3 too (a z + b = -1.5e-8).
  for (float z : {3.0f, -3.0f}) {
    const float one = 1;
    float y = -1, d = -1;
    ASSERT_EQ(reference::forward(act, &z, &y, 1), Status::success);
    ASSERT_EQ(reference::backward(act, &z, &one, &d, 1), Status::success);
    EXPECT_EQ(y, z > 0 ? 1.0f : 0.0f);
    EXPECT_EQ(d, 0.0f);
  }
}

template <class T>
void expect_squared_relu_exact() {
  // z*z and dy * 2z rounded once, whatever their size: bit-exact (the sweep's bound for the
  // class is 4 and 8 ulp, because the output form's 2 sqrt(y) is not exact).
  std::vector<T> x = random_values<T>(200000, 17);
  const std::vector<T> ex = extremal_values<T>();
  x.insert(x.end(), ex.begin(), ex.end());
  const std::vector<T> dy = random_gradients<T>(x.size(), 5);
  std::vector<T> y(x.size()), dx(x.size());
  ASSERT_EQ(reference::forward(Activation::squared_relu(), x.data(), y.data(), x.size()),
            Status::success);
  ASSERT_EQ(
      reference::backward(Activation::squared_relu(), x.data(), dy.data(), dx.data(), x.size()),
      Status::success);
  const ops::SquaredRelu op;
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(same(host_forward(op, x[i]), y[i])) << show(x[i]);
    ASSERT_TRUE(same(host_backward(op, x[i], dy[i]), dx[i])) << show(x[i]) << " " << show(dy[i]);
  }
  // 2z overflows for z > max/2, dy * 2z need not: 0.25 * 2 * 0.75 max = 0.375 max.
  const T big = std::is_same_v<T, float> ? T(FLT_MAX * 0.75f) : T(DBL_MAX * 0.75);
  const T quarter = T(0.25);
  EXPECT_EQ(host_backward(op, big, quarter), big / T(2));
  EXPECT_TRUE(std::isinf(to_double(host_forward(op, big))));
}

TEST(SquaredRelu, ForwardAndBackwardAreBitExact) {
  expect_squared_relu_exact<float>();
  expect_squared_relu_exact<double>();
}

template <class T>
void expect_output_form_equals_backward() {
  // For the piecewise ops in float and double, f' from y = f(x) is f'(x), bit for bit: y lands
  // on the same piece as x (a bound or the fill value is exact in T, z -+ lambda never rounds
  // to 0, and hardsigmoid's interior is defined on a z + b as rounded to T).
  const std::vector<T> x = random_values<T>(100000, 23);
  const std::vector<T> dy = random_gradients<T>(x.size(), 29);
  std::vector<T> y(x.size()), from_x(x.size()), from_y(x.size());
  int rows = 0;
  for (const OpCase& c : op_cases()) {
    if (!c.from_output || c.smooth) continue;
    if (c.act.op < Op::hardsigmoid) continue;  // this family
    ++rows;
    ASSERT_EQ(reference::forward(c.act, x.data(), y.data(), x.size()), Status::success);
    ASSERT_EQ(reference::backward(c.act, x.data(), dy.data(), from_x.data(), x.size()),
              Status::success);
    ASSERT_EQ(reference::backward_from_output(c.act, y.data(), dy.data(), from_y.data(), x.size()),
              Status::success);
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(same(from_x[i], from_y[i]))
          << c.name << " x = " << show(x[i]) << " y = " << show(y[i]) << " dy = " << show(dy[i]);
    }
  }
  EXPECT_GE(rows, 10);
}

TEST(OutputForms, PiecewiseOpsGiveTheBackwardFromXInFloatAndDouble) {
  expect_output_form_equals_backward<float>();
  expect_output_form_equals_backward<double>();
}

TEST(NamedConstructors, Relu6AndClippedReluAreHardtanh) {
  const Activation r6 = Activation::relu6(), c = Activation::clipped_relu(20.0f);
  EXPECT_EQ(r6.op, Op::hardtanh);
  EXPECT_EQ(r6.lo, 0.0f);
  EXPECT_EQ(r6.hi, 6.0f);
  EXPECT_EQ(c.op, Op::hardtanh);
  EXPECT_EQ(c.hi, 20.0f);
  EXPECT_STREQ(to_string(r6.op), "hardtanh");
  const Activation t = Activation::thresholded();
  EXPECT_EQ(t.threshold, 20.0f);  // the field's default (softplus's): give the threshold
  EXPECT_EQ(t.value, 0.0f);
  EXPECT_EQ(Activation::thresholded(0.5f).value, 0.0f);  // ONNX ThresholdedRelu(alpha)
  EXPECT_EQ(Activation::hardsigmoid().hard_slope, 1.0f / 6);
}

}  // namespace
}  // namespace actlayer::testing
