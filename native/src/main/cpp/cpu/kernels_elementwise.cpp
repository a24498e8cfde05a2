// Elementwise kernels: unary and binary tiles (vectorised) and the broadcasting drivers around them.
// Values are op_math.h's (Note [Scalar semantics]); the loops are generated from ops.def.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "adjoint/op_math.h"
#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace adjoint {
namespace cpu {
namespace {

// The exact unary ops (ops.def family Unary; the transcendental ones are mathTile's): one plain
// loop per op over its scalar function (op_math.h), which the vectoriser turns into SIMD code.
template <class T>
inline __attribute__((always_inline)) void unaryBody(int op, const T* x, T* y, int64_t n) {
  switch (op) {
#define ADJOINT_UNARY_OP(name)                                 \
  case OP_##name:                                              \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = math::name(x[i]); \
    return;
#include "adjoint/ops.def"
  }
}

// One loop per (op, stride pattern) so each is a plain contiguous loop the vectoriser handles.
#define ADJOINT_BINARY_LOOPS(EXPR)                                                   \
  if (sa && sb) {                                                                    \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) { T u = a[i], v = b[i]; y[i] = EXPR; } \
  } else if (sa) {                                                                   \
    const T v = b[0];                                                                \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) { T u = a[i]; y[i] = EXPR; } \
  } else if (sb) {                                                                   \
    const T u = a[0];                                                                \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) { T v = b[i]; y[i] = EXPR; } \
  } else {                                                                           \
    const T u = a[0], v = b[0];                                                      \
    const T r = EXPR;                                                                \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = r;                    \
  }

template <class T>
inline __attribute__((always_inline)) void binaryBody(int op, const T* a, int sa, const T* b, int sb, T* y, int64_t n) {
  switch (op) {
#define ADJOINT_BINARY_OP(name) \
  case OP_##name:               \
    ADJOINT_BINARY_LOOPS(math::name(u, v)) return;
#include "adjoint/ops.def"
  }
}

template <class T>
void fillT(T v, T* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = v;
}

template <class T>
void unaryT(int op, const T* x, T* y, int64_t n) {
  ThreadPool::instance().parallelFor(n, kParallelGrain, [&](int64_t lo, int64_t hi) { unaryTile(op, x + lo, y + lo, hi - lo); });
}

template <class T>
void binaryT(int op, const StepLayout& l, const T* a, const T* b, T* y) {
  int64_t n = 1;
  for (int64_t d : l.shape) n *= d;
  if (n == 0) return;
  if (l.shape.size() <= 1) {   // fast path (operands of n or one element): no index arithmetic
    int sa = l.shape.empty() ? 0 : (int)l.strides[0][0], sb = l.shape.empty() ? 0 : (int)l.strides[1][0];
    ThreadPool::instance().parallelFor(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      binaryTile(op, a + lo * sa, sa, b + lo * sb, sb, y + lo, hi - lo);
    });
    return;
  }
  // Rows of the innermost dim: each operand's inner stride there is 0 or 1 (a broadcast operand is
  // dense over its own dims, and coalescing merged the rest).
  StridedLoop loop(l);
  ThreadPool::instance().parallelFor(loop.rows(), std::max<int64_t>(1, kParallelGrain / loop.rowLength()), [&](int64_t lo, int64_t hi) {
    loop.forRows(lo, hi, [&](int64_t row, const int64_t* off, int64_t len) {
      binaryTile(op, a + off[0], (int)loop.innerStride(0), b + off[1], (int)loop.innerStride(1), y + row * len, len);
    });
  });
}

}  // namespace

ADJOINT_CLONES void unaryTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf) {
  if (!mathTile(op, x, y, n, pf)) unaryBody(op, x, y, n);
}
ADJOINT_CLONES void unaryTile(int op, const double* x, double* y, int64_t n, const Prefetch* pf) {
  if (!mathTile(op, x, y, n, pf)) unaryBody(op, x, y, n);
}
ADJOINT_CLONES void binaryTile(int op, const float* a, int sa, const float* b, int sb, float* y, int64_t n) {
  binaryBody(op, a, sa, b, sb, y, n);
}
ADJOINT_CLONES void binaryTile(int op, const double* a, int sa, const double* b, int sb, double* y, int64_t n) {
  binaryBody(op, a, sa, b, sb, y, n);
}

void fill(int dtype, double value, void* y, int64_t n) {
  ThreadPool::instance().parallelFor(n, kParallelGrain * 4, [&](int64_t lo, int64_t hi) {
    if (dtype == kFloat32) fillT((float)value, (float*)y + lo, hi - lo);
    else fillT(value, (double*)y + lo, hi - lo);
  });
}

void unary(int op, int dtype, const void* x, void* y, int64_t n) {
  // An output big enough to stream runs as a one-instruction fused step, which streams its stores
  // (Note [Streaming stores]) and prefetches for a transcendental op (Note [Prefetch]).
  if (n * (dtype == kFloat32 ? 4 : 8) >= streamingThresholdBytes()) {
    StepLayout layout;
    layout.shape = {n};
    layout.strides = {{1}};
    fused({FusedInstr{op, 0, -1, 0.0}}, layout, {x}, dtype, n, y);
    return;
  }
  if (dtype == kFloat32) unaryT(op, (const float*)x, (float*)y, n);
  else unaryT(op, (const double*)x, (double*)y, n);
}

void binary(int op, int dtype, const StepLayout& layout, const void* pa, const void* pb, void* y) {
  if (dtype == kFloat32) binaryT(op, layout, (const float*)pa, (const float*)pb, (float*)y);
  else binaryT(op, layout, (const double*)pa, (const double*)pb, (double*)y);
}

void copy(void* y, const void* x, int64_t bytes) {
  if (y == x || bytes == 0) return;
  if (bytes >= streamingThresholdBytes()) {   // Note [Streaming stores]; chunks split on cache lines
    int64_t lines = (bytes + 63) / 64;
    ThreadPool::instance().parallelFor(lines, 1 << 14, [&](int64_t lo, int64_t hi) {
      int64_t end = std::min(bytes, hi * 64);
      streamStore((char*)y + lo * 64, (const char*)x + lo * 64, end - lo * 64);
      streamFence();
    });
    return;
  }
  ThreadPool::instance().parallelFor(bytes, 1 << 20, [&](int64_t lo, int64_t hi) { std::memcpy((char*)y + lo, (const char*)x + lo, hi - lo); });
}

}  // namespace cpu
}  // namespace adjoint
