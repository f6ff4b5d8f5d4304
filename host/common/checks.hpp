// host/common/checks.hpp — the argument checks of each call, written once for the CUDA entry
// points and the CPU reference (which adds host_memory: no device pointers in the activation).
// Internal.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/activation.hpp"
#include "validate.hpp"

namespace actlayer::detail {

/// Whose call: the CUDA entry points (device memory) or the reference (host memory).
enum class Memory { device, host };

/// The reference reads no device memory; the CUDA calls read RReLU's device counter, an
/// 8-byte input like any other array.
inline ArgCheck& memory(ArgCheck& check, Memory m, const Activation& act) {
  if (m == Memory::host) return check.host_memory(act);
  if (act.op == Op::rrelu && act.training && act.philox.device_offset != nullptr) {
    check.input("activation.philox.device_offset", act.philox.device_offset, 1);
  }
  return check;
}

template <class T>
Status check_forward(const char* fn, Memory m, const Activation& act, const T* x, T* y,
                     std::size_t n, Blend blend) {
  ArgCheck check(fn);
  return memory(check.activation(act, Pass::forward), m, act)
      .blend(blend)
      .input("x", x, n)
      .output("y", y, n)
      .status();
}

/// backward (in = x) or backward_from_output (in = y).
template <class T>
Status check_backward(const char* fn, Memory m, Pass pass, const Activation& act, const T* in,
                      const T* dy, T* dx, std::size_t n, Blend blend) {
  ArgCheck check(fn);
  return memory(check.activation(act, pass), m, act)
      .blend(blend)
      .input(pass == Pass::backward_from_output ? "y" : "x", in, n)
      .input("dy", dy, n)
      .output("dx", dx, n)
      .status();
}

template <class T>
Status check_save_noise(const char* fn, Memory m, const Activation& act, const T* x, T* y,
                        float* noise, std::size_t n, Blend blend) {
  ArgCheck check(fn);
  return memory(check.activation(act, Pass::forward).rrelu_training(act), m, act)
      .blend(blend)
      .input("x", x, n)
      .output("y", y, n)
      .side_output("noise", noise, n)
      .status();
}

template <class T>
Status check_saved_noise_backward(const char* fn, const float* noise, const T* dy, T* dx,
                                  std::size_t n, Blend blend) {
  return ArgCheck(fn)
      .blend(blend)
      .input("noise", noise, n)
      .input("dy", dy, n)
      .output("dx", dx, n)
      .status();
}

template <class T>
Status check_forward_with_mask(const char* fn, const Activation& act, const T* x, T* y,
                               std::uint32_t* mask, std::size_t n, Blend blend) {
  return ArgCheck(fn)
      .activation(act, Pass::forward)
      .mask_op(act)
      .blend(blend)
      .input("x", x, n)
      .output("y", y, n)
      .side_output("mask", mask, mask_words(n))
      .status();
}

template <class T>
Status check_backward_from_mask(const char* fn, const Activation& act, const std::uint32_t* mask,
                                const T* dy, T* dx, std::size_t n, Blend blend) {
  return ArgCheck(fn)
      .activation(act, Pass::backward)
      .mask_op(act)
      .blend(blend)
      .input("mask", mask, mask_words(n))
      .input("dy", dy, n)
      .output("dx", dx, n)
      .status();
}

/// prelu_forward, with the mask when `mask` is given (mask_expected); *n = the element count.
template <class T, class P>
Status check_prelu_forward(const char* fn, const T* x, const P* alpha, T* y, std::uint32_t* mask,
                           bool mask_expected, ChannelShape shape, std::size_t* n) {
  ArgCheck check(fn);
  check.channel_shape(shape, n)
      .input("x", x, *n)
      .input("alpha", alpha, shape.channels)
      .output("y", y, *n);
  if (mask_expected) check.side_output("mask", mask, mask_words(*n));
  return check.status();
}

/// prelu_backward; `needed` is the workspace it takes (the reference takes none: pass
/// workspace == nullptr and needed == 0).
template <class T, class P>
Status check_prelu_backward(const char* fn, const T* x, const P* alpha, const T* dy, T* dx,
                            P* dalpha, ChannelShape shape, Blend blend, void* workspace,
                            std::size_t workspace_bytes, std::size_t needed, std::size_t* n) {
  return ArgCheck(fn)
      .channel_shape(shape, n)
      .blend(blend)
      .input("x", x, *n)
      .input("alpha", alpha, shape.channels)
      .input("dy", dy, *n)
      .output("dx", dx, *n)
      .side_output("dalpha", dalpha, shape.channels)
      .workspace("prelu_backward_workspace_bytes", workspace, workspace_bytes, needed)
      .status();
}

template <class T, class P>
Status check_prelu_dx_from_mask(const char* fn, const std::uint32_t* mask, const P* alpha,
                                const T* dy, T* dx, ChannelShape shape, std::size_t* n) {
  ArgCheck check(fn);
  check.channel_shape(shape, n);
  return check.input("mask", mask, mask_words(*n))
      .input("alpha", alpha, shape.channels)
      .input("dy", dy, *n)
      .output("dx", dx, *n)
      .status();
}

// ---- bias_act ----------------------------------------------------------------------------

/// What a bias_act backward reads besides dy: x (and the bias), the forward's output y, or the
/// mask of x + bias > 0.
enum class Saved { x, y, mask };

/// The activation of a bias_act call: valid, with the pass (for `saved`), not rrelu in training
/// mode, and sign-only for the mask calls.
inline ArgCheck& bias_act_activation(ArgCheck& check, const Activation& act, Saved saved) {
  check.activation(act, saved == Saved::y ? Pass::backward_from_output : Pass::backward)
      .require(!(act.op == Op::rrelu && act.training), Status::not_supported,
               "rrelu in training mode: bias_act does not draw its per-element random slopes "
               "(add the bias and call forward/backward, or use rrelu in eval mode)");
  return saved == Saved::mask ? check.mask_op(act) : check;
}

/// bias_act_forward, with the mask when `mask_expected`; *n = the element count.
template <class T, class P>
Status check_bias_act_forward(const char* fn, const Activation& act, const T* x, const P* bias,
                              T* y, std::uint32_t* mask, bool mask_expected, ChannelShape shape,
                              std::size_t* n) {
  ArgCheck check(fn);
  bias_act_activation(check, act, mask_expected ? Saved::mask : Saved::x)
      .channel_shape(shape, n)
      .input("x", x, *n)
      .input("bias", bias, shape.channels)
      .output("y", y, *n);
  if (mask_expected) check.side_output("mask", mask, mask_words(*n));
  return check.status();
}

/// bias_act_backward (saved x: `in` and the bias), _from_output (saved y: `in`) or _from_mask
/// (`mask`); `needed` is the workspace it takes (the reference: nullptr and 0).
template <class T, class P>
Status check_bias_act_backward(const char* fn, const Activation& act, Saved saved, const T* in,
                               const std::uint32_t* mask, const P* bias, const T* dy, T* dx,
                               P* dbias, ChannelShape shape, Blend blend, void* workspace,
                               std::size_t workspace_bytes, std::size_t needed, std::size_t* n) {
  ArgCheck check(fn);
  bias_act_activation(check, act, saved).channel_shape(shape, n).blend(blend);
  if (saved == Saved::mask) {
    check.input("mask", mask, mask_words(*n));
  } else {
    check.input(saved == Saved::x ? "x" : "y", in, *n);
  }
  if (saved == Saved::x) check.input("bias", bias, shape.channels);
  return check.input("dy", dy, *n)
      .output("dx", dx, *n)
      .side_output("dbias", dbias, shape.channels)
      .workspace("bias_act_backward_workspace_bytes", workspace, workspace_bytes, needed)
      .status();
}

// ---- Gated activations: the packed calls check the shape and set *n = rows * hidden --------

/// Offsets of a's and b's halves in a packed row of 2H (the CUDA and the CPU entry points pass
/// their loops a and b's first elements).
struct GatedHalves {
  std::size_t a, b;
};
inline GatedHalves gated_halves(const Gated& g, std::size_t hidden) {
  return g.layout == GatedLayout::gate_first ? GatedHalves{0, hidden} : GatedHalves{hidden, 0};
}

template <class T>
Status check_gated_forward(const char* fn, const Gated& g, const T* in, T* y, GatedShape shape,
                           Blend blend, std::size_t* n) {
  ArgCheck check(fn);
  check.gated(g).blend(blend).gated_shape(shape, n);
  return check.input("in", in, 2 * *n).output("y", y, *n).status();
}

template <class T>
Status check_gated_forward(const char* fn, const Gated& g, const T* a, const T* b, T* y,
                           std::size_t n, Blend blend) {
  return ArgCheck(fn)
      .gated(g)
      .blend(blend)
      .input("a", a, n)
      .input("b", b, n)
      .output("y", y, n)
      .status();
}

template <class T>
Status check_gated_backward(const char* fn, const Gated& g, const T* in, const T* dy, T* din,
                            GatedShape shape, Blend blend, std::size_t* n) {
  ArgCheck check(fn);
  check.gated(g).blend(blend).gated_shape(shape, n);
  return check.input("in", in, 2 * *n).input("dy", dy, *n).output("din", din, 2 * *n).status();
}

template <class T>
Status check_gated_backward(const char* fn, const Gated& g, const T* a, const T* b, const T* dy,
                            T* da, T* db, std::size_t n, Blend blend) {
  return ArgCheck(fn)
      .gated(g)
      .blend(blend)
      .input("a", a, n)
      .input("b", b, n)
      .input("dy", dy, n)
      .output("da", da, n)
      .output("db", db, n)
      .status();
}

}  // namespace actlayer::detail
