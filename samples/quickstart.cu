// quickstart — the README's first two examples, built and run by the tests so that they always
// compile: ReLU forward and backward on your own device pointers and stream (the raw API), and
// a layer on CPU buffers (no GPU needed). Each [readme-*] region appears in README.md verbatim.
#include <cstdio>
#include <vector>

#include <cuda_runtime.h>

#include "actlayer/actlayer.hpp"

namespace {

// [readme-raw-begin]
#define CHECK_CUDA(call)                                               \
  do {                                                                 \
    if (cudaError_t e_ = (call); e_ != cudaSuccess) {                  \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_)); \
      return 1;                                                        \
    }                                                                  \
  } while (0)
#define CHECK_ACT(call)                                                  \
  do {                                                                   \
    if (actlayer::Status s_ = (call); s_ != actlayer::Status::success) { \
      std::fprintf(stderr, "%s: %s\n", #call, actlayer::last_error());   \
      return 1;                                                          \
    }                                                                    \
  } while (0)

// y = relu(x) and dx = dy * relu'(x) on device memory, enqueued on a stream.
int relu_on_device(const float* x, float* y, const float* dy, float* dx, std::size_t n,
                   cudaStream_t stream) {
  const actlayer::Activation relu = actlayer::Activation::relu();
  CHECK_ACT(actlayer::forward(relu, x, y, n, stream));
  CHECK_ACT(actlayer::backward(relu, x, dy, dx, n, stream));
  CHECK_CUDA(cudaStreamSynchronize(stream));  // only to read the results here
  return 0;
}
// [readme-raw-end]

int raw_example() {
  const std::size_t n = 4;
  const std::vector<float> host_x = {-2.0f, -0.5f, 0.5f, 2.0f}, host_dy = {1, 1, 1, 1};
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  float *x, *y, *dy, *dx;
  for (float** p : {&x, &y, &dy, &dx}) CHECK_CUDA(cudaMalloc(p, n * sizeof(float)));
  CHECK_CUDA(cudaMemcpy(x, host_x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dy, host_dy.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  if (relu_on_device(x, y, dy, dx, n, stream) != 0) return 1;
  std::vector<float> host_y(n), host_dx(n);
  CHECK_CUDA(cudaMemcpy(host_y.data(), y, n * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(host_dx.data(), dx, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (std::size_t i = 0; i < n; ++i) {
    std::printf("raw:   relu(%g) = %g, dx = %g\n", host_x[i], host_y[i], host_dx[i]);
  }
  for (float* p : {x, y, dy, dx}) CHECK_CUDA(cudaFree(p));
  CHECK_CUDA(cudaStreamDestroy(stream));
  return 0;
}

int layer_example() {
  // [readme-layer-begin]
  // A layer on CPU buffers: the same calls, run by the CPU backend; throws actlayer::Error.
  using actlayer::Buffer;
  using actlayer::Device;
  auto x = Buffer<float>::from_host({-2.0f, -0.5f, 0.5f, 2.0f}, Device::cpu);
  auto dy = Buffer<float>::from_host({1.0f, 1.0f, 1.0f, 1.0f}, Device::cpu);
  Buffer<float> y(4, Device::cpu), dx(4, Device::cpu);
  actlayer::ActivationLayer<float> tanh(actlayer::Activation::tanh(), Device::cpu);
  tanh.forward(x, y);
  tanh.backward(x, dy, dx);
  std::vector<float> out = y.to_host(), grad = dx.to_host();  // tanh(x), 1 - tanh(x)^2
  // [readme-layer-end]
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::printf("layer: tanh(%g) = %.6f, dx = %.6f\n", x.to_host()[i], out[i], grad[i]);
  }
  return 0;
}

}  // namespace

int main() {
  try {
    if (layer_example() != 0) return 1;
  } catch (const actlayer::Error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
  if (!actlayer::cuda_available()) {
    std::printf("raw:   no CUDA device: the raw-API example runs on a machine with a GPU\n");
    return 0;
  }
  return raw_example();
}
