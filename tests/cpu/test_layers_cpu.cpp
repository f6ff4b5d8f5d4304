// Buffer<T> and ActivationLayer<T> on Device::cpu, where the layers run the CPU reference.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/cases.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

std::string message_of(const std::function<void()>& f, Status* status = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (status) *status = e.status();
    return e.what();
  }
  return "(no exception)";
}

TEST(BufferCpu, OwnsMovesAndCopies) {
  Buffer<float> empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);

  Buffer<float> a = Buffer<float>::from_host({1.0f, -2.0f, 3.5f}, Device::cpu);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.device(), Device::cpu);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  const float* storage = a.data();

  Buffer<float> b(std::move(a));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), storage);
  EXPECT_EQ(b.to_host(), (std::vector<float>{1.0f, -2.0f, 3.5f}));

  Buffer<float> c(5, Device::cpu);
  c = std::move(b);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.data(), storage);
  EXPECT_EQ(b.size(), 0u);
}

TEST(BufferCpu, SizeErrorsNameTheCall) {
  Buffer<double> a(4, Device::cpu);
  std::vector<double> wrong(3);
  Status status = Status::success;
  const std::string m = message_of([&] { a.copy_from_host(wrong.data(), wrong.size()); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("Buffer::copy_from_host: count = 3 does not match the buffer's size 4"),
            std::string::npos)
      << m;
  const std::string huge = message_of(
      [] { Buffer<double> b(std::numeric_limits<std::size_t>::max() / 4, Device::cpu); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(huge.find("overflows size_t"), std::string::npos) << huge;
}

TEST(BufferCpu, CudaBufferWithoutDeviceThrowsTheCudaCall) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present: this test needs none";
  Status status = Status::success;
  const std::string m = message_of([] { Buffer<float> b(16, Device::cuda); }, &status);
  EXPECT_EQ(status, Status::cuda_error);
  EXPECT_NE(m.find("cudaGetDevice"), std::string::npos) << m;
  EXPECT_NE(m.find("host/buffer.cpp:"), std::string::npos) << m;
}

template <class T>
class LayerCpu : public ::testing::Test {};
TYPED_TEST_SUITE(LayerCpu, ElementTypes);

TYPED_TEST(LayerCpu, RunsTheReferenceOnCpuBuffers) {
  using T = TypeParam;
  const std::vector<T> x = random_values<T>(999, 3);
  const std::vector<T> dy = random_gradients<T>(999, 4);
  const std::vector<T> old = random_gradients<T>(999, 5);
  const Blend blend{0.5f, -2.0f};
  for (const OpCase& c : op_cases()) {
    ActivationLayer<T> layer(c.act);
    Buffer<T> bx = Buffer<T>::from_host(x, Device::cpu),
              bdy = Buffer<T>::from_host(dy, Device::cpu);
    Buffer<T> by(x.size(), Device::cpu), bdx = Buffer<T>::from_host(old, Device::cpu);

    std::vector<T> want_y(x.size()), want_dx = old;
    layer.forward(bx, by);
    ASSERT_EQ(reference::forward(c.act, x.data(), want_y.data(), x.size()), Status::success);
    const std::vector<T> y = by.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(y[i], want_y[i])) << c.name << i;

    layer.backward(bx, bdy, bdx, blend);
    ASSERT_EQ(reference::backward(c.act, x.data(), dy.data(), want_dx.data(), x.size(), blend),
              Status::success);
    const std::vector<T> dx = bdx.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(dx[i], want_dx[i])) << c.name << i;

    if (c.from_output) {
      layer.backward_from_output(by, bdy, bdx);
      ASSERT_EQ(reference::backward_from_output(c.act, want_y.data(), dy.data(), want_dx.data(),
                                                x.size()),
                Status::success);
      const std::vector<T> dx2 = bdx.to_host();
      for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(dx2[i], want_dx[i])) << c.name;
    }
  }
}

TEST(LayerCpu, InPlaceForward) {
  ActivationLayer<float> relu(Activation::relu());
  Buffer<float> x = Buffer<float>::from_host({-1.0f, 2.0f, -0.0f}, Device::cpu);
  relu.forward(x, x);
  const std::vector<float> y = x.to_host();
  EXPECT_EQ(y, (std::vector<float>{0.0f, 2.0f, 0.0f}));
  EXPECT_FALSE(std::signbit(y[2]));
}

TEST(LayerCpu, ErrorsNameTheArgument) {
  Buffer<float> x(8, Device::cpu), y(7, Device::cpu), dy(8, Device::cpu), dx(8, Device::cpu);
  Status status = Status::success;
  std::string m = message_of([&] { ActivationLayer<float>().forward(x, y); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("ActivationLayer::forward: x has 8 elements but y has 7"), std::string::npos)
      << m;

  m = message_of([&] { ActivationLayer<float>(Activation::leaky_relu(-1.0f)).forward(x, dx); },
                 &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("activation.slope must be finite and >= 0 (got -1)"), std::string::npos) << m;

  m = message_of(
      [&] { ActivationLayer<float>(Activation::leaky_relu(0.0f)).backward_from_output(x, dy, dx); },
      &status);
  EXPECT_EQ(status, Status::not_supported);
  EXPECT_NE(m.find("use backward from x"), std::string::npos) << m;
}

}  // namespace
}  // namespace actlayer::testing
