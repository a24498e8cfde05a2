// Host-side launch planning: a step's kernel arguments, read off the layout the compiler wrote
// (Note [Step layout]: strides, coalesced dims, reduction runs are not derived here), plus fused-code
// register allocation and matmul batching. Pure functions (no CUDA calls), so the host-only
// launch_plan_test checks them without a GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/backend_util.h"
#include "kernels.h"

namespace adjoint {
namespace cuda {

// What the kernels can run (Note [Capabilities] in backend.h): fused steps of at most
// kFusedMaxInputs inputs, kFusedMaxInstrs instructions and kFusedMaxRegs registers; no accumulating
// gemm; elementwise kernels read element i before they write it, so they may run in place.
Capabilities cudaCapabilities();

// The launch's share of a layout (Note [Step layout]): elements per launch, the dims after
// hostLoopDims; the backend loops over the leading ones with forEachHostIndex (backend_util.h).
int64_t launchElements(const StepLayout& l);

// Binary elementwise: kBinarySame/ScalarA/ScalarB (a layout of at most one dim) or kBinaryStrided
// with the index of one launch.
int planBinary(const StepLayout& l, BinaryIndex* idx);

// transpose, broadcastTo: the index of one launch.
GatherIndex planGather(const StepLayout& l);

// transpose: kind 0 a copy (the layout is dense), 1 a tiled batched 2-D transpose (batch, rows,
// cols of the input), 2 a gather (planGather).
struct TransposePlan {
  int kind = 0;
  int64_t batch = 1, rows = 1, cols = 1;
};
TransposePlan planTranspose(const StepLayout& l);

// Reductions, from the layout's runs. kind: 0 copy (nothing reduced), 1 row reduction [rows, len],
// 2 generic, 3 empty input (fill).
struct ReducePlan {
  int kind = 0;
  int64_t rows = 1, len = 1;     // kind 1
  int64_t outCount = 1, redCount = 1;
  ReduceIndex idx;               // kind 2
};
ReducePlan planReduce(const StepLayout& l);

// Bit k set: fused input k is read at element 0 (stride 0 in the layout).
unsigned fusedScalarInputs(const StepLayout& l);

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
