// The CPU backend: 64-byte aligned host memory and the kernel table (one case per op).
#include <cblas.h>

#include <cstdlib>
#include <cstring>

#include "compiler/ir.h"
#include "core/devices.h"
#include "cpu/cpu_backend.h"
#include "cpu/host_allocator.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {

void runStep(const Program& p, const Step& s, void* const* slots, const ExecContext& ctx) {
  const TensorDesc& od = p.slots[s.out].desc;
  void* y = slots[s.out];
  auto desc = [&](size_t i) -> const TensorDesc& { return p.slots[s.in[i]].desc; };
  auto ptr = [&](size_t i) -> const void* { return slots[s.in[i]]; };
  switch (s.op) {
    case OP_identity:
    case OP_reshape:
      copy(y, ptr(0), od.bytes());
      return;
    case OP_fill:
      fill(od.dtype, s.scalar, y, od.numel());
      return;
    case OP_onesLike:
    case OP_zerosLike:
      fill(od.dtype, s.op == OP_onesLike ? 1.0 : 0.0, y, od.numel());
      return;
    case OP_matmul: {
      // attrs [transposeA, transposeB] or, accumulating into in[2] == out, [transposeA, transposeB, 1]
      // with scalar = alpha (backend.h, Note [GEMM updates]).
      const bool accumulate = s.attrs.size() == 3 && s.attrs[2];
      if (accumulate && (s.in.size() != 3 || slots[s.in[2]] != y)) fail("matmul: an accumulating step must write its third input");
      matmul(s.attrs.size() >= 2 && s.attrs[0], s.attrs.size() >= 2 && s.attrs[1], desc(0), ptr(0), desc(1), ptr(1), od, y, accumulate, s.scalar);
      return;
    }
    case OP_sum:
    case OP_mean:
    case OP_max:
    case OP_sumToShape:
      reduce(s.op, od.dtype, s.layout, ptr(0), y);
      return;
    case OP_transpose:
    case OP_broadcastTo:   // a gather through the layout's strides (hostLoopDims: the CPU has no rank limit)
      stridedCopy(dtypeSize(od.dtype), s.layout, ptr(0), y);
      return;
    case OP_callback: {
      int id = (int)s.attrs[0];
      if (!ctx.hostCallback) fail("host callback ", id, " failed: no host callback is registered (setHostCallback)");
      std::vector<void*> ins(s.in.size());
      for (size_t i = 0; i < s.in.size(); ++i) ins[i] = slots[s.in[i]];
      if (ctx.hostCallback(id, (int)ins.size(), ins.data(), y) != 0) fail("host callback ", id, " failed");
      return;
    }
    case OP_randomUniform: {
      const TensorDesc& c = desc(0);
      const double counter = c.dtype == kFloat32 ? (double)*(const float*)ptr(0) : *(const double*)ptr(0);
      randomUniform(od.dtype, (uint64_t)s.attrs.at(1), counter, y, od.numel());
      return;
    }
    case OP_slice:
    case OP_sliceGrad:
    case OP_concat:
    case OP_gather:
    case OP_scatterAdd:
    case OP_oneHot:
    case OP_argmax: {
      std::vector<const TensorDesc*> ins(s.in.size());
      std::vector<const void*> ptrs(s.in.size());
      for (size_t i = 0; i < s.in.size(); ++i) {
        ins[i] = &desc(i);
        ptrs[i] = ptr(i);
      }
      indexStep(s, ins, ptrs, od, y);
      return;
    }
    case OP_FUSED: {
      std::vector<const void*> ins(s.in.size());
      for (size_t i = 0; i < s.in.size(); ++i) ins[i] = ptr(i);
      fused(s.code, s.layout, ins, od.dtype, od.numel(), y);
      return;
    }
    default:
      break;
  }
  if (isElementwiseOp(s.op) && od.bytes() >= streamingThresholdBytes() && s.layout.shape.size() <= 1) {
    // Big and not broadcast (operands of n elements or one): the fused kernel's tiled loop, which
    // streams the output (Note [Streaming stores]); the layout is a fused step's already.
    thread_local std::vector<FusedInstr> one(1);
    thread_local std::vector<const void*> ins;
    one[0] = FusedInstr{s.op, 0, s.in.size() > 1 ? 1 : -1, 0.0};
    ins.assign(s.in.size(), nullptr);
    for (size_t i = 0; i < s.in.size(); ++i) ins[i] = ptr(i);
    return fused(one, s.layout, ins, od.dtype, od.numel(), y);
  }
  if (isUnaryOp(s.op)) return unary(s.op, od.dtype, ptr(0), y, od.numel());
  if (isBinaryOp(s.op)) return binary(s.op, od.dtype, s.layout, ptr(0), ptr(1), y);
  fail("cpu backend: no kernel for ", opLabel(s.op));
}

namespace {

class CpuBackend : public Backend {
 public:
  std::string name() const override {
    const char* core = openblas_get_corename();
    return std::string("OpenBLAS ") + (core ? core : "?");
  }
  Capabilities capabilities() const override {
    Capabilities c;
    c.maxFusedInputs = kMaxFusedInputs;
    c.maxFusedCode = kMaxFusedCode;
    c.maxFusedLive = 0;           // scratch tiles grow as needed
    c.accumulatingGemm = true;    // cblas gemm with beta = 1
    c.inPlace = true;
    c.fusedPeriodicInputs = true;   // kernels_fused.cpp reads suffix-broadcast inputs at i mod P
    c.fusedLeadingSums = true;      // and runs a leading sum's groups (Note [Leading sums])
    return c;
  }
  void* allocate(size_t bytes) override { return hostAllocate(bytes); }   // Note [Host cache]
  void release(void* ptr) override { hostRelease(ptr); }
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }
  void download(void* host, const void* src, size_t bytes) override { std::memcpy(host, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void execute(const Program& program, void* const* slots, const ExecContext& ctx) override { executeProgram(program, slots, ctx); }
  void synchronize() override {}
};

}  // namespace
}  // namespace cpu

Backend* cpuBackend() {
  static cpu::CpuBackend* backend = new cpu::CpuBackend;   // never destroyed: Buffers may outlive statics
  return backend;
}

}  // namespace adjoint

