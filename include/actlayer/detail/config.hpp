// actlayer/detail/config.hpp — ACTLAYER_HD: a function for the host and, under nvcc, the device.
#pragma once

#if defined(__CUDACC__)
#define ACTLAYER_HD __host__ __device__ __forceinline__
#else
#define ACTLAYER_HD inline
#endif
