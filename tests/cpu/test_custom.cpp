// Custom activations on the CPU (actlayer/custom.hpp): a user-written ReLU gives the built-in
// ReLU's bits; a functor with a parameter; the same argument checks as the built-in calls.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "actlayer/custom.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/custom_functors.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

template <class T>
class CustomCpu : public ::testing::Test {};
TYPED_TEST_SUITE(CustomCpu, ElementTypes);

TYPED_TEST(CustomCpu, UserReluIsBitIdenticalToTheBuiltIn) {
  using T = TypeParam;
  std::vector<T> x = random_values<T>(100000, 1);
  for (T v : extremal_values<T>()) x.push_back(v);
  const std::vector<T> dy = random_gradients<T>(x.size(), 2),
                       old = random_gradients<T>(x.size(), 3);
  const std::size_t n = x.size();
  for (Blend blend : {Blend{}, Blend{0.5f, -2.0f}}) {
    std::vector<T> a = old, b = old, da = old, db = old;
    ASSERT_EQ(reference::custom_forward(UserRelu{}, x.data(), a.data(), n, blend), Status::success)
        << last_error();
    ASSERT_EQ(reference::custom_backward(UserRelu{}, x.data(), dy.data(), da.data(), n, blend),
              Status::success);
    // The built-in op through the same CPU loop (its ops.cuh functor) ...
    ASSERT_EQ(reference::custom_forward(ops::Relu{}, x.data(), b.data(), n, blend),
              Status::success);
    ASSERT_EQ(reference::custom_backward(ops::Relu{}, x.data(), dy.data(), db.data(), n, blend),
              Status::success);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same(a[i], b[i])) << i;
      ASSERT_TRUE(same(da[i], db[i])) << i;
    }
    // ... and the independent reference, for the unblended results (bit-exact in float/double).
    if (blend.alpha == 1.0f) {
      ASSERT_EQ(reference::forward(Activation::relu(), x.data(), b.data(), n), Status::success);
      ASSERT_EQ(reference::backward(Activation::relu(), x.data(), dy.data(), db.data(), n),
                Status::success);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(same(a[i], b[i])) << show(x[i]);
        ASSERT_TRUE(same(da[i], db[i])) << show(x[i]) << " " << show(dy[i]);
      }
    }
  }
}

TEST(CustomCpu, SwishWithAParameterMatchesItsFormulaAndFiniteDifferences) {
  for (float beta : {0.5f, 1.0f, 1.702f, 4.0f}) {
    const Swish swish{beta};
    std::vector<double> x, y(4001), d(4001), ones(4001, 1.0);
    for (int i = 0; i <= 4000; ++i) x.push_back(-8.0 + 16.0 * i / 4000);
    ASSERT_EQ(reference::custom_forward(swish, x.data(), y.data(), x.size()), Status::success);
    ASSERT_EQ(reference::custom_backward(swish, x.data(), ones.data(), d.data(), x.size()),
              Status::success);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const long double z = x[i], s = 1 / (1 + std::exp(-static_cast<long double>(beta) * z));
      EXPECT_NEAR(y[i], static_cast<double>(z * s), 1e-14 * (1 + std::fabs(y[i]))) << z;
      const double h = 1e-6;
      const double fd = (swish.value(x[i] + h) - swish.value(x[i] - h)) / (2 * h);
      EXPECT_NEAR(d[i], fd, 1e-7 * (1 + std::fabs(d[i]))) << "beta " << beta << " z " << x[i];
    }
  }
}

TEST(CustomCpu, ArgumentsAreCheckedLikeTheBuiltIns) {
  std::vector<float> x(16, 1.0f), y(16);
  std::memset(y.data(), 0x5A, y.size() * 4);
  const std::vector<float> before = y;
  EXPECT_EQ(reference::custom_forward(UserRelu{}, static_cast<const float*>(nullptr), y.data(), 16),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("actlayer::reference::custom_forward: x is null"),
            std::string::npos)
      << last_error();
  EXPECT_EQ(reference::custom_forward(UserRelu{}, x.data(), x.data() + 1, 15),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("partially overlaps"), std::string::npos)
      << last_error();
  EXPECT_EQ(reference::custom_backward(UserRelu{}, x.data(), x.data(), y.data(), 16,
                                       Blend{std::nanf(""), 0}),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("blend.alpha"), std::string::npos) << last_error();
  EXPECT_EQ(std::memcmp(y.data(), before.data(), y.size() * 4), 0);
  EXPECT_EQ(reference::custom_forward(UserRelu{}, x.data(), x.data(), 16),
            Status::success);  // in place
  EXPECT_EQ(reference::custom_forward(UserRelu{}, static_cast<const float*>(nullptr),
                                      static_cast<float*>(nullptr), 0),
            Status::success);
}

}  // namespace
}  // namespace actlayer::testing
