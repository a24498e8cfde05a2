// Host-side launch planning: a step's kernel arguments (broadcasting strides, dimension coalescing,
// reduction layouts, fused-code register allocation). Pure functions (no CUDA calls), so the
// host-only launch_plan_test checks them without a GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "adjoint/backend.h"
#include "kernels.h"

namespace adjoint {
namespace cuda {

// What the kernels can run (Note [Capabilities] in backend.h): fused steps of at most
// kFusedMaxInputs inputs, kFusedMaxInstrs instructions and kFusedMaxRegs registers; no accumulating
// gemm; elementwise kernels read element i before they write it, so they may run in place.
Capabilities cudaCapabilities();

// Element strides of `in` (right-aligned against `out`, NumPy style) per dim of `out`; 0 where `in`
// is broadcast. Throws Error when the shapes are not broadcast-compatible.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out);

// Drops size-1 dims and merges neighbours that are contiguous for every operand. `strides` holds
// one stride vector per operand, each the size of `shape`; all are rewritten in place.
void coalesce(std::vector<int64_t>* shape, std::vector<std::vector<int64_t>>* strides);

// Binary broadcasting plan: a mode (kBinarySame/ScalarA/ScalarB/Strided) and, for Strided, the index.
int planBinary(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::vector<int64_t>& out,
               BinaryIndex* idx);

// Gather plan for broadcastTo(in -> out). Returns false when it is a plain copy (same numel).
bool planBroadcast(const std::vector<int64_t>& in, const std::vector<int64_t>& out, GatherIndex* idx);

// Transpose plan. perm empty = reverse. kind: 0 copy, 1 batched 2-D transpose (batch, rows, cols), 2 gather.
struct TransposePlan {
  int kind = 0;
  int64_t batch = 1, rows = 1, cols = 1;
  GatherIndex gather;
};
TransposePlan planTranspose(const std::vector<int64_t>& in, const std::vector<int64_t>& perm);

// Reduction plan for x of shape `in`, reducing the dims where mask[i] is true.
// kind: 0 copy (nothing reduced), 1 row reduction [rows, len], 2 generic, 3 empty input (fill).
struct ReducePlan {
  int kind = 0;
  int64_t rows = 1, len = 1;     // kind 1
  int64_t outCount = 1, redCount = 1;
  ReduceIndex idx;               // kind 2
};
ReducePlan planReduce(const std::vector<int64_t>& in, const std::vector<bool>& mask);

// Mask of a sum/mean/max: attrs [keepdims, axis...]; no axis = all axes; negative axes from the end.
std::vector<bool> reduceMaskFromAttrs(const std::vector<int64_t>& in, const std::vector<int64_t>& attrs);
// Mask of sumToShape(x) -> shape `to` (right-aligned): leading dims and dims where to == 1 != x.
std::vector<bool> sumToShapeMask(const std::vector<int64_t>& in, const std::vector<int64_t>& to);

// Translates a Step's FusedInstr list into device code with physical registers (Note [Fused
// registers] in backend_util.h, the rule fusion counts with). Input pointers are filled in by the
// caller. Throws Error when the code needs more than kFusedMaxRegs registers, kFusedMaxInstrs
// instructions or kFusedMaxInputs inputs (the compiler never emits such a step for this backend).
FusedCode planFused(const std::vector<FusedInstr>& code, int numInputs);

// Matmul plan for row-major a (..., m, k) and b (..., k, n) with transposes, batch dims broadcast.
struct MatmulPlan {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;                    // number of output matrices
  // Strided-batched when every operand's batch offset is i * stride (stride 0 = broadcast).
  bool strided = true;
  int64_t strideA = 0, strideB = 0;     // elements
  // Fold the batch into M (a full, not transposed; b broadcast): one gemm of (batch * m) x n.
  bool foldIntoM = false;
  // Otherwise: per output matrix, the matrix index into a and into b.
  std::vector<int64_t> indexA, indexB;
};
MatmulPlan planMatmul(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::vector<int64_t>& out,
                      bool transA, bool transB);

}  // namespace cuda
}  // namespace adjoint
