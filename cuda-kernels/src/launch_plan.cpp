#include "launch_plan.h"

#include <algorithm>
#include <string>

#include "adjoint/op_table.h"
#include "cuda_common.h"

namespace adjoint {
namespace cuda {
namespace {

void checkRank(size_t rank, const char* what) {
  if (rank > (size_t)kMaxDims)
    fail("CUDA backend: ", what, " has ", rank, " dimensions per launch; at most ", (int)kMaxDims,
         " are supported (the compiler leaves the rest to hostLoopDims)");
}

}  // namespace

Capabilities cudaCapabilities() {
  Capabilities c;
  c.maxFusedInputs = kFusedMaxInputs;
  c.maxFusedCode = kFusedMaxInstrs;
  c.maxFusedLive = kFusedMaxRegs;
  c.maxRank = kMaxDims;
  c.accumulatingGemm = false;
  c.inPlace = true;
  return c;
}

int64_t launchElements(const StepLayout& l) {
  int64_t n = 1;
  for (size_t d = l.hostLoopDims; d < l.shape.size(); ++d) n *= l.shape[d];
  return n;
}

int planBinary(const StepLayout& l, BinaryIndex* idx) {
  if (l.strides.size() != 2) fail("CUDA backend: a binary step's layout has ", l.strides.size(), " operands");
  const int h = l.hostLoopDims, rank = (int)l.shape.size() - h;
  if (h == 0 && rank == 0) return kBinarySame;   // one element
  if (h == 0 && rank == 1) {
    const int64_t sa = l.strides[0][0], sb = l.strides[1][0];
    if (sa == 1 && sb == 1) return kBinarySame;
    if (sa == 0 && sb == 1) return kBinaryScalarA;
    if (sa == 1 && sb == 0) return kBinaryScalarB;
  }
  checkRank(rank, "a broadcasting binary op");
  idx->rank = rank;
  for (int i = 0; i < rank; ++i) {
    idx->shape[i] = l.shape[h + i];
    idx->strideA[i] = l.strides[0][h + i];
    idx->strideB[i] = l.strides[1][h + i];
  }
  return kBinaryStrided;
}

GatherIndex planGather(const StepLayout& l) {
  if (l.strides.size() != 1) fail("CUDA backend: a gather's layout has ", l.strides.size(), " operands");
  const int h = l.hostLoopDims, rank = (int)l.shape.size() - h;
  checkRank(rank, "a gather (transpose, broadcastTo)");
  GatherIndex idx;
  idx.rank = rank;
  for (int i = 0; i < rank; ++i) {
    idx.shape[i] = l.shape[h + i];
    idx.stride[i] = l.strides[0][h + i];
  }
  return idx;
}

TransposePlan planTranspose(const StepLayout& l) {
  TransposePlan plan;
  const std::vector<int64_t>& n = l.shape;
  const std::vector<int64_t>& s = l.strides.at(0);
  if (l.hostLoopDims == 0 && (n.empty() || (n.size() == 1 && s[0] == 1))) return plan;   // kind 0: copy
  plan.kind = 2;
  if (l.hostLoopDims != 0) return plan;
  // out [A, B] from in [B, A]: strides (1, A); out [N, A, B] from in [N, B, A]: strides (A B, 1, A).
  if (n.size() == 2 && s[0] == 1 && s[1] == n[0]) {
    plan.kind = 1;
    plan.rows = n[1];
    plan.cols = n[0];
  } else if (n.size() == 3 && s[0] == n[1] * n[2] && s[1] == 1 && s[2] == n[1]) {
    plan.kind = 1;
    plan.batch = n[0];
    plan.rows = n[2];
    plan.cols = n[1];
  }
  return plan;
}

ReducePlan planReduce(const StepLayout& l) {
  ReducePlan plan;
  if (l.reduced.size() != l.shape.size() || l.strides.size() != 1) fail("CUDA backend: a reduction without a reduction layout");
  for (int64_t d : l.shape)
    if (d == 0) {
      plan.kind = 3;
      return plan;
    }
  int reducedRuns = 0;
  for (char r : l.reduced) reducedRuns += r ? 1 : 0;
  if (reducedRuns == 0) return plan;   // kind 0: copy
  for (size_t i = 0; i < l.shape.size(); ++i) (l.reduced[i] ? plan.redCount : plan.outCount) *= l.shape[i];
  if (reducedRuns == 1 && l.reduced.back()) {
    plan.kind = 1;
    plan.rows = plan.outCount;
    plan.len = plan.redCount;
    return plan;
  }
  plan.kind = 2;
  int kr = 0, rr = 0;
  for (size_t i = 0; i < l.shape.size(); ++i) {
    if (l.reduced[i]) {
      checkRank(rr + 1, "a reduction (reduced runs)");
      plan.idx.redShape[rr] = l.shape[i];
      plan.idx.redStride[rr++] = l.strides[0][i];
    } else {
      checkRank(kr + 1, "a reduction (kept runs)");
      plan.idx.keptShape[kr] = l.shape[i];
      plan.idx.keptStride[kr++] = l.strides[0][i];
    }
  }
  plan.idx.keptRank = kr;
  plan.idx.redRank = rr;
  return plan;
}

unsigned fusedScalarInputs(const StepLayout& l) {
  unsigned bits = 0;
  for (size_t k = 0; k < l.strides.size(); ++k)
    if (l.shape.empty() || l.strides[k][0] == 0) bits |= 1u << k;
  return bits;
}

FusedCode planFused(const std::vector<FusedInstr>& code, int numInputs) {
  FusedCode out;
  if (code.empty()) fail("CUDA backend: fused step without instructions");
  if ((int)code.size() > kFusedMaxInstrs)
    fail("CUDA backend: fused step has " + std::to_string(code.size()) + " instructions; at most " +
         std::to_string((int)kFusedMaxInstrs) + " are supported");
  if (numInputs > kFusedMaxInputs)
    fail("CUDA backend: fused step has " + std::to_string(numInputs) + " inputs; at most " +
         std::to_string((int)kFusedMaxInputs) + " are supported");
  const int n = (int)code.size();
  for (int k = 0; k < n; ++k) {
    const FusedInstr& ins = code[k];
    const bool binary = isBinaryOp(ins.op), unary = isUnaryOp(ins.op), constant = ins.op == OP_fill;
    if (!binary && !unary && !constant)
      fail(std::string("CUDA backend: op ") + opLabel(ins.op) + " cannot appear in a fused step");
    const int limit = numInputs + k;
    const bool aOk = constant ? true : (ins.a >= 0 && ins.a < limit);
    const bool bOk = binary ? (ins.b >= 0 && ins.b < limit) : true;
    if (!aOk || !bOk)
      fail("CUDA backend: fused instruction " + std::to_string(k) + " (" + opLabel(ins.op) + ") has bad operands " +
           std::to_string(ins.a) + ", " + std::to_string(ins.b));
  }
  std::vector<int> reg;
  if (fusedRegisters(code, numInputs, &reg) > kFusedMaxRegs)
    fail("CUDA backend: fused step needs more than ", (int)kFusedMaxRegs, " live registers; split the fusion group");
  auto encode = [&](int v) -> int16_t { return v < numInputs ? (int16_t)(-v - 1) : (int16_t)reg[v - numInputs]; };
  for (int k = 0; k < n; ++k) {
    const FusedInstr& ins = code[k];
    const bool binary = isBinaryOp(ins.op), constant = ins.op == OP_fill;
    FusedDevInstr& d = out.instrs[k];
    d.op = (int16_t)ins.op;
    d.scalar = ins.scalar;
    d.a = constant ? (int16_t)kFusedNoOperand : encode(ins.a);
    d.b = binary ? encode(ins.b) : (int16_t)kFusedNoOperand;
    d.dst = (int16_t)reg[k];
  }
  out.numInstrs = n;
  out.numInputs = numInputs;
  return out;
}

MatmulPlan planMatmul(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::vector<int64_t>& out,
                      bool transA, bool transB) {
  const size_t ra = a.size(), rb = b.size(), ro = out.size();
  if (ra < 2 || rb < 2 || ro < 2)
    fail("CUDA backend: matmul needs rank >= 2, got " + shapeStr(a) + " and " + shapeStr(b));
  MatmulPlan p;
  p.m = transA ? a[ra - 1] : a[ra - 2];
  p.k = transA ? a[ra - 2] : a[ra - 1];
  const int64_t kb = transB ? b[rb - 1] : b[rb - 2];
  p.n = transB ? b[rb - 2] : b[rb - 1];
  if (p.k != kb || out[ro - 2] != p.m || out[ro - 1] != p.n)
    fail("CUDA backend: matmul shapes " + shapeStr(a) + " x " + shapeStr(b) + " -> " + shapeStr(out) +
         " do not agree");
  const std::vector<int64_t> ob(out.begin(), out.end() - 2), ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  p.batch = numelOf(ob);
  const int64_t na = numelOf(ab), nb = numelOf(bb);
  const std::vector<int64_t> sa = broadcastStrides(ab, ob), sb = broadcastStrides(bb, ob);
  if ((na == p.batch || na == 1) && (nb == p.batch || nb == 1)) {
    p.strided = true;
    p.strideA = na == 1 ? 0 : p.m * p.k;
    p.strideB = nb == 1 ? 0 : p.k * p.n;
    p.foldIntoM = p.batch > 1 && na == p.batch && nb == 1 && !transA;
    return p;
  }
  p.strided = false;
  p.indexA.resize(p.batch);
  p.indexB.resize(p.batch);
  std::vector<int64_t> ctr(ob.size(), 0);
  for (int64_t i = 0; i < p.batch; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < ob.size(); ++d) {
      ia += ctr[d] * sa[d];
      ib += ctr[d] * sb[d];
    }
    p.indexA[i] = ia;
    p.indexB[i] = ib;
    for (int d = (int)ob.size() - 1; d >= 0; --d) {
      if (++ctr[d] < ob[d]) break;
      ctr[d] = 0;
    }
  }
  return p;
}

}  // namespace cuda
}  // namespace adjoint
