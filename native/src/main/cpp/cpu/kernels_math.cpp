// Transcendental tiles (ops.def family Transcendental) through glibc's libmvec (float32 sin through
// SLEEF where it loads: Note [SLEEF] in kernels_sleef.cpp).
//
// Note [libmvec]: this file alone is compiled with __FAST_MATH__ defined (see native/CMakeLists.txt)
// so glibc's <math.h> declares the SIMD variants of sinf/sin, cosf/cos, expf/exp, logf/log and
// tanhf/tanh, and with -fopenmp-simd so `#pragma omp simd` loops over op_math.h's scalar functions
// (which call exactly those) use them: _ZGVeN16v_sinf on AVX-512, _ZGVdN8v_sinf on AVX2,
// _ZGVbN4v_sinf otherwise. None of the value-changing -ffast-math flags are used: libmvec returns
// NaN/inf/signed zeros for the special inputs like libm does, to within its documented 4 ulp
// elsewhere (Note [Scalar semantics] in op_math.h).
#include "adjoint/op_math.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

template <class T>
inline __attribute__((always_inline)) bool mathBody(int op, const T* x, T* y, int64_t n, const Prefetch* pf) {
  // With prefetching, chunks of kPrefetchChunk elements (a multiple of every vector width, so the
  // scalar remainder is the same last n % width elements as without) each issue their lines first.
  switch (op) {
#define ADJOINT_TRANSCENDENTAL_OP(name)                                                      \
  case OP_##name:                                                                            \
    if (!pf) {                                                                               \
      _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = math::name(x[i]);           \
      return true;                                                                           \
    }                                                                                        \
    for (int64_t c = 0; c < n; c += kPrefetchChunk) {                                        \
      const int64_t e = n - c < kPrefetchChunk ? n : c + kPrefetchChunk;                     \
      pf->issue(c * (int64_t)sizeof(T), (e - c) * (int64_t)sizeof(T));                      \
      _Pragma("omp simd") for (int64_t i = c; i < e; ++i) y[i] = math::name(x[i]);           \
    }                                                                                        \
    return true;
#include "adjoint/ops.def"
  }
  return false;
}

}  // namespace

ADJOINT_CLONES bool mathTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf) {
  return sleefTile(op, x, y, n, pf) || mathBody(op, x, y, n, pf);
}
ADJOINT_CLONES bool mathTile(int op, const double* x, double* y, int64_t n, const Prefetch* pf) { return mathBody(op, x, y, n, pf); }

}  // namespace cpu
}  // namespace adjoint
