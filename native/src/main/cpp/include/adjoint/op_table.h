// What ops.def says about each op, as constexpr functions that host and device code (nvcc) can call:
// family, arity, attributes, name. Header-only, so a backend library uses the same table as the
// engine without calling into it.
#pragma once

#include "adjoint/engine.h"

// Marks a function that nvcc compiles for the host and the device; plain C++ elsewhere.
#if defined(__CUDACC__)
#define ADJOINT_HD __host__ __device__
#else
#define ADJOINT_HD
#endif

namespace adjoint {

// The families of ops.def. None: not an op of the table (an invalid id, or OP_FUSED).
enum class Family { None, Copy, Fill, Unary, Transcendental, Binary, BinaryTranscendental, Matmul, Reduce, Layout, Callback, Random, Index };

ADJOINT_HD constexpr Family opFamily(int op) {
  switch (op) {
#define ADJOINT_OP(name, family, arity, attrs) \
  case OP_##name:                              \
    return Family::family;
#include "adjoint/ops.def"
  }
  return Family::None;
}

// Number of inputs; -1 for any (callback), -2 for an id that is not an op.
ADJOINT_HD constexpr int opArity(int op) {
  switch (op) {
#define ADJOINT_OP(name, family, arity, attrs) \
  case OP_##name:                              \
    return arity;
#include "adjoint/ops.def"
  }
  return -2;
}

// The attributes an op takes, as messages print them ("[keepdims, axis...]"); nullptr for a non-op.
constexpr const char* opAttrs(int op) {
  switch (op) {
#define ADJOINT_OP(name, family, arity, attrs) \
  case OP_##name:                              \
    return attrs;
#include "adjoint/ops.def"
  }
  return nullptr;
}

// The op's name ("sin"); nullptr for a non-op. The engine's opName() throws for those instead.
constexpr const char* opTableName(int op) {
  switch (op) {
#define ADJOINT_OP(name, family, arity, attrs) \
  case OP_##name:                              \
    return #name;
#include "adjoint/ops.def"
  }
  return nullptr;
}

// Elementwise unary: a math::<name>(x) in op_math.h (Unary: exact; Transcendental: a math library's).
ADJOINT_HD constexpr bool isUnaryOp(int op) {
  return opFamily(op) == Family::Unary || opFamily(op) == Family::Transcendental;
}
// Elementwise binary with NumPy broadcasting: a math::<name>(a, b) in op_math.h (Binary: exact;
// BinaryTranscendental: a math library's).
ADJOINT_HD constexpr bool isBinaryOp(int op) {
  return opFamily(op) == Family::Binary || opFamily(op) == Family::BinaryTranscendental;
}
// Values from a math library (a few ulp apart between backends; special values exact).
ADJOINT_HD constexpr bool isTranscendentalOp(int op) {
  return opFamily(op) == Family::Transcendental || opFamily(op) == Family::BinaryTranscendental;
}
ADJOINT_HD constexpr bool isElementwiseOp(int op) { return isUnaryOp(op) || isBinaryOp(op); }
ADJOINT_HD constexpr bool isReduceOp(int op) { return opFamily(op) == Family::Reduce; }
// Reads Int32 indices that a run checks (gather, scatterAdd, oneHot): an index out of range is an
// error of the run (Note [Index errors] in backend_util.h).
ADJOINT_HD constexpr bool readsIndices(int op) { return op == OP_gather || op == OP_scatterAdd || op == OP_oneHot; }

}  // namespace adjoint
