// actlayer/cuda.hpp — the raw CUDA entry points.
//
// Every call takes device pointers, checks its arguments, enqueues its work on `stream` and
// returns. It allocates nothing and never synchronises, so it can be captured in a CUDA graph.
// It works on the device that is current on the calling thread; calls from several threads on
// several streams or devices at once are safe. On any Status other than success nothing was
// launched and no output was touched; last_error() says why.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "actlayer/activation.hpp"
#include "actlayer/element.hpp"

namespace actlayer {

/// y = alpha*f(x) + beta*y, elementwise over n elements.
///
/// @param act    the activation and its parameters (validated)
/// @param x      n inputs on the device; may equal y (in place), must not partly overlap it
/// @param y      n outputs on the device; read only when blend.beta != 0
/// @param n      element count; 0 is a no-op
/// @param stream the stream to enqueue on
/// @param blend  alpha and beta, both finite
/// @return success, invalid_argument (bad parameter, null or misaligned pointer, partial
///         overlap, size overflow) or cuda_error (the launch failed). rrelu in training mode
///         draws its slopes here (see "RReLU in training mode" below).
///
/// @code
///   actlayer::Status s = actlayer::forward(actlayer::Activation::tanh(), d_x, d_y, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status forward(const Activation& act, const T* x, T* y, std::size_t n,
               cudaStream_t stream = nullptr, Blend blend = {});

/// dx = alpha*(dy * f'(x)) + beta*dx, elementwise. dx may equal x or dy exactly.
///
/// @code
///   actlayer::Status s = actlayer::backward(act, d_x, d_dy, d_dx, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                cudaStream_t stream = nullptr, Blend blend = {});

/// dx = alpha*(dy * f'(x)) + beta*dx computed from the forward's output y = f(x), for the ops
/// whose derivative is a function of y: identity, step, sigmoid, tanh, relu, and leaky_relu /
/// rrelu (eval) with a slope > 0. Others return not_supported.
///
/// @code
///   actlayer::Status s = actlayer::backward_from_output(act, d_y, d_dy, d_dx, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            cudaStream_t stream = nullptr, Blend blend = {});

// ============================================================================================
// RReLU in training mode
// ============================================================================================
// forward() and backward() with Activation::rrelu_training(key) draw a slope r_i ~ U[lower,
// upper] per element from Philox4x32-10 under key (docs/design.md §5), in the kernel: the
// backward draws the same slopes again from the same key, and nothing of size n is stored.
// The calls below are for code that wants PyTorch's behaviour instead (a saved noise tensor),
// and for CUDA graphs.

/// RReLU training forward that also writes noise[i], the slope applied to element i: 1 where
/// x > 0, r_i where x <= 0, NaN where x is NaN (PyTorch's noise tensor, in float so that r_i is
/// exact). act must be rrelu in training mode.
///
/// @code
///   actlayer::Activation act = actlayer::Activation::rrelu_training({seed, step});
///   actlayer::Status s = actlayer::rrelu_forward_save_noise(act, d_x, d_y, d_noise, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, cudaStream_t stream = nullptr, Blend blend = {});

/// dx = noise * dy from the noise rrelu_forward_save_noise saved: the same bits as backward()
/// drawing the slopes again.
///
/// @code
///   actlayer::Status s = actlayer::rrelu_backward_saved_noise(d_noise, d_dy, d_dx, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  cudaStream_t stream = nullptr, Blend blend = {});

/// *device_offset += 1, on the device, in stream order. With act.philox.device_offset =
/// device_offset, a CUDA graph holding [advance, forward, backward] draws fresh slopes at every
/// replay, and the backward sees the forward's offset.
///
/// @code
///   actlayer::Status s = actlayer::rrelu_advance_offset(d_counter, stream);
/// @endcode
Status rrelu_advance_offset(std::uint64_t* device_offset, cudaStream_t stream = nullptr);

// ============================================================================================
// 1-bit saved state
// ============================================================================================
// relu, leaky_relu, step and rrelu (eval) need only the sign of x for their backward: keep a
// bitmask instead of x, 32x smaller than a float tensor. Bit i % 32 of word i / 32 is x[i] > 0;
// the bits past n in the last word are 0; a mask over n elements has mask_words(n) words. A NaN
// in x cannot be carried by one bit: its bit is 0, and the backward from the mask gives the
// negative side's slope times dy there (not NaN); the forward's y carries the NaN on.

/// forward(), and the mask of x > 0. Other ops than relu, leaky_relu, step and rrelu (eval):
/// not_supported (their derivative needs x or y itself).
///
/// @code
///   actlayer::Status s = actlayer::forward_with_mask(act, d_x, d_y, d_mask, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, cudaStream_t stream = nullptr, Blend blend = {});

/// dx = alpha*(dy * f'(x)) + beta*dx with the sign of x read from the mask: the same bits as
/// backward() from x wherever x was not NaN.
///
/// @code
///   actlayer::Status s = actlayer::backward_from_mask(act, d_mask, d_dy, d_dx, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, cudaStream_t stream = nullptr, Blend blend = {});

}  // namespace actlayer

// ============================================================================================
// PReLU: a trainable slope per channel
// ============================================================================================

namespace actlayer {

/// y = x for x >= 0, alpha[c]*x otherwise, over x viewed as [outer][channels][inner] (c the
/// middle index). NCHW: {N, C, H*W}; NHWC: {N*H*W, C, 1}; one shared slope: {1, 1, n}.
///
/// @param x      outer*channels*inner inputs on the device; may equal y
/// @param alpha  `channels` slopes on the device (float for float/half/bfloat16 data)
/// @return success, invalid_argument (channels == 0, size overflow, null/misaligned/overlapping
///         pointers) or cuda_error.
///
/// @code
///   actlayer::Status s = actlayer::prelu_forward(d_x, d_alpha, d_y, {n, c, h * w}, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, ChannelShape shape,
                     cudaStream_t stream = nullptr);

/// Bytes of device workspace prelu_backward needs for `shape` (per-block partial sums of dalpha;
/// far smaller than the tensor). Depends on the shape only; 0 for an invalid shape.
std::size_t prelu_backward_workspace_bytes(ChannelShape shape) noexcept;

/// dx = dy for x > 0, alpha[c]*dy otherwise; and dalpha[c] = sum over x <= 0 of x*dy, blended:
/// dalpha = a*sum + b*dalpha with dalpha_blend = {a, b} ({1, 1} accumulates across
/// micro-batches). One pass over x and dy writes dx and per-block partial sums to `workspace`;
/// a second, small kernel adds them in a fixed order. No atomics: dalpha is bitwise identical
/// from run to run, on any stream and any GPU, whatever the pointers' alignment (the split and
/// the order of the sums depend on the shape only).
///
/// With zero elements (outer or inner 0) dalpha is still written: a*0 + b*dalpha, the gradient
/// of an empty batch.
///
/// @param workspace       at least prelu_backward_workspace_bytes(shape) bytes on the device,
///                        8-byte aligned (any cudaMalloc'd pointer); overwritten
/// @return success, invalid_argument (as prelu_forward, a workspace too small, or a
///         non-finite dalpha_blend) or cuda_error (two kernels are launched: if the second
///         launch fails, dx has been written).
///
/// @code
///   std::size_t bytes = actlayer::prelu_backward_workspace_bytes(shape);
///   // ... d_ws = bytes of device memory, allocated once ...
///   actlayer::Status s = actlayer::prelu_backward(d_x, d_alpha, d_dy, d_dx, d_dalpha, shape,
///                                                 d_ws, bytes, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, ChannelShape shape, void* workspace,
                      std::size_t workspace_bytes, cudaStream_t stream = nullptr,
                      Blend dalpha_blend = {});

/// prelu_forward(), and the mask of x > 0 (see forward_with_mask).
template <class T, class = if_element_t<T>>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               ChannelShape shape, cudaStream_t stream = nullptr);

/// PReLU's dx alone from the mask: dy where the bit is set, alpha[c]*dy where not. dalpha needs
/// x itself (it sums x*dy): this is for frozen slopes, or a dx computed before x is released.
template <class T, class = if_element_t<T>>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, ChannelShape shape,
                                   cudaStream_t stream = nullptr);

}  // namespace actlayer

// ============================================================================================
// bias_act: a per-channel bias fused with an activation, and a deterministic bias gradient
// ============================================================================================
// y = f(x + bias[c]) over x viewed as [outer][channels][inner] (ChannelShape: NCHW {N, C, H*W},
// NHWC {N*H*W, C, 1}, rows x features {rows, F, 1}), for any op but rrelu in training mode
// (not_supported: its random slopes are drawn by the elementwise kernels). The bias and its
// gradient are compute_t<T> (float for half and bfloat16 data: the fp32 master copy), one per
// channel: `bias` and `dbias` hold shape.channels values (a pointer does not say its length:
// the calls cannot check it).
//
// Rounding: z = x + bias[c] is rounded once to the working precision compute_t<T> and f is
// evaluated at that z (as cuBLASLt's bias epilogues do). dx = dy f'(z) rounded to T; dbias[c]
// is the sum, in double, of the dx values in the working precision (before they are rounded to
// a 16-bit T), in an order fixed by the shape: bitwise identical from run to run, on any
// stream and any GPU, whatever the pointers' alignment (no atomics; as prelu_backward).

namespace actlayer {

/// y = f(x + bias[c]).
///
/// @param act    the activation (validated; rrelu in training mode is not_supported)
/// @param x      outer*channels*inner inputs on the device; may equal y
/// @param bias   shape.channels values on the device
/// @return success, invalid_argument (a bad activation, channels == 0, size overflow,
///         null/misaligned/overlapping pointers), not_supported or cuda_error.
///
/// @code
///   actlayer::Status s = actlayer::bias_act_forward(actlayer::Activation::gelu(), d_x, d_bias,
///                                                   d_y, {rows, features, 1}, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape, cudaStream_t stream = nullptr);

/// Bytes of device workspace the bias_act backward calls need for `shape` (per-block partial
/// sums of dbias: at most n/64 doubles, usually far less). Depends on the shape
/// only; 0 for an invalid shape.
std::size_t bias_act_backward_workspace_bytes(ChannelShape shape) noexcept;

/// dx = dy f'(x + bias[c]) and dbias = a*sum + b*dbias with dbias_blend = {a, b}, the sum over
/// each channel of dx ({1, 1} accumulates across micro-batches). One pass over x and dy writes
/// dx and per-block partial sums to `workspace`; a second, small kernel adds them in a fixed
/// order. With zero elements (outer or inner 0) dbias is still written: a*0 + b*dbias.
///
/// @param x               the forward's input (not x + bias); may equal dx, as may dy
/// @param workspace       at least bias_act_backward_workspace_bytes(shape) bytes on the
///                        device, 8-byte aligned; overwritten
/// @param dbias           shape.channels values on the device; must not overlap anything else
/// @return success, invalid_argument (as bias_act_forward, a workspace too small, a
///         non-finite dbias_blend), not_supported or cuda_error (two kernels are launched: if
///         the second launch fails, dx has been written).
///
/// @code
///   std::size_t bytes = actlayer::bias_act_backward_workspace_bytes(shape);
///   // ... d_ws = bytes of device memory, allocated once ...
///   actlayer::Status s = actlayer::bias_act_backward(act, d_x, d_bias, d_dy, d_dx, d_dbias,
///                                                    shape, d_ws, bytes, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, void* workspace,
                         std::size_t workspace_bytes, cudaStream_t stream = nullptr,
                         Blend dbias_blend = {});

/// bias_act_backward from the forward's output y = f(x + bias[c]) instead of x, for the ops
/// with an output form (as backward_from_output; others: not_supported). The bias is not read.
///
/// @code
///   actlayer::Status s = actlayer::bias_act_backward_from_output(
///       actlayer::Activation::relu(), d_y, d_dy, d_dx, d_dbias, shape, d_ws, bytes, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape, void* workspace,
                                     std::size_t workspace_bytes, cudaStream_t stream = nullptr,
                                     Blend dbias_blend = {});

/// bias_act_forward, and the 1-bit mask of x + bias[c] > 0 (see forward_with_mask), for relu,
/// leaky_relu, step and rrelu (eval); other ops: not_supported.
///
/// @code
///   actlayer::Status s = actlayer::bias_act_forward_with_mask(
///       actlayer::Activation::relu(), d_x, d_bias, d_y, d_mask, shape, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape,
                                  cudaStream_t stream = nullptr);

/// bias_act_backward with the sign of x + bias[c] read from the mask: the same dx and dbias
/// bits as from x wherever x + bias was not NaN.
///
/// @code
///   actlayer::Status s = actlayer::bias_act_backward_from_mask(
///       actlayer::Activation::relu(), d_mask, d_dy, d_dx, d_dbias, shape, d_ws, bytes, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape, void* workspace,
                                   std::size_t workspace_bytes, cudaStream_t stream = nullptr,
                                   Blend dbias_blend = {});

}  // namespace actlayer

// ============================================================================================
// Gated activations: y = g(a) * b (GLU, ReGLU, GeGLU, SwiGLU, ...)
// ============================================================================================

namespace actlayer {

/// y = alpha*(g(a') * (b' + gated.linear_offset)) + beta*y over a packed input of shape.rows
/// rows x 2*shape.hidden, each row [a | b] (GatedLayout::gate_first) or [b | a] (gate_second,
/// PyTorch's F.glu); y is rows x hidden. a' and b' are a and b clamped when gated.limit is
/// finite (see Gated). Computed in compute_t<T>, rounded once. 16-byte vectors when hidden is a
/// multiple of 16/sizeof(T) and both pointers are 16-byte aligned, scalars otherwise.
///
/// @param in     rows * 2 * hidden inputs on the device; must not overlap y
/// @param y      rows * hidden outputs on the device; read only when blend.beta != 0
/// @return success, invalid_argument (gated's gate op or parameters, rows*2*hidden overflowing,
///         null, misaligned or overlapping pointers) or cuda_error.
///
/// @code
///   actlayer::Status s = actlayer::gated_forward(actlayer::Gated::swiglu(), d_in, d_y,
///                                                {tokens, hidden}, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_forward(const Gated& gated, const T* in, T* y, GatedShape shape,
                     cudaStream_t stream = nullptr, Blend blend = {});

/// The packed backward, in one pass: da = g'(a')*(b' + offset)*dy and db = g(a')*dy (times the
/// clamp's 0/1 gradient), both blended, written into din in in's layout. dy*(b' + offset) is
/// formed first, then the gate's accurate dy*g' (ops::backward) of it.
///
/// @param in     the forward's packed input (rows * 2 * hidden); din may be in (in place)
/// @param dy     rows * hidden gradients of y
/// @param din    rows * 2 * hidden gradients, da and db where a and b lie in `in`
///
/// @code
///   actlayer::Status s = actlayer::gated_backward(actlayer::Gated::swiglu(), d_in, d_dy, d_din,
///                                                 {tokens, hidden}, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_backward(const Gated& gated, const T* in, const T* dy, T* din, GatedShape shape,
                      cudaStream_t stream = nullptr, Blend blend = {});

/// gated_forward with a and b in two arrays of n elements (the gate and up projections kept
/// apart); gated.layout is not used. y may be a or b (in place).
///
/// @code
///   actlayer::Status s = actlayer::gated_forward_split(actlayer::Gated::geglu(), d_a, d_b, d_y,
///                                                      n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_forward_split(const Gated& gated, const T* a, const T* b, T* y, std::size_t n,
                           cudaStream_t stream = nullptr, Blend blend = {});

/// gated_backward with a, b, da and db in arrays of n elements: da and db in one pass. da and db
/// must not overlap; each may be one of a, b or dy.
///
/// @code
///   actlayer::Status s = actlayer::gated_backward_split(actlayer::Gated::geglu(), d_a, d_b,
///                                                       d_dy, d_da, d_db, n, stream);
/// @endcode
template <class T, class = if_element_t<T>>
Status gated_backward_split(const Gated& gated, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, cudaStream_t stream = nullptr, Blend blend = {});

}  // namespace actlayer
