// randomUniform (ops.def family Random) on the GPU: the same Philox4x32-10 function of (key, step,
// element index) as the CPU kernel (adjoint/random.h, Note [Philox]), so both give the same bits. The
// counter is read on the device, so a new step is a new buffer value, never a recompile or a sync.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "adjoint/random.h"
#include "cuda_common.h"
#include "grid.cuh"
#include "kernels.h"

namespace adjoint {
namespace cuda {
namespace {

template <typename C>
__device__ inline uint64_t stepFrom(const void* counter) {
  return random::stepOf((double)*static_cast<const C*>(counter));
}

// One thread per Philox block: four float32 or two float64 elements.
template <typename C>
__global__ void uniform32Kernel(uint64_t key, const void* counter, float* __restrict__ y, int64_t n) {
  const uint64_t step = stepFrom<C>(counter);
  const int64_t blocks = (n + 3) / 4;
  ADJ_GRID_STRIDE_LOOP(b, blocks) {
    const random::Block r = random::block(key, step, (uint64_t)b);
    for (int j = 0; j < 4 && b * 4 + j < n; ++j) y[b * 4 + j] = random::uniformFloat(r.w[j]);
  }
}

template <typename C>
__global__ void uniform64Kernel(uint64_t key, const void* counter, double* __restrict__ y, int64_t n) {
  const uint64_t step = stepFrom<C>(counter);
  const int64_t blocks = (n + 1) / 2;
  ADJ_GRID_STRIDE_LOOP(b, blocks) {
    const random::Block r = random::block(key, step, (uint64_t)b);
    for (int j = 0; j < 2 && b * 2 + j < n; ++j) y[b * 2 + j] = random::uniformDouble(r.w[2 * j], r.w[2 * j + 1]);
  }
}

template <typename C>
void launchT(const Launch& l, int dtype, uint64_t key, const void* counter, void* y, int64_t n) {
  if (dtype == kFloat32)
    uniform32Kernel<C><<<gridFor(l, (n + 3) / 4), kThreads, 0, l.stream>>>(key, counter, static_cast<float*>(y), n);
  else
    uniform64Kernel<C><<<gridFor(l, (n + 1) / 2), kThreads, 0, l.stream>>>(key, counter, static_cast<double*>(y), n);
}

}  // namespace

void launchRandomUniform(const Launch& l, int dtype, uint64_t key, int counterDtype, const void* counter, void* y, int64_t n) {
  if (n <= 0) return;
  if (dtype != kFloat32 && dtype != kFloat64)
    fail(std::string("CUDA backend: randomUniform supports Float32 and Float64, not ") + dtypeName(dtype));
  if (counterDtype == kFloat32) launchT<float>(l, dtype, key, counter, y, n);
  else if (counterDtype == kFloat64) launchT<double>(l, dtype, key, counter, y, n);
  else fail(std::string("CUDA backend: randomUniform's counter must be Float32 or Float64, not ") + dtypeName(counterDtype));
  ADJ_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace adjoint
