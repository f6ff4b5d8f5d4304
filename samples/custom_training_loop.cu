// custom_training_loop — the smallest complete use of actlayer from your own CUDA code: your
// device memory, your stream, the raw API, every Status checked, and a CUDA graph that captures
// the forward and backward of two layers once and replays them (RReLU's slopes are fresh at
// every replay: its offset counter lives in device memory and advances inside the graph).
// README "Calling it from CUDA code" is the part between the [readme] markers.
//
// Without a GPU it runs the same computation through actlayer::reference (host memory, no
// stream, no graph) and says so.
//
//   custom_training_loop [--device auto|cuda|cpu] [--n N] [--steps K] [--json]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <cuda_runtime.h>

#include "actlayer/actlayer.hpp"
#include "common/sample.hpp"

#define CHECK_CUDA(call)                                                                       \
  do {                                                                                         \
    const cudaError_t e_ = (call);                                                             \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s failed: %s (%s:%d)\n", #call, cudaGetErrorString(e_), __FILE__, \
                   __LINE__);                                                                  \
      return 1;                                                                                \
    }                                                                                          \
  } while (0)

#define CHECK_ACT(call)                                                                  \
  do {                                                                                   \
    const actlayer::Status s_ = (call);                                                  \
    if (s_ != actlayer::Status::success) {                                               \
      std::fprintf(stderr, "%s: %s\n", actlayer::to_string(s_), actlayer::last_error()); \
      return 1;                                                                          \
    }                                                                                    \
  } while (0)

namespace {

constexpr std::uint64_t kSeed = 2026;

struct Step {
  std::vector<float> y, dx;
};

/// What replay k computes, by the CPU reference: h = tanh(x), y = rrelu_train(h) under offset
/// k, then dx through both (the slopes drawn again from the same key).
int reference_step(const std::vector<float>& x, const std::vector<float>& dy, std::uint64_t offset,
                   Step* out) {
  const std::size_t n = x.size();
  const actlayer::Activation tanh = actlayer::Activation::tanh();
  const actlayer::Activation rrelu = actlayer::Activation::rrelu_training({kSeed, offset});
  std::vector<float> h(n), dh(n);
  out->y.resize(n);
  out->dx.resize(n);
  CHECK_ACT(actlayer::reference::forward(tanh, x.data(), h.data(), n));
  CHECK_ACT(actlayer::reference::forward(rrelu, h.data(), out->y.data(), n));
  CHECK_ACT(actlayer::reference::backward(rrelu, h.data(), dy.data(), dh.data(), n));
  CHECK_ACT(
      actlayer::reference::backward_from_output(tanh, h.data(), dh.data(), out->dx.data(), n));
  return 0;
}

/// The same on the GPU: one graph, replayed `steps` times; each replay checked against the
/// reference. Returns non-zero on any failure.
int run_on_gpu(const std::vector<float>& host_x, const std::vector<float>& host_dy, int steps,
               std::vector<Step>* results) {
  const std::size_t n = host_x.size();
  // [readme-begin]
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  float *x, *h, *y, *dy, *dh, *dx;
  for (float** p : {&x, &h, &y, &dy, &dh, &dx}) {
    CHECK_CUDA(cudaMallocAsync(p, n * sizeof(float), stream));
  }
  std::uint64_t* offset;  // RReLU's noise offset, advanced on the device by each replay
  CHECK_CUDA(cudaMallocAsync(&offset, sizeof *offset, stream));
  CHECK_CUDA(cudaMemsetAsync(offset, 0xFF, sizeof *offset, stream));  // -1: the first replay uses 0
  CHECK_CUDA(cudaMemcpyAsync(x, host_x.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream));
  CHECK_CUDA(
      cudaMemcpyAsync(dy, host_dy.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream));
  CHECK_CUDA(cudaStreamSynchronize(stream));  // the uploads are done before the capture

  const actlayer::Activation tanh = actlayer::Activation::tanh();
  const actlayer::Activation rrelu =
      actlayer::Activation::rrelu_training(actlayer::Philox{kSeed, 0, offset});

  // One training step of two layers, captured once: h = tanh(x), y = rrelu(h), and back.
  cudaGraph_t graph;
  CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  CHECK_ACT(actlayer::rrelu_advance_offset(offset, stream));
  CHECK_ACT(actlayer::forward(tanh, x, h, n, stream));
  CHECK_ACT(actlayer::forward(rrelu, h, y, n, stream));
  CHECK_ACT(actlayer::backward(rrelu, h, dy, dh, n, stream));  // the same slopes, drawn again
  CHECK_ACT(actlayer::backward_from_output(tanh, h, dh, dx, n, stream));
  CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t step;
  CHECK_CUDA(cudaGraphInstantiate(&step, graph, 0));
  // [readme-end]

  for (int k = 0; k < steps; ++k) {
    CHECK_CUDA(cudaGraphLaunch(step, stream));
    Step s{std::vector<float>(n), std::vector<float>(n)};
    CHECK_CUDA(cudaMemcpyAsync(s.y.data(), y, n * sizeof(float), cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaMemcpyAsync(s.dx.data(), dx, n * sizeof(float), cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
    results->push_back(std::move(s));
  }
  CHECK_CUDA(cudaGraphExecDestroy(step));
  CHECK_CUDA(cudaGraphDestroy(graph));
  for (void* p :
       {static_cast<void*>(x), static_cast<void*>(h), static_cast<void*>(y), static_cast<void*>(dy),
        static_cast<void*>(dh), static_cast<void*>(dx), static_cast<void*>(offset)}) {
    CHECK_CUDA(cudaFreeAsync(p, stream));
  }
  CHECK_CUDA(cudaStreamSynchronize(stream));
  CHECK_CUDA(cudaStreamDestroy(stream));
  return 0;
}

/// max |a - b| / max |b|: the error relative to the result's scale.
double max_relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

}  // namespace

int main(int argc, char** argv) {
  sample::Args args("custom_training_loop",
                    "actlayer from your own CUDA code, captured in a CUDA graph");
  args.int_option("n", 1048576, 1, 1LL << 28, "elements per tensor")
      .int_option("steps", 3, 1, 1000, "graph replays (training steps)");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  const std::size_t n = static_cast<std::size_t>(args.integer("n"));
  const int steps = static_cast<int>(args.integer("steps"));
  std::vector<float> x(n), dy(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = -3.0f + 6.0f * static_cast<float>(i) / static_cast<float>(n);
    dy[i] = 1.0f;
  }

  std::vector<Step> got, want(steps);
  for (int k = 0; k < steps; ++k) {
    if (reference_step(x, dy, static_cast<std::uint64_t>(k), &want[k]) != 0) return 1;
  }
  if (backend.device == actlayer::Device::cuda) {
    if (run_on_gpu(x, dy, steps, &got) != 0) return 1;
  } else {
    std::printf(
        "(the CPU path runs the same calls through actlayer::reference: no stream, no graph)\n");
    got = want;
  }

  std::printf("tanh then RReLU (training) over %zu elements, %d steps, on %s\n", n, steps,
              backend.name.c_str());
  std::printf("%5s %14s %14s %24s\n", "step", "mean y", "mean dx", "error vs CPU reference");
  double worst = 0;
  bool fresh = true;
  for (int k = 0; k < steps; ++k) {
    double my = 0, mdx = 0;
    for (std::size_t i = 0; i < n; ++i) my += got[k].y[i], mdx += got[k].dx[i];
    const double err = std::max(max_relative_error(got[k].y, want[k].y),
                                max_relative_error(got[k].dx, want[k].dx));
    worst = std::max(worst, err);
    if (k > 0 && got[k].y == got[k - 1].y) fresh = false;
    std::printf("%5d %14.8f %14.8f %24.3g\n", k, my / n, mdx / n, err);
  }
  std::printf("each step drew fresh RReLU slopes: %s\n", fresh ? "yes" : "NO");
  if (args.json()) {
    sample::Json j;
    sample::Json config;
    config.field("device", sample::Json::str(backend.id()))
        .field("n", static_cast<double>(n))
        .field("steps", steps)
        .field("seed", static_cast<double>(kSeed))
        .field("chain", sample::Json::str("tanh, rrelu_training"));
    j.backend(backend)
        .field("config", config.object())
        .field("steps", steps)
        .field("fresh_noise_each_step", sample::Json::boolean(fresh))
        .field("max_relative_error", worst);
    std::printf("%s\n", j.object().c_str());
  }
  // tanh and tanh' are within 4 ulp of the reference; everything else in the chain is exact.
  return fresh && worst < 1e-5 ? 0 : 1;
}
