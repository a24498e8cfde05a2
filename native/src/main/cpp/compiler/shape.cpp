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

// Axis attr `a` of an op over a tensor of rank r: must already be normalised (0 <= a < r).
int64_t axisAttr(int op, int64_t a, size_t r, const TensorDesc& x, int input) {
  if (a < 0 || a >= (int64_t)r)
    fail(opName(op), ": axis ", a, " is out of range for input ", input, " ", descStr(x), " (axes 0 to ", (int64_t)r - 1, ")");
  return a;
}

void expectIndices(int op, const TensorDesc& idx, int input) {
  if (idx.dtype != kInt32) fail(opName(op), ": input ", input, " (the indices) has dtype ", dtypeName(idx.dtype), "; indices are Int32");
}

TensorDesc layoutIndexRule(int op, const std::vector<const TensorDesc*>& in, const std::vector<int64_t>& attrs) {
  TensorDesc out;
  if (op == OP_slice || op == OP_sliceGrad) {
    const size_t want = op == OP_slice ? 4 : 5;
    expectAttrs(op, attrs, want, want, opAttrs(op));
    const TensorDesc& x = *in[0];
    const int64_t axis = axisAttr(op, attrs[0], x.shape.size(), x, 0);
    const int64_t start = attrs[1], stop = attrs[2], step = attrs[3];
    const int64_t dim = op == OP_slice ? x.shape[axis] : attrs[4];
    if (dim < 0) fail(opName(op), ": negative dimension ", dim);
    if (step < 1) fail(opName(op), ": step ", step, " must be >= 1");
    if (start < 0 || start > stop || stop > dim)
      fail(opName(op), ": start ", start, " and stop ", stop, " must satisfy 0 <= start <= stop <= ", dim, " (axis ", axis, " of ",
           op == OP_slice ? "input 0 " + descStr(x) : "the result", ")");
    out = x;
    const int64_t len = sliceLength(start, stop, step);
    if (op == OP_slice) {
      out.shape[axis] = len;
    } else {
      if (x.shape[axis] != len)
        fail("sliceGrad: input 0 ", descStr(x), " has ", x.shape[axis], " elements along axis ", axis, " but start ", start, ", stop ", stop,
             ", step ", step, " select ", len);
      out.shape[axis] = dim;
      checkElementCount("sliceGrad", out.shape);
    }
    return out;
  }
  if (op == OP_concat) {
    expectAttrs(op, attrs, 1, 1, opAttrs(op));
    if (in.empty()) fail("concat: needs at least one input");
    const TensorDesc& x = *in[0];
    const int64_t axis = axisAttr(op, attrs[0], x.shape.size(), x, 0);
    out = x;
    int64_t total = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const TensorDesc& t = *in[i];
      if (t.dtype != x.dtype) fail("concat: input ", i, " has dtype ", dtypeName(t.dtype), " but input 0 has ", dtypeName(x.dtype));
      bool ok = t.shape.size() == x.shape.size();
      for (size_t d = 0; ok && d < x.shape.size(); ++d) ok = (int64_t)d == axis || t.shape[d] == x.shape[d];
      if (!ok) fail("concat: input ", i, " ", descStr(t), " does not match input 0 ", descStr(x), " outside axis ", axis);
      if (__builtin_add_overflow(total, t.shape[axis], &total)) fail("concat: the length along axis ", axis, " overflows int64");
    }
    out.shape[axis] = total;
    checkElementCount("concat", out.shape);
    return out;
  }
  if (op == OP_gather) {
    expectAttrs(op, attrs, 1, 1, opAttrs(op));
    const TensorDesc& x = *in[0];
    expectIndices(op, *in[1], 1);
    const int64_t axis = axisAttr(op, attrs[0], x.shape.size(), x, 0);
    if (x.shape[axis] == 0 && in[1]->numel() > 0)
      fail("gather: axis ", axis, " of input 0 ", descStr(x), " is empty, so no index is in range");
    out.dtype = x.dtype;
    out.shape.assign(x.shape.begin(), x.shape.begin() + axis);
    out.shape.insert(out.shape.end(), in[1]->shape.begin(), in[1]->shape.end());
    out.shape.insert(out.shape.end(), x.shape.begin() + axis + 1, x.shape.end());
    checkElementCount("gather", out.shape);
    return out;
  }
  if (op == OP_scatterAdd) {
    expectAttrs(op, attrs, 2, 2, opAttrs(op));
    const TensorDesc& g = *in[0];
    const TensorDesc& idx = *in[1];
    expectFloat(op, {in[0]});
    expectIndices(op, idx, 1);
    const int64_t axis = attrs[0], dim = attrs[1], k = (int64_t)idx.shape.size();
    if (axis < 0 || axis + k > (int64_t)g.shape.size())
      fail("scatterAdd: axis ", axis, " with indices ", shapeStr(idx.shape), " does not fit input 0 ", descStr(g));
    for (int64_t d = 0; d < k; ++d)
      if (g.shape[axis + d] != idx.shape[d])
        fail("scatterAdd: input 0 ", descStr(g), " must have the indices' shape ", shapeStr(idx.shape), " at axis ", axis);
    if (dim < 0 || (dim == 0 && idx.numel() > 0)) fail("scatterAdd: dim ", dim, " must be >= 1 (>= 0 without indices)");
    out.dtype = g.dtype;
    out.shape.assign(g.shape.begin(), g.shape.begin() + axis);
    out.shape.push_back(dim);
    out.shape.insert(out.shape.end(), g.shape.begin() + axis + k, g.shape.end());
    checkElementCount("scatterAdd", out.shape);
    return out;
  }
  if (op == OP_oneHot) {
    expectAttrs(op, attrs, 2, 2, opAttrs(op));
    expectIndices(op, *in[0], 0);
    if (attrs[0] < 1) fail("oneHot: depth ", attrs[0], " must be >= 1");
    if (attrs[1] != kFloat32 && attrs[1] != kFloat64) fail("oneHot: dtype ", attrs[1], " is not Float32 (0) or Float64 (1)");
    out.dtype = (int)attrs[1];
    out.shape = in[0]->shape;
    out.shape.push_back(attrs[0]);
    checkElementCount("oneHot", out.shape);
    return out;
  }
  // argmax
  expectAttrs(op, attrs, 2, 2, opAttrs(op));
  expectFloat(op, in);
  const TensorDesc& x = *in[0];
  const int64_t axis = axisAttr(op, attrs[0], x.shape.size(), x, 0);
  if (x.shape[axis] == 0) fail("argmax: cannot reduce over empty axis ", axis, " of input 0 ", descStr(x));
  if (x.shape[axis] > INT32_MAX) fail("argmax: axis ", axis, " of input 0 ", descStr(x), " is longer than Int32 can index");
  out.dtype = kInt32;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if ((int64_t)d != axis) out.shape.push_back(x.shape[d]);
    else if (attrs[1]) out.shape.push_back(1);
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
    case Family::Index:
      return layoutIndexRule(op, in, attrs);
    case Family::Layout:
      if (op == OP_slice || op == OP_sliceGrad || op == OP_concat) return layoutIndexRule(op, in, attrs);
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
