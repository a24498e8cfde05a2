#include "cuda_common.h"

#include "adjoint/op_table.h"

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

void fail(const std::string& message) { throw Error(message); }

std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

const char* opLabel(int op) {
  if (op == OP_FUSED) return "fused";
  const char* name = opTableName(op);
  return name ? name : "unknown-op";
}

}  // namespace cuda
}  // namespace adjoint
