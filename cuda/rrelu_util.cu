// RReLU's small kernels: the device offset counter, and the sum of the drawn slopes.
#include "launch.hpp"
#include "reduce.cuh"
#include "rrelu.cuh"

namespace actlayer::cuda_impl {

namespace {

__global__ void advance_kernel(std::uint64_t* counter) { *counter += 1; }

__global__ void __launch_bounds__(kReduceThreads)
    slope_partials_kernel(ops::RRelu op, PhiloxKey key, std::size_t n, double* partials) {
  const std::uint64_t off = key.current_offset();
  double acc = 0.0;
  for (std::size_t q = blockIdx.x * kReduceThreads + threadIdx.x; q < (n + 3) / 4;
       q += gridDim.x * kReduceThreads) {
    const PhiloxWords w = key.words(q, off);
#pragma unroll
    for (std::size_t lane = 0; lane < 4; ++lane) {
      if (4 * q + lane < n) acc += op.slope(w.w[lane]);
    }
  }
  const double total = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void __launch_bounds__(kReduceThreads)
    slope_accumulate_kernel(const double* partials, double n, double* accumulator) {
  double acc = 0.0;
  for (unsigned b = threadIdx.x; b < kSlopeSumBlocks; b += kReduceThreads) acc += partials[b];
  const double total = block_sum(acc);
  if (threadIdx.x == 0) {
    accumulator[0] += total;
    accumulator[1] += n;
  }
}

}  // namespace

CudaResult launch_rrelu_advance(std::uint64_t* counter, cudaStream_t stream) {
  return detail::launch_checked(advance_kernel, 1, 1, stream, counter);
}

CudaResult launch_rrelu_slope_sum(const Activation& act, std::size_t n, double* partials,
                                  double* accumulator, cudaStream_t stream) {
  const CudaResult partial = detail::launch_checked(
      slope_partials_kernel, kSlopeSumBlocks, kReduceThreads, stream,
      ops::RRelu{act.lower, act.upper}, PhiloxKey::from(act.philox), n, partials);
  if (!partial.ok()) return partial;
  return detail::launch_checked(slope_accumulate_kernel, 1, kReduceThreads, stream, partials,
                                static_cast<double>(n), accumulator);
}

}  // namespace actlayer::cuda_impl
