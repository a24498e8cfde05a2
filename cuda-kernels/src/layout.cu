// Data-movement kernels: strided gather (transpose with a general perm, broadcastTo) and a tiled
// batched 2-D transpose. They move raw elements, so they serve every dtype of a given size.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda_common.h"
#include "grid.cuh"
#include "kernels.h"

namespace adjoint {
namespace cuda {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;   // a 32x8 thread block moves a 32x32 tile, 4 elements per thread

template <typename E, typename I>
__global__ void gatherKernel(const E* __restrict__ x, E* __restrict__ y, I n, GatherIndex idx) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (I)blockDim.x * gridDim.x) {
    I rest = i, off = 0;
    for (int d = idx.rank - 1; d >= 0; --d) {
      const I dim = (I)idx.shape[d];
      const I q = rest / dim;
      off += (rest - q * dim) * (I)idx.stride[d];
      rest = q;
    }
    y[i] = x[off];
  }
}

// Reads a 32x32 tile with coalesced rows of x, writes it with coalesced rows of y. The +1 column
// avoids shared-memory bank conflicts on the transposed read.
template <typename E>
__global__ void transposeKernel(const E* __restrict__ x, E* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ E tile[kTile][kTile + 1];
  const int64_t batch = blockIdx.z;
  const E* xb = x + batch * rows * cols;
  E* yb = y + batch * rows * cols;
  const int64_t c0 = (int64_t)blockIdx.x * kTile;
  const int64_t r0 = (int64_t)blockIdx.y * kTile;
  for (int k = threadIdx.y; k < kTile; k += kTileRows) {
    const int64_t r = r0 + k, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[k][threadIdx.x] = xb[r * cols + c];
  }
  __syncthreads();
  for (int k = threadIdx.y; k < kTile; k += kTileRows) {
    const int64_t c = c0 + k, r = r0 + threadIdx.x;   // y is [cols, rows]
    if (c < cols && r < rows) yb[c * rows + r] = tile[threadIdx.x][k];
  }
}

template <typename E>
void gatherT(const Launch& l, const void* x, void* y, int64_t n, const GatherIndex& idx, int64_t maxOffset) {
  const E* px = static_cast<const E*>(x);
  E* py = static_cast<E*>(y);
  if (n < (int64_t(1) << 31) && maxOffset < (int64_t(1) << 31)) {
    gatherKernel<E, uint32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>(px, py, (uint32_t)n, idx);
  } else {
    gatherKernel<E, int64_t><<<gridFor(l, n), kThreads, 0, l.stream>>>(px, py, n, idx);
  }
}

}  // namespace

void launchGather(const Launch& l, int elemBytes, const void* x, void* y, int64_t n, const GatherIndex& idx) {
  if (n <= 0) return;
  int64_t maxOffset = 0;
  for (int d = 0; d < idx.rank; ++d) maxOffset += (idx.shape[d] - 1) * idx.stride[d];
  if (elemBytes == 4) {
    gatherT<uint32_t>(l, x, y, n, idx, maxOffset);
  } else if (elemBytes == 8) {
    gatherT<uint64_t>(l, x, y, n, idx, maxOffset);
  } else {
    fail("CUDA backend: gather of elements of " + std::to_string(elemBytes) + " bytes");
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

bool launchTranspose2d(const Launch& l, int elemBytes, const void* x, void* y, int64_t batch, int64_t rows,
                       int64_t cols) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return true;
  const int64_t gx = (cols + kTile - 1) / kTile, gy = (rows + kTile - 1) / kTile;
  if (gx > 0x7fffffff || gy > 65535 || batch > 65535) return false;
  dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)batch), block(kTile, kTileRows);
  if (elemBytes == 4) {
    transposeKernel<uint32_t><<<grid, block, 0, l.stream>>>(static_cast<const uint32_t*>(x),
                                                            static_cast<uint32_t*>(y), rows, cols);
  } else if (elemBytes == 8) {
    transposeKernel<uint64_t><<<grid, block, 0, l.stream>>>(static_cast<const uint64_t*>(x),
                                                            static_cast<uint64_t*>(y), rows, cols);
  } else {
    return false;
  }
  ADJ_CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace cuda
}  // namespace adjoint
