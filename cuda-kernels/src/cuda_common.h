// Shared by every file of the CUDA backend: error checking and small shape helpers.
//
// Note [CUDA errors]: every CUDA runtime call goes through ADJ_CUDA_CHECK, which throws adjoint::Error
// with file, line, the failing expression and cudaGetErrorString. Nothing here calls abort(): the
// library lives inside a JVM. Kernel launches are checked with ADJ_CUDA_CHECK_LAUNCH (launch errors);
// faults raised while a kernel runs surface at the stream synchronisation that ends Backend::execute.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "adjoint/backend.h"

namespace adjoint {
namespace cuda {

[[noreturn]] void throwCuda(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void fail(const std::string& message);

#define ADJ_CUDA_CHECK(expr)                                                        \
  do {                                                                              \
    cudaError_t adj_err_ = (expr);                                                  \
    if (adj_err_ != cudaSuccess) ::adjoint::cuda::throwCuda(adj_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#define ADJ_CUDA_CHECK_LAUNCH() ADJ_CUDA_CHECK(cudaGetLastError())

// Element size without calling the engine's dtypeSize(): the backend library must not depend on
// symbols of the engine library (it is opened with dlopen and linked with --no-undefined).
inline int elemSize(int dtype) {
  switch (dtype) {
    case kFloat32: return 4;
    case kFloat64: return 8;
    case kInt32: return 4;
    default: fail("CUDA backend: unknown dtype " + std::to_string(dtype));
  }
}

inline const char* dtypeLabel(int dtype) {
  switch (dtype) {
    case kFloat32: return "float32";
    case kFloat64: return "float64";
    case kInt32: return "int32";
    default: return "unknown";
  }
}

inline int64_t numelOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shapeString(const std::vector<int64_t>& shape);
const char* opLabel(int op);

}  // namespace cuda
}  // namespace adjoint
