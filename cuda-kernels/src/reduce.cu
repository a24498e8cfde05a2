// Reductions (sum, mean, max; sumToShape uses the same kernels).
//
// Two shapes of work:
//  - row reductions (the reduced axes are the innermost, contiguous ones): a warp per row for short
//    rows, a block per row otherwise; when there are too few rows to fill the GPU (a full reduction
//    of 16M elements is one row), each row is split into `parts` blocks that write partial results to
//    scratch, and a second pass reduces the partials.
//  - everything else: a thread per output element walks the reduced index space with an odometer
//    (coalesced when the innermost kept axis is the contiguous one, the usual case for bias
//    gradients); again split into parts with a second pass when there are few outputs.
// Sums accumulate in double (float32 too), which keeps CUDA results close to the CPU's; max
// propagates NaN.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cuda_common.h"
#include "grid.cuh"
#include "kernels.h"

namespace adjoint {
namespace cuda {
namespace {

constexpr int kWarp = 32;
constexpr int64_t kWarpRowMaxLen = 512;       // rows shorter than this get a warp each
constexpr int64_t kMinPartLen = 2048;         // a part of a split row is at least this long
constexpr int64_t kMaxParts = 1024;

template <int KIND, typename A>
__device__ __forceinline__ A combine(A a, A b) {
  if (KIND == kReduceSum) return a + b;
  return (a > b || a != a) ? a : b;   // max, NaN wins
}

template <int KIND, typename A>
__device__ __forceinline__ A identity() {
  if (KIND == kReduceSum) return A(0);
  return -std::numeric_limits<A>::infinity();
}

template <int KIND, typename A>
__device__ __forceinline__ A warpReduce(A v) {
  for (int off = kWarp / 2; off > 0; off >>= 1) v = combine<KIND>(v, __shfl_down_sync(0xffffffffu, v, off));
  return v;
}

// Result of lane 0 / thread 0 is valid.
template <int KIND, typename A>
__device__ __forceinline__ A blockReduce(A v) {
  __shared__ A partial[kThreads / kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = warpReduce<KIND>(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = threadIdx.x < kThreads / kWarp ? partial[threadIdx.x] : identity<KIND, A>();
  if (warp == 0) v = warpReduce<KIND>(v);
  return v;
}

template <int KIND, typename A, typename O>
__device__ __forceinline__ O finish(A acc, double scale, bool partial) {
  if (partial || KIND != kReduceSum) return (O)acc;
  return (O)(acc * (A)scale);
}

// Block b reduces part (b % parts) of row (b / parts); with parts == 1 it writes the final value.
template <typename I, typename A, typename O, int KIND>
__global__ void rowBlockKernel(const I* __restrict__ x, O* __restrict__ y, int64_t rows, int64_t len,
                               int64_t parts, int64_t chunk, double scale) {
  for (int64_t b = blockIdx.x; b < rows * parts; b += gridDim.x) {
    const int64_t row = b / parts, part = b - row * parts;
    const int64_t begin = part * chunk, end = min(len, begin + chunk);
    const I* xr = x + row * len;
    A acc = identity<KIND, A>();
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) acc = combine<KIND>(acc, (A)xr[j]);
    acc = blockReduce<KIND>(acc);
    if (threadIdx.x == 0) y[b] = finish<KIND, A, O>(acc, scale, parts > 1);
    __syncthreads();   // `partial` in blockReduce is reused by the next iteration
  }
}

template <typename I, typename A, typename O, int KIND>
__global__ void rowWarpKernel(const I* __restrict__ x, O* __restrict__ y, int64_t rows, int64_t len,
                              double scale) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warpsPerGrid = (int64_t)gridDim.x * (blockDim.x / kWarp);
  for (int64_t row = (int64_t)blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp; row < rows;
       row += warpsPerGrid) {
    const I* xr = x + row * len;
    A acc = identity<KIND, A>();
    for (int64_t j = lane; j < len; j += kWarp) acc = combine<KIND>(acc, (A)xr[j]);
    acc = warpReduce<KIND>(acc);
    if (lane == 0) y[row] = finish<KIND, A, O>(acc, scale, false);
  }
}

// Work item w: output o = w % outCount, part p = w / outCount, over reduced indices
// [p * chunk, min(redCount, (p + 1) * chunk)). parts > 1 writes partials to y[o * parts + p].
template <typename I, typename A, typename O, int KIND>
__global__ void genericKernel(const I* __restrict__ x, O* __restrict__ y, int64_t outCount, int64_t parts,
                              int64_t chunk, int64_t redCount, ReduceIndex idx, double scale) {
  ADJ_GRID_STRIDE_LOOP(w, outCount * parts) {
    const int64_t o = w % outCount, p = w / outCount;
    int64_t rest = o, base = 0;
    for (int d = idx.keptRank - 1; d >= 0; --d) {
      const int64_t q = rest / idx.keptShape[d];
      base += (rest - q * idx.keptShape[d]) * idx.keptStride[d];
      rest = q;
    }
    const int64_t begin = p * chunk, end = min(redCount, begin + chunk);
    A acc = identity<KIND, A>();
    if (begin < end) {
      int64_t ctr[kMaxDims];
      int64_t off = 0;
      rest = begin;
      for (int d = idx.redRank - 1; d >= 0; --d) {
        const int64_t q = rest / idx.redShape[d];
        ctr[d] = rest - q * idx.redShape[d];
        off += ctr[d] * idx.redStride[d];
        rest = q;
      }
      for (int64_t r = begin; r < end; ++r) {
        acc = combine<KIND>(acc, (A)x[base + off]);
        int d = idx.redRank - 1;
        ++ctr[d];
        off += idx.redStride[d];
        while (d > 0 && ctr[d] == idx.redShape[d]) {
          off -= ctr[d] * idx.redStride[d];
          ctr[d] = 0;
          --d;
          ++ctr[d];
          off += idx.redStride[d];
        }
      }
    }
    if (parts > 1) {
      y[o * parts + p] = (O)acc;
    } else {
      y[o] = finish<KIND, A, O>(acc, scale, false);
    }
  }
}

inline int blocksFor(const Launch& l, int64_t n, int threadsPerItem) {
  const int64_t perBlock = kThreads / threadsPerItem;
  const int64_t blocks = (n + perBlock - 1) / perBlock;
  return (int)std::max<int64_t>(1, std::min<int64_t>(blocks, std::max<int64_t>(l.maxBlocks, 4LL * l.smCount)));
}

// The number of parts a row reduction is split into (1: no scratch, no second pass).
int64_t rowParts(const Launch& l, int64_t rows, int64_t len) {
  if (len < kWarpRowMaxLen) return 1;
  const int64_t wanted = 4LL * l.smCount;
  if (rows >= wanted) return 1;
  const int64_t byWork = (wanted + rows - 1) / rows;
  const int64_t byLen = (len + kMinPartLen - 1) / kMinPartLen;
  return std::max<int64_t>(1, std::min(std::min(byWork, byLen), kMaxParts));
}

int64_t genericParts(const Launch& l, int64_t outCount, int64_t redCount) {
  const int64_t wanted = 2048LL * l.smCount;   // threads that keep the memory system busy
  if (outCount >= wanted) return 1;
  const int64_t byWork = (wanted + outCount - 1) / outCount;
  const int64_t byLen = (redCount + 63) / 64;
  return std::max<int64_t>(1, std::min(std::min(byWork, byLen), kMaxParts));
}

// Final pass (or the only pass) of a row reduction, no split.
template <typename I, typename A, typename O, int KIND>
void rowSinglePass(const Launch& l, const I* x, O* y, int64_t rows, int64_t len, double scale) {
  if (len < kWarpRowMaxLen) {
    rowWarpKernel<I, A, O, KIND><<<blocksFor(l, rows, kWarp), kThreads, 0, l.stream>>>(x, y, rows, len, scale);
  } else {
    rowBlockKernel<I, A, O, KIND><<<blocksFor(l, rows, kThreads), kThreads, 0, l.stream>>>(x, y, rows, len, 1, len,
                                                                                           scale);
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

template <typename T, typename A, int KIND>
void rowReduceT(const Launch& l, const void* xv, void* yv, int64_t rows, int64_t len, double scale, void* scratch) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  const int64_t parts = rowParts(l, rows, len);
  if (parts == 1) {
    rowSinglePass<T, A, T, KIND>(l, x, y, rows, len, scale);
    return;
  }
  if (scratch == nullptr) fail("CUDA backend: row reduction needs scratch memory");
  A* partial = static_cast<A*>(scratch);
  const int64_t chunk = (len + parts - 1) / parts;
  rowBlockKernel<T, A, A, KIND><<<blocksFor(l, rows * parts, kThreads), kThreads, 0, l.stream>>>(
      x, partial, rows, len, parts, chunk, 1.0);
  ADJ_CUDA_CHECK_LAUNCH();
  rowSinglePass<A, A, T, KIND>(l, partial, y, rows, parts, scale);
}

template <typename T, typename A, int KIND>
void genericReduceT(const Launch& l, const void* xv, void* yv, int64_t outCount, int64_t redCount,
                    const ReduceIndex& idx, double scale, void* scratch) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  const int64_t parts = genericParts(l, outCount, redCount);
  const int64_t chunk = (redCount + parts - 1) / parts;
  if (parts == 1) {
    genericKernel<T, A, T, KIND><<<blocksFor(l, outCount, 1), kThreads, 0, l.stream>>>(x, y, outCount, 1, chunk,
                                                                                       redCount, idx, scale);
    ADJ_CUDA_CHECK_LAUNCH();
    return;
  }
  if (scratch == nullptr) fail("CUDA backend: reduction needs scratch memory");
  A* partial = static_cast<A*>(scratch);
  genericKernel<T, A, A, KIND><<<blocksFor(l, outCount * parts, 1), kThreads, 0, l.stream>>>(
      x, partial, outCount, parts, chunk, redCount, idx, 1.0);
  ADJ_CUDA_CHECK_LAUNCH();
  rowSinglePass<A, A, T, KIND>(l, partial, y, outCount, parts, scale);
}

size_t accBytes(int dtype, int kind) { return kind == kReduceSum ? sizeof(double) : (size_t)dtypeSize(dtype); }

void checkFloat(int dtype) {
  if (dtype != kFloat32 && dtype != kFloat64)
    fail(std::string("CUDA backend: reductions support Float32 and Float64, not ") + dtypeName(dtype));
}

}  // namespace

size_t rowReduceScratchBytes(const Launch& l, int dtype, int kind, int64_t rows, int64_t len) {
  const int64_t parts = rowParts(l, rows, len);
  return parts == 1 ? 0 : (size_t)(rows * parts) * accBytes(dtype, kind);
}

size_t genericReduceScratchBytes(const Launch& l, int dtype, int kind, int64_t outCount, int64_t redCount) {
  const int64_t parts = genericParts(l, outCount, redCount);
  return parts == 1 ? 0 : (size_t)(outCount * parts) * accBytes(dtype, kind);
}

void launchRowReduce(const Launch& l, int kind, int dtype, const void* x, void* y, int64_t rows, int64_t len,
                     double scale, void* scratch) {
  checkFloat(dtype);
  if (rows <= 0 || len <= 0) fail("CUDA backend: empty row reduction");
  if (dtype == kFloat32) {
    if (kind == kReduceSum) rowReduceT<float, double, kReduceSum>(l, x, y, rows, len, scale, scratch);
    else rowReduceT<float, float, kReduceMax>(l, x, y, rows, len, scale, scratch);
  } else {
    if (kind == kReduceSum) rowReduceT<double, double, kReduceSum>(l, x, y, rows, len, scale, scratch);
    else rowReduceT<double, double, kReduceMax>(l, x, y, rows, len, scale, scratch);
  }
}

void launchGenericReduce(const Launch& l, int kind, int dtype, const void* x, void* y, int64_t outCount,
                         int64_t redCount, const ReduceIndex& idx, double scale, void* scratch) {
  checkFloat(dtype);
  if (outCount <= 0 || redCount <= 0 || idx.redRank <= 0) fail("CUDA backend: empty generic reduction");
  if (dtype == kFloat32) {
    if (kind == kReduceSum) genericReduceT<float, double, kReduceSum>(l, x, y, outCount, redCount, idx, scale, scratch);
    else genericReduceT<float, float, kReduceMax>(l, x, y, outCount, redCount, idx, scale, scratch);
  } else {
    if (kind == kReduceSum) genericReduceT<double, double, kReduceSum>(l, x, y, outCount, redCount, idx, scale, scratch);
    else genericReduceT<double, double, kReduceMax>(l, x, y, outCount, redCount, idx, scale, scratch);
  }
}

}  // namespace cuda
}  // namespace adjoint
