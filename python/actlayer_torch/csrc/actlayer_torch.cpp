// actlayer_torch.cpp — actlayer's calls as PyTorch operators (torch.ops.actlayer.*), with CPU
// and, where PyTorch has CUDA, CUDA implementations. Autograd lives in Python
// (actlayer_torch/functional.py); these are the raw passes.
//
// Tensors: float32, float64, float16 or bfloat16. An input that is non-overlapping and dense
// (contiguous, channels_last, a transpose) is used as it is and the output gets its strides; any
// other (a slice with gaps, a broadcast) is copied with .contiguous() first. PReLU's x is used as
// it is when contiguous or channels_last, else made contiguous. A second input (dy) is brought to
// the first's strides. Outputs are new tensors.
#include <chrono>
#include <string>

#include <ATen/ATen.h>
#include <torch/library.h>
#ifdef ACTLAYER_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif
#include "actlayer/activation.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/cpu.hpp"

namespace {

using actlayer::Activation;
using actlayer::PReluShape;
using actlayer::Status;
using at::Tensor;

// ---- The CPU backend: every CPU pass of the extension goes through these five functions ----
// They call actlayer's CPU backend (cpu.hpp: the GPU kernels' functors, the same bits where
// docs/design.md §1 says so); the reference stays the tests' independent oracle.
// (Gated and bias-fused forms: add their dispatch functions here, next to these.)
namespace host {
template <class T>
Status forward(const Activation& act, const T* x, T* y, std::size_t n) {
  return actlayer::cpu::forward(act, x, y, n);
}
template <class T>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n) {
  return actlayer::cpu::backward(act, x, dy, dx, n);
}
template <class T>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n) {
  return actlayer::cpu::backward_from_output(act, y, dy, dx, n);
}
template <class T>
Status prelu_forward(const T* x, const actlayer::compute_t<T>* alpha, T* y, PReluShape shape) {
  return actlayer::cpu::prelu_forward(x, alpha, y, shape);
}
template <class T>
Status prelu_backward(const T* x, const actlayer::compute_t<T>* alpha, const T* dy, T* dx,
                      actlayer::compute_t<T>* dalpha, PReluShape shape) {
  return actlayer::cpu::prelu_backward(x, alpha, dy, dx, dalpha, shape);
}
}  // namespace host

// A Status other than success as a PyTorch error carrying actlayer's message: ValueError for
// invalid_argument, NotImplementedError for not_supported, RuntimeError for cuda_error.
void check(Status s) {
  TORCH_CHECK_VALUE(s != Status::invalid_argument, actlayer::last_error());
  TORCH_CHECK_NOT_IMPLEMENTED(s != Status::not_supported, actlayer::last_error());
  TORCH_CHECK(s == Status::success, actlayer::last_error());
}

template <class T>
struct Tag {
  using type = T;
};

// f(Tag<T>{}) with T the element type of t: float, double, __half or __nv_bfloat16.
template <class F>
void with_element(const char* fn, const char* name, const Tensor& t, F&& f) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return f(Tag<float>{});
    case at::kDouble:
      return f(Tag<double>{});
    case at::kHalf:
      return f(Tag<__half>{});
    case at::kBFloat16:
      return f(Tag<__nv_bfloat16>{});
    default:
      TORCH_CHECK_TYPE(false, fn, ": expected ", name,
                       " of dtype float32, float64, float16 or bfloat16, but got ",
                       t.scalar_type());
  }
}

template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}

// Same dtype, device and shape as x (PyTorch's own wording for the device).
void check_like(const char* fn, const char* name, const Tensor& t, const Tensor& x) {
  TORCH_CHECK(t.device() == x.device(),
              "Expected all tensors to be on the same device, but found at least two devices, ",
              x.device(), " and ", t.device(), "! (", fn, ": ", name, ")");
  TORCH_CHECK_TYPE(t.scalar_type() == x.scalar_type(), fn, ": expected ", name, " of dtype ",
                   x.scalar_type(), " (as x), but got ", t.scalar_type());
  TORCH_CHECK(t.sizes() == x.sizes(), fn, ": expected ", name, " of shape ", x.sizes(),
              " (as x), but got ", t.sizes());
}

Tensor dense(const Tensor& t) { return t.is_non_overlapping_and_dense() ? t : t.contiguous(); }

// t with the strides of `like` (a dense tensor of the same shape).
Tensor strided_as(const Tensor& t, const Tensor& like) {
  return t.strides() == like.strides() ? t : at::empty_like(like).copy_(t);
}

#ifdef ACTLAYER_TORCH_CUDA
cudaStream_t stream_of(const Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index());
}
#endif

// cpu(), or on a CUDA tensor cuda(stream) under a device guard; the Status checked.
template <class Cpu, class Cuda>
void run(const Tensor& t, Cpu&& cpu, [[maybe_unused]] Cuda&& cuda) {
  if (t.is_cpu()) return check(cpu());
#ifdef ACTLAYER_TORCH_CUDA
  if (t.is_cuda()) {
    const c10::cuda::CUDAGuard guard(t.device());
    return check(cuda(stream_of(t)));
  }
#endif
  TORCH_CHECK(false, "actlayer_torch: no implementation for tensors on ", t.device());
}

// The Activation named `op` with the fields of `params` (functional.py's FIELDS, in order) and,
// for rrelu in training, key = {seed, offset}.
Activation activation(const char* fn, c10::string_view op, at::ArrayRef<double> params,
                      at::IntArrayRef key) {
  Activation act;
  TORCH_CHECK_VALUE(actlayer::op_from_string(std::string_view(op.data(), op.size()), &act.op), fn,
                    ": unknown op '", op, "'");
  float* fields[] = {&act.slope,  &act.divisor,    &act.lower,      &act.upper, &act.alpha,
                     &act.beta,   &act.threshold,  &act.value,      &act.lo,    &act.hi,
                     &act.lambda, &act.hard_slope, &act.hard_offset};
  TORCH_CHECK_VALUE(params.size() == std::size(fields), fn, ": expected ", std::size(fields),
                    " activation parameters, but got ", params.size());
  for (std::size_t i = 0; i < params.size(); ++i) *fields[i] = static_cast<float>(params[i]);
  TORCH_CHECK_VALUE(key.empty() || key.size() == 2, fn,
                    ": expected the RReLU key as [seed, offset] or [], but got ", key.size(),
                    " numbers");
  if (key.size() == 2) {
    act.training = true;
    act.philox = {static_cast<std::uint64_t>(key[0]), static_cast<std::uint64_t>(key[1])};
  }
  return act;
}

Tensor forward(const Tensor& x_in, c10::string_view op, at::ArrayRef<double> params,
               at::IntArrayRef key) {
  constexpr const char* fn = "actlayer::forward";
  const Activation act = activation(fn, op, params, key);
  const Tensor x = dense(x_in);
  Tensor y = at::empty_like(x);
  const auto n = static_cast<std::size_t>(x.numel());
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    run(
        x, [&] { return host::forward(act, ptr<T>(x), ptr<T>(y), n); },
        [&](auto stream) { return actlayer::forward(act, ptr<T>(x), ptr<T>(y), n, stream); });
  });
  return y;
}

// dx from x (from_output false) or from y (true).
Tensor backward_pass(const char* fn, bool from_output, const Tensor& x_in, const Tensor& dy_in,
                     c10::string_view op, at::ArrayRef<double> params, at::IntArrayRef key) {
  const Activation act = activation(fn, op, params, key);
  check_like(fn, "dy", dy_in, x_in);
  const Tensor x = dense(x_in);
  const Tensor dy = strided_as(dy_in, x);
  Tensor dx = at::empty_like(x);
  const auto n = static_cast<std::size_t>(x.numel());
  with_element(fn, from_output ? "y" : "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    run(
        x,
        [&] {
          return from_output ? host::backward_from_output(act, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), n)
                             : host::backward(act, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), n);
        },
        [&](auto stream) {
          return from_output
                     ? actlayer::backward_from_output(act, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), n,
                                                      stream)
                     : actlayer::backward(act, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), n, stream);
        });
  });
  return dx;
}

Tensor backward(const Tensor& x, const Tensor& dy, c10::string_view op, at::ArrayRef<double> params,
                at::IntArrayRef key) {
  return backward_pass("actlayer::backward", false, x, dy, op, params, key);
}

Tensor backward_from_output(const Tensor& y, const Tensor& dy, c10::string_view op,
                            at::ArrayRef<double> params) {
  return backward_pass("actlayer::backward_from_output", true, y, dy, op, params, {});
}

// PReLU's view of x: the slopes run along dim 1 (PyTorch's channel dim); one slope: all of x.
// x comes back contiguous or, for a 4-d channels_last x, as it is ({N*H*W, C, 1}).
PReluShape prelu_view(const char* fn, Tensor* x, const Tensor& weight) {
  TORCH_CHECK(weight.device() == x->device(),
              "Expected all tensors to be on the same device, but found at least two devices, ",
              x->device(), " and ", weight.device(), "! (", fn, ": weight)");
  const at::ScalarType want = x->scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  TORCH_CHECK_TYPE(weight.scalar_type() == want, fn, ": expected weight of dtype ", want,
                   " for x of dtype ", x->scalar_type(), ", but got ", weight.scalar_type());
  TORCH_CHECK(weight.dim() == 1, fn, ": expected a 1-d weight, but got ", weight.dim(),
              " dimensions");
  const auto c = weight.numel();
  const auto n = static_cast<std::size_t>(x->numel());
  if (c == 1) {
    *x = x->contiguous();
    return {1, 1, n};
  }
  TORCH_CHECK(x->dim() >= 2 && x->size(1) == c, fn, ": expected x with ", c,
              " channels in dim 1 (weight has ", c, " parameters), but got x of shape ",
              x->sizes());
  if (x->dim() == 4 && x->is_contiguous(at::MemoryFormat::ChannelsLast) && !x->is_contiguous()) {
    return {n / static_cast<std::size_t>(c), static_cast<std::size_t>(c), 1};
  }
  *x = x->contiguous();
  const auto outer = static_cast<std::size_t>(x->size(0));
  return {outer, static_cast<std::size_t>(c), outer * c == 0 ? 0 : n / (outer * c)};
}

Tensor prelu_forward(const Tensor& x_in, const Tensor& weight_in) {
  constexpr const char* fn = "actlayer::prelu_forward";
  Tensor x = x_in;
  with_element(fn, "x", x, [](auto) {});
  const PReluShape shape = prelu_view(fn, &x, weight_in);
  const Tensor weight = weight_in.contiguous();
  Tensor y = at::empty_like(x);
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = actlayer::compute_t<T>;
    run(
        x, [&] { return host::prelu_forward(ptr<T>(x), ptr<C>(weight), ptr<T>(y), shape); },
        [&](auto stream) {
          return actlayer::prelu_forward(ptr<T>(x), ptr<C>(weight), ptr<T>(y), shape, stream);
        });
  });
  return y;
}

// (dx, dweight); dweight summed in an order fixed by the shape (bitwise reproducible).
std::tuple<Tensor, Tensor> prelu_backward(const Tensor& x_in, const Tensor& weight_in,
                                          const Tensor& dy_in) {
  constexpr const char* fn = "actlayer::prelu_backward";
  check_like(fn, "dy", dy_in, x_in);
  Tensor x = x_in;
  with_element(fn, "x", x, [](auto) {});
  const PReluShape shape = prelu_view(fn, &x, weight_in);
  const Tensor weight = weight_in.contiguous();
  const Tensor dy = strided_as(dy_in, x);
  Tensor dx = at::empty_like(x);
  Tensor dweight = at::empty_like(weight);
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = actlayer::compute_t<T>;
    run(
        x,
        [&] {
          return host::prelu_backward(ptr<T>(x), ptr<C>(weight), ptr<T>(dy), ptr<T>(dx),
                                      ptr<C>(dweight), shape);
        },
        [&](auto stream) {
          const auto bytes =
              static_cast<std::int64_t>(actlayer::prelu_backward_workspace_bytes(shape));
          const Tensor ws = at::empty({bytes > 0 ? bytes : 1}, x.options().dtype(at::kByte));
          return actlayer::prelu_backward(ptr<T>(x), ptr<C>(weight), ptr<T>(dy), ptr<T>(dx),
                                          ptr<C>(dweight), shape, ws.data_ptr(),
                                          static_cast<std::size_t>(bytes), stream);
        });
  });
  return {dx, dweight};
}

// For bench/torch_extension.py: `calls` raw forward calls into y, looped in C++; the host
// seconds per call (for CUDA: enqueue time, nothing synchronised).
double forward_calls(const Tensor& x, Tensor y, c10::string_view op, at::ArrayRef<double> params,
                     std::int64_t calls) {
  constexpr const char* fn = "actlayer::forward_calls";
  const Activation act = activation(fn, op, params, {});
  check_like(fn, "y", y, x);
  TORCH_CHECK(x.is_contiguous() && y.is_contiguous(), fn, ": expected contiguous x and y");
  const auto n = static_cast<std::size_t>(x.numel());
  const auto start = std::chrono::steady_clock::now();
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const auto loop = [&](auto call) {
      Status s = Status::success;
      for (std::int64_t i = 0; i < calls && s == Status::success; ++i) s = call();
      return s;
    };
    run(
        x, [&] { return loop([&] { return host::forward(act, ptr<T>(x), ptr<T>(y), n); }); },
        [&](auto stream) {
          return loop([&] { return actlayer::forward(act, ptr<T>(x), ptr<T>(y), n, stream); });
        });
  });
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return calls > 0 ? seconds.count() / static_cast<double>(calls) : 0.0;
}

}  // namespace

TORCH_LIBRARY(actlayer, m) {
  m.def("forward(Tensor x, str op, float[] params, int[] key) -> Tensor");
  m.def("backward(Tensor x, Tensor dy, str op, float[] params, int[] key) -> Tensor");
  m.def("backward_from_output(Tensor y, Tensor dy, str op, float[] params) -> Tensor");
  m.def("prelu_forward(Tensor x, Tensor weight) -> Tensor");
  m.def("prelu_backward(Tensor x, Tensor weight, Tensor dy) -> (Tensor, Tensor)");
  m.def("forward_calls(Tensor x, Tensor(a!) y, str op, float[] params, int calls) -> float");
}

// The same functions serve both dispatch keys: run() picks the backend from the tensor.
static void implement(torch::Library& m) {
  m.impl("forward", forward);
  m.impl("backward", backward);
  m.impl("backward_from_output", backward_from_output);
  m.impl("prelu_forward", prelu_forward);
  m.impl("prelu_backward", prelu_backward);
  m.impl("forward_calls", forward_calls);
}

TORCH_LIBRARY_IMPL(actlayer, CPU, m) { implement(m); }
#ifdef ACTLAYER_TORCH_CUDA
TORCH_LIBRARY_IMPL(actlayer, CUDA, m) { implement(m); }
#endif
