// actlayer/cpu.hpp — the CPU backend: the calls of actlayer/cuda.hpp on host pointers,
// synchronous, fast, and giving the GPU kernels' bits.
//
// Each call runs the ops.cuh functor the kernels run, in the same working precision, rounded
// once to T the same way, on the calling thread and a small pool of threads (set_threads).
// Results do not depend on the thread count, the pointers' alignment or the CPU's vector width.
// Where ops.cuh uses its own arithmetic (the piecewise-linear ops, hardswish, squared_relu,
// softsign, PReLU and its dalpha, RReLU's slopes, the masks, sigmoid and tanh on the library's
// own exp and tanh) they are the GPU's bits exactly, NaNs compared as NaN (a NaN's payload is
// not kept on the GPU). Where an op calls the math library (the exp and GELU families, computed
// in double) the host's libm and CUDA's can differ in the last bit; both are within the published
// bounds (README "Accuracy"). The reference (reference.hpp) stays the independent check of both.
//
// Arguments are checked exactly as the CUDA calls check them (the same messages, under
// "actlayer::cpu::..."), plus: activation.philox.device_offset must be null (a device counter
// cannot be read here). On any Status other than success nothing was written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer::cpu {

/// y = alpha*f(x) + beta*y on host memory. See actlayer::forward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::forward(actlayer::Activation::tanh(), x, y, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend = {});

/// dx = alpha*(dy * f'(x)) + beta*dx on host memory. See actlayer::backward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::backward(act, x, dy, dx, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                Blend blend = {});

/// dx from the forward's output y on host memory. See actlayer::backward_from_output.
///
/// @code
///   actlayer::Status s = actlayer::cpu::backward_from_output(act, y, dy, dx, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            Blend blend = {});

/// RReLU training forward with the applied slopes saved: the kernels' slopes (the same Philox
/// words). See actlayer::rrelu_forward_save_noise.
///
/// @code
///   actlayer::Status s = actlayer::cpu::rrelu_forward_save_noise(act, x, y, noise, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, Blend blend = {});

/// dx = noise * dy on host memory. See actlayer::rrelu_backward_saved_noise.
///
/// @code
///   actlayer::Status s = actlayer::cpu::rrelu_backward_saved_noise(noise, dy, dx, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  Blend blend = {});

/// forward() and the mask of x > 0 on host memory. See actlayer::forward_with_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::forward_with_mask(act, x, y, mask, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, Blend blend = {});

/// dx from the mask on host memory. See actlayer::backward_from_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::backward_from_mask(act, mask, dy, dx, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, Blend blend = {});

/// PReLU forward on host memory. See actlayer::prelu_forward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::prelu_forward(x, alpha, y, {n, c, h * w});
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape);

/// PReLU backward on host memory, dalpha summed in the GPU plan's order: the GPU's dalpha bit
/// for bit. No workspace argument (it allocates its partial sums: shape.outer * channels
/// doubles at most). See actlayer::prelu_backward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::prelu_backward(x, alpha, dy, dx, dalpha, shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, PReluShape shape, Blend dalpha_blend = {});

/// PReLU forward and the mask of x > 0 on host memory. See actlayer::prelu_forward_with_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::prelu_forward_with_mask(x, alpha, y, mask, shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               PReluShape shape);

/// PReLU's dx from the mask on host memory. See actlayer::prelu_backward_dx_from_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::prelu_backward_dx_from_mask(mask, alpha, dy, dx, shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, PReluShape shape);

/// The gated forward over a packed input on host memory: the kernels' per-element expression
/// (the same clamp, g(a') * (b' + offset) in compute_t<T>, rounded once). See
/// actlayer::gated_forward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::gated_forward(actlayer::Gated::swiglu(), in, y, {rows,
///   h});
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_forward(const Gated& gated, const T* in, T* y, GatedShape shape, Blend blend = {});

/// The packed gated backward on host memory: da and db into din in in's layout. See
/// actlayer::gated_backward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::gated_backward(gated, in, dy, din, {rows, h});
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_backward(const Gated& gated, const T* in, const T* dy, T* din, GatedShape shape,
                      Blend blend = {});

/// gated_forward with a and b in two arrays on host memory. See actlayer::gated_forward_split.
///
/// @code
///   actlayer::Status s = actlayer::cpu::gated_forward_split(actlayer::Gated::geglu(), a, b, y, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_forward_split(const Gated& gated, const T* a, const T* b, T* y, std::size_t n,
                           Blend blend = {});

/// gated_backward with a, b, da and db in arrays on host memory. See
/// actlayer::gated_backward_split.
///
/// @code
///   actlayer::Status s = actlayer::cpu::gated_backward_split(gated, a, b, dy, da, db, n);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_backward_split(const Gated& gated, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, Blend blend = {});

/// y = f(x + bias[c]) on host memory. See actlayer::bias_act_forward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::bias_act_forward(act, x, bias, y, {rows, features, 1});
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape);

/// bias_act backward on host memory, dbias summed in the GPU plan's order: the GPU's dbias bit
/// for bit. No workspace argument (it allocates its partial sums, as prelu_backward). See
/// actlayer::bias_act_backward.
///
/// @code
///   actlayer::Status s = actlayer::cpu::bias_act_backward(act, x, bias, dy, dx, dbias, shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, Blend dbias_blend = {});

/// bias_act_backward from the forward's output y on host memory. See
/// actlayer::bias_act_backward_from_output.
///
/// @code
///   actlayer::Status s = actlayer::cpu::bias_act_backward_from_output(act, y, dy, dx, dbias,
///   shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape,
                                     Blend dbias_blend = {});

/// bias_act_forward and the mask of x + bias[c] > 0 on host memory. See
/// actlayer::bias_act_forward_with_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::bias_act_forward_with_mask(act, x, bias, y, mask, shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape);

/// bias_act_backward from the mask on host memory. See actlayer::bias_act_backward_from_mask.
///
/// @code
///   actlayer::Status s = actlayer::cpu::bias_act_backward_from_mask(act, mask, dy, dx, dbias,
///   shape);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape,
                                   Blend dbias_blend = {});

/// The threads the backend's calls use, the calling thread included: 0 (the default) means
/// std::thread::hardware_concurrency(). Takes effect at the next call; calls made while another
/// thread's call is running use the calling thread alone. The results are the same bits for
/// every count.
///
/// @code
///   actlayer::cpu::set_threads(1);  // e.g. inside an already parallel program
/// @endcode
void set_threads(unsigned threads) noexcept;

/// The threads the backend's calls use now (set_threads, else the hardware's count).
///
/// @code
///   unsigned t = actlayer::cpu::threads();
/// @endcode
unsigned threads() noexcept;

namespace detail {
void run_tasks(std::size_t tasks, void (*task)(void*, std::size_t), void* context);
}  // namespace detail

/// task(k) for every k in [0, tasks), each once, on the backend's threads (the calling thread
/// one of them); returns when all have run. For CPU work of your own beside actlayer's (the
/// samples' matrix products): when each task writes its own outputs, the results do not
/// depend on the thread count. A call from inside a task, or while another thread's call is
/// running, runs its tasks in order on the calling thread. `task` must not throw.
///
/// @code
///   actlayer::cpu::parallel_for(rows, [&](std::size_t r) { y[r] = dot(a + r * k, b, k); });
/// @endcode
template <class Fn>
void parallel_for(std::size_t tasks, Fn&& task) {
  using F = std::remove_reference_t<Fn>;
  detail::run_tasks(
      tasks, [](void* f, std::size_t k) { (*static_cast<F*>(f))(k); },
      const_cast<void*>(static_cast<const void*>(&task)));
}

}  // namespace actlayer::cpu
