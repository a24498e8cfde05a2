#include "cuda_common.h"

namespace adjoint {
namespace cuda {

void throwCuda(cudaError_t err, const char* expr, const char* file, int line) {
  cudaGetLastError();   // clears a non-sticky error so that later calls do not report it again
  const char* base = file;
  for (const char* p = file; *p != '\0'; ++p)
    if (*p == '/') base = p + 1;
  throw Error(std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ") at " + base +
              ":" + std::to_string(line) + " in " + expr);
}

}  // namespace cuda
}  // namespace adjoint
