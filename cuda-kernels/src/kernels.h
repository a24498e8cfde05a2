// Host-side launchers of the backend's own kernels (everything but matmul, which is cuBLAS).
//
// Launchers take already simplified index descriptions (launch_plan.h): dimensions are coalesced on
// the host, so kernels see at most kMaxDims dimensions. Every launcher checks the
// launch with ADJ_CUDA_CHECK_LAUNCH and throws adjoint::Error on failure.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace adjoint {
namespace cuda {

enum { kMaxDims = 8 };

struct Launch {
  cudaStream_t stream = nullptr;
  int maxBlocks = 1024;   // grid-stride kernels never launch more blocks than this (a few per SM)
  int smCount = 1;
};

// y[i] = op(x[i]); op is an elementwise unary Op (neg ... sqrt, identity, onesLike, zerosLike).
void launchUnary(const Launch& l, int op, int dtype, const void* x, void* y, int64_t n);

// Binary elementwise with NumPy broadcasting. `rank` dims of the (coalesced) output with, per input,
// element strides (0 where broadcast). Same-shape and scalar operands take fast paths.
struct BinaryIndex {
  int rank = 0;
  int64_t shape[kMaxDims];
  int64_t strideA[kMaxDims];
  int64_t strideB[kMaxDims];
};
enum BinaryMode { kBinarySame = 0, kBinaryScalarA = 1, kBinaryScalarB = 2, kBinaryStrided = 3 };
void launchBinary(const Launch& l, int op, int dtype, const void* a, const void* b, void* y, int64_t n,
                  int mode, const BinaryIndex& idx);

// y[0..n) = value (converted to dtype; int32 too).
void launchFill(const Launch& l, int dtype, void* y, int64_t n, double value);

// y[0..n) = randomUniform(key, step of *counter, i) in dtype (adjoint/random.h, Note [Philox]);
// counter is one element of counterDtype in device memory.
void launchRandomUniform(const Launch& l, int dtype, uint64_t key, int counterDtype, const void* counter, void* y, int64_t n);

// One fused elementwise step, interpreted per element in registers (one pass over memory).
// Operand encoding: v >= 0 is physical register v; v < 0 is step input (-v - 1); kFusedNoOperand
// marks an unused operand (b of a unary op, both of a constant).
enum { kFusedMaxInstrs = 64, kFusedMaxRegs = 32, kFusedMaxInputs = 16, kFusedNoOperand = -32768 };
struct FusedDevInstr {
  double scalar;
  int16_t op;
  int16_t a;
  int16_t b;
  int16_t dst;
};
struct FusedCode {
  int numInstrs = 0;
  int numInputs = 0;
  unsigned scalarInputs = 0;              // bit k: input k has numel 1 (read at element 0)
  const void* inputs[kFusedMaxInputs];
  FusedDevInstr instrs[kFusedMaxInstrs];
};
void launchFused(const Launch& l, int dtype, const FusedCode& code, void* y, int64_t n);

// y[i] = x[offset(i)]: out dims `shape`, per out dim the element stride into x (transpose, broadcastTo).
struct GatherIndex {
  int rank = 0;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxDims];
};
void launchGather(const Launch& l, int elemBytes, const void* x, void* y, int64_t n, const GatherIndex& idx);

// x is [batch, rows, cols] row-major; y = [batch, cols, rows]. Tiled through shared memory.
// Returns false (launching nothing) when the grid would be too large; the caller then gathers.
bool launchTranspose2d(const Launch& l, int elemBytes, const void* x, void* y, int64_t batch, int64_t rows,
                       int64_t cols);

// Reductions. kind: kReduceSum, kReduceMax; mean is a sum with scale = 1/count.
enum ReduceKind { kReduceSum = 0, kReduceMax = 1 };

// Reduce the innermost axis: x is [rows, len] -> y[rows]. `scratch` must hold
// rowReduceScratchBytes(...) bytes (may be null when that is 0).
size_t rowReduceScratchBytes(const Launch& l, int dtype, int kind, int64_t rows, int64_t len);
void launchRowReduce(const Launch& l, int kind, int dtype, const void* x, void* y, int64_t rows, int64_t len,
                     double scale, void* scratch);

// General reduction: output element o (row-major over `kept` dims) reduces over the `red` dims;
// strides are element strides into x.
struct ReduceIndex {
  int keptRank = 0;
  int64_t keptShape[kMaxDims];
  int64_t keptStride[kMaxDims];
  int redRank = 0;
  int64_t redShape[kMaxDims];
  int64_t redStride[kMaxDims];
};
size_t genericReduceScratchBytes(const Launch& l, int dtype, int kind, int64_t outCount, int64_t redCount);
void launchGenericReduce(const Launch& l, int kind, int dtype, const void* x, void* y, int64_t outCount,
                         int64_t redCount, const ReduceIndex& idx, double scale, void* scratch);

// --- indexing (index.cu); operands as [outer, dim, inner] (axisView in backend_util.h) ------------

// Note [Index errors] (backend_util.h): the device word where kernels record the first index out of
// range (flag 0: none). The backend zeroes it, reads it back and throws.
struct IndexError {
  int flag;
  int step;
  long long position;
  long long value;
};

// slice: y [outer, len, inner] = x [outer, dim, inner] at start + k * step; with `scatter`
// (sliceGrad) the other way round, x being the slice and y (zeroed by the caller) the big tensor.
void launchSlice(const Launch& l, int elemBytes, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                 int64_t stop, int64_t step, bool scatter);
// y[r * yPitch + c] = x[r * xPitch + c] for r < rows, c < len (elements): one input of a concat.
void launchCopyRows(const Launch& l, int elemBytes, const void* x, int64_t xPitch, void* y, int64_t yPitch, int64_t rows, int64_t len);
// y [outer, n, inner] = x [outer, dim, inner] at idx[j]; a bad index writes 0 and is recorded.
void launchGatherIndex(const Launch& l, int elemBytes, const void* x, const int32_t* idx, void* y, int64_t outer, int64_t dim,
                       int64_t n, int64_t inner, IndexError* err, int stepId);
// y [outer, dim, inner] = zeros, then g [outer, n, inner] added at idx[j] (atomicAdd: duplicates
// accumulate; the order of float additions is not fixed).
void launchScatterAdd(const Launch& l, int dtype, const void* g, const int32_t* idx, void* y, int64_t outer, int64_t dim, int64_t n,
                      int64_t inner, IndexError* err, int stepId);
void launchOneHot(const Launch& l, int dtype, const int32_t* idx, void* y, int64_t n, int64_t depth, IndexError* err, int stepId);
void launchArgmax(const Launch& l, int dtype, const void* x, int32_t* y, int64_t outer, int64_t dim, int64_t inner);

}  // namespace cuda
}  // namespace adjoint
