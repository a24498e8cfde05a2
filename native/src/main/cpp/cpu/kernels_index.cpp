// Indexing kernels (ops.def): slice, sliceGrad, concat and gather move raw elements (any dtype of 4
// or 8 bytes); scatterAdd, oneHot and argmax compute in Float32/Float64. Every operand is read as
// [outer, dim, inner] (axisView in backend_util.h). Indices are checked before anything is written
// (Note [Index errors]), so a bad index throws and never touches memory out of bounds.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "adjoint/backend_util.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

// Copies `rows` rows of `len` elements: row r from x + r * xPitch to y + r * yPitch (element units).
void copyRows(int es, const void* x, int64_t xPitch, void* y, int64_t yPitch, int64_t rows, int64_t len) {
  if (rows == 0 || len == 0) return;
  const char* px = (const char*)x;
  char* py = (char*)y;
  ThreadPool::instance().parallelFor(rows, std::max<int64_t>(1, kParallelGrain / len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) std::memcpy(py + r * yPitch * es, px + r * xPitch * es, (size_t)(len * es));
  });
}

void checkIndices(int op, int64_t axis, const int32_t* idx, int64_t n, int64_t dim, const std::vector<int64_t>& indexShape) {
  for (int64_t j = 0; j < n; ++j)
    if (idx[j] < 0 || idx[j] >= dim) throw Error(indexErrorMessage(op, axis, j, idx[j], dim, indexShape));
}

template <class T>
void scatterAddT(const T* g, const int32_t* idx, int64_t n, const AxisView& o, T* y) {
  std::fill(y, y + o.outer * o.dim * o.inner, T(0));
  // Parallel over (outer, inner blocks): each task owns its output columns, and adds the indices in
  // order, so duplicates accumulate deterministically.
  const int64_t block = std::max<int64_t>(1, std::min<int64_t>(o.inner, 4096));
  const int64_t blocks = (o.inner + block - 1) / block;
  ThreadPool::instance().parallelFor(o.outer * blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, n * block)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t a = t / blocks, k0 = (t % blocks) * block, k1 = std::min(o.inner, k0 + block);
      for (int64_t j = 0; j < n; ++j) {
        const T* src = g + (a * n + j) * o.inner;
        T* dst = y + (a * o.dim + idx[j]) * o.inner;
        for (int64_t k = k0; k < k1; ++k) dst[k] += src[k];
      }
    }
  });
}

template <class T>
void oneHotT(const int32_t* idx, int64_t n, int64_t depth, T* y) {
  std::fill(y, y + n * depth, T(0));
  for (int64_t j = 0; j < n; ++j) y[j * depth + idx[j]] = T(1);
}

template <class T>
void argmaxT(const T* x, const AxisView& v, int32_t* y) {
  ThreadPool::instance().parallelFor(v.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, v.dim * v.inner)), [&](int64_t lo, int64_t hi) {
    for (int64_t a = lo; a < hi; ++a)
      for (int64_t k = 0; k < v.inner; ++k) {
        const T* p = x + a * v.dim * v.inner + k;
        int64_t best = 0;
        T bv = p[0];
        // The first maximum; a NaN is the maximum (NumPy's argmax), the first NaN wins.
        for (int64_t i = 1; i < v.dim && !std::isnan(bv); ++i) {
          const T c = p[i * v.inner];
          if (std::isnan(c) || c > bv) {
            bv = c;
            best = i;
          }
        }
        y[a * v.inner + k] = (int32_t)best;
      }
  });
}

}  // namespace

void indexStep(const Step& s, const std::vector<const TensorDesc*>& in, const std::vector<const void*>& ptr, const TensorDesc& out, void* y) {
  const int es = dtypeSize(out.dtype);
  switch (s.op) {
    case OP_slice: {
      const int64_t axis = s.attrs[0], start = s.attrs[1], step = s.attrs[3];
      const AxisView x = axisView(in[0]->shape, axis), o = axisView(out.shape, axis);
      const char* base = (const char*)ptr[0] + start * x.inner * es;
      if (step == 1) return copyRows(es, base, x.dim * x.inner, y, o.dim * o.inner, o.outer, o.dim * o.inner);
      // one row per (outer, selected position)
      for (int64_t a = 0; a < o.outer; ++a)
        copyRows(es, base + a * x.dim * x.inner * es, step * x.inner, (char*)y + a * o.dim * o.inner * es, o.inner, o.dim, o.inner);
      return;
    }
    case OP_sliceGrad: {
      const int64_t axis = s.attrs[0], start = s.attrs[1], step = s.attrs[3];
      const AxisView g = axisView(in[0]->shape, axis), o = axisView(out.shape, axis);
      std::memset(y, 0, (size_t)out.bytes());
      char* base = (char*)y + start * o.inner * es;
      for (int64_t a = 0; a < o.outer; ++a)
        copyRows(es, (const char*)ptr[0] + a * g.dim * g.inner * es, g.inner, base + a * o.dim * o.inner * es, step * o.inner, g.dim, g.inner);
      return;
    }
    case OP_concat: {
      const int64_t axis = s.attrs[0];
      const AxisView o = axisView(out.shape, axis);
      int64_t at = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        const AxisView x = axisView(in[i]->shape, axis);
        copyRows(es, ptr[i], x.dim * x.inner, (char*)y + at * o.inner * es, o.dim * o.inner, o.outer, x.dim * x.inner);
        at += x.dim;
      }
      return;
    }
    case OP_gather: {
      const int64_t axis = s.attrs[0], n = in[1]->numel();
      const AxisView x = axisView(in[0]->shape, axis);
      const int32_t* idx = (const int32_t*)ptr[1];
      checkIndices(s.op, axis, idx, n, x.dim, in[1]->shape);
      if (x.inner == 0 || n == 0 || x.outer == 0) return;
      const char* px = (const char*)ptr[0];
      char* py = (char*)y;
      const size_t rowBytes = (size_t)(x.inner * es);
      ThreadPool::instance().parallelFor(x.outer * n, std::max<int64_t>(1, kParallelGrain / x.inner), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t a = r / n, j = r % n;
          std::memcpy(py + r * rowBytes, px + (a * x.dim + idx[j]) * rowBytes, rowBytes);
        }
      });
      return;
    }
    case OP_scatterAdd: {
      const int64_t axis = s.attrs[0], n = in[1]->numel();
      const AxisView o = axisView(out.shape, axis);
      const int32_t* idx = (const int32_t*)ptr[1];
      checkIndices(s.op, axis, idx, n, o.dim, in[1]->shape);
      if (out.dtype == kFloat32) scatterAddT((const float*)ptr[0], idx, n, o, (float*)y);
      else scatterAddT((const double*)ptr[0], idx, n, o, (double*)y);
      return;
    }
    case OP_oneHot: {
      const int64_t depth = s.attrs[0], n = in[0]->numel();
      const int32_t* idx = (const int32_t*)ptr[0];
      checkIndices(s.op, 0, idx, n, depth, in[0]->shape);
      if (out.dtype == kFloat32) oneHotT(idx, n, depth, (float*)y);
      else oneHotT(idx, n, depth, (double*)y);
      return;
    }
    case OP_argmax: {
      const AxisView x = axisView(in[0]->shape, s.attrs[0]);
      if (in[0]->dtype == kFloat32) argmaxT((const float*)ptr[0], x, (int32_t*)y);
      else argmaxT((const double*)ptr[0], x, (int32_t*)y);
      return;
    }
    default:
      break;
  }
  fail("cpu backend: no indexing kernel for ", opLabel(s.op));
}

}  // namespace cpu
}  // namespace adjoint
