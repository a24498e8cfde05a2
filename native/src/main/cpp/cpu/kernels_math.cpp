// Transcendental tiles through glibc's libmvec.
//
// Note [libmvec]: this file alone is compiled with __FAST_MATH__ defined (see native/CMakeLists.txt)
// so glibc's <math.h> declares the SIMD variants of sin/cos/exp/log/tanh, and with -fopenmp-simd so
// `#pragma omp simd` loops call them (_ZGVeN16v_sinf on AVX-512, _ZGVdN8v_sinf on AVX2, _ZGVbN4v_sinf
// otherwise). None of the value-changing -ffast-math flags are used: libmvec returns NaN/inf for the
// special inputs like libm does, to within its documented 4 ulp.
#include <math.h>

#include "adjoint/engine.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

// float overloads so the float loops call sinf & co. (and their SIMD variants), not the double ones.
inline float vsin(float v) { return ::sinf(v); }
inline float vcos(float v) { return ::cosf(v); }
inline float vexp(float v) { return ::expf(v); }
inline float vlog(float v) { return ::logf(v); }
inline float vtanh(float v) { return ::tanhf(v); }
inline double vsin(double v) { return ::sin(v); }
inline double vcos(double v) { return ::cos(v); }
inline double vexp(double v) { return ::exp(v); }
inline double vlog(double v) { return ::log(v); }
inline double vtanh(double v) { return ::tanh(v); }


template <class T>
inline __attribute__((always_inline)) bool mathBody(int op, const T* x, T* y, int64_t n) {
  switch (op) {
    case OP_sin:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = vsin(x[i]);
      return true;
    case OP_cos:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = vcos(x[i]);
      return true;
    case OP_exp:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = vexp(x[i]);
      return true;
    case OP_log:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = vlog(x[i]);
      return true;
    case OP_tanh:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = vtanh(x[i]);
      return true;
  }
  return false;
}

}  // namespace

ADJOINT_CLONES bool mathTile(int op, const float* x, float* y, int64_t n) { return mathBody(op, x, y, n); }
ADJOINT_CLONES bool mathTile(int op, const double* x, double* y, int64_t n) { return mathBody(op, x, y, n); }

}  // namespace cpu
}  // namespace adjoint
