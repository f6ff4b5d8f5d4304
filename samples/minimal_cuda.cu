// minimal_cuda — the smallest complete use of actlayer from CUDA code: your own device memory,
// your own stream, the raw API, every Status checked. (README "Calling it from CUDA code".)
#include <cstdio>
#include <vector>

#include <cuda_runtime.h>

#include "actlayer/actlayer.hpp"

#define CHECK_CUDA(call)                                                          \
  do {                                                                            \
    cudaError_t e = (call);                                                       \
    if (e != cudaSuccess) {                                                       \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e));             \
      return 1;                                                                   \
    }                                                                             \
  } while (0)

#define CHECK_ACT(call)                                                           \
  do {                                                                            \
    actlayer::Status s = (call);                                                  \
    if (s != actlayer::Status::success) {                                         \
      std::fprintf(stderr, "%s: %s\n", actlayer::to_string(s), actlayer::last_error()); \
      return 1;                                                                   \
    }                                                                             \
  } while (0)

int main() {
  if (!actlayer::cuda_available()) {
    std::printf("NOTICE: no CUDA device: this example needs one (nothing was run)\n");
    return 0;
  }
  const std::size_t n = 1 << 20;
  std::vector<float> x(n), dy(n, 1.0f);
  for (std::size_t i = 0; i < n; ++i) x[i] = -4.0f + 8.0f * i / n;

  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  float *d_x, *d_y, *d_dy, *d_dx;
  CHECK_CUDA(cudaMallocAsync(&d_x, n * sizeof(float), stream));
  CHECK_CUDA(cudaMallocAsync(&d_y, n * sizeof(float), stream));
  CHECK_CUDA(cudaMallocAsync(&d_dy, n * sizeof(float), stream));
  CHECK_CUDA(cudaMallocAsync(&d_dx, n * sizeof(float), stream));
  CHECK_CUDA(cudaMemcpyAsync(d_x, x.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream));
  CHECK_CUDA(cudaMemcpyAsync(d_dy, dy.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream));

  // y = tanh(x); dx = dy * tanh'(x), computed from y. Both are enqueued on `stream`.
  const actlayer::Activation act = actlayer::Activation::tanh();
  CHECK_ACT(actlayer::forward(act, d_x, d_y, n, stream));
  CHECK_ACT(actlayer::backward_from_output(act, d_y, d_dy, d_dx, n, stream));

  std::vector<float> dx(n);
  CHECK_CUDA(cudaMemcpyAsync(dx.data(), d_dx, n * sizeof(float), cudaMemcpyDeviceToHost, stream));
  CHECK_CUDA(cudaStreamSynchronize(stream));
  std::printf("tanh'(%g) = %g, tanh'(0) = %g\n", x[0], dx[0], dx[n / 2]);

  for (float* p : {d_x, d_y, d_dy, d_dx}) CHECK_CUDA(cudaFreeAsync(p, stream));
  CHECK_CUDA(cudaStreamDestroy(stream));
  return 0;
}
