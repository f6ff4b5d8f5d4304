// cuda/channel_math.hpp — what one element does in the per-channel family, as plain C++ for the
// host and the device: channel.cuh's policies less how they load their first input. The
// kernels' policies (prelu.cuh, bias_act.cuh) and the CPU backend's (cpu/prelu.hpp,
// cpu/bias_act.hpp) are these with a loader, so both compute the same expressions. With p the
// element's channel parameter (F: the working precision):
//   kParam             whether p is read (a backward from y or from a mask has none)
//   pre(v, p)          the value whose sign a mask forward records (the CPU backend's)
//   value(v, p)        the forward's result
//   grad(v, p, dy)     dx
//   term(v, p, dy, dx) the element's share of p's gradient, in double
#pragma once

#include "actlayer/detail/config.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::cuda_impl {

/// y = prelu(x, alpha[c]); dx = prelu'(x)*dy, dalpha's share x*dy where x <= 0.
struct PReluMath {
  static constexpr bool kParam = true;
  template <class F>
  ACTLAYER_HD F pre(F x, F) const {
    return x;
  }
  template <class F>
  ACTLAYER_HD F value(F x, F alpha) const {
    return ops::PRelu::value(x, alpha);
  }
  template <class F>
  ACTLAYER_HD F grad(F x, F alpha, F dy) const {
    return ops::PRelu::grad(x, alpha, dy);
  }
  template <class F>
  ACTLAYER_HD double term(F x, F, F dy, F) const {
    return ops::PRelu::alpha_term<double>(x, dy);
  }
};

/// The gradient share of every bias_act policy: dx itself.
struct DxTerm {
  template <class F>
  ACTLAYER_HD double term(F, F, F, F dx) const {
    return static_cast<double>(dx);
  }
};

/// From x: y = f(x + b), dx = dy f'(x + b); a mask records the sign of x + b.
template <class Op>
struct BiasActMath : DxTerm {
  static constexpr bool kParam = true;
  Op op;
  template <class F>
  ACTLAYER_HD F pre(F x, F bias) const {
    return x + bias;
  }
  template <class F>
  ACTLAYER_HD F value(F x, F bias) const {
    return op.value(x + bias);
  }
  template <class F>
  ACTLAYER_HD F grad(F x, F bias, F dy) const {
    return ops::backward(op, x + bias, dy);
  }
};

/// From the forward's output y: dx = dy f'(z) written in y (no bias read).
template <class Op>
struct BiasActFromOutputMath : DxTerm {
  static constexpr bool kParam = false;
  Op op;
  template <class F>
  ACTLAYER_HD F grad(F y, F, F dy) const {
    return ops::backward_from_output(op, y, dy);
  }
};

/// From the mask of z > 0: the op's gradient at the proxy input (+1 or -1), which the policy
/// loads.
template <class Op>
struct BiasActFromMaskMath : DxTerm {
  static constexpr bool kParam = false;
  Op op;
  template <class F>
  ACTLAYER_HD F grad(F z, F, F dy) const {
    return ops::backward(op, z, dy);
  }
};

}  // namespace actlayer::cuda_impl
