// bench/op_instructions.cu — every op's forward and backward on one element, as kernels that are
// compiled to PTX and never run: bench/op_instructions.py counts their instructions (all of an
// op's branches, so an upper bound on one element's path), the compute side of the roofline
// that the benchmark's memory side is compared with (bench/NOTES.md).
#include <utility>

#include "actlayer/ops.cuh"

namespace {
template <class Functor>
using Run = decltype(actlayer::ops::make<Functor>(std::declval<const actlayer::Activation&>()));
}  // namespace

#define ACTLAYER_OP_KERNELS(name, functor, formula)                                            \
  template <class T>                                                                           \
  __global__ void name##_forward(const T* x, T* y) {                                           \
    const Run<actlayer::ops::functor> op{};                                                    \
    y[0] = actlayer::ops::narrow<T>(op.value(actlayer::ops::widen(x[0])));                     \
  }                                                                                            \
  template <class T>                                                                           \
  __global__ void name##_backward(const T* x, const T* dy, T* dx) {                            \
    const Run<actlayer::ops::functor> op{};                                                    \
    dx[0] = actlayer::ops::narrow<T>(                                                          \
        actlayer::ops::backward(op, actlayer::ops::widen(x[0]), actlayer::ops::widen(dy[0]))); \
  }                                                                                            \
  template __global__ void name##_forward<float>(const float*, float*);                        \
  template __global__ void name##_forward<double>(const double*, double*);                     \
  template __global__ void name##_backward<float>(const float*, const float*, float*);         \
  template __global__ void name##_backward<double>(const double*, const double*, double*);
ACTLAYER_OPS(ACTLAYER_OP_KERNELS)
#undef ACTLAYER_OP_KERNELS
