#include "launch_plan.h"

#include <algorithm>
#include <string>

#include "adjoint/op_table.h"
#include "cuda_common.h"

namespace adjoint {
namespace cuda {
namespace {

std::vector<int64_t> contiguousStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = (int)shape.size() - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

void checkRank(size_t rank, const char* what) {
  if (rank > (size_t)kMaxDims)
    fail(std::string("CUDA backend: ") + what + " needs " + std::to_string(rank) + " dimensions after coalescing; at most " +
         std::to_string((int)kMaxDims) + " are supported");
}

}  // namespace

Capabilities cudaCapabilities() {
  Capabilities c;
  c.maxFusedInputs = kFusedMaxInputs;
  c.maxFusedCode = kFusedMaxInstrs;
  c.maxFusedLive = kFusedMaxRegs;
  c.accumulatingGemm = false;
  c.inPlace = true;
  return c;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  const size_t R = out.size(), r = in.size();
  if (r > R) fail("CUDA backend: cannot broadcast " + shapeStr(in) + " to " + shapeStr(out));
  const std::vector<int64_t> cs = contiguousStrides(in);
  std::vector<int64_t> s(R, 0);
  for (size_t i = 0; i < R; ++i) {
    if (i < R - r) continue;
    const size_t j = i - (R - r);
    if (in[j] == out[i]) {
      s[i] = cs[j];
    } else if (in[j] != 1) {
      fail("CUDA backend: cannot broadcast " + shapeStr(in) + " to " + shapeStr(out));
    }
  }
  return s;
}

void coalesce(std::vector<int64_t>* shape, std::vector<std::vector<int64_t>>* strides) {
  std::vector<int64_t> ns;
  std::vector<std::vector<int64_t>> nst(strides->size());
  for (size_t i = 0; i < shape->size(); ++i) {
    const int64_t d = (*shape)[i];
    if (d == 1) continue;
    bool merge = !ns.empty();
    for (size_t o = 0; merge && o < strides->size(); ++o)
      merge = nst[o].back() == (*strides)[o][i] * d;
    if (merge) {
      ns.back() *= d;
      for (size_t o = 0; o < strides->size(); ++o) nst[o].back() = (*strides)[o][i];
    } else {
      ns.push_back(d);
      for (size_t o = 0; o < strides->size(); ++o) nst[o].push_back((*strides)[o][i]);
    }
  }
  *shape = ns;
  *strides = nst;
}

int planBinary(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::vector<int64_t>& out,
               BinaryIndex* idx) {
  const int64_t n = numelOf(out), na = numelOf(a), nb = numelOf(b);
  if (na == n && nb == n) {
    broadcastStrides(a, out);   // validates
    broadcastStrides(b, out);
    return kBinarySame;
  }
  if (na == 1 && nb == n) return kBinaryScalarA;
  if (nb == 1 && na == n) return kBinaryScalarB;
  std::vector<int64_t> shape = out;
  std::vector<std::vector<int64_t>> strides = {broadcastStrides(a, out), broadcastStrides(b, out)};
  coalesce(&shape, &strides);
  checkRank(shape.size(), "a broadcasting binary op");
  idx->rank = (int)shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    idx->shape[i] = shape[i];
    idx->strideA[i] = strides[0][i];
    idx->strideB[i] = strides[1][i];
  }
  return kBinaryStrided;
}

bool planBroadcast(const std::vector<int64_t>& in, const std::vector<int64_t>& out, GatherIndex* idx) {
  std::vector<std::vector<int64_t>> strides = {broadcastStrides(in, out)};
  if (numelOf(in) == numelOf(out)) return false;
  std::vector<int64_t> shape = out;
  coalesce(&shape, &strides);
  checkRank(shape.size(), "broadcastTo");
  idx->rank = (int)shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    idx->shape[i] = shape[i];
    idx->stride[i] = strides[0][i];
  }
  return true;
}

TransposePlan planTranspose(const std::vector<int64_t>& in, const std::vector<int64_t>& permIn) {
  const int R = (int)in.size();
  std::vector<int64_t> perm = permIn;
  if (perm.empty())
    for (int i = R - 1; i >= 0; --i) perm.push_back(i);
  if ((int)perm.size() != R) fail("CUDA backend: transpose perm of length " + std::to_string(perm.size()) +
                                  " for rank " + std::to_string(R));
  std::vector<bool> seen(R, false);
  for (int64_t& p : perm) {
    if (p < 0) p += R;
    if (p < 0 || p >= R || seen[p]) fail("CUDA backend: transpose perm " + shapeStr(permIn) + " is not a permutation");
    seen[p] = true;
  }
  // Renumber the input dims of size > 1; walk them in output order, merging runs that are
  // consecutive in the input too.
  std::vector<int> newIndex(R, -1);
  int kept = 0;
  for (int i = 0; i < R; ++i)
    if (in[i] != 1) newIndex[i] = kept++;
  struct Group { int first, last; int64_t size; };
  std::vector<Group> groups;   // in output order; [first, last] in renumbered input dims
  for (int i = 0; i < R; ++i) {
    const int q = newIndex[perm[i]];
    if (q < 0) continue;
    if (!groups.empty() && groups.back().last + 1 == q) {
      groups.back().last = q;
      groups.back().size *= in[perm[i]];
    } else {
      groups.push_back({q, q, in[perm[i]]});
    }
  }
  TransposePlan plan;
  const int g = (int)groups.size();
  std::vector<int> order(g);   // order[i]: position of output group i in the input
  for (int i = 0; i < g; ++i) {
    int pos = 0;
    for (int j = 0; j < g; ++j)
      if (groups[j].first < groups[i].first) ++pos;
    order[i] = pos;
  }
  bool identity = true;
  for (int i = 0; i < g; ++i) identity &= order[i] == i;
  if (identity) return plan;   // kind 0: copy
  std::vector<int64_t> inShape(g);
  for (int i = 0; i < g; ++i) inShape[order[i]] = groups[i].size;
  if (g == 2) {
    plan.kind = 1;
    plan.batch = 1;
    plan.rows = inShape[0];
    plan.cols = inShape[1];
  } else if (g == 3 && order[0] == 0 && order[1] == 2 && order[2] == 1) {
    plan.kind = 1;
    plan.batch = inShape[0];
    plan.rows = inShape[1];
    plan.cols = inShape[2];
  }
  checkRank(g, "transpose");
  const std::vector<int64_t> cs = contiguousStrides(inShape);
  plan.gather.rank = g;
  for (int i = 0; i < g; ++i) {
    plan.gather.shape[i] = groups[i].size;
    plan.gather.stride[i] = cs[order[i]];
  }
  if (plan.kind == 0) plan.kind = 2;
  return plan;
}

ReducePlan planReduce(const std::vector<int64_t>& in, const std::vector<bool>& mask) {
  ReducePlan plan;
  if (numelOf(in) == 0) {
    plan.kind = 3;
    return plan;
  }
  std::vector<int64_t> size;
  std::vector<bool> red;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 1) continue;
    if (!size.empty() && red.back() == mask[i]) {
      size.back() *= in[i];
    } else {
      size.push_back(in[i]);
      red.push_back(mask[i]);
    }
  }
  int reducedGroups = 0;
  for (bool r : red) reducedGroups += r ? 1 : 0;
  if (reducedGroups == 0) return plan;   // kind 0: copy
  const std::vector<int64_t> cs = contiguousStrides(size);
  plan.outCount = 1;
  plan.redCount = 1;
  for (size_t i = 0; i < size.size(); ++i) (red[i] ? plan.redCount : plan.outCount) *= size[i];
  if (reducedGroups == 1 && red.back()) {
    plan.kind = 1;
    plan.rows = plan.outCount;
    plan.len = plan.redCount;
    return plan;
  }
  plan.kind = 2;
  int kr = 0, rr = 0;
  for (size_t i = 0; i < size.size(); ++i) {
    if (red[i]) {
      plan.idx.redShape[rr] = size[i];
      plan.idx.redStride[rr++] = cs[i];
    } else {
      plan.idx.keptShape[kr] = size[i];
      plan.idx.keptStride[kr++] = cs[i];
    }
    checkRank(std::max(kr, rr), "a reduction");
  }
  plan.idx.keptRank = kr;
  plan.idx.redRank = rr;
  return plan;
}

std::vector<bool> reduceMaskFromAttrs(const std::vector<int64_t>& in, const std::vector<int64_t>& attrs) {
  const int R = (int)in.size();
  if (attrs.size() <= 1) return std::vector<bool>(R, true);
  std::vector<bool> mask(R, false);
  for (size_t i = 1; i < attrs.size(); ++i) {
    int64_t a = attrs[i];
    if (a < 0) a += R;
    if (a < 0 || a >= R) fail("CUDA backend: reduction axis " + std::to_string(attrs[i]) + " out of range for rank " +
                              std::to_string(R));
    mask[a] = true;
  }
  return mask;
}

std::vector<bool> sumToShapeMask(const std::vector<int64_t>& in, const std::vector<int64_t>& to) {
  const size_t R = in.size(), r = to.size();
  if (r > R) fail("CUDA backend: sumToShape from " + shapeStr(in) + " to " + shapeStr(to));
  std::vector<bool> mask(R, true);
  for (size_t i = R - r; i < R; ++i) {
    const int64_t t = to[i - (R - r)];
    if (t != in[i] && t != 1) fail("CUDA backend: sumToShape from " + shapeStr(in) + " to " + shapeStr(to));
    mask[i] = t == 1 && in[i] != 1;
  }
  return mask;
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
