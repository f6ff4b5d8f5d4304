// The layers on CUDA buffers, and a CUDA graph capturing forward + backward.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/cases.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

template <class T>
class LayerGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(LayerGpu, ElementTypes);

TYPED_TEST(LayerGpu, MatchesTheReferenceOnCudaBuffers) {
  using T = TypeParam;
  const std::vector<T> x = random_values<T>(10007, 1), dy = random_gradients<T>(10007, 2);
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (const OpCase& c : op_cases()) {
    ActivationLayer<T> layer(c.act);
    Buffer<T> bx = Buffer<T>::from_host(x, Device::cuda, stream);
    Buffer<T> bdy = Buffer<T>::from_host(dy, Device::cuda, stream);
    Buffer<T> by(x.size(), Device::cuda, stream), bdx(x.size(), Device::cuda, stream);
    layer.forward(bx, by);
    layer.backward(bx, bdy, bdx);
    std::vector<T> want_y(x.size()), want_dx(x.size());
    ASSERT_EQ(reference::forward(c.act, x.data(), want_y.data(), x.size()), Status::success);
    ASSERT_EQ(reference::backward(c.act, x.data(), dy.data(), want_dx.data(), x.size()),
              Status::success);
    const std::vector<T> y = by.to_host(), dx = bdx.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::uint64_t fb = ulp_bound<T>(c, Pass::forward), bb = ulp_bound<T>(c, Pass::backward);
      ASSERT_TRUE(fb == 0 ? same(y[i], want_y[i]) : ulp_distance(y[i], want_y[i]) <= fb)
          << c.name << " y[" << i << "] = " << show(y[i]) << ", want " << show(want_y[i]);
      ASSERT_TRUE(bb == 0 ? same(dx[i], want_dx[i]) : ulp_distance(dx[i], want_dx[i]) <= bb)
          << c.name << " dx[" << i << "] = " << show(dx[i]) << ", want " << show(want_dx[i]);
    }
  }
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(LayerGpuErrors, MixedDevicesAreRejected) {
  SKIP_WITHOUT_GPU();
  Buffer<float> x(8, Device::cpu), y(8, Device::cuda);
  try {
    ActivationLayer<float>().forward(x, y);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("x is on cpu but y is on cuda"), std::string::npos)
        << e.what();
  }
}

TEST(LayerGpuErrors, LayersTakeBuffersOfTheirDeviceOnly) {
  SKIP_WITHOUT_GPU();
  Buffer<float> cx(8, Device::cpu), cy(8, Device::cpu), gx(8), gy(8);
  const auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::invalid_argument);
      return e.what();
    }
    return "(no exception)";
  };
  const ActivationLayer<float> gpu(Activation::relu(), Device::cuda);
  const ActivationLayer<float> cpu(Activation::relu(), Device::cpu);
  std::string m = message([&] { gpu.forward(cx, cy); });
  EXPECT_NE(m.find("ActivationLayer::forward: y is on cpu but the layer is on cuda"),
            std::string::npos)
      << m;
  m = message([&] { cpu.backward(gx, gx, gy); });
  EXPECT_NE(m.find("ActivationLayer::backward: dx is on cuda but the layer is on cpu"),
            std::string::npos)
      << m;
  Buffer<float> moved = std::move(gx);
  m = message([&] { gpu.forward(gx, gy); });
  EXPECT_NE(m.find("ActivationLayer::forward: x is a moved-from Buffer"), std::string::npos) << m;
  EXPECT_NO_THROW(gpu.forward(moved, gy));
  CUDA_OK(cudaDeviceSynchronize());
}

TEST(BufferGpu, NullHostPointersAndMovedFromBuffersAreRefused) {
  SKIP_WITHOUT_GPU();
  Buffer<float> b(8);
  for (const auto& f : std::vector<std::function<void()>>{[&] { b.copy_from_host(nullptr, 8); },
                                                          [&] { b.copy_to_host(nullptr, 8); },
                                                          [&] {
                                                            Buffer<float> c(std::move(b));
                                                            (void)b.to_host();
                                                          }}) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::invalid_argument) << e.what();
      const std::string m = e.what();
      EXPECT_TRUE(m.find("is null (8 elements)") != std::string::npos ||
                  m.find("moved-from") != std::string::npos)
          << m;
    }
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(Graph, CapturedForwardAndBackwardReplay) {
  SKIP_WITHOUT_GPU();
  // A tiny two-layer chain: h = tanh(x), y = leaky(h); backward from y, then through tanh
  // from its output. Captured once, replayed three times, each replay checked.
  const std::size_t n = 50001;
  const std::vector<float> x = random_values<float>(n, 8), dy = random_gradients<float>(n, 9);
  DeviceArray<float> dx_(n), dh(n), h(n), y(n), ddx(n), ddy(n);
  cudaStream_t s;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CUDA_OK(cudaMemcpy(dx_.get(), x.data(), n * 4, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(ddy.get(), dy.data(), n * 4, cudaMemcpyHostToDevice));
  const Activation th = Activation::tanh(), lk = Activation::leaky_relu_divisor(10.0f);
  CUDA_OK(cudaDeviceSynchronize());  // the uploads above land before the graph reads them

  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  ASSERT_EQ(forward(th, dx_.get(), h.get(), n, s), Status::success) << last_error();
  ASSERT_EQ(forward(lk, h.get(), y.get(), n, s), Status::success) << last_error();
  ASSERT_EQ(backward_from_output(lk, y.get(), ddy.get(), dh.get(), n, s), Status::success);
  ASSERT_EQ(backward_from_output(th, h.get(), dh.get(), ddx.get(), n, s), Status::success);
  CUDA_OK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));

  // Each stage is checked against the reference applied to the device's own inputs of that
  // stage (a chain through tanh near +-1 would amplify tanh's few-ulp differences).
  const auto check = [&](const char* what, const std::vector<float>& got,
                         const std::vector<float>& want, std::uint64_t bound) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      bad += bound == 0 ? !same(got[i], want[i]) : ulp_distance(got[i], want[i]) > bound;
    }
    EXPECT_EQ(bad, 0u) << what;
  };
  for (int replay = 0; replay < 3; ++replay) {
    SCOPED_TRACE(replay);
    CUDA_OK(cudaMemsetAsync(ddx.get(), 0xFF, n * 4, s));
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    const std::vector<float> gh = download(h.get(), n), gy = download(y.get(), n),
                             gdh = download(dh.get(), n), gdx = download(ddx.get(), n);
    std::vector<float> want(n);
    ASSERT_EQ(reference::forward(th, x.data(), want.data(), n), Status::success);
    check("h = tanh(x)", gh, want, 4);
    ASSERT_EQ(reference::forward(lk, gh.data(), want.data(), n), Status::success);
    check("y = leaky(h)", gy, want, 0);
    ASSERT_EQ(reference::backward_from_output(lk, gy.data(), dy.data(), want.data(), n),
              Status::success);
    check("dh", gdh, want, 0);
    ASSERT_EQ(reference::backward_from_output(th, gh.data(), gdh.data(), want.data(), n),
              Status::success);
    check("dx", gdx, want, 4);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(s));
}

}  // namespace
}  // namespace actlayer::testing
