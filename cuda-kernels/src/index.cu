// Indexing kernels (ops.def): slice, sliceGrad, concat (row copies), gather, scatterAdd, oneHot,
// argmax. Operands are [outer, dim, inner] views (axisView in backend_util.h, computed on the host).
// Note [Index errors] (backend_util.h): a kernel that meets an index outside [0, dim) skips that
// element (never reading or writing out of bounds) and records the first such index in the
// backend's IndexError word; the backend reads it back and throws.
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_common.h"
#include "grid.cuh"
#include "kernels.h"

namespace adjoint {
namespace cuda {
namespace {

__device__ void recordIndexError(IndexError* e, int step, long long position, long long value) {
  if (atomicCAS(&e->flag, 0, 1) == 0) {
    e->step = step;
    e->position = position;
    e->value = value;
    __threadfence();
  }
}

template <typename E>
__global__ void sliceKernel(const E* __restrict__ x, E* __restrict__ y, int64_t n, int64_t len, int64_t inner, int64_t dim,
                            int64_t start, int64_t step) {
  ADJ_GRID_STRIDE_LOOP(i, n) {
    const int64_t j = i % inner, r = i / inner, k = r % len, a = r / len;
    y[i] = x[(a * dim + start + k * step) * inner + j];
  }
}

template <typename E>
__global__ void sliceScatterKernel(const E* __restrict__ g, E* __restrict__ y, int64_t n, int64_t len, int64_t inner, int64_t dim,
                                   int64_t start, int64_t step) {
  ADJ_GRID_STRIDE_LOOP(i, n) {
    const int64_t j = i % inner, r = i / inner, k = r % len, a = r / len;
    y[(a * dim + start + k * step) * inner + j] = g[i];
  }
}

template <typename E>
__global__ void copyRowsKernel(const E* __restrict__ x, int64_t xPitch, E* __restrict__ y, int64_t yPitch, int64_t n, int64_t len) {
  ADJ_GRID_STRIDE_LOOP(i, n) {
    const int64_t r = i / len, c = i % len;
    y[r * yPitch + c] = x[r * xPitch + c];
  }
}

template <typename E>
__global__ void gatherIndexKernel(const E* __restrict__ x, const int32_t* __restrict__ idx, E* __restrict__ y, int64_t total, int64_t dim,
                                  int64_t n, int64_t inner, IndexError* err, int stepId) {
  ADJ_GRID_STRIDE_LOOP(i, total) {
    const int64_t k = i % inner, r = i / inner, j = r % n, a = r / n;
    const int32_t v = idx[j];
    if (v < 0 || v >= dim) {
      recordIndexError(err, stepId, j, v);
      y[i] = E(0);
    } else {
      y[i] = x[(a * dim + v) * inner + k];
    }
  }
}

template <typename T>
__global__ void scatterAddKernel(const T* __restrict__ g, const int32_t* __restrict__ idx, T* __restrict__ y, int64_t total, int64_t dim,
                                 int64_t n, int64_t inner, IndexError* err, int stepId) {
  ADJ_GRID_STRIDE_LOOP(i, total) {
    const int64_t k = i % inner, r = i / inner, j = r % n, a = r / n;
    const int32_t v = idx[j];
    if (v < 0 || v >= dim) recordIndexError(err, stepId, j, v);
    else atomicAdd(&y[(a * dim + v) * inner + k], g[i]);
  }
}

template <typename T>
__global__ void oneHotKernel(const int32_t* __restrict__ idx, T* __restrict__ y, int64_t n, int64_t depth, IndexError* err, int stepId) {
  ADJ_GRID_STRIDE_LOOP(i, n) {
    const int32_t v = idx[i];
    if (v < 0 || v >= depth) recordIndexError(err, stepId, i, v);
    else y[i * depth + v] = T(1);
  }
}

// The first maximum; a NaN is the maximum and the first NaN wins (as the CPU kernel and NumPy).
template <typename T>
__global__ void argmaxKernel(const T* __restrict__ x, int32_t* __restrict__ y, int64_t outs, int64_t dim, int64_t inner) {
  ADJ_GRID_STRIDE_LOOP(o, outs) {
    const int64_t a = o / inner, k = o % inner;
    const T* p = x + a * dim * inner + k;
    int64_t best = 0;
    T bv = p[0];
    for (int64_t i = 1; i < dim && !isnan(bv); ++i) {
      const T c = p[i * inner];
      if (isnan(c) || c > bv) {
        bv = c;
        best = i;
      }
    }
    y[o] = (int32_t)best;
  }
}

}  // namespace

void launchSlice(const Launch& l, int es, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                 int64_t stop, int64_t step, bool scatter) {
  const int64_t len = (stop <= start) ? 0 : (stop - start - 1) / step + 1;
  const int64_t n = outer * len * inner;
  if (n <= 0) return;
  if (es == 4) {
    if (scatter) sliceScatterKernel<uint32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint32_t*)x, (uint32_t*)y, n, len, inner, dim, start, step);
    else sliceKernel<uint32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint32_t*)x, (uint32_t*)y, n, len, inner, dim, start, step);
  } else if (es == 8) {
    if (scatter) sliceScatterKernel<uint64_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint64_t*)x, (uint64_t*)y, n, len, inner, dim, start, step);
    else sliceKernel<uint64_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint64_t*)x, (uint64_t*)y, n, len, inner, dim, start, step);
  } else {
    fail("CUDA backend: slice of elements of " + std::to_string(es) + " bytes");
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchCopyRows(const Launch& l, int es, const void* x, int64_t xPitch, void* y, int64_t yPitch, int64_t rows, int64_t len) {
  const int64_t n = rows * len;
  if (n <= 0) return;
  if (es == 4) copyRowsKernel<uint32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint32_t*)x, xPitch, (uint32_t*)y, yPitch, n, len);
  else if (es == 8) copyRowsKernel<uint64_t><<<gridFor(l, n), kThreads, 0, l.stream>>>((const uint64_t*)x, xPitch, (uint64_t*)y, yPitch, n, len);
  else fail("CUDA backend: concat of elements of " + std::to_string(es) + " bytes");
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchGatherIndex(const Launch& l, int es, const void* x, const int32_t* idx, void* y, int64_t outer, int64_t dim, int64_t n,
                       int64_t inner, IndexError* err, int stepId) {
  const int64_t total = outer * n * inner;
  if (total <= 0) return;
  if (es == 4)
    gatherIndexKernel<uint32_t><<<gridFor(l, total), kThreads, 0, l.stream>>>((const uint32_t*)x, idx, (uint32_t*)y, total, dim, n, inner, err, stepId);
  else if (es == 8)
    gatherIndexKernel<uint64_t><<<gridFor(l, total), kThreads, 0, l.stream>>>((const uint64_t*)x, idx, (uint64_t*)y, total, dim, n, inner, err, stepId);
  else
    fail("CUDA backend: gather of elements of " + std::to_string(es) + " bytes");
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchScatterAdd(const Launch& l, int dtype, const void* g, const int32_t* idx, void* y, int64_t outer, int64_t dim, int64_t n,
                      int64_t inner, IndexError* err, int stepId) {
  const int64_t total = outer * n * inner;
  const size_t es = dtype == kFloat32 ? 4 : 8;
  ADJ_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)(outer * dim * inner) * es, l.stream));
  if (total <= 0) return;
  if (dtype == kFloat32)
    scatterAddKernel<float><<<gridFor(l, total), kThreads, 0, l.stream>>>((const float*)g, idx, (float*)y, total, dim, n, inner, err, stepId);
  else
    scatterAddKernel<double><<<gridFor(l, total), kThreads, 0, l.stream>>>((const double*)g, idx, (double*)y, total, dim, n, inner, err, stepId);
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchOneHot(const Launch& l, int dtype, const int32_t* idx, void* y, int64_t n, int64_t depth, IndexError* err, int stepId) {
  const size_t es = dtype == kFloat32 ? 4 : 8;
  ADJ_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)(n * depth) * es, l.stream));
  if (n <= 0) return;
  if (dtype == kFloat32) oneHotKernel<float><<<gridFor(l, n), kThreads, 0, l.stream>>>(idx, (float*)y, n, depth, err, stepId);
  else oneHotKernel<double><<<gridFor(l, n), kThreads, 0, l.stream>>>(idx, (double*)y, n, depth, err, stepId);
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchArgmax(const Launch& l, int dtype, const void* x, int32_t* y, int64_t outer, int64_t dim, int64_t inner) {
  const int64_t outs = outer * inner;
  if (outs <= 0) return;
  if (dtype == kFloat32) argmaxKernel<float><<<gridFor(l, outs), kThreads, 0, l.stream>>>((const float*)x, y, outs, dim, inner);
  else argmaxKernel<double><<<gridFor(l, outs), kThreads, 0, l.stream>>>((const double*)x, y, outs, dim, inner);
  ADJ_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace adjoint
