// The conventions of docs/design.md §3 (NaN, infinities, signed zero, the derivative at 0),
// checked value by value on both the CPU reference and the ops.cuh functors on the host, in
// every element type.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/cases.hpp"
#include "common/functors.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Expectation {
  const char* what;
  Activation act;
  Pass pass;
  double in;  // x (or y for the output form)
  double dy;
  double want;  // NaN: any NaN; otherwise the exact value, sign of zero included
};

template <class T>
T reference_result(const Activation& act, Pass pass, T in, T dy) {
  T out = from_double<T>(-12345.0);
  Status s = Status::success;
  switch (pass) {
    case Pass::forward:
      s = reference::forward(act, &in, &out, 1);
      break;
    case Pass::backward:
      s = reference::backward(act, &in, &dy, &out, 1);
      break;
    case Pass::backward_from_output:
      s = reference::backward_from_output(act, &in, &dy, &out, 1);
      break;
  }
  EXPECT_EQ(s, Status::success) << last_error();
  return out;
}

template <class T>
T functor_result(const Activation& act, Pass pass, T in, T dy) {
  T out = from_double<T>(-12345.0);
  ops::visit(act, [&](auto, auto op) {
    switch (pass) {
      case Pass::forward:
        out = host_forward(op, in);
        break;
      case Pass::backward:
        out = host_backward(op, in, dy);
        break;
      case Pass::backward_from_output:
        out = host_backward_from_output(op, in, dy);
        break;
    }
  });
  return out;
}

template <class T>
void check(const Expectation& e) {
  const T in = from_double<T>(e.in), dy = from_double<T>(e.dy);
  const T want = from_double<T>(e.want);
  const T ref = reference_result(e.act, e.pass, in, dy);
  const T fun = functor_result(e.act, e.pass, in, dy);
  EXPECT_TRUE(same(ref, want)) << type_name<T>() << " reference: " << e.what << ": got "
                               << show(ref) << ", want " << show(want);
  EXPECT_TRUE(same(fun, want)) << type_name<T>() << " ops.cuh: " << e.what << ": got " << show(fun)
                               << ", want " << show(want);
}

template <class T>
class Conventions : public ::testing::Test {};
TYPED_TEST_SUITE(Conventions, ElementTypes);

TYPED_TEST(Conventions, SignedZeroAndTheDerivativeAtZero) {
  const Activation relu = Activation::relu(), leaky = Activation::leaky_relu(0.25f);
  const Expectation rows[] = {
      {"relu(-0) = +0", relu, Pass::forward, -0.0, 0, +0.0},
      {"relu(+0) = +0", relu, Pass::forward, +0.0, 0, +0.0},
      {"relu(-3) = +0", relu, Pass::forward, -3.0, 0, +0.0},
      {"leaky(-0) = -0 (z >= 0 branch)", leaky, Pass::forward, -0.0, 0, -0.0},
      {"identity(-0) = -0", Activation::identity(), Pass::forward, -0.0, 0, -0.0},
      {"step(-0) = 1", Activation::step(), Pass::forward, -0.0, 0, 1.0},
      {"step(-tiny) = +0", Activation::step(), Pass::forward, -1e-4, 0, +0.0},
      {"relu'(0) = 0 (left branch)", relu, Pass::backward, 0.0, 1.0, +0.0},
      {"relu'(-0) = 0", relu, Pass::backward, -0.0, 1.0, +0.0},
      {"relu' of a negative z times a negative dy is +0", relu, Pass::backward, -2.0, -5.0, +0.0},
      {"leaky'(0) = slope (left branch)", leaky, Pass::backward, 0.0, 1.0, 0.25},
      {"leaky'(+tiny) = 1", leaky, Pass::backward, 1e-4, 3.0, 3.0},
      {"step' = +0 for a negative dy", Activation::step(), Pass::backward, 2.0, -4.0, +0.0},
      {"identity passes -0", Activation::identity(), Pass::backward, 5.0, -0.0, -0.0},
      {"relu from y = 0 is the left branch", relu, Pass::backward_from_output, 0.0, 1.0, +0.0},
      {"leaky from y = -0.5", leaky, Pass::backward_from_output, -0.5, 2.0, 0.5},
  };
  for (const Expectation& e : rows) check<TypeParam>(e);
}

TYPED_TEST(Conventions, InfinitiesAndZeroSlopes) {
  const Activation sig = Activation::sigmoid(), th = Activation::tanh();
  const Activation flat = Activation::leaky_relu(0.0f), leaky = Activation::leaky_relu(0.25f);
  const Expectation rows[] = {
      {"sigmoid(-inf) = 0", sig, Pass::forward, -kInf, 0, 0.0},
      {"sigmoid(+inf) = 1", sig, Pass::forward, kInf, 0, 1.0},
      {"tanh(+-inf) = +-1", th, Pass::forward, -kInf, 0, -1.0},
      {"sigmoid'(+inf) = +0", sig, Pass::backward, kInf, 3.0, +0.0},
      {"sigmoid'(-inf) * -3 = +0", sig, Pass::backward, -kInf, -3.0, +0.0},
      {"sigmoid'(+inf) * inf = +0 (flat)", sig, Pass::backward, kInf, kInf, +0.0},
      {"tanh'(-inf) * -inf = +0 (flat)", th, Pass::backward, -kInf, -kInf, +0.0},
      {"sigmoid'(5) * inf = inf", sig, Pass::backward, 5.0, kInf, kInf},
      {"tanh'(-7) * -inf = -inf", th, Pass::backward, -7.0, -kInf, -kInf},
      {"sigmoid from y = 1: flat", sig, Pass::backward_from_output, 1.0, kInf, +0.0},
      {"tanh from y = -1: flat", th, Pass::backward_from_output, -1.0, -kInf, +0.0},
      {"zero slope * -inf = +0", flat, Pass::forward, -kInf, 0, +0.0},
      {"zero slope * -3 = +0", flat, Pass::forward, -3.0, 0, +0.0},
      {"zero slope: dx = +0 for dy = inf", flat, Pass::backward, -1.0, kInf, +0.0},
      {"slope * -inf = -inf", leaky, Pass::forward, -kInf, 0, -kInf},
      {"leaky': slope * -inf", leaky, Pass::backward, -1.0, -kInf, -kInf},
      {"relu(+inf) = +inf", Activation::relu(), Pass::forward, kInf, 0, kInf},
      {"relu': flat region times inf = +0", Activation::relu(), Pass::backward, -1.0, kInf, +0.0},
      {"step': +0 even for dy = -inf", Activation::step(), Pass::backward, 1.0, -kInf, +0.0},
  };
  for (const Expectation& e : rows) check<TypeParam>(e);
}

TYPED_TEST(Conventions, LargeFiniteInputsKeepAnInfiniteGradientInfinite) {
  // f'(z) > 0 for every finite z, however far it underflows: inf * f'(z) = inf.
  using T = TypeParam;
  const double z = std::is_same_v<T, double> ? 1000.0 : sizeof(T) == 2 ? 60000.0 : 300.0;
  const Expectation rows[] = {
      {"sigmoid'(large) * inf", Activation::sigmoid(), Pass::backward, z, kInf, kInf},
      {"sigmoid'(-large) * -inf", Activation::sigmoid(), Pass::backward, -z, -kInf, -kInf},
      {"tanh'(large) * inf", Activation::tanh(), Pass::backward, z, kInf, kInf},
  };
  for (const Expectation& e : rows) check<T>(e);
}

TYPED_TEST(Conventions, ExpFamilyZerosInfinitiesAndKinks) {
  using T = TypeParam;
  const Activation elu = Activation::elu(), elu_half = Activation::elu(0.5f);
  const Activation celu_neg = Activation::celu(-1.5f), silu = Activation::silu();
  const Activation sp = Activation::softplus(), ls = Activation::logsigmoid();
  const Activation ss = Activation::softsign(), ts = Activation::tanhshrink();
  const Activation mish = Activation::mish();
  // Large enough to saturate every derivative in T, finite in T.
  const double big = std::is_same_v<T, double> ? 1000.0 : sizeof(T) == 2 ? 60000.0 : 300.0;
  const Expectation rows[] = {
      // Signed zero: odd-looking ops keep -0 (the z >= 0 branch, or z times a positive factor).
      {"elu(-0) = -0", elu, Pass::forward, -0.0, 0, -0.0},
      {"selu(-0) = -0", Activation::selu(), Pass::forward, -0.0, 0, -0.0},
      {"celu(-0) = -0", Activation::celu(), Pass::forward, -0.0, 0, -0.0},
      {"silu(-0) = -0", silu, Pass::forward, -0.0, 0, -0.0},
      {"swish(-0) = -0", Activation::swish(2.0f), Pass::forward, -0.0, 0, -0.0},
      {"mish(-0) = -0", mish, Pass::forward, -0.0, 0, -0.0},
      {"softsign(-0) = -0", ss, Pass::forward, -0.0, 0, -0.0},
      {"tanhshrink(-0) = -0", ts, Pass::forward, -0.0, 0, -0.0},
      {"elu(0) with alpha 0 on the left: +0", Activation::elu(0.0f), Pass::forward, -2.0, 0, 0.0},
      // The derivative at 0 takes the left branch.
      {"elu'(0) = alpha (left branch)", elu_half, Pass::backward, 0.0, 1.0, 0.5},
      {"elu'(+tiny) = 1", elu_half, Pass::backward, 1e-3, 1.0, 1.0},
      {"celu'(0) = 1", Activation::celu(0.5f), Pass::backward, 0.0, 2.0, 2.0},
      {"elu from y = 0: alpha (left branch)", elu_half, Pass::backward_from_output, 0.0, 1.0, 0.5},
      {"softplus' at beta z = threshold: sigma (left branch)", Activation::softplus(1.0f, 0.0f),
       Pass::backward, 0.0, 1.0, 0.5},
      {"tanhshrink'(0) = +0 (flat) even for dy < 0", ts, Pass::backward, 0.0, -3.0, 0.0},
      // Limits at +-inf.
      {"elu(-inf) = -alpha", elu_half, Pass::forward, -kInf, 0, -0.5},
      {"elu'(-inf) = +0 (flat)", elu, Pass::backward, -kInf, -kInf, 0.0},
      {"celu(-1.5)(-inf) = -inf", celu_neg, Pass::forward, -kInf, 0, -kInf},
      {"silu(-inf) = -0 (from below)", silu, Pass::forward, -kInf, 0, -0.0},
      {"silu(+inf) = +inf", silu, Pass::forward, kInf, 0, kInf},
      {"silu'(-inf) = +0 (flat)", silu, Pass::backward, -kInf, kInf, 0.0},
      {"silu'(+inf) = 1", silu, Pass::backward, kInf, -2.0, -2.0},
      {"swish(-0.5)(+inf) = +0", Activation::swish(-0.5f), Pass::forward, kInf, 0, 0.0},
      {"swish(0)(-inf) = -inf", Activation::swish(0.0f), Pass::forward, -kInf, 0, -kInf},
      {"mish(-inf) = -0 (from below)", mish, Pass::forward, -kInf, 0, -0.0},
      {"mish'(-inf) = +0 (flat)", mish, Pass::backward, -kInf, -kInf, 0.0},
      {"softplus(-inf) = +0", sp, Pass::forward, -kInf, 0, 0.0},
      {"softplus(+inf) = +inf", sp, Pass::forward, kInf, 0, kInf},
      {"softplus'(-inf) = +0 (flat)", sp, Pass::backward, -kInf, kInf, 0.0},
      {"logsigmoid(+inf) = -0", ls, Pass::forward, kInf, 0, -0.0},
      {"logsigmoid(-inf) = -inf", ls, Pass::forward, -kInf, 0, -kInf},
      {"logsigmoid'(+inf) = +0 (flat)", ls, Pass::backward, kInf, kInf, 0.0},
      {"logsigmoid'(-inf) = 1", ls, Pass::backward, -kInf, 3.0, 3.0},
      {"softsign(+-inf) = +-1", ss, Pass::forward, -kInf, 0, -1.0},
      {"softsign'(inf) = +0 (flat)", ss, Pass::backward, kInf, -kInf, 0.0},
      {"tanhshrink(-inf) = -inf", ts, Pass::forward, -kInf, 0, -kInf},
      {"tanhshrink'(inf) = 1", ts, Pass::backward, kInf, 3.0, 3.0},
      // The output forms at their flat points.
      {"softsign from y = 1: flat", ss, Pass::backward_from_output, 1.0, kInf, 0.0},
      {"logsigmoid from y = -0: flat", ls, Pass::backward_from_output, -0.0, -3.0, 0.0},
      {"elu from y = -alpha: flat", elu, Pass::backward_from_output, -1.0, kInf, 0.0},
      {"softplus from y = 0: flat", sp, Pass::backward_from_output, 0.0, -kInf, 0.0},
      // f'(z) != 0 for every finite z, however far it underflows: an infinite dy stays
      // infinite, with the sign of f' (silu' and mish' are negative on the far left).
      {"silu'(-large) * inf = -inf", silu, Pass::backward, -big, kInf, -kInf},
      {"mish'(-large) * inf = -inf", mish, Pass::backward, -big, kInf, -kInf},
      {"swish(1.5)'(-large) * -inf = +inf", Activation::swish(1.5f), Pass::backward, -big, -kInf,
       kInf},
      {"elu'(-large) * inf = inf", elu, Pass::backward, -big, kInf, kInf},
      {"selu'(-large) * -inf = -inf", Activation::selu(), Pass::backward, -big, -kInf, -kInf},
      {"celu(0.3)'(-large) * inf = inf", Activation::celu(0.3f), Pass::backward, -big, kInf, kInf},
      {"softplus'(-large) * inf = inf", sp, Pass::backward, -big, kInf, kInf},
      {"logsigmoid'(large) * inf = inf", ls, Pass::backward, big, kInf, kInf},
      {"softsign'(large) * inf = inf", ss, Pass::backward, big, kInf, kInf},
      {"celu(-1.5)'(-large) * 0 = 0 (f' finite)", celu_neg, Pass::backward, -big, 0.0, 0.0},
  };
  for (const Expectation& e : rows) check<T>(e);
}

TYPED_TEST(Conventions, GeluClampsShrinksAndThresholds) {
  // Signed zeros, infinities, the derivative at every kink (0, the flat side's, where a flat
  // piece meets a sloped one; hardswish's left branch at 3) and zero factors against infinities.
  using T = TypeParam;
  const Activation gelu = Activation::gelu(), gt = Activation::gelu_tanh();
  const Activation hs = Activation::hardsigmoid(), hsw = Activation::hardswish();
  const Activation ht = Activation::hardtanh(), r6 = Activation::relu6();
  const Activation ss = Activation::softshrink(), hsh = Activation::hardshrink();
  const Activation th = Activation::thresholded(1.0f, -0.0f), sq = Activation::squared_relu();
  const Activation flat_hs = Activation::hardsigmoid(0.0f, 0.75f);
  const double big = std::is_same_v<T, double> ? 1000.0 : sizeof(T) == 2 ? 60000.0 : 300.0;
  const Expectation rows[] = {
      {"gelu(-0) = -0", gelu, Pass::forward, -0.0, 0, -0.0},
      {"gelu(+0) = +0", gelu, Pass::forward, 0.0, 0, 0.0},
      {"gelu(-inf) = -0 (the limit from below)", gelu, Pass::forward, -kInf, 0, -0.0},
      {"gelu(+inf) = +inf", gelu, Pass::forward, kInf, 0, kInf},
      {"gelu(-large) = -0 (underflow)", gelu, Pass::forward, -big, 0, -0.0},
      {"gelu'(+inf) = 1", gelu, Pass::backward, kInf, -3.0, -3.0},
      {"gelu'(-inf) * inf = +0 (flat)", gelu, Pass::backward, -kInf, kInf, +0.0},
      {"gelu'(0) = 1/2", gelu, Pass::backward, 0.0, 1.0, 0.5},
      {"gelu'(-large) < 0: * inf = -inf", gelu, Pass::backward, -big, kInf, -kInf},
      {"gelu'(-0.5) > 0: * -inf = -inf", gelu, Pass::backward, -0.5, -kInf, -kInf},
      {"gelu'(-1) < 0: * inf = -inf", gelu, Pass::backward, -1.0, kInf, -kInf},
      {"gelu_tanh(-0) = -0", gt, Pass::forward, -0.0, 0, -0.0},
      {"gelu_tanh(-inf) = -0", gt, Pass::forward, -kInf, 0, -0.0},
      {"gelu_tanh(+inf) = +inf", gt, Pass::forward, kInf, 0, kInf},
      {"gelu_tanh'(+inf) = 1", gt, Pass::backward, kInf, 2.0, 2.0},
      {"gelu_tanh'(-inf) * -inf = +0 (flat)", gt, Pass::backward, -kInf, -kInf, +0.0},
      {"gelu_tanh'(-large) * inf = -inf", gt, Pass::backward, -big, kInf, -kInf},
      {"hardsigmoid(-3) = +0 (below the kink)", hs, Pass::forward, -3.0, 0, +0.0},
      {"hardsigmoid(+inf) = 1", hs, Pass::forward, kInf, 0, 1.0},
      {"hardsigmoid(0) = 1/2", hs, Pass::forward, 0.0, 0, 0.5},
      {"hardsigmoid'(3) = 0 (flat side)", hs, Pass::backward, 3.0, 1.0, +0.0},
      {"hardsigmoid'(-4) * inf = +0", hs, Pass::backward, -4.0, kInf, +0.0},
      {"hardsigmoid from y = 1: flat", hs, Pass::backward_from_output, 1.0, kInf, +0.0},
      {"hardsigmoid from y = 0: flat", hs, Pass::backward_from_output, 0.0, 1.0, +0.0},
      {"slope 0: y = offset at -inf", flat_hs, Pass::forward, -kInf, 0, 0.75},
      {"slope 0: dx = +0 for dy = inf", flat_hs, Pass::backward, 0.5, kInf, +0.0},
      {"hardswish(-0) = -0", hsw, Pass::forward, -0.0, 0, -0.0},
      {"hardswish(-3) = +0", hsw, Pass::forward, -3.0, 0, +0.0},
      {"hardswish(-inf) = +0", hsw, Pass::forward, -kInf, 0, +0.0},
      {"hardswish(3) = 3", hsw, Pass::forward, 3.0, 0, 3.0},
      {"hardswish'(-3) = 0 (left branch)", hsw, Pass::backward, -3.0, 1.0, +0.0},
      {"hardswish'(3) = 3/2 (left branch)", hsw, Pass::backward, 3.0, 2.0, 3.0},
      {"hardswish'(-1.5) = 0: * inf = +0", hsw, Pass::backward, -1.5, kInf, +0.0},
      {"hardtanh(-0) = -0 (inside)", ht, Pass::forward, -0.0, 0, -0.0},
      {"hardtanh(-inf) = -1", ht, Pass::forward, -kInf, 0, -1.0},
      {"hardtanh'(1) = 0 (the bound)", ht, Pass::backward, 1.0, 1.0, +0.0},
      {"hardtanh'(-1) = 0 (the bound)", ht, Pass::backward, -1.0, 1.0, +0.0},
      {"hardtanh from y = 1: flat", ht, Pass::backward_from_output, 1.0, 5.0, +0.0},
      {"hardtanh from y = 0.5", ht, Pass::backward_from_output, 0.5, 5.0, 5.0},
      {"relu6(-0) = +0 (clamped to the bound 0)", r6, Pass::forward, -0.0, 0, +0.0},
      {"relu6(+inf) = 6", r6, Pass::forward, kInf, 0, 6.0},
      {"relu6'(6) = 0", r6, Pass::backward, 6.0, -kInf, +0.0},
      {"softshrink(0.5) = +0", ss, Pass::forward, 0.5, 0, +0.0},
      {"softshrink(-0.5) = +0", ss, Pass::forward, -0.5, 0, +0.0},
      {"softshrink(-inf) = -inf", ss, Pass::forward, -kInf, 0, -kInf},
      {"softshrink'(-0.5) = 0", ss, Pass::backward, -0.5, kInf, +0.0},
      {"softshrink from y = 0: flat", ss, Pass::backward_from_output, 0.0, 1.0, +0.0},
      {"softshrink from y = -0.25", ss, Pass::backward_from_output, -0.25, 3.0, 3.0},
      {"hardshrink(0.5) = +0", hsh, Pass::forward, 0.5, 0, +0.0},
      {"hardshrink(-0.75) = -0.75", hsh, Pass::forward, -0.75, 0, -0.75},
      {"hardshrink'(0.5) = 0", hsh, Pass::backward, 0.5, 1.0, +0.0},
      {"hardshrink from y = -0: flat", hsh, Pass::backward_from_output, -0.0, 1.0, +0.0},
      {"hardshrink(0)(-0) = +0", Activation::hardshrink(0.0f), Pass::forward, -0.0, 0, +0.0},
      {"thresholded(1) at z = 1: value (-0 gives +0)", th, Pass::forward, 1.0, 0, +0.0},
      {"thresholded(-inf) = value", th, Pass::forward, -kInf, 0, +0.0},
      {"thresholded'(1) = 0", th, Pass::backward, 1.0, kInf, +0.0},
      {"thresholded from y = 2", th, Pass::backward_from_output, 2.0, -1.0, -1.0},
      {"squared_relu(-0) = +0", sq, Pass::forward, -0.0, 0, +0.0},
      {"squared_relu(+inf) = +inf", sq, Pass::forward, kInf, 0, kInf},
      {"squared_relu'(0) = 0", sq, Pass::backward, 0.0, kInf, +0.0},
      {"squared_relu'(+inf) * 0 = +0", sq, Pass::backward, kInf, 0.0, +0.0},
      {"squared_relu'(+inf) * -2 = -inf", sq, Pass::backward, kInf, -2.0, -kInf},
      {"squared_relu from y = 4", sq, Pass::backward_from_output, 4.0, 0.5, 2.0},
      {"squared_relu from y = 0: flat", sq, Pass::backward_from_output, 0.0, kInf, +0.0},
  };
  for (const Expectation& e : rows) check<T>(e);
}

TYPED_TEST(Conventions, NaNPropagatesThroughEveryOpAndPass) {
  for (const OpCase& c : op_cases()) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !c.from_output) continue;
      for (double in : {kNaN, -1.0, 0.0, 1.0, kInf, -kInf}) {
        for (double dy : {kNaN, 1.0}) {
          const bool nan_in = std::isnan(in) || (pass != Pass::forward && std::isnan(dy));
          if (!nan_in) continue;
          check<TypeParam>({c.name, c.act, pass, in, dy, kNaN});
        }
      }
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
