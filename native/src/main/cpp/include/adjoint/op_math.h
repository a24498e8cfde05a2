// The scalar function of every elementwise op (ops.def families Unary, Transcendental, Binary,
// BinaryTranscendental),
// compiled for the host and, under nvcc, for the device.
//
// Note [Scalar semantics]: these functions define what an elementwise op computes, on every backend:
// the CPU kernels (cpu/kernels_elementwise.cpp, kernels_math.cpp, kernels_fused.cpp), constant
// folding (compiler/passes.cpp) and the CUDA kernels (cuda-kernels/src/elementwise.cu) all call them,
// in the tensor's own dtype, so a fused chain, a folded constant and a plain kernel cannot disagree on
// NaN, infinities or signed zeros (relu(NaN) = NaN, relu(-0) = -0, step(NaN) = 0). Unary and Binary
// ops are exact (IEEE arithmetic, correctly rounded sqrt): every backend gives the same bits.
// Transcendental and BinaryTranscendental ops call the platform's math library (libm and, in the CPU's vector loops, libmvec:
// Note [libmvec]; CUDA's math library on the GPU): values may differ by a few ulp between backends,
// special values (NaN, +-inf, +-0) do not.
#pragma once

#include <math.h>

#include <limits>

#include "adjoint/op_table.h"

namespace adjoint {
namespace math {

// --- Unary: exact ------------------------------------------------------------------------------
template <class T>
ADJOINT_HD inline T neg(T x) {
  return -x;
}
template <class T>
ADJOINT_HD inline T relu(T x) {   // (NaN < 0) and (-0 < 0) are false: x itself
  return x < T(0) ? T(0) : x;
}
template <class T>
ADJOINT_HD inline T step(T x) {   // (NaN > 0) is false: 0
  return x > T(0) ? T(1) : T(0);
}
template <class T>
ADJOINT_HD inline T square(T x) {
  return x * x;
}
ADJOINT_HD inline float sqrt(float x) { return ::sqrtf(x); }
ADJOINT_HD inline double sqrt(double x) { return ::sqrt(x); }
// |x| by clearing the sign bit: abs(-0) = +0, abs(+-inf) = +inf, abs(NaN) = NaN (as NumPy/PyTorch).
ADJOINT_HD inline float abs(float x) { return ::fabsf(x); }
ADJOINT_HD inline double abs(double x) { return ::fabs(x); }

// --- Transcendental: the math library's ----------------------------------------------------------
ADJOINT_HD inline float sin(float x) { return ::sinf(x); }
ADJOINT_HD inline double sin(double x) { return ::sin(x); }
ADJOINT_HD inline float cos(float x) { return ::cosf(x); }
ADJOINT_HD inline double cos(double x) { return ::cos(x); }
ADJOINT_HD inline float exp(float x) { return ::expf(x); }
ADJOINT_HD inline double exp(double x) { return ::exp(x); }
ADJOINT_HD inline float log(float x) { return ::logf(x); }
ADJOINT_HD inline double log(double x) { return ::log(x); }
ADJOINT_HD inline float tanh(float x) { return ::tanhf(x); }
ADJOINT_HD inline double tanh(double x) { return ::tanh(x); }
// 1 / (1 + e^-x): 0 at -inf (and below about -88 in float32, where e^-x overflows), 1 at +inf,
// 1/2 at +-0, NaN at NaN.
template <class T>
ADJOINT_HD inline T sigmoid(T x) {
  return T(1) / (T(1) + math::exp(-x));
}
ADJOINT_HD inline float log1p(float x) { return ::log1pf(x); }
ADJOINT_HD inline double log1p(double x) { return ::log1p(x); }
ADJOINT_HD inline float expm1(float x) { return ::expm1f(x); }
ADJOINT_HD inline double expm1(double x) { return ::expm1(x); }
// log(1 + e^x) as max(x, 0) + log1p(e^-|x|): never overflows; x at +inf, 0 at -inf, NaN at NaN
// (NaN fails x > 0 and takes the second branch). At +-0 the constant ln 2, so that this special
// input gives the same bits on every math library.
template <class T>
ADJOINT_HD inline T softplus(T x) {
  if (x == T(0)) return T(0.693147180559945309417232121458176568);
  return x > T(0) ? x + math::log1p(math::exp(-x)) : math::log1p(math::exp(x));
}

// --- Binary: exact -------------------------------------------------------------------------------
template <class T>
ADJOINT_HD inline T add(T a, T b) {
  return a + b;
}
template <class T>
ADJOINT_HD inline T sub(T a, T b) {
  return a - b;
}
template <class T>
ADJOINT_HD inline T mul(T a, T b) {
  return a * b;
}
template <class T>
ADJOINT_HD inline T div(T a, T b) {
  return a / b;
}

// Elementwise min and max as NumPy's np.minimum/np.maximum and torch.minimum/maximum: a NaN in either
// operand gives NaN (the NaN operand itself, a first). On a tie (a == b, including -0 == +0) the
// result is a; the derivative follows the same choice (all of the gradient to a, none to b).
template <class T>
ADJOINT_HD inline T minimum(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return b < a ? b : a;
}
template <class T>
ADJOINT_HD inline T maximum(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return b > a ? b : a;
}

// Comparisons as masks in the operands' dtype, 1 or 0 (NumPy's a < b etc. cast to float): IEEE
// comparisons, so any NaN operand gives 0 and -0 == +0 gives 1.
template <class T>
ADJOINT_HD inline T lt(T a, T b) {
  return a < b ? T(1) : T(0);
}
template <class T>
ADJOINT_HD inline T le(T a, T b) {
  return a <= b ? T(1) : T(0);
}
template <class T>
ADJOINT_HD inline T gt(T a, T b) {
  return a > b ? T(1) : T(0);
}
template <class T>
ADJOINT_HD inline T ge(T a, T b) {
  return a >= b ? T(1) : T(0);
}
template <class T>
ADJOINT_HD inline T eq(T a, T b) {
  return a == b ? T(1) : T(0);
}

// --- BinaryTranscendental: the math library's -----------------------------------------------------
// C's pow (C99 Annex F, as NumPy's np.power on floats and torch.pow): a negative base with an integral
// exponent is finite (pow(-2, 3) = -8), with a non-integral one NaN; pow(x, +-0) = 1 and pow(+1, y) = 1
// for every x and y, NaN included; pow(+-0, y < 0) = +-inf; pow(-1, +-inf) = 1.
ADJOINT_HD inline float pow(float a, float b) { return ::powf(a, b); }
ADJOINT_HD inline double pow(double a, double b) { return ::pow(a, b); }

// --- By op id (generated from ops.def) -----------------------------------------------------------
// `op` must be elementwise (isUnaryOp / isBinaryOp); the host checks that before a kernel runs or a
// constant is folded. Anything else gives NaN, never a plausible number.
template <class T>
ADJOINT_HD inline T unary(int op, T x) {
  switch (op) {
#define ADJOINT_UNARY_OP(name) \
  case OP_##name:              \
    return math::name(x);
#define ADJOINT_TRANSCENDENTAL_OP(name) ADJOINT_UNARY_OP(name)
#include "adjoint/ops.def"
  }
  return std::numeric_limits<T>::quiet_NaN();
}

template <class T>
ADJOINT_HD inline T binary(int op, T a, T b) {
  switch (op) {
#define ADJOINT_BINARY_OP(name) \
  case OP_##name:               \
    return math::name(a, b);
#include "adjoint/ops.def"
  }
  return std::numeric_limits<T>::quiet_NaN();
}

// Either family in one switch (a unary op ignores b), for interpreters such as the fused kernel.
template <class T>
ADJOINT_HD inline T elementwise(int op, T a, T b) {
  switch (op) {
#define ADJOINT_UNARY_OP(name) \
  case OP_##name:              \
    return math::name(a);
#define ADJOINT_TRANSCENDENTAL_OP(name) ADJOINT_UNARY_OP(name)
#define ADJOINT_BINARY_OP(name) \
  case OP_##name:               \
    return math::name(a, b);
#include "adjoint/ops.def"
  }
  return std::numeric_limits<T>::quiet_NaN();
}

}  // namespace math
}  // namespace adjoint
