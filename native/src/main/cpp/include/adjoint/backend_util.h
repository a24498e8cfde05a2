// Header-only helpers that the engine and every backend library compile, so both say and compute
// things the same way. A backend library may not call the engine's symbols (it is opened with dlopen
// and linked with --no-undefined), which is why these live in a header: error messages (fail, shape
// and dtype names, op labels), element counts, step layouts (Note [Step layout]) and fused-step
// register allocation (Note [Fused registers]).
#pragma once

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/op_table.h"

namespace adjoint {

// Builds an Error message from pieces: fail("matmul: input ", 1, " has shape ", shapeStr(s)).
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

// "[2, 3]", "[]" for rank 0.
inline std::string shapeStr(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// "Float32 [2, 3]"
inline std::string descStr(const TensorDesc& desc) { return std::string(dtypeName(desc.dtype)) + " " + shapeStr(desc.shape); }

// Element count of a shape already checked where it entered the engine (Note [Sizes]).
inline int64_t numelOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The op's name for a message: "sin", "fused", or "op 42 (not in ops.def)". Never throws.
inline std::string opLabel(int op) {
  if (op == OP_FUSED) return "fused";
  const char* name = opTableName(op);
  return name ? std::string(name) : "op " + std::to_string(op) + " (not in ops.def)";
}

// --- Indexing ops (ops.def: slice, sliceGrad, concat, gather, scatterAdd, oneHot, argmax) -------

// A dense tensor seen as [outer, dim, inner] around dims [axis, axis + span) (merged into `dim`):
// every indexing kernel of every backend reads its operands through these three counts.
struct AxisView {
  int64_t outer = 1, dim = 1, inner = 1;
};
inline AxisView axisView(const std::vector<int64_t>& shape, int64_t axis, int64_t span = 1) {
  AxisView v;
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d) {
    if (d < axis) v.outer *= shape[d];
    else if (d < axis + span) v.dim *= shape[d];
    else v.inner *= shape[d];
  }
  return v;
}

// Elements along the axis of slice(start, stop, step): ceil((stop - start) / step).
// (Written so that no huge step overflows.)
inline int64_t sliceLength(int64_t start, int64_t stop, int64_t step) { return stop <= start ? 0 : (stop - start - 1) / step + 1; }

// Note [Index errors]: gather, scatterAdd and oneHot read Int32 indices that only the run knows. An
// index outside [0, dim) never reads or writes out of bounds: the CPU kernels check every index before
// they write anything and throw; the CUDA kernels skip the element and record the first bad index in
// a device word that the backend reads back before the program's first write into an input buffer
// (a parameter update) and at the end of the run, and throws. Both throw this message, so the error
// reads the same on every device and reaches Java as an AdjointException.
inline std::string indexErrorMessage(int op, int64_t axis, int64_t position, int64_t value, int64_t dim, const std::vector<int64_t>& indexShape) {
  std::ostringstream os;
  os << opLabel(op) << ": index " << value << " at position " << position << " of the indices " << shapeStr(indexShape)
     << " is out of range [0, " << dim << ")";
  if (op != OP_oneHot) os << " for axis " << axis;
  else os << " (depth " << dim << ")";
  return os.str();
}

// --- Step layouts (Note [Step layout] in backend.h) ---------------------------------------------

// Row-major strides of a dense tensor.
inline std::vector<int64_t> denseStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// Element strides of `in` as seen from a NumPy-broadcast result of shape `out` (right-aligned);
// 0 on broadcast dims. Throws Error when `in` does not broadcast to `out`.
inline std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in.size() > out.size()) fail("cannot broadcast ", shapeStr(in), " to ", shapeStr(out));
  std::vector<int64_t> strides(out.size(), 0);
  const size_t lead = out.size() - in.size();
  int64_t stride = 1;
  for (size_t i = in.size(); i-- > 0;) {
    if (in[i] != 1 && in[i] != out[lead + i]) fail("cannot broadcast ", shapeStr(in), " to ", shapeStr(out));
    strides[lead + i] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return strides;
}

// Drops size-1 dims and merges each dim into the one before it where that is contiguous for every
// operand (stride[d-1] == stride[d] * shape[d]). `reduced` (optional, per dim) also keeps runs of
// reduced and kept dims apart.
inline void coalesce(StepLayout* l) {
  StepLayout c;
  c.strides.resize(l->strides.size());
  const bool runs = !l->reduced.empty();
  for (size_t d = 0; d < l->shape.size(); ++d) {
    const int64_t n = l->shape[d];
    if (n == 1) continue;
    bool merge = !c.shape.empty() && (!runs || c.reduced.back() == l->reduced[d]);
    for (size_t k = 0; k < l->strides.size() && merge; ++k) merge = c.strides[k].back() == l->strides[k][d] * n;
    if (merge) {
      c.shape.back() *= n;
      for (size_t k = 0; k < l->strides.size(); ++k) c.strides[k].back() = l->strides[k][d];
    } else {
      c.shape.push_back(n);
      for (size_t k = 0; k < l->strides.size(); ++k) c.strides[k].push_back(l->strides[k][d]);
      if (runs) c.reduced.push_back(l->reduced[d]);
    }
  }
  c.hostLoopDims = 0;
  *l = std::move(c);
}

// Elementwise (unary, binary) or broadcastTo: inputs broadcast to the output `out`.
inline StepLayout broadcastLayout(const std::vector<const std::vector<int64_t>*>& ins, const std::vector<int64_t>& out) {
  StepLayout l;
  l.shape = out;
  for (const auto* in : ins) l.strides.push_back(broadcastStrides(*in, out));
  coalesce(&l);
  return l;
}

// A fused step over n elements: each input is read linearly (numel n), at its element 0 (numel 1), or
// periodically (any other numel P dividing n: a suffix-broadcast input, read at element i mod P).
// With groups G > 1 (a step ending in a leading sum, FusedInstr OP_sum) an input of G * n elements
// is grouped: group g reads it linearly from element g * n.
inline StepLayout fusedLayout(const std::vector<int64_t>& inputNumels, int64_t n, int64_t groups = 1) {
  StepLayout l;
  l.shape = {n};
  bool periodic = false;
  auto grouped = [&](int64_t m) { return groups > 1 && m == groups * n; };
  for (int64_t m : inputNumels) {
    l.strides.push_back({m == 1 && n != 1 ? 0 : 1});
    periodic = periodic || (m != n && m != 1 && !grouped(m));
  }
  coalesce(&l);
  if (periodic)
    for (int64_t m : inputNumels) l.periods.push_back(m != n && m != 1 && !grouped(m) ? m : 0);
  if (groups > 1) {
    l.groups = groups;
    for (int64_t m : inputNumels) l.groupStrides.push_back(grouped(m) ? n : 0);
  }
  return l;
}

// transpose(x, perm): output dim d reads input dim perm[d]; an empty perm reverses.
inline StepLayout transposeLayout(const std::vector<int64_t>& in, const std::vector<int64_t>& perm) {
  const size_t r = in.size();
  if (!perm.empty() && perm.size() != r) fail("transpose: permutation ", shapeStr(perm), " for shape ", shapeStr(in));
  const std::vector<int64_t> dense = denseStrides(in);
  StepLayout l;
  l.strides.resize(1);
  for (size_t d = 0; d < r; ++d) {
    const int64_t p = perm.empty() ? (int64_t)(r - 1 - d) : perm[d];
    if (p < 0 || p >= (int64_t)r) fail("transpose: permutation ", shapeStr(perm), " for shape ", shapeStr(in));
    l.shape.push_back(in[p]);
    l.strides[0].push_back(dense[p]);
  }
  coalesce(&l);
  return l;
}

// Which axes of `in` a reduction folds away: sum/mean/max attrs [keepdims, axis...] (no axis: all;
// negative axes count from the end), sumToShape attrs [dims...] (leading dims and dims where the
// target is 1 and `in` is not). Throws Error for an axis out of range or repeated.
inline std::vector<char> reduceMask(int op, const std::vector<int64_t>& in, const std::vector<int64_t>& attrs) {
  const size_t r = in.size();
  std::vector<char> mask(r, 0);
  if (op == OP_sumToShape) {
    if (attrs.size() > r) fail("sumToShape: target ", shapeStr(attrs), " has more dims than input ", shapeStr(in));
    const size_t lead = r - attrs.size();
    for (size_t i = 0; i < r; ++i) mask[i] = i < lead || (attrs[i - lead] == 1 && in[i] != 1);
    return mask;
  }
  if (attrs.size() <= 1) return std::vector<char>(r, 1);
  for (size_t k = 1; k < attrs.size(); ++k) {
    const int64_t a = attrs[k] < 0 ? attrs[k] + (int64_t)r : attrs[k];
    if (a < 0 || a >= (int64_t)r) fail(opLabel(op), ": axis ", attrs[k], " is out of range for input 0 ", shapeStr(in));
    if (mask[a]) fail(opLabel(op), ": axis ", attrs[k], " is repeated");
    mask[a] = 1;
  }
  return mask;
}

// A reduction of a dense `in` over the axes marked in `mask`.
inline StepLayout reduceLayout(const std::vector<int64_t>& in, const std::vector<char>& mask) {
  StepLayout l;
  l.shape = in;
  l.strides = {denseStrides(in)};
  l.reduced = mask;
  coalesce(&l);
  return l;
}

// Counts the kept and the reduced runs of a reduction's layout.
inline void reduceRuns(const StepLayout& l, int* kept, int* reduced) {
  *kept = *reduced = 0;
  for (char r : l.reduced) ++*(r ? reduced : kept);
}

// Writes step `s`'s layout from its slots in `p`; an elementwise or gather step with more than
// maxRank dims (maxRank > 0) gets hostLoopDims for the rest.
inline void layoutStep(const Program& p, Step* s, int maxRank) {
  auto shape = [&](size_t i) -> const std::vector<int64_t>& { return p.slots[s->in[i]].desc.shape; };
  const std::vector<int64_t>& out = p.slots[s->out].desc.shape;
  bool loopable = true;
  if (s->op == OP_FUSED) {
    std::vector<int64_t> numels;
    for (size_t i = 0; i < s->in.size(); ++i) numels.push_back(numelOf(shape(i)));
    s->layout = fusedLayout(numels, numelOf(out), s->attrs.empty() ? 1 : s->attrs[0]);   // attrs [groups] or empty
  } else if (isElementwiseOp(s->op) || s->op == OP_broadcastTo) {
    std::vector<const std::vector<int64_t>*> ins;
    for (size_t i = 0; i < s->in.size(); ++i) ins.push_back(&shape(i));
    s->layout = broadcastLayout(ins, out);
  } else if (s->op == OP_transpose) {
    s->layout = transposeLayout(shape(0), s->attrs);
  } else if (isReduceOp(s->op)) {
    s->layout = reduceLayout(shape(0), reduceMask(s->op, shape(0), s->attrs));
    loopable = false;
  } else {
    s->layout = StepLayout();
    return;
  }
  const int rank = (int)s->layout.shape.size();
  if (loopable && maxRank > 0 && rank > maxRank) s->layout.hostLoopDims = rank - maxRank;
}

// Calls f(outOffset, inOffsets) for every index of the leading l.hostLoopDims dims of an
// elementwise or gather layout, in row-major order; offsets in elements (inOffsets[k] for input k).
// Each call stands for one launch over the remaining dims.
template <class F>
void forEachHostIndex(const StepLayout& l, F f) {
  const int h = l.hostLoopDims, k = (int)l.strides.size();
  int64_t inner = 1;
  for (size_t d = h; d < l.shape.size(); ++d) inner *= l.shape[d];
  std::vector<int64_t> idx(h, 0), off(k, 0);
  for (int64_t o = 0;; ++o) {
    f(o * inner, (const int64_t*)off.data());
    int d = h - 1;
    for (; d >= 0; --d) {
      for (int j = 0; j < k; ++j) off[j] += l.strides[j][d];
      if (++idx[d] < l.shape[d]) break;
      for (int j = 0; j < k; ++j) off[j] -= l.strides[j][d] * l.shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// Note [Fused registers]: the results of a fused step's instructions are held in registers, assigned
// in code order, lowest free first; an operand read for the last time frees its register before the
// result takes one, and a result nobody reads (but the last) frees its register at once. Fusion
// keeps a group within Capabilities::maxFusedLive by this count and the CUDA backend allocates its
// registers by the same rule, so a fused step that compiles fits. Returns the number of registers;
// with `reg`, also each instruction's register. The code must be valid (operands earlier registers).
inline int fusedRegisters(const std::vector<FusedInstr>& code, int numInputs, std::vector<int>* reg = nullptr) {
  const int n = (int)code.size();
  std::vector<int> lastUse(numInputs + n, -1), phys(numInputs + n, -1);
  auto readsA = [&](const FusedInstr& f) { return f.op != OP_fill && f.a >= 0; };
  auto readsB = [&](const FusedInstr& f) { return isBinaryOp(f.op) && f.b >= 0; };
  for (int k = 0; k < n; ++k) {
    if (readsA(code[k])) lastUse[code[k].a] = k;
    if (readsB(code[k])) lastUse[code[k].b] = k;
  }
  std::vector<char> busy;
  int count = 0;
  for (int k = 0; k < n; ++k) {
    const FusedInstr& f = code[k];
    if (readsA(f) && f.a >= numInputs && lastUse[f.a] == k) busy[phys[f.a]] = 0;
    if (readsB(f) && f.b >= numInputs && lastUse[f.b] == k) busy[phys[f.b]] = 0;
    int r = 0;
    while (r < (int)busy.size() && busy[r]) ++r;
    if (r == (int)busy.size()) busy.push_back(0);
    phys[numInputs + k] = r;
    busy[r] = lastUse[numInputs + k] >= 0 || k == n - 1;
    count = std::max(count, r + 1);
  }
  if (reg) reg->assign(phys.begin() + numInputs, phys.end());
  return count;
}

}  // namespace adjoint
