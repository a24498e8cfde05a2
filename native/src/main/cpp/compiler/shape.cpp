// Shape and dtype rules, one per op family (the attribute conventions are documented in ops.def).
#include <algorithm>

#include "compiler/ir.h"

namespace adjoint {
namespace {

void expectInputs(int op, const std::vector<const TensorDesc*>& in, size_t n) {
  if (in.size() != n) fail(opName(op), ": expected ", n, " input(s), got ", in.size());
}

void expectAttrs(int op, const std::vector<int64_t>& attrs, size_t lo, size_t hi, const char* what) {
  if (attrs.size() < lo || attrs.size() > hi) fail(opName(op), ": expected attrs ", what, ", got ", attrs.size(), " attr(s)");
}

void expectFloat(int op, const std::vector<const TensorDesc*>& in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i]->dtype != kFloat32 && in[i]->dtype != kFloat64)
      fail(opName(op), ": input ", i, " has dtype ", dtypeName(in[i]->dtype),
           "; only Float32 and Float64 are supported (Int32 is a storage dtype)");
}

std::vector<int64_t> dimsFrom(int op, const std::vector<int64_t>& attrs, size_t first) {
  std::vector<int64_t> d(attrs.begin() + first, attrs.end());
  for (int64_t x : d)
    if (x < 0) fail(opName(op), ": negative dimension in shape ", shapeStr(d));
  return d;
}

TensorDesc matmulRule(const std::vector<const TensorDesc*>& in, const std::vector<int64_t>& attrs) {
  const TensorDesc& a = *in[0];
  const TensorDesc& b = *in[1];
  for (int i = 0; i < 2; ++i)
    if (in[i]->shape.size() < 2)
      fail("matmul: input ", i, " has shape ", shapeStr(in[i]->shape), "; matmul needs rank >= 2");
  bool ta = !attrs.empty() && attrs[0], tb = !attrs.empty() && attrs[1];
  size_t ra = a.shape.size(), rb = b.shape.size();
  int64_t m = a.shape[ra - (ta ? 1 : 2)], ka = a.shape[ra - (ta ? 2 : 1)];
  int64_t kb = b.shape[rb - (tb ? 1 : 2)], n = b.shape[rb - (tb ? 2 : 1)];
  if (ka != kb)
    fail("matmul: input 1 has shape ", shapeStr(b.shape), ", incompatible with input 0 ", shapeStr(a.shape),
         " (contracting dims ", ka, " vs ", kb, ta || tb ? "; transposeA=" + std::to_string(ta) + ", transposeB=" + std::to_string(tb) : "", ")");
  std::vector<int64_t> batchA(a.shape.begin(), a.shape.end() - 2), batchB(b.shape.begin(), b.shape.end() - 2), batch;
  if (!broadcastShapes(batchA, batchB, &batch))
    fail("matmul: batch dims of input 1 ", shapeStr(b.shape), " do not broadcast with input 0 ", shapeStr(a.shape));
  TensorDesc out;
  out.dtype = a.dtype;
  out.shape = batch;
  out.shape.push_back(m);
  out.shape.push_back(n);
  return out;
}

TensorDesc reduceRule(int op, const TensorDesc& x, const std::vector<int64_t>& attrs) {
  TensorDesc out;
  out.dtype = x.dtype;
  if (op == OP_sumToShape) {
    std::vector<int64_t> target = dimsFrom(op, attrs, 0), back;
    if (target.size() > x.shape.size() || !broadcastShapes(target, x.shape, &back) || back != x.shape)
      fail("sumToShape: cannot sum input 0 ", shapeStr(x.shape), " down to ", shapeStr(target),
           " (", shapeStr(target), " does not broadcast to ", shapeStr(x.shape), ")");
    out.shape = target;
    return out;
  }
  expectAttrs(op, attrs, 0, 1 + x.shape.size(), opAttrs(op));
  bool keep = !attrs.empty() && attrs[0];
  std::vector<char> mask = reduceMask(op, x.shape, attrs);
  for (size_t i = 0; i < x.shape.size(); ++i) {
    if (!mask[i]) out.shape.push_back(x.shape[i]);
    else if (keep) out.shape.push_back(1);
    if (mask[i] && op == OP_max && x.shape[i] == 0)
      fail("max: cannot reduce over empty axis ", i, " of input 0 ", shapeStr(x.shape));
  }
  return out;
}

TensorDesc reshapeRule(const TensorDesc& x, const std::vector<int64_t>& attrs) {
  TensorDesc out;
  out.dtype = x.dtype;
  out.shape = attrs;
  int infer = -1;
  std::vector<int64_t> given;   // the target without its -1
  for (size_t i = 0; i < attrs.size(); ++i) {
    if (attrs[i] == -1) {
      if (infer >= 0) fail("reshape: more than one -1 in target shape ", shapeStr(attrs));
      infer = (int)i;
    } else if (attrs[i] < 0) {
      fail("reshape: invalid dimension ", attrs[i], " in target shape ", shapeStr(attrs));
    } else {
      given.push_back(attrs[i]);
    }
  }
  // Counted with overflow checks (Note [Sizes]): a wrapped product could match the input's count.
  int64_t known;
  try {
    known = checkElementCount("reshape", given);
  } catch (const Error&) {
    if (std::find(given.begin(), given.end(), 0) != given.end())
      fail("reshape: shape ", shapeStr(attrs), " has dimensions whose product overflows int64 (too large to index, even though it is empty)");
    fail("reshape: shape ", shapeStr(attrs), " has more elements than int64 can count");
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail("reshape: cannot reshape input 0 ", shapeStr(x.shape), " (", x.numel(), " elements) to ", shapeStr(attrs));
    out.shape[infer] = x.numel() / known;
  } else if (known != x.numel()) {
    fail("reshape: cannot reshape input 0 ", shapeStr(x.shape), " (", x.numel(), " elements) to ", shapeStr(attrs),
         " (", known, " elements)");
  }
  return out;
}

TensorDesc transposeRule(const TensorDesc& x, const std::vector<int64_t>& attrs) {
  size_t r = x.shape.size();
  if (!attrs.empty() && attrs.size() != r)
    fail("transpose: permutation ", shapeStr(attrs), " has ", attrs.size(), " entries but input 0 ", shapeStr(x.shape), " has rank ", r);
  std::vector<char> seen(r, 0);
  TensorDesc out;
  out.dtype = x.dtype;
  for (size_t i = 0; i < r; ++i) {
    int64_t p = attrs.empty() ? (int64_t)(r - 1 - i) : attrs[i];
    if (p < 0 || p >= (int64_t)r || seen[p]) fail("transpose: ", shapeStr(attrs), " is not a permutation of the axes of input 0 ", shapeStr(x.shape));
    seen[p] = 1;
    out.shape.push_back(x.shape[p]);
  }
  return out;
}

}  // namespace

TensorDesc inferNode(int op, const std::vector<const TensorDesc*>& in, const std::vector<int64_t>& attrs, double scalar) {
  const Family family = opFamily(op);
  if (family == Family::None) fail("unknown op id ", op, " (the engine has ", (int)OP_COUNT, " ops)");
  if (opArity(op) >= 0) expectInputs(op, in, (size_t)opArity(op));
  TensorDesc out;
  switch (family) {
    case Family::Copy:
      expectAttrs(op, attrs, 0, 0, opAttrs(op));
      return *in[0];
    case Family::Fill:
      if (op == OP_fill) {
        expectAttrs(op, attrs, 1, 1 << 20, opAttrs(op));
        if (attrs[0] != kFloat32 && attrs[0] != kFloat64) fail("fill: dtype ", attrs[0], " is not Float32 (0) or Float64 (1)");
        out.dtype = (int)attrs[0];
        out.shape = dimsFrom(op, attrs, 1);
        return out;
      }
      expectAttrs(op, attrs, 0, 0, opAttrs(op));   // onesLike, zerosLike
      expectFloat(op, in);
      return *in[0];
    case Family::Unary:
    case Family::Transcendental:
      expectAttrs(op, attrs, 0, 0, opAttrs(op));
      expectFloat(op, in);
      return *in[0];
    case Family::Binary:
    case Family::BinaryTranscendental:
      expectAttrs(op, attrs, 0, 0, opAttrs(op));
      expectFloat(op, in);
      if (in[0]->dtype != in[1]->dtype)
        fail(opName(op), ": input 1 has dtype ", dtypeName(in[1]->dtype), " but input 0 has ", dtypeName(in[0]->dtype));
      out.dtype = in[0]->dtype;
      if (!broadcastShapes(in[0]->shape, in[1]->shape, &out.shape))
        fail(opName(op), ": cannot broadcast input 0 ", shapeStr(in[0]->shape), " with input 1 ", shapeStr(in[1]->shape));
      return out;
    case Family::Matmul:
      expectAttrs(op, attrs, 0, 2, opAttrs(op));
      if (attrs.size() == 1) fail("matmul: expected attrs ", opAttrs(op), ", got 1 attr(s)");
      expectFloat(op, in);
      if (in[0]->dtype != in[1]->dtype)
        fail("matmul: input 1 has dtype ", dtypeName(in[1]->dtype), " but input 0 has ", dtypeName(in[0]->dtype));
      return matmulRule(in, attrs);
    case Family::Reduce:
      expectFloat(op, in);
      return reduceRule(op, *in[0], attrs);
    case Family::Layout:
      if (op == OP_reshape) return reshapeRule(*in[0], attrs);
      if (op == OP_transpose) return transposeRule(*in[0], attrs);
      {   // broadcastTo
        std::vector<int64_t> target = dimsFrom(op, attrs, 0), b;
        if (!broadcastShapes(in[0]->shape, target, &b) || b != target)
          fail("broadcastTo: cannot broadcast input 0 ", shapeStr(in[0]->shape), " to ", shapeStr(target));
        out.dtype = in[0]->dtype;
        out.shape = target;
        return out;
      }
    case Family::Callback:
      expectAttrs(op, attrs, 2, 1 << 20, opAttrs(op));
      if (!validDtype((int)attrs[1])) fail("callback: unknown output dtype ", attrs[1]);
      out.dtype = (int)attrs[1];
      out.shape = dimsFrom(op, attrs, 2);
      return out;
    case Family::Random:   // randomUniform(counter), attrs [dtype, key, dims...]
      expectAttrs(op, attrs, 2, 1 << 20, opAttrs(op));
      if (attrs[0] != kFloat32 && attrs[0] != kFloat64) fail(opName(op), ": dtype ", attrs[0], " is not Float32 (0) or Float64 (1)");
      expectFloat(op, in);
      if (in[0]->numel() != 1)
        fail(opName(op), ": the counter (input 0) must have one element, got shape ", shapeStr(in[0]->shape));
      out.dtype = (int)attrs[0];
      out.shape = dimsFrom(op, attrs, 2);
      return out;
    case Family::None:
      break;
  }
  fail("unknown op id ", op);
}

}  // namespace adjoint
