// Shared by every file of the CUDA backend: CUDA error checking. (Messages, names and sizes come from
// adjoint/backend_util.h, shared with the engine.)
//
// Note [CUDA errors]: every CUDA runtime call goes through ADJ_CUDA_CHECK, which throws adjoint::Error
// with file, line, the failing expression and cudaGetErrorString. Nothing here calls abort(): the
// library lives inside a JVM. Kernel launches are checked with ADJ_CUDA_CHECK_LAUNCH (launch errors);
// faults raised while a kernel runs surface at the stream synchronisation that ends Backend::execute.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "adjoint/backend.h"
#include "adjoint/backend_util.h"

namespace adjoint {
namespace cuda {

[[noreturn]] void throwCuda(cudaError_t err, const char* expr, const char* file, int line);

#define ADJ_CUDA_CHECK(expr)                                                        \
  do {                                                                              \
    cudaError_t adj_err_ = (expr);                                                  \
    if (adj_err_ != cudaSuccess) ::adjoint::cuda::throwCuda(adj_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#define ADJ_CUDA_CHECK_LAUNCH() ADJ_CUDA_CHECK(cudaGetLastError())

}  // namespace cuda
}  // namespace adjoint
