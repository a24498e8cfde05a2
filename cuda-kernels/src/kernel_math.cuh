// Device-side scalar semantics of the elementwise ops, shared by the plain and the fused kernels so
// that a fused chain computes exactly what the unfused steps would.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "adjoint/engine.h"

namespace adjoint {
namespace cuda {

// Grid-stride loop bounds: kernels are launched with at most Launch::maxBlocks blocks.
#define ADJ_GRID_STRIDE_LOOP(i, n)                                                         \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                 \
       i += (int64_t)blockDim.x * gridDim.x)

template <typename T>
__device__ __forceinline__ T applyUnary(int op, T x) {
  switch (op) {
    case OP_identity: return x;
    case OP_onesLike: return T(1);
    case OP_zerosLike: return T(0);
    case OP_neg: return -x;
    case OP_sin: return sin(x);
    case OP_cos: return cos(x);
    case OP_exp: return exp(x);
    case OP_log: return log(x);
    case OP_tanh: return tanh(x);
    case OP_relu: return x > T(0) ? x : T(0);
    case OP_step: return x > T(0) ? T(1) : T(0);
    case OP_square: return x * x;
    case OP_sqrt: return sqrt(x);
    default: return x;   // unreachable: the host validates op before launching
  }
}

template <typename T>
__device__ __forceinline__ T applyBinary(int op, T a, T b) {
  switch (op) {
    case OP_add: return a + b;
    case OP_sub: return a - b;
    case OP_mul: return a * b;
    case OP_div: return a / b;
    default: return a;   // unreachable: the host validates op before launching
  }
}

}  // namespace cuda
}  // namespace adjoint
