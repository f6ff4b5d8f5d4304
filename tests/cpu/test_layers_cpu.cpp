// Buffer<T> and ActivationLayer<T> on Device::cpu, where the layers run the CPU reference; the
// rules every layer shares (constructors, moved-from buffers, no CUDA device).
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actlayer/cpu.hpp"
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

TEST(BufferCpu, NullHostPointersAreRefused) {
  Buffer<float> a(8, Device::cpu);
  Status status = Status::success;
  std::string m = message_of([&] { a.copy_from_host(nullptr, 8); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("Buffer::copy_from_host: src is null (8 elements)"), std::string::npos) << m;
  status = Status::success;
  m = message_of([&] { a.copy_to_host(nullptr, 8); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("Buffer::copy_to_host: dst is null (8 elements)"), std::string::npos) << m;
  // The count is checked before the pointer, for both directions.
  std::vector<float> three(3);
  m = message_of([&] { a.copy_to_host(three.data(), 3); });
  EXPECT_NE(m.find("Buffer::copy_to_host: count = 3 does not match the buffer's size 8"),
            std::string::npos)
      << m;
  // Nothing to copy: a null pointer is fine.
  Buffer<float> empty(0, Device::cpu);
  EXPECT_NO_THROW(empty.copy_from_host(nullptr, 0));
  EXPECT_NO_THROW(empty.copy_to_host(nullptr, 0));
}

TEST(BufferCpu, MovedFromIsMarkedAndEmptyIsNot) {
  Buffer<float> empty, zero(0, Device::cpu);
  EXPECT_FALSE(empty.moved_from());
  EXPECT_FALSE(zero.moved_from());
  EXPECT_TRUE(zero.to_host().empty());  // a valid empty tensor

  Buffer<float> a = Buffer<float>::from_host({1.0f, 2.0f}, Device::cpu);
  Buffer<float> b(std::move(a));
  EXPECT_TRUE(a.moved_from());
  EXPECT_FALSE(b.moved_from());
  Status status = Status::success;
  std::string m = message_of([&] { (void)a.to_host(); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("Buffer::copy_to_host: the buffer is a moved-from Buffer"), std::string::npos)
      << m;
  m = message_of([&] { a.copy_from_host(nullptr, 0); });
  EXPECT_NE(m.find("Buffer::copy_from_host: the buffer is a moved-from Buffer"), std::string::npos)
      << m;

  Buffer<float> c(4, Device::cpu);
  c = std::move(b);  // move assignment marks the source too
  EXPECT_TRUE(b.moved_from());
  EXPECT_FALSE(c.moved_from());
  b = Buffer<float>(2, Device::cpu);  // assigning a live buffer revives it
  EXPECT_FALSE(b.moved_from());
  Buffer<float>& alias = c;
  c = std::move(alias);  // self-move keeps the contents
  EXPECT_FALSE(c.moved_from());
  EXPECT_EQ(c.to_host(), (std::vector<float>{1.0f, 2.0f}));
  Buffer<float>().swap(c);  // swapping with a fresh buffer empties it, not "moved from"
  EXPECT_FALSE(c.moved_from());
  EXPECT_EQ(c.size(), 0u);
}

TEST(BufferCpu, CudaBufferWithoutDeviceSaysSoAndPointsToTheCpu) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present: this test needs none";
  for (const auto& make : std::vector<std::function<void()>>{
           [] { Buffer<float> b(16); }, [] { (void)Buffer<float>::from_host({1.0f}); }}) {
    Status status = Status::success;
    const std::string m = message_of(make, &status);
    EXPECT_EQ(status, Status::cuda_error);
    EXPECT_EQ(m.rfind("Buffer: no CUDA device (cudaGetDevice failed with ", 0), 0u) << m;
    EXPECT_NE(m.find("); pass Device::cpu to run on the CPU"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(Buffer<float>(0));  // nothing to allocate: no device needed
}

TEST(LayerCpu, CudaLayersWithoutDeviceSayWhoAndPointToTheCpu) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present: this test needs none";
  const auto expect_no_device = [](const char* who, const std::function<void()>& make) {
    Status status = Status::success;
    const std::string m = message_of(make, &status);
    EXPECT_EQ(status, Status::cuda_error) << who;
    EXPECT_EQ(m.rfind(std::string(who) + ": no CUDA device (cudaGetDevice failed with ", 0), 0u)
        << m;
    EXPECT_NE(m.find("); pass Device::cpu to run on the CPU"), std::string::npos) << m;
  };
  expect_no_device("ActivationLayer", [] { ActivationLayer<float> a; });
  expect_no_device("PReluLayer", [] { PReluLayer<float> p(3); });
  expect_no_device("RReluLayer", [] { RReluLayer<float> r(1); });
  // Arguments come first: a wrong one is reported even without a device.
  Status status = Status::success;
  const std::string m = message_of([] { PReluLayer<float> p(0); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("PReluLayer: channels must be >= 1 (got 0)"), std::string::npos) << m;
}

// Every layer's constructor: its own parameters, then Device, then (where it uploads) a stream.
static_assert(std::is_constructible_v<ActivationLayer<float>, Activation, Device>);
static_assert(std::is_constructible_v<PReluLayer<float>, std::size_t, float, Device, cudaStream_t>);
static_assert(!std::is_constructible_v<PReluLayer<float>, std::size_t, Device>);
static_assert(
    std::is_constructible_v<RReluLayer<float>, std::uint64_t, float, float, Device, cudaStream_t>);

TEST(LayerCpu, EveryLayerTakesItsDeviceAfterItsParameters) {
  const ActivationLayer<float> act(Activation::tanh(), Device::cpu);
  const PReluLayer<double> prelu(3, 0.5, Device::cpu);
  const RReluLayer<float> rrelu(1, 0.1f, 0.2f, Device::cpu);
  EXPECT_EQ(act.device(), Device::cpu);
  EXPECT_EQ(prelu.device(), Device::cpu);
  EXPECT_EQ(prelu.alpha().to_host(), (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(rrelu.eval_slope(), Activation::rrelu(0.1f, 0.2f).eval_slope());
}

TEST(LayerCpu, MovedFromBuffersAreRefusedAndEmptyOnesAreNoOps) {
  const ActivationLayer<float> relu(Activation::relu(), Device::cpu);
  Buffer<float> x = Buffer<float>::from_host({-1.0f, 2.0f}, Device::cpu), y(2, Device::cpu);
  Buffer<float> gone = std::move(x);
  Status status = Status::success;
  std::string m = message_of([&] { relu.forward(x, y); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("ActivationLayer::forward: x is a moved-from Buffer"), std::string::npos) << m;
  Buffer<float> moved_y = std::move(y);
  m = message_of([&] { relu.forward(gone, y); });
  EXPECT_NE(m.find("ActivationLayer::forward: y is a moved-from Buffer"), std::string::npos) << m;
  m = message_of([&] { relu.backward(gone, x, moved_y); });
  EXPECT_NE(m.find("ActivationLayer::backward: dy is a moved-from Buffer"), std::string::npos) << m;

  PReluLayer<float> prelu(1, 0.25f, Device::cpu);
  m = message_of([&] { prelu.forward(x, moved_y, PReluShape{1, 1, 2}); });
  EXPECT_NE(m.find("PReluLayer::forward: x is a moved-from Buffer"), std::string::npos) << m;
  Buffer<float> stolen = std::move(prelu.dalpha());
  m = message_of([&] {
    prelu.backward(gone, gone, moved_y, PReluShape{1, 1, 2}, ParamGrad::overwrite);
  });
  EXPECT_NE(m.find("PReluLayer::backward: dalpha is a moved-from Buffer"), std::string::npos) << m;

  RReluLayer<float> rrelu(1, 0.1f, 0.3f, Device::cpu);
  m = message_of([&] { rrelu.forward(gone, y); });
  EXPECT_NE(m.find("RReluLayer::forward: y is a moved-from Buffer"), std::string::npos) << m;

  // A buffer made with 0 elements is an empty tensor: nothing to do, nothing refused.
  Buffer<float> e0(0, Device::cpu), e1(0, Device::cpu);
  EXPECT_NO_THROW(relu.forward(e0, e1));
  EXPECT_NO_THROW(relu.backward(e0, e0, e1));
  EXPECT_NO_THROW(rrelu.forward(e0, e1));
  EXPECT_NO_THROW(rrelu.backward(e0, e0, e1));
}

template <class T>
class LayerCpu : public ::testing::Test {};
TYPED_TEST_SUITE(LayerCpu, ElementTypes);

/// A layer on CPU buffers runs the CPU backend (cpu.hpp): its bits exactly, and so the
/// reference's within the published bounds (tests/cpu/test_cpu_backend.cpp).
TYPED_TEST(LayerCpu, RunsTheCpuBackendOnCpuBuffers) {
  using T = TypeParam;
  const std::vector<T> x = random_values<T>(999, 3);
  const std::vector<T> dy = random_gradients<T>(999, 4);
  const std::vector<T> old = random_gradients<T>(999, 5);
  const Blend blend{0.5f, -2.0f};
  for (const OpCase& c : op_cases()) {
    ActivationLayer<T> layer(c.act, Device::cpu);
    Buffer<T> bx = Buffer<T>::from_host(x, Device::cpu),
              bdy = Buffer<T>::from_host(dy, Device::cpu);
    Buffer<T> by(x.size(), Device::cpu), bdx = Buffer<T>::from_host(old, Device::cpu);

    std::vector<T> want_y(x.size()), want_dx = old;
    layer.forward(bx, by);
    ASSERT_EQ(cpu::forward(c.act, x.data(), want_y.data(), x.size()), Status::success);
    const std::vector<T> y = by.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(y[i], want_y[i])) << c.name << i;

    layer.backward(bx, bdy, bdx, blend);
    ASSERT_EQ(cpu::backward(c.act, x.data(), dy.data(), want_dx.data(), x.size(), blend),
              Status::success);
    const std::vector<T> dx = bdx.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(dx[i], want_dx[i])) << c.name << i;

    if (c.from_output) {
      layer.backward_from_output(by, bdy, bdx);
      ASSERT_EQ(
          cpu::backward_from_output(c.act, want_y.data(), dy.data(), want_dx.data(), x.size()),
          Status::success);
      const std::vector<T> dx2 = bdx.to_host();
      for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same(dx2[i], want_dx[i])) << c.name;
    }
  }
}

TEST(LayerCpu, InPlaceForward) {
  ActivationLayer<float> relu(Activation::relu(), Device::cpu);
  Buffer<float> x = Buffer<float>::from_host({-1.0f, 2.0f, -0.0f}, Device::cpu);
  relu.forward(x, x);
  const std::vector<float> y = x.to_host();
  EXPECT_EQ(y, (std::vector<float>{0.0f, 2.0f, 0.0f}));
  EXPECT_FALSE(std::signbit(y[2]));
}

TEST(LayerCpu, ErrorsNameTheArgument) {
  Buffer<float> x(8, Device::cpu), y(7, Device::cpu), dy(8, Device::cpu), dx(8, Device::cpu);
  Status status = Status::success;
  std::string m = message_of(
      [&] { ActivationLayer<float>(Activation::relu(), Device::cpu).forward(x, y); }, &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("ActivationLayer::forward: x has 8 elements but y has 7"), std::string::npos)
      << m;

  m = message_of(
      [&] { ActivationLayer<float>(Activation::leaky_relu(-1.0f), Device::cpu).forward(x, dx); },
      &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("activation.slope must be finite and >= 0 (got -1)"), std::string::npos) << m;

  m = message_of(
      [&] {
        ActivationLayer<float>(Activation::leaky_relu(0.0f), Device::cpu)
            .backward_from_output(x, dy, dx);
      },
      &status);
  EXPECT_EQ(status, Status::not_supported);
  EXPECT_NE(m.find("use backward from x"), std::string::npos) << m;
}

TEST(LayerCpu, TrainingRReluIsRefusedInFavourOfRReluLayer) {
  Status status = Status::success;
  const std::string m = message_of(
      [] {
        ActivationLayer<float>(Activation::rrelu_training({1, 2}), Device::cpu);
      },
      &status);
  EXPECT_EQ(status, Status::invalid_argument);
  EXPECT_NE(m.find("ActivationLayer: Activation::rrelu_training would draw the same slopes at "
                   "every forward"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("use RReluLayer"), std::string::npos) << m;
  EXPECT_NO_THROW(ActivationLayer<float>(Activation::rrelu(), Device::cpu));  // eval is fine
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

/// What the user called, not what it called: a layer's failure names the layer's function.
std::string thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(LayerMessages, NameTheLayerFunctionAndSayWhenAShapeOverflows) {
  Buffer<float> x(40, Device::cpu), y(40, Device::cpu);
  ActivationLayer<float> tanh(Activation::tanh(), Device::cpu);
  const std::string mask = thrown([&] { tanh.forward_keep_mask(x, y); });
  EXPECT_EQ(mask.rfind("ActivationLayer::forward_keep_mask: ", 0), 0u) << mask;
  EXPECT_NE(mask.find("not tanh"), std::string::npos) << mask;
  PReluLayer<float> prelu(3, 0.25f, Device::cpu);
  const std::string huge = thrown([&] { prelu.forward(x, y, {~std::size_t{0} / 2, 3, 7}); });
  EXPECT_NE(huge.find("overflows"), std::string::npos) << huge;
  const std::string wrong = thrown([&] { prelu.forward(x, y, {2, 3, 7}); });
  EXPECT_NE(wrong.find("does not match the buffers' 40 elements"), std::string::npos) << wrong;
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

TEST(LayerMessages, PReluLayerStartsFromTheSlopeItIsGiven) {
  const PReluLayer<__half> half(2, 0.1f, Device::cpu);  // fp32 master slopes for 16-bit data
  EXPECT_EQ(half.alpha().to_host(), (std::vector<float>{0.1f, 0.1f}));
  const PReluLayer<double> wide(3, -0.75, Device::cpu);
  EXPECT_EQ(wide.alpha().to_host(), (std::vector<double>{-0.75, -0.75, -0.75}));
}

}  // namespace
}  // namespace actlayer::testing
