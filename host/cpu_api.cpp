// The CPU backend's entry points (actlayer/cpu.hpp): the CUDA calls' checks on host memory, then
// the passes of cpu/.
#include "actlayer/cpu.hpp"

#include "../cpu/kernels.hpp"
#include "../cpu/threads.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"

namespace actlayer::cpu {

using namespace ::actlayer::detail;  // the checks

namespace {

/// The checks' Status; when they passed and there are elements, run() first (n read after the
/// checks, as detail::checked_launch).
template <class Run>
Status checked_run(Status checked, const std::size_t& n, Run&& run) {
  if (checked == Status::success && n > 0) run();
  return checked;
}

}  // namespace

template <class T, class>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::forward";
  return checked_run(check_forward(fn, Memory::host, act, x, y, n, blend), n,
                     [&] { cpu_impl::forward(act, x, y, n, blend); });
}

template <class T, class>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::backward";
  return checked_run(check_backward(fn, Memory::host, Pass::backward, act, x, dy, dx, n, blend), n,
                     [&] { cpu_impl::backward(act, x, dy, dx, n, blend); });
}

template <class T, class>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            Blend blend) {
  const char* const fn = "actlayer::cpu::backward_from_output";
  return checked_run(
      check_backward(fn, Memory::host, Pass::backward_from_output, act, y, dy, dx, n, blend), n,
      [&] { cpu_impl::backward_from_output(act, y, dy, dx, n, blend); });
}

template <class T, class>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::rrelu_forward_save_noise";
  return checked_run(check_save_noise(fn, Memory::host, act, x, y, noise, n, blend), n,
                     [&] { cpu_impl::rrelu_forward(act, x, y, noise, n, blend); });
}

template <class T, class>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  Blend blend) {
  const char* const fn = "actlayer::cpu::rrelu_backward_saved_noise";
  return checked_run(check_saved_noise_backward(fn, noise, dy, dx, n, blend), n,
                     [&] { cpu_impl::rrelu_backward_saved(noise, dy, dx, n, blend); });
}

template <class T, class>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::forward_with_mask";
  return checked_run(check_forward_with_mask(fn, act, x, y, mask, n, blend), n,
                     [&] { cpu_impl::forward_with_mask(act, x, y, mask, n, blend); });
}

template <class T, class>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::backward_from_mask";
  return checked_run(check_backward_from_mask(fn, act, mask, dy, dx, n, blend), n,
                     [&] { cpu_impl::backward_from_mask(act, mask, dy, dx, n, blend); });
}

template <class T, class>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape) {
  const char* const fn = "actlayer::cpu::prelu_forward";
  std::size_t n = 0;  // set by the check: read after it (argument order is unspecified)
  const Status checked = check_prelu_forward(fn, x, alpha, y, nullptr, false, shape, &n);
  return checked_run(checked, n, [&] { cpu_impl::prelu_forward(x, alpha, y, shape); });
}

template <class T, class>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, PReluShape shape, Blend dalpha_blend) {
  const char* const fn = "actlayer::cpu::prelu_backward";
  std::size_t n = 0;
  return checked_run(
      check_prelu_backward(fn, x, alpha, dy, dx, dalpha, shape, dalpha_blend, nullptr, 0, 0, &n),
      true, [&] { cpu_impl::prelu_backward(x, alpha, dy, dx, dalpha, shape, dalpha_blend); });
}

template <class T, class>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               PReluShape shape) {
  const char* const fn = "actlayer::cpu::prelu_forward_with_mask";
  std::size_t n = 0;
  const Status checked = check_prelu_forward(fn, x, alpha, y, mask, true, shape, &n);
  return checked_run(checked, n,
                     [&] { cpu_impl::prelu_forward_with_mask(x, alpha, y, mask, shape); });
}

template <class T, class>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, PReluShape shape) {
  const char* const fn = "actlayer::cpu::prelu_backward_dx_from_mask";
  std::size_t n = 0;
  const Status checked = check_prelu_dx_from_mask(fn, mask, alpha, dy, dx, shape, &n);
  return checked_run(checked, n,
                     [&] { cpu_impl::prelu_backward_dx_from_mask(mask, alpha, dy, dx, shape); });
}

template <class T, class>
Status gated_forward(const Gated& g, const T* in, T* y, GatedShape shape, Blend blend) {
  const char* const fn = "actlayer::cpu::gated_forward";
  std::size_t n = 0;
  const Status checked = check_gated_forward(fn, g, in, y, shape, blend, &n);
  return checked_run(checked, n, [&] {
    const GatedHalves h = gated_halves(g, shape.hidden);
    cpu_impl::gated_forward(g, in + h.a, in + h.b, y, n, shape.hidden, blend);
  });
}

template <class T, class>
Status gated_backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape shape,
                      Blend blend) {
  const char* const fn = "actlayer::cpu::gated_backward";
  std::size_t n = 0;
  const Status checked = check_gated_backward(fn, g, in, dy, din, shape, blend, &n);
  return checked_run(checked, n, [&] {
    const GatedHalves h = gated_halves(g, shape.hidden);
    cpu_impl::gated_backward(g, in + h.a, in + h.b, dy, din + h.a, din + h.b, n, shape.hidden,
                             blend);
  });
}

template <class T, class>
Status gated_forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                           Blend blend) {
  const char* const fn = "actlayer::cpu::gated_forward_split";
  return checked_run(check_gated_forward(fn, g, a, b, y, n, blend), n,
                     [&] { cpu_impl::gated_forward(g, a, b, y, n, 0, blend); });
}

template <class T, class>
Status gated_backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, Blend blend) {
  const char* const fn = "actlayer::cpu::gated_backward_split";
  return checked_run(check_gated_backward(fn, g, a, b, dy, da, db, n, blend), n,
                     [&] { cpu_impl::gated_backward(g, a, b, dy, da, db, n, 0, blend); });
}

template <class T, class>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape) {
  const char* const fn = "actlayer::cpu::bias_act_forward";
  std::size_t n = 0;
  const Status checked = check_bias_act_forward(fn, act, x, bias, y, nullptr, false, shape, &n);
  return checked_run(checked, n, [&] { cpu_impl::bias_act_forward(act, x, bias, y, shape); });
}

template <class T, class>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, Blend dbias_blend) {
  const char* const fn = "actlayer::cpu::bias_act_backward";
  std::size_t n = 0;
  return checked_run(check_bias_act_backward(fn, act, Saved::x, x, nullptr, bias, dy, dx, dbias,
                                             shape, dbias_blend, nullptr, 0, 0, &n),
                     true, [&] {
                       cpu_impl::bias_act_backward(act, Pass::backward, x, bias, dy, dx, dbias,
                                                   shape, dbias_blend);
                     });
}

template <class T, class>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape, Blend dbias_blend) {
  const char* const fn = "actlayer::cpu::bias_act_backward_from_output";
  const compute_t<T>* const no_bias = nullptr;
  std::size_t n = 0;
  return checked_run(check_bias_act_backward(fn, act, Saved::y, y, nullptr, no_bias, dy, dx, dbias,
                                             shape, dbias_blend, nullptr, 0, 0, &n),
                     true, [&] {
                       cpu_impl::bias_act_backward(act, Pass::backward_from_output, y, no_bias, dy,
                                                   dx, dbias, shape, dbias_blend);
                     });
}

template <class T, class>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape) {
  const char* const fn = "actlayer::cpu::bias_act_forward_with_mask";
  std::size_t n = 0;
  const Status checked = check_bias_act_forward(fn, act, x, bias, y, mask, true, shape, &n);
  return checked_run(checked, n,
                     [&] { cpu_impl::bias_act_forward_with_mask(act, x, bias, y, mask, shape); });
}

template <class T, class>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape,
                                   Blend dbias_blend) {
  const char* const fn = "actlayer::cpu::bias_act_backward_from_mask";
  const compute_t<T>* const no_bias = nullptr;
  std::size_t n = 0;
  return checked_run(
      check_bias_act_backward(fn, act, Saved::mask, static_cast<const T*>(nullptr), mask, no_bias,
                              dy, dx, dbias, shape, dbias_blend, nullptr, 0, 0, &n),
      true,
      [&] { cpu_impl::bias_act_backward_from_mask(act, mask, dy, dx, dbias, shape, dbias_blend); });
}

void set_threads(unsigned threads) noexcept { cpu_impl::set_thread_count(threads); }
unsigned threads() noexcept { return cpu_impl::thread_count(); }

void detail::run_tasks(std::size_t tasks, void (*task)(void*, std::size_t), void* context) {
  cpu_impl::run_tasks(tasks, [&](std::size_t k) { task(context, k); });
}

ACTLAYER_ENTRY_POINTS(cpu_entry_points, &forward<T>, &backward<T>, &backward_from_output<T>,
                      &rrelu_forward_save_noise<T>, &rrelu_backward_saved_noise<T>,
                      &forward_with_mask<T>, &backward_from_mask<T>, &prelu_forward<T>,
                      &prelu_backward<T>, &prelu_forward_with_mask<T>,
                      &prelu_backward_dx_from_mask<T>, &gated_forward<T>, &gated_backward<T>,
                      &gated_forward_split<T>, &gated_backward_split<T>, &bias_act_forward<T>,
                      &bias_act_backward<T>, &bias_act_backward_from_output<T>,
                      &bias_act_forward_with_mask<T>, &bias_act_backward_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(cpu_entry_points)

}  // namespace actlayer::cpu
