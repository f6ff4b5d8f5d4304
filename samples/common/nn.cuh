// samples/common/nn.cuh — the rest of a small float MLP around actlayer's activations: dense
// layers (cuBLAS on the GPU, loops on actlayer's CPU threads), Adam (Thrust on the GPU), softmax
// cross- entropy, and the samples' activation choices as one interface. This is "your training
// code"; actlayer supplies only the activations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/zip_iterator.h>
#include <thrust/tuple.h>

#include "actlayer/actlayer.hpp"
#include "actlayer/ops.cuh"

namespace sample {

using actlayer::Buffer;
using actlayer::Device;

#define SAMPLE_CUDA(call)                                                        \
  do {                                                                           \
    const cudaError_t e_ = (call);                                               \
    if (e_ != cudaSuccess) {                                                     \
      throw actlayer::Error(actlayer::Status::cuda_error,                        \
                            std::string(#call) + ": " + cudaGetErrorString(e_)); \
    }                                                                            \
  } while (0)

#define SAMPLE_CUBLAS(call)                                                                \
  do {                                                                                     \
    const cublasStatus_t s_ = (call);                                                      \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                     \
      throw actlayer::Error(actlayer::Status::cuda_error,                                  \
                            std::string(#call) + ": cuBLAS status " + std::to_string(s_)); \
    }                                                                                      \
  } while (0)

/// The backend's device and, on CUDA, a cuBLAS handle.
class Context {
 public:
  explicit Context(Device device) : device_(device) {
    if (device_ == Device::cuda) SAMPLE_CUBLAS(cublasCreate(&blas_));
  }
  ~Context() {
    if (blas_) cublasDestroy(blas_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  Device device() const { return device_; }
  cublasHandle_t blas() const { return blas_; }

 private:
  Device device_;
  cublasHandle_t blas_ = nullptr;
};

/// The Euclidean norm of a buffer's values (copied to the host), in double.
inline double l2_norm(const Buffer<float>& g) {
  double s = 0;
  for (float v : g.to_host()) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

inline Buffer<float> upload(const std::vector<float>& v, Device d) {
  return Buffer<float>::from_host(v, d);
}
inline Buffer<float> zeros(std::size_t n, Device d) {
  return upload(std::vector<float>(n, 0.0f), d);
}

// ============================================================================================
// Kernels for the GPU side
// ============================================================================================

__global__ void add_bias_kernel(float* y, const float* b, std::size_t rows, std::size_t cols) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       i < rows * cols; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    y[i] += b[i % cols];
  }
}

/// Row i: loss_i = logsumexp(z_i) - z_i[label_i], dz_i = (softmax(z_i) - onehot) / rows,
/// correct_i = argmax(z_i) == label_i.
__global__ void softmax_xent_kernel(const float* z, const int* label, std::size_t rows,
                                    std::size_t k, float* loss, float* correct, float* dz) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= rows) return;
  const float* zi = z + i * k;
  float m = zi[0];
  std::size_t arg = 0;
  for (std::size_t j = 1; j < k; ++j) {
    if (zi[j] > m) m = zi[j], arg = j;
  }
  float s = 0;
  for (std::size_t j = 0; j < k; ++j) s += expf(zi[j] - m);
  loss[i] = logf(s) + m - zi[label[i]];
  correct[i] = arg == static_cast<std::size_t>(label[i]) ? 1.0f : 0.0f;
  if (dz) {
    for (std::size_t j = 0; j < k; ++j) {
      dz[i * k + j] =
          (expf(zi[j] - m) / s - (j == static_cast<std::size_t>(label[i]) ? 1.0f : 0.0f)) / rows;
    }
  }
}

struct AdamStep {
  float lr, b1, b2, eps, c1, c2;  // c1 = 1 - b1^t, c2 = 1 - b2^t
  template <class Tuple>
  __host__ __device__ void operator()(Tuple t) const {
    float& p = thrust::get<0>(t);
    const float g = thrust::get<1>(t);
    float& m = thrust::get<2>(t);
    float& v = thrust::get<3>(t);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= lr * (m / c1) / (sqrtf(v / c2) + eps);
  }
};

// ============================================================================================
// Dense layer: y = x W^T + b over row-major [rows][cols] batches
// ============================================================================================

class Linear {
 public:
  /// W ~ N(0, scale^2 / in) (scale sqrt(2) = He, 1 = LeCun/Xavier-like), b = 0. Without `bias`
  /// the layer is y = x W^T: the activation after it adds (and trains) the bias (BiasFused).
  Linear(const Context& ctx, std::size_t in, std::size_t out, float scale, std::mt19937& rng,
         bool bias = true)
      : ctx_(ctx), in_(in), out_(out), bias_(bias) {
    std::normal_distribution<float> normal(0.0f, scale / std::sqrt(static_cast<float>(in)));
    std::vector<float> w(in * out);
    for (float& v : w) v = normal(rng);
    const Device d = ctx.device();
    w_ = upload(w, d);
    b_ = zeros(out, d);
    dw_ = zeros(in * out, d);
    db_ = zeros(out, d);
    mw_ = zeros(in * out, d), vw_ = zeros(in * out, d), mb_ = zeros(out, d), vb_ = zeros(out, d);
  }

  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }
  const Buffer<float>& weight_grad() const { return dw_; }

  void forward(const Buffer<float>& x, Buffer<float>& y, std::size_t rows) const {
    if (ctx_.device() == Device::cuda) {
      const float one = 1, zero = 0;
      // Column-major view: y^T [out x rows] = W [out x in] x^T [in x rows].
      SAMPLE_CUBLAS(cublasSgemm(ctx_.blas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(out_),
                                static_cast<int>(rows), static_cast<int>(in_), &one, w_.data(),
                                static_cast<int>(in_), x.data(), static_cast<int>(in_), &zero,
                                y.data(), static_cast<int>(out_)));
      if (bias_) add_bias_kernel<<<256, 256>>>(y.data(), b_.data(), rows, out_);
      SAMPLE_CUDA(cudaGetLastError());
      return;
    }
    // W transposed, so that the inner loop runs over contiguous outputs (what the vectoriser
    // wants); each output is still b + x_0 w_0 + x_1 w_1 + ... in that order. Blocks of rows
    // on actlayer's CPU threads.
    const float *x_ = x.data(), *w = w_.data(), *b = b_.data();
    float* y_ = y.data();
    wt_.resize(in_ * out_);
    for (std::size_t o = 0; o < out_; ++o) {
      for (std::size_t i = 0; i < in_; ++i) wt_[i * out_ + o] = w[o * in_ + i];
    }
    const float* wt = wt_.data();
    for_row_blocks(rows, [&](std::size_t r) {
      float* yr = y_ + r * out_;
      std::copy(b, b + out_, yr);
      for (std::size_t i = 0; i < in_; ++i) {
        const float xi = x_[r * in_ + i];
        for (std::size_t o = 0; o < out_; ++o) yr[o] += xi * wt[i * out_ + o];
      }
    });
  }

  /// dW = dy^T x and db = sum of dy over rows; dx = dy W when dx is given.
  void backward(const Buffer<float>& x, const Buffer<float>& dy, Buffer<float>* dx,
                std::size_t rows) {
    if (ctx_.device() == Device::cuda) {
      const float one = 1, zero = 0;
      const int r = static_cast<int>(rows), i = static_cast<int>(in_), o = static_cast<int>(out_);
      // dW^T [in x out] = x^T [in x rows] dy [rows x out] (column-major views).
      SAMPLE_CUBLAS(cublasSgemm(ctx_.blas(), CUBLAS_OP_N, CUBLAS_OP_T, i, o, r, &one, x.data(), i,
                                dy.data(), o, &zero, dw_.data(), i));
      if (ones_.size() < rows) ones_ = upload(std::vector<float>(rows, 1.0f), Device::cuda);
      // db [out] = dy^T [out x rows] 1.
      if (bias_) {
        SAMPLE_CUBLAS(cublasSgemv(ctx_.blas(), CUBLAS_OP_N, o, r, &one, dy.data(), o, ones_.data(),
                                  1, &zero, db_.data(), 1));
      }
      if (dx) {
        // dx^T [in x rows] = W^T [in x out] dy^T [out x rows].
        SAMPLE_CUBLAS(cublasSgemm(ctx_.blas(), CUBLAS_OP_N, CUBLAS_OP_N, i, r, o, &one, w_.data(),
                                  i, dy.data(), o, &zero, dx->data(), i));
      }
      return;
    }
    // A task per output (its row of dW, summed over the batch rows in order) and per block of
    // batch rows (dx): the same sums in the same order on any number of threads.
    const float *x_ = x.data(), *dy_ = dy.data(), *w = w_.data();
    float *dw = dw_.data(), *db = db_.data();
    actlayer::cpu::parallel_for(out_, [&](std::size_t o) {
      float* dwo = dw + o * in_;
      std::fill(dwo, dwo + in_, 0.0f);
      db[o] = 0.0f;
      for (std::size_t r = 0; r < rows; ++r) {
        const float g = dy_[r * out_ + o];
        db[o] += g;
        for (std::size_t i = 0; i < in_; ++i) dwo[i] += g * x_[r * in_ + i];
      }
    });
    if (dx) {
      float* dx_ = dx->data();
      for_row_blocks(rows, [&](std::size_t r) {
        float* dxr = dx_ + r * in_;
        std::fill(dxr, dxr + in_, 0.0f);
        for (std::size_t o = 0; o < out_; ++o) {
          const float g = dy_[r * out_ + o];
          for (std::size_t i = 0; i < in_; ++i) dxr[i] += g * w[o * in_ + i];
        }
      });
    }
  }

  /// row(r) for r < rows, in blocks of 32 rows on actlayer's CPU threads.
  template <class Row>
  static void for_row_blocks(std::size_t rows, Row&& row) {
    constexpr std::size_t kBlock = 32;
    actlayer::cpu::parallel_for((rows + kBlock - 1) / kBlock, [&](std::size_t k) {
      for (std::size_t r = k * kBlock; r < std::min(rows, (k + 1) * kBlock); ++r) row(r);
    });
  }

  void adam(float lr, int step) {
    adam_update(w_, dw_, mw_, vw_, lr, step);
    if (bias_) adam_update(b_, db_, mb_, vb_, lr, step);
  }

  /// Adam on any parameter buffer (also PReLU's slopes).
  static void adam_update(Buffer<float>& p, const Buffer<float>& g, Buffer<float>& m,
                          Buffer<float>& v, float lr, int step) {
    const float b1 = 0.9f, b2 = 0.999f;
    const AdamStep op{lr,
                      b1,
                      b2,
                      1e-8f,
                      1 - std::pow(b1, static_cast<float>(step)),
                      1 - std::pow(b2, static_cast<float>(step))};
    auto begin =
        thrust::make_zip_iterator(thrust::make_tuple(p.data(), g.data(), m.data(), v.data()));
    if (p.device() == Device::cuda) {
      thrust::for_each(thrust::device, begin, begin + p.size(), op);
      SAMPLE_CUDA(cudaGetLastError());
    } else {
      std::for_each(begin, begin + p.size(), op);
    }
  }

 private:
  const Context& ctx_;
  std::size_t in_, out_;
  bool bias_;
  Buffer<float> w_, b_, dw_, db_, mw_, vw_, mb_, vb_;
  Buffer<float> ones_;
  mutable std::vector<float> wt_;  // W transposed, for the CPU forward
};

// ============================================================================================
// Softmax cross-entropy
// ============================================================================================

struct LossResult {
  double loss;      // mean over rows
  double accuracy;  // fraction of rows whose argmax is the label
};

/// Mean loss and accuracy of logits z [rows][k] against labels; writes dz when given.
inline LossResult softmax_xent(const Buffer<float>& z, const Buffer<int>& labels, std::size_t rows,
                               std::size_t k, Buffer<float>* dz) {
  std::vector<float> loss(rows), correct(rows);
  if (z.device() == Device::cuda) {
    Buffer<float> d_loss(rows), d_correct(rows);
    softmax_xent_kernel<<<static_cast<unsigned>((rows + 255) / 256), 256>>>(
        z.data(), labels.data(), rows, k, d_loss.data(), d_correct.data(),
        dz ? dz->data() : nullptr);
    SAMPLE_CUDA(cudaGetLastError());
    loss = d_loss.to_host();
    correct = d_correct.to_host();
  } else {
    const float* zp = z.data();
    const int* lp = labels.data();
    for (std::size_t i = 0; i < rows; ++i) {
      const float* zi = zp + i * k;
      float m = zi[0];
      std::size_t arg = 0;
      for (std::size_t j = 1; j < k; ++j) {
        if (zi[j] > m) m = zi[j], arg = j;
      }
      float s = 0;
      for (std::size_t j = 0; j < k; ++j) s += std::exp(zi[j] - m);
      loss[i] = std::log(s) + m - zi[lp[i]];
      correct[i] = arg == static_cast<std::size_t>(lp[i]) ? 1.0f : 0.0f;
      if (dz) {
        for (std::size_t j = 0; j < k; ++j) {
          dz->data()[i * k + j] =
              (std::exp(zi[j] - m) / s - (j == static_cast<std::size_t>(lp[i]) ? 1.0f : 0.0f)) /
              static_cast<float>(rows);
        }
      }
    }
  }
  double l = 0, c = 0;
  for (std::size_t i = 0; i < rows; ++i) l += loss[i], c += correct[i];
  return {l / static_cast<double>(rows), c / static_cast<double>(rows)};
}

// ============================================================================================
// The activations, one interface
// ============================================================================================

/// A hidden activation over [rows][width] buffers: one of actlayer's layers.
class Hidden {
 public:
  virtual ~Hidden() = default;
  virtual void forward(const Buffer<float>& x, Buffer<float>& y) = 0;
  virtual void backward(const Buffer<float>& x, const Buffer<float>& y, const Buffer<float>& dy,
                        Buffer<float>& dx) = 0;
  /// Trainable parameters (PReLU): Adam step. Others: nothing.
  virtual void update(float /*lr*/, int /*step*/) {}
  /// Switch between training and eval (RReLU). Others: nothing.
  virtual void train(bool /*on*/) {}
  /// Learned parameters to report (PReLU's slope).
  virtual std::vector<float> parameters() const { return {}; }
};

/// Whether a's gradient can be taken from its output (its functor's trait: saves keeping x).
inline bool has_output_form(const actlayer::Activation& a) {
  bool yes = false;
  actlayer::ops::visit(a,
                       [&](auto, auto op) { yes = actlayer::ops::no_output_form(op) == nullptr; });
  return yes;
}

/// Any elementwise op (actlayer::ActivationLayer). The gradient is taken from the output where
/// the op has an output form, else from x.
class Elementwise : public Hidden {
 public:
  Elementwise(actlayer::Activation a, Device d) : layer_(a, d), from_output_(has_output_form(a)) {}
  void forward(const Buffer<float>& x, Buffer<float>& y) override { layer_.forward(x, y); }
  void backward(const Buffer<float>& x, const Buffer<float>& y, const Buffer<float>& dy,
                Buffer<float>& dx) override {
    if (from_output_) {
      layer_.backward_from_output(y, dy, dx);
    } else {
      layer_.backward(x, dy, dx);
    }
  }

 private:
  actlayer::ActivationLayer<float> layer_;
  bool from_output_ = false;
};

/// The dense layer's bias and any elementwise op in one call (actlayer::BiasActivationLayer):
/// y = f(x + b) over [rows][width], and dx and db from one backward (from the output where the
/// op has an output form). The Linear before it is built without a bias; b starts at 0 as
/// Linear's and is trained by Adam.
class BiasFused : public Hidden {
 public:
  BiasFused(actlayer::Activation a, std::size_t width, Device d)
      : layer_(width, a, d),
        from_output_(has_output_form(a)),
        m_(zeros(width, d)),
        v_(zeros(width, d)) {}
  void forward(const Buffer<float>& x, Buffer<float>& y) override {
    layer_.forward(x, y, shape(x));
  }
  void backward(const Buffer<float>& x, const Buffer<float>& y, const Buffer<float>& dy,
                Buffer<float>& dx) override {
    if (from_output_) {
      layer_.backward_from_output(y, dy, dx, shape(x), actlayer::ParamGrad::overwrite);
    } else {
      layer_.backward(x, dy, dx, shape(x), actlayer::ParamGrad::overwrite);
    }
  }
  void update(float lr, int step) override {
    Linear::adam_update(layer_.bias(), layer_.dbias(), m_, v_, lr, step);
  }

 private:
  actlayer::ChannelShape shape(const Buffer<float>& x) const {
    return {x.size() / layer_.channels(), layer_.channels(), 1};  // rows x features
  }
  actlayer::BiasActivationLayer<float> layer_;
  bool from_output_;
  Buffer<float> m_, v_;
};

/// PReLU with one shared slope per layer (PyTorch's nn.PReLU() default), trained by Adam.
class PRelu : public Hidden {
 public:
  explicit PRelu(Device d) : layer_(1, 0.25f, d), m_(zeros(1, d)), v_(zeros(1, d)) {}
  void forward(const Buffer<float>& x, Buffer<float>& y) override {
    layer_.forward(x, y, shape(x));
  }
  void backward(const Buffer<float>& x, const Buffer<float>&, const Buffer<float>& dy,
                Buffer<float>& dx) override {
    layer_.backward(x, dy, dx, shape(x), actlayer::ParamGrad::overwrite);
  }
  void update(float lr, int step) override {
    Linear::adam_update(layer_.alpha(), layer_.dalpha(), m_, v_, lr, step);
  }
  std::vector<float> parameters() const override { return layer_.alpha().to_host(); }

 private:
  static actlayer::PReluShape shape(const Buffer<float>& x) { return {1, 1, x.size()}; }
  actlayer::PReluLayer<float> layer_;
  Buffer<float> m_, v_;
};

/// RReLU: random slopes in training (keyed by a seed), the mean slope in eval.
class RRelu : public Hidden {
 public:
  RRelu(Device d, std::uint64_t seed) : layer_(seed, 1.0f / 8, 1.0f / 3, d) {}
  void forward(const Buffer<float>& x, Buffer<float>& y) override { layer_.forward(x, y); }
  void backward(const Buffer<float>& x, const Buffer<float>&, const Buffer<float>& dy,
                Buffer<float>& dx) override {
    layer_.backward(x, dy, dx);
  }
  void train(bool on) override { layer_.train(on); }

 private:
  actlayer::RReluLayer<float> layer_;
};

/// What a sample's --activations may name: every op of actlayer's list, and prelu.
inline std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (actlayer::Op op : actlayer::kOps) names.push_back(actlayer::to_string(op));
  names.push_back("prelu");
  return names;
}

/// The Activation a sample's name stands for: leaky_relu in the course's form y = z/10, every
/// other op of the list with its default parameters. false for prelu and rrelu (layers of their
/// own, whose bias cannot be fused) and for unknown names.
inline bool elementwise_activation(const std::string& name, actlayer::Activation* act) {
  if (name == "prelu" || name == "rrelu") return false;
  if (name == "leaky_relu") {
    *act = actlayer::Activation::leaky_relu_divisor(10.0f);
    return true;
  }
  return actlayer::op_from_string(name, &act->op);
}

/// The hidden activation a sample trains with, by name (activation_names()): PReLU with one
/// trainable slope, RReLU keyed by `seed`, the elementwise ops as elementwise_activation() says,
/// with the dense layer's bias fused in when `fused_width` (the layer's width) is not 0.
/// nullptr for an unknown name.
inline std::unique_ptr<Hidden> make_activation(const std::string& name, Device d,
                                               std::uint64_t seed, std::size_t fused_width = 0) {
  if (name == "prelu") return std::make_unique<PRelu>(d);
  if (name == "rrelu") return std::make_unique<RRelu>(d, seed);
  actlayer::Activation act;
  if (!elementwise_activation(name, &act)) return nullptr;
  if (fused_width > 0) return std::make_unique<BiasFused>(act, fused_width, d);
  return std::make_unique<Elementwise>(act, d);
}

}  // namespace sample
