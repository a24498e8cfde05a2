// Elementwise kernels: unary, binary (with broadcasting), fill and fused chains.
//
// Values are op_math.h's scalar functions (Note [Scalar semantics]), the same the CPU kernels and
// constant folding use. Plain unary/binary kernels are templated on the op so its switch folds away;
// the strided (broadcasting) binary kernel and the fused interpreter switch at run time on a value
// that is uniform across the grid, which costs nothing next to the memory traffic.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "adjoint/op_table.h"
#include "cuda_common.h"
#include "adjoint/op_math.h"
#include "grid.cuh"
#include "kernels.h"

namespace adjoint {
namespace cuda {
namespace {

template <typename T, int OP>
__global__ void unaryKernel(const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  ADJ_GRID_STRIDE_LOOP(i, n) { y[i] = math::unary<T>(OP, x[i]); }
}

template <typename T, int OP>
__global__ void binaryKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int64_t n,
                             int mode) {
  if (mode == kBinarySame) {
    ADJ_GRID_STRIDE_LOOP(i, n) { y[i] = math::binary<T>(OP, a[i], b[i]); }
  } else if (mode == kBinaryScalarA) {
    const T s = a[0];
    ADJ_GRID_STRIDE_LOOP(i, n) { y[i] = math::binary<T>(OP, s, b[i]); }
  } else {
    const T s = b[0];
    ADJ_GRID_STRIDE_LOOP(i, n) { y[i] = math::binary<T>(OP, a[i], s); }
  }
}

// Index type I: 32-bit when every offset fits, which makes the per-dimension division much cheaper.
template <typename T, typename I>
__global__ void binaryStridedKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, I n,
                                    int op, BinaryIndex idx) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (I)blockDim.x * gridDim.x) {
    I rest = i, offA = 0, offB = 0;
    for (int d = idx.rank - 1; d >= 0; --d) {
      const I dim = (I)idx.shape[d];
      const I q = rest / dim;
      const I r = rest - q * dim;
      offA += r * (I)idx.strideA[d];
      offB += r * (I)idx.strideB[d];
      rest = q;
    }
    y[i] = math::binary<T>(op, a[offA], b[offB]);
  }
}

template <typename T>
__global__ void fillKernel(T* __restrict__ y, int64_t n, T value) {
  ADJ_GRID_STRIDE_LOOP(i, n) { y[i] = value; }
}

// The fused interpreter. Registers live in a small per-thread array; the host's register allocation
// (planFused in launch_plan.cpp) reuses the lowest free register, so the touched part of the array stays tiny.
template <typename T>
__global__ void fusedKernel(FusedCode code, T* __restrict__ y, int64_t n) {
  T reg[kFusedMaxRegs];
  ADJ_GRID_STRIDE_LOOP(i, n) {
    for (int k = 0; k < code.numInstrs; ++k) {
      const FusedDevInstr& ins = code.instrs[k];
      T va = T(0), vb = T(0);
      if (ins.a >= 0) {
        va = reg[ins.a];
      } else if (ins.a != kFusedNoOperand) {
        const int in = -ins.a - 1;
        const T* p = static_cast<const T*>(code.inputs[in]);
        va = (code.scalarInputs >> in) & 1u ? p[0] : p[i];
      }
      if (ins.b >= 0) {
        vb = reg[ins.b];
      } else if (ins.b != kFusedNoOperand) {
        const int in = -ins.b - 1;
        const T* p = static_cast<const T*>(code.inputs[in]);
        vb = (code.scalarInputs >> in) & 1u ? p[0] : p[i];
      }
      reg[ins.dst] = ins.op == OP_fill ? T(ins.scalar) : math::elementwise<T>(ins.op, va, vb);
    }
    y[i] = reg[code.instrs[code.numInstrs - 1].dst];
  }
}

template <typename T, int OP>
void unaryT(const Launch& l, const void* x, void* y, int64_t n) {
  unaryKernel<T, OP><<<gridFor(l, n), kThreads, 0, l.stream>>>(static_cast<const T*>(x), static_cast<T*>(y), n);
}

template <typename T>
void unaryDispatch(const Launch& l, int op, const void* x, void* y, int64_t n) {
  switch (op) {
#define ADJOINT_UNARY_OP(name) \
  case OP_##name: unaryT<T, OP_##name>(l, x, y, n); break;
#define ADJOINT_TRANSCENDENTAL_OP(name) ADJOINT_UNARY_OP(name)
#include "adjoint/ops.def"
    default: fail(std::string("CUDA backend: ") + opLabel(op) + " is not a unary elementwise op");
  }
}

template <typename T>
void binaryDispatch(const Launch& l, int op, const void* a, const void* b, void* y, int64_t n, int mode,
                    const BinaryIndex& idx) {
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  T* py = static_cast<T*>(y);
  if (!isBinaryOp(op)) fail(std::string("CUDA backend: ") + opLabel(op) + " is not a binary elementwise op");
  if (mode == kBinaryStrided) {
    // Offsets never exceed the operands' sizes, which are at most n elements each.
    if (n < (int64_t(1) << 31)) {
      binaryStridedKernel<T, uint32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>(pa, pb, py, (uint32_t)n, op, idx);
    } else {
      binaryStridedKernel<T, int64_t><<<gridFor(l, n), kThreads, 0, l.stream>>>(pa, pb, py, n, op, idx);
    }
    return;
  }
  switch (op) {
#define ADJOINT_BINARY_OP(name) \
  case OP_##name: binaryKernel<T, OP_##name><<<gridFor(l, n), kThreads, 0, l.stream>>>(pa, pb, py, n, mode); break;
#include "adjoint/ops.def"
  }
}

}  // namespace

void launchUnary(const Launch& l, int op, int dtype, const void* x, void* y, int64_t n) {
  if (n <= 0) return;
  if (dtype == kFloat32) {
    unaryDispatch<float>(l, op, x, y, n);
  } else if (dtype == kFloat64) {
    unaryDispatch<double>(l, op, x, y, n);
  } else {
    fail(std::string("CUDA backend: ") + opLabel(op) + " supports Float32 and Float64, not " + dtypeName(dtype));
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchBinary(const Launch& l, int op, int dtype, const void* a, const void* b, void* y, int64_t n, int mode,
                  const BinaryIndex& idx) {
  if (n <= 0) return;
  if (dtype == kFloat32) {
    binaryDispatch<float>(l, op, a, b, y, n, mode, idx);
  } else if (dtype == kFloat64) {
    binaryDispatch<double>(l, op, a, b, y, n, mode, idx);
  } else {
    fail(std::string("CUDA backend: ") + opLabel(op) + " supports Float32 and Float64, not " + dtypeName(dtype));
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchFill(const Launch& l, int dtype, void* y, int64_t n, double value) {
  if (n <= 0) return;
  if (value == 0.0 && !std::signbit(value)) {
    // All-zero bits are 0 in every dtype.
    ADJ_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)n * dtypeSize(dtype), l.stream));
    return;
  }
  switch (dtype) {
    case kFloat32:
      fillKernel<float><<<gridFor(l, n), kThreads, 0, l.stream>>>(static_cast<float*>(y), n, (float)value);
      break;
    case kFloat64:
      fillKernel<double><<<gridFor(l, n), kThreads, 0, l.stream>>>(static_cast<double*>(y), n, value);
      break;
    case kInt32:
      fillKernel<int32_t><<<gridFor(l, n), kThreads, 0, l.stream>>>(static_cast<int32_t*>(y), n, (int32_t)value);
      break;
    default: fail("CUDA backend: fill of unknown dtype " + std::to_string(dtype));
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

void launchFused(const Launch& l, int dtype, const FusedCode& code, void* y, int64_t n) {
  if (n <= 0) return;
  if (code.numInstrs <= 0) fail("CUDA backend: fused step without instructions");
  if (dtype == kFloat32) {
    fusedKernel<float><<<gridFor(l, n), kThreads, 0, l.stream>>>(code, static_cast<float*>(y), n);
  } else if (dtype == kFloat64) {
    fusedKernel<double><<<gridFor(l, n), kThreads, 0, l.stream>>>(code, static_cast<double*>(y), n);
  } else {
    fail(std::string("CUDA backend: fused steps support Float32 and Float64, not ") + dtypeName(dtype));
  }
  ADJ_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace adjoint
