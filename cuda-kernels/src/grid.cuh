// Launch geometry shared by the .cu files: block size, grid size and the grid-stride loop.
// (Scalar semantics of the elementwise ops are op_math.h's, shared with the CPU and constant folding.)
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels.h"

namespace adjoint {
namespace cuda {

constexpr int kThreads = 256;   // threads per block of the one-dimensional kernels

// Blocks for n elements, one thread each, capped at Launch::maxBlocks (grid-stride loops do the rest).
inline int gridFor(const Launch& l, int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  return (int)std::max<int64_t>(1, std::min<int64_t>(blocks, l.maxBlocks));
}

// Grid-stride loop bounds: kernels are launched with at most Launch::maxBlocks blocks.
#define ADJ_GRID_STRIDE_LOOP(i, n)                                                         \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                 \
       i += (int64_t)blockDim.x * gridDim.x)

}  // namespace cuda
}  // namespace adjoint
