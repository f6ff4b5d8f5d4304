// actlayer_torch.cpp — actlayer's calls as PyTorch operators (torch.ops.actlayer.*), with CPU
// and, where PyTorch has CUDA, CUDA implementations. Autograd lives in Python
// (actlayer_torch/functional.py); these are the raw passes.
//
// Tensors: float32, float64, float16 or bfloat16. An input that is non-overlapping and dense
// (contiguous, channels_last, a transpose) is used as it is and the output gets its strides; any
// other (a slice with gaps, a broadcast) is copied with .contiguous() first. PReLU's and
// bias_act's x is used as it is when contiguous or channels_last, else made contiguous; the gated
// forms' x is made contiguous. A second input (dy) is brought to the first's strides. Outputs are
// new tensors.
#include <chrono>
#include <string>
#include <vector>

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
using actlayer::ChannelShape;
using actlayer::Gated;
using actlayer::GatedShape;
using actlayer::PReluShape;
using actlayer::Status;
using at::Tensor;

// ---- The CPU backend: every CPU pass of the extension goes through these functions ----------
// They call actlayer's CPU backend (cpu.hpp: the GPU kernels' functors, the same bits where
// docs/design.md §1 says so). The reference stays the tests' independent oracle.
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
template <class T>
Status gated_forward(const Gated& gated, const T* in, T* y, GatedShape shape) {
  return actlayer::cpu::gated_forward(gated, in, y, shape);
}
template <class T>
Status gated_backward(const Gated& gated, const T* in, const T* dy, T* din, GatedShape shape) {
  return actlayer::cpu::gated_backward(gated, in, dy, din, shape);
}
template <class T>
Status bias_act_forward(const Activation& act, const T* x, const actlayer::compute_t<T>* bias, T* y,
                        ChannelShape shape) {
  return actlayer::cpu::bias_act_forward(act, x, bias, y, shape);
}
template <class T>
Status bias_act_backward(const Activation& act, const T* x, const actlayer::compute_t<T>* bias,
                         const T* dy, T* dx, actlayer::compute_t<T>* dbias, ChannelShape shape) {
  return actlayer::cpu::bias_act_backward(act, x, bias, dy, dx, dbias, shape);
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

// Same dtype and device as x, and the shape `sizes` (x's by default; PyTorch's own wording for
// the device).
void check_like(const char* fn, const char* name, const Tensor& t, const Tensor& x,
                at::IntArrayRef sizes = {}, const char* as = " (as x)") {
  if (sizes.empty()) sizes = x.sizes();
  TORCH_CHECK(t.device() == x.device(),
              "Expected all tensors to be on the same device, but found at least two devices, ",
              x.device(), " and ", t.device(), "! (", fn, ": ", name, ")");
  TORCH_CHECK_TYPE(t.scalar_type() == x.scalar_type(), fn, ": expected ", name, " of dtype ",
                   x.scalar_type(), " (as x), but got ", t.scalar_type());
  TORCH_CHECK(t.sizes() == sizes, fn, ": expected ", name, " of shape ", sizes, as, ", but got ",
              t.sizes());
}

Tensor dense(const Tensor& t) { return t.is_non_overlapping_and_dense() ? t : t.contiguous(); }

// t with the strides of `like` (a dense tensor of the same shape).
Tensor strided_as(const Tensor& t, const Tensor& like) {
  return t.strides() == like.strides() ? t : at::empty_like(like).copy_(t);
}

// A device workspace of `bytes` bytes (at least one) from PyTorch's allocator.
Tensor workspace(std::size_t bytes, const Tensor& like) {
  return at::empty({static_cast<std::int64_t>(bytes > 0 ? bytes : 1)},
                   like.options().dtype(at::kByte));
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

// x, per-channel parameters (PReLU's weight, bias_act's bias) and x's view as
// [outer][channels][inner].
struct PerChannel {
  Tensor x;
  Tensor weight;
  ChannelShape shape;
};

// The parameters `weight` (named `name`) run along dim 1 (PyTorch's channel dim; a 2-d x's
// features); with one_for_all, one parameter serves all of x (PReLU's single slope). x comes
// back contiguous or, for a 4-d channels_last x, as it is ({N*H*W, C, 1}); weight contiguous.
PerChannel per_channel(const char* fn, const char* name, const Tensor& x, const Tensor& weight,
                       bool one_for_all) {
  with_element(fn, "x", x, [](auto) {});
  TORCH_CHECK(weight.device() == x.device(),
              "Expected all tensors to be on the same device, but found at least two devices, ",
              x.device(), " and ", weight.device(), "! (", fn, ": ", name, ")");
  const at::ScalarType want = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  TORCH_CHECK_TYPE(weight.scalar_type() == want, fn, ": expected ", name, " of dtype ", want,
                   " for x of dtype ", x.scalar_type(), ", but got ", weight.scalar_type());
  TORCH_CHECK(weight.dim() == 1, fn, ": expected a 1-d ", name, ", but got ", weight.dim(),
              " dimensions");
  const auto c = weight.numel();
  const auto n = static_cast<std::size_t>(x.numel());
  const auto cs = static_cast<std::size_t>(c);
  if (c == 1 && one_for_all) return {x.contiguous(), weight.contiguous(), {1, 1, n}};
  TORCH_CHECK(x.dim() >= 2 && x.size(1) == c, fn, ": expected x with ", c, " channels in dim 1 (",
              name, " has ", c, " parameters), but got x of shape ", x.sizes());
  if (x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous()) {
    return {x, weight.contiguous(), {n / cs, cs, 1}};
  }
  const auto outer = static_cast<std::size_t>(x.size(0));
  return {x.contiguous(), weight.contiguous(), {outer, cs, outer * cs == 0 ? 0 : n / (outer * cs)}};
}

// y = forward(x, weight, y, shape) with T's pointers, cpu or cuda (which also takes the stream).
template <class Cpu, class Cuda>
Tensor per_channel_forward(const char* fn, const char* name, bool one_for_all, const Tensor& x_in,
                           const Tensor& weight_in, Cpu&& cpu, Cuda&& cuda) {
  const PerChannel v = per_channel(fn, name, x_in, weight_in, one_for_all);
  const Tensor &x = v.x, &weight = v.weight;
  Tensor y = at::empty_like(x);
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = actlayer::compute_t<T>;
    if (x.numel() == 0) return;
    run(
        x, [&] { return cpu(ptr<T>(x), ptr<C>(weight), ptr<T>(y), v.shape); },
        [&](auto stream) { return cuda(ptr<T>(x), ptr<C>(weight), ptr<T>(y), v.shape, stream); });
  });
  return y;
}

// (dx, dweight) = backward(x, weight, dy, dx, dweight, shape) with T's pointers, cpu or cuda
// (which also takes a workspace of bytes_for(shape) bytes and the stream); dweight summed in an
// order fixed by the shape (bitwise reproducible).
template <class Cpu, class Cuda>
std::tuple<Tensor, Tensor> per_channel_backward(const char* fn, const char* name, bool one_for_all,
                                                const Tensor& x_in, const Tensor& weight_in,
                                                const Tensor& dy_in,
                                                std::size_t (*bytes_for)(ChannelShape) noexcept,
                                                Cpu&& cpu, Cuda&& cuda) {
  check_like(fn, "dy", dy_in, x_in);
  const PerChannel v = per_channel(fn, name, x_in, weight_in, one_for_all);
  const Tensor &x = v.x, &weight = v.weight;
  const Tensor dy = strided_as(dy_in, x);
  Tensor dx = at::empty_like(x);
  Tensor dweight = at::zeros_like(weight);
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = actlayer::compute_t<T>;
    if (x.numel() == 0) return;
    run(
        x,
        [&] {
          return cpu(ptr<T>(x), ptr<C>(weight), ptr<T>(dy), ptr<T>(dx), ptr<C>(dweight), v.shape);
        },
        [&](auto stream) {
          const std::size_t bytes = bytes_for(v.shape);
          const Tensor ws = workspace(bytes, x);
          return cuda(ptr<T>(x), ptr<C>(weight), ptr<T>(dy), ptr<T>(dx), ptr<C>(dweight), v.shape,
                      ws.data_ptr(), bytes, stream);
        });
  });
  return {dx, dweight};
}

// PReLU: the slopes along dim 1, or one slope for all of x.
Tensor prelu_forward(const Tensor& x, const Tensor& weight) {
  return per_channel_forward(
      "actlayer::prelu_forward", "weight", true, x, weight,
      [](auto... a) { return host::prelu_forward(a...); },
      [](auto... a) { return actlayer::prelu_forward(a...); });
}

std::tuple<Tensor, Tensor> prelu_backward(const Tensor& x, const Tensor& weight, const Tensor& dy) {
  return per_channel_backward(
      "actlayer::prelu_backward", "weight", true, x, weight, dy,
      actlayer::prelu_backward_workspace_bytes,
      [](auto... a) { return host::prelu_backward(a...); },
      [](auto... a) { return actlayer::prelu_backward(a...); });
}

// ---- Gated (GLU family): x's last dim packs [a | b] (gate_first) or [b | a] (gate_second) ----

// The Gated with gate op `op` (activation()'s fields), layout "gate_first" or "gate_second",
// the clamp limit (inf: none) and the linear half's offset.
Gated gated_of(const char* fn, c10::string_view op, at::ArrayRef<double> params,
               c10::string_view layout, double limit, double linear_offset) {
  const bool first = layout == c10::string_view("gate_first");
  TORCH_CHECK_VALUE(first || layout == c10::string_view("gate_second"), fn,
                    ": expected layout 'gate_first' or 'gate_second', but got '", layout, "'");
  Gated g = Gated::of(activation(fn, op, params, {}), first ? actlayer::GatedLayout::gate_first
                                                            : actlayer::GatedLayout::gate_second);
  g.limit = static_cast<float>(limit);
  g.linear_offset = static_cast<float>(linear_offset);
  return g;
}

// x contiguous and its packed view (rows = all but the last dim, hidden = half the last);
// *y_sizes: x's sizes with the last dim halved.
GatedShape gated_view(const char* fn, Tensor* x, std::vector<std::int64_t>* y_sizes) {
  TORCH_CHECK(x->dim() >= 1, fn, ": expected x with at least 1 dimension, but got a scalar");
  const auto last = x->size(-1);
  TORCH_CHECK(last % 2 == 0, fn,
              ": expected x's last dimension (a and b side by side) to be even, "
              "but got x of shape ",
              x->sizes());
  *x = x->contiguous();
  *y_sizes = x->sizes().vec();
  y_sizes->back() = last / 2;
  std::size_t rows = 1;
  for (std::int64_t i = 0; i + 1 < x->dim(); ++i) rows *= static_cast<std::size_t>(x->size(i));
  return {rows, static_cast<std::size_t>(last / 2)};
}

Tensor gated_forward(const Tensor& x_in, c10::string_view op, at::ArrayRef<double> params,
                     c10::string_view layout, double limit, double linear_offset) {
  constexpr const char* fn = "actlayer::gated_forward";
  const Gated g = gated_of(fn, op, params, layout, limit, linear_offset);
  Tensor x = x_in;
  std::vector<std::int64_t> y_sizes;
  const GatedShape shape = gated_view(fn, &x, &y_sizes);
  Tensor y = at::empty(y_sizes, x.options());
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (y.numel() == 0) return;
    run(
        x, [&] { return host::gated_forward(g, ptr<T>(x), ptr<T>(y), shape); },
        [&](auto stream) {
          return actlayer::gated_forward(g, ptr<T>(x), ptr<T>(y), shape, stream);
        });
  });
  return y;
}

// dx (x's shape: da and db where a and b lie in x) from dy (y's shape).
Tensor gated_backward(const Tensor& x_in, const Tensor& dy_in, c10::string_view op,
                      at::ArrayRef<double> params, c10::string_view layout, double limit,
                      double linear_offset) {
  constexpr const char* fn = "actlayer::gated_backward";
  const Gated g = gated_of(fn, op, params, layout, limit, linear_offset);
  Tensor x = x_in;
  std::vector<std::int64_t> y_sizes;
  const GatedShape shape = gated_view(fn, &x, &y_sizes);
  check_like(fn, "dy", dy_in, x, y_sizes, " (x's with the last dimension halved)");
  const Tensor dy = dy_in.contiguous();
  Tensor dx = at::empty_like(x);
  with_element(fn, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (dy.numel() == 0) return;
    run(
        x, [&] { return host::gated_backward(g, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), shape); },
        [&](auto stream) {
          return actlayer::gated_backward(g, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), shape, stream);
        });
  });
  return dx;
}

// ---- Bias-fused: y = f(x + bias[c]), the channels along dim 1 (a 2-d x: its features) ----

Tensor bias_act_forward(const Tensor& x, const Tensor& bias, c10::string_view op,
                        at::ArrayRef<double> params) {
  constexpr const char* fn = "actlayer::bias_act_forward";
  const Activation act = activation(fn, op, params, {});
  return per_channel_forward(
      fn, "bias", false, x, bias, [&](auto... a) { return host::bias_act_forward(act, a...); },
      [&](auto... a) { return actlayer::bias_act_forward(act, a...); });
}

std::tuple<Tensor, Tensor> bias_act_backward(const Tensor& x, const Tensor& bias, const Tensor& dy,
                                             c10::string_view op, at::ArrayRef<double> params) {
  constexpr const char* fn = "actlayer::bias_act_backward";
  const Activation act = activation(fn, op, params, {});
  return per_channel_backward(
      fn, "bias", false, x, bias, dy, actlayer::bias_act_backward_workspace_bytes,
      [&](auto... a) { return host::bias_act_backward(act, a...); },
      [&](auto... a) { return actlayer::bias_act_backward(act, a...); });
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
  m.def(
      "gated_forward(Tensor x, str op, float[] params, str layout, float limit, "
      "float linear_offset) -> Tensor");
  m.def(
      "gated_backward(Tensor x, Tensor dy, str op, float[] params, str layout, float limit, "
      "float linear_offset) -> Tensor");
  m.def("bias_act_forward(Tensor x, Tensor bias, str op, float[] params) -> Tensor");
  m.def(
      "bias_act_backward(Tensor x, Tensor bias, Tensor dy, str op, float[] params) "
      "-> (Tensor, Tensor)");
  m.def("forward_calls(Tensor x, Tensor(a!) y, str op, float[] params, int calls) -> float");
}

// The same functions serve both dispatch keys: run() picks the backend from the tensor.
static void implement(torch::Library& m) {
  m.impl("forward", forward);
  m.impl("backward", backward);
  m.impl("backward_from_output", backward_from_output);
  m.impl("prelu_forward", prelu_forward);
  m.impl("prelu_backward", prelu_backward);
  m.impl("gated_forward", gated_forward);
  m.impl("gated_backward", gated_backward);
  m.impl("bias_act_forward", bias_act_forward);
  m.impl("bias_act_backward", bias_act_backward);
  m.impl("forward_calls", forward_calls);
}

TORCH_LIBRARY_IMPL(actlayer, CPU, m) { implement(m); }
#ifdef ACTLAYER_TORCH_CUDA
TORCH_LIBRARY_IMPL(actlayer, CUDA, m) { implement(m); }
#endif
