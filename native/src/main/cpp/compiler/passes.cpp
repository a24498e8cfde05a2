// Graph-level passes: dead-code elimination, and one rebuilding pass that does common-subexpression
// elimination, algebraic simplification and constant folding together (run for every backend); and
// the folding of parameter updates into their gradient's gemm for backends that can accumulate
// (Note [GEMM updates]).
//
// Note [Rebuild]: simplify() re-emits the graph node by node into a fresh node list (Note [Node order]).
// Each node is first rewritten against the already-emitted (hence already simplified) inputs, then
// looked up in a table of emitted nodes; a rule may emit helper nodes (a fill, a broadcastTo) through
// the same path, so they are simplified and shared too. Rules only fire where the result is exact
// (x * 1, x + (-0), x - 0, neg(neg x), layout no-ops) except the documented broadcastTo/sumToShape rule,
// which multiplies instead of summing copies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "adjoint/op_math.h"
#include "compiler/ir.h"

namespace adjoint {

void eliminateDeadCode(Graph::Impl* g) {
  size_t n = g->nodes.size();
  std::vector<char> live(n, 0);
  for (int o : g->outputs) live[o] = 1;
  for (auto& u : g->updates) live[u.second] = 1;
  for (int i : g->inputNodes) live[i] = 1;   // inputs keep their slots even when unused
  for (size_t i = n; i-- > 0;)
    if (live[i])
      for (int in : g->nodes[i].in) live[in] = 1;
  std::vector<int> remap(n, -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    Node node = std::move(g->nodes[i]);
    for (int& in : node.in) in = remap[in];
    remap[i] = (int)kept.size();
    kept.push_back(std::move(node));
  }
  g->nodes = std::move(kept);
  for (int& o : g->outputs) o = remap[o];
  for (auto& u : g->updates) u.second = remap[u.second];
  for (int& i : g->inputNodes) i = remap[i];
}

namespace {

// Evaluates an elementwise op on constants with the kernels' scalar functions, in the node's dtype
// (Note [Scalar semantics] in op_math.h). An op without one is an error, never a made-up value.
double evalConst(int op, int dtype, double a, double b) {
  if (!isElementwiseOp(op)) fail("constant folding: ", opName(op), " is not an elementwise op (it has no scalar function in op_math.h)");
  if (dtype == kFloat32) return isUnaryOp(op) ? math::unary(op, (float)a) : math::binary(op, (float)a, (float)b);
  if (dtype == kFloat64) return isUnaryOp(op) ? math::unary(op, a) : math::binary(op, a, b);
  fail("constant folding: ", opName(op), " of ", dtypeName(dtype));
}

struct Rebuilder {
  Graph::Impl out;
  std::unordered_map<std::string, int> table;

  const Node& node(int id) const { return out.nodes[id]; }

  bool isFill(int id, double* value) const {
    if (node(id).op != OP_fill) return false;
    if (value) *value = node(id).scalar;
    return true;
  }
  bool isFillOf(int id, double v) const {
    double c;
    return isFill(id, &c) && c == v && !std::signbit(c) == !std::signbit(v);
  }

  int emitFill(int dtype, const std::vector<int64_t>& shape, double value) {
    Node f;
    f.op = OP_fill;
    f.attrs.push_back(dtype);
    f.attrs.insert(f.attrs.end(), shape.begin(), shape.end());
    f.scalar = dtype == kFloat32 ? (double)(float)value : value;
    f.desc.dtype = dtype;
    f.desc.shape = shape;
    return emit(std::move(f));
  }

  int emitOp(int op, std::vector<int> in, std::vector<int64_t> attrs) {
    Node n;
    n.op = op;
    n.in = std::move(in);
    n.attrs = std::move(attrs);
    std::vector<const TensorDesc*> descs;
    for (int i : n.in) descs.push_back(&node(i).desc);
    n.desc = inferNode(op, descs, n.attrs, 0);
    return emit(std::move(n));
  }

  // x, or x broadcast to `shape` when the op's result is bigger than x.
  int sameValue(int x, const TensorDesc& result) {
    if (node(x).desc.shape == result.shape) return x;
    return emitOp(OP_broadcastTo, {x}, result.shape);
  }

  static bool isLastTwoSwap(const Node& t) {
    size_t r = t.desc.shape.size();
    if (t.op != OP_transpose || r < 2) return false;
    for (size_t i = 0; i < r; ++i) {
      int64_t p = t.attrs.empty() ? (int64_t)(r - 1 - i) : t.attrs[i];
      int64_t want = i + 2 < r ? (int64_t)i : (int64_t)(i == r - 2 ? r - 1 : r - 2);
      if (p != want) return false;
    }
    return true;
  }

  // Returns the id of an equivalent node, or -1 to emit `n` (possibly modified) as is.
  int rewrite(Node& n) {
    const int op = n.op;
    const TensorDesc& d = n.desc;
    double a, b;
    if (op == OP_identity) return n.in[0];
    if (op == OP_onesLike || op == OP_zerosLike) return emitFill(d.dtype, d.shape, op == OP_onesLike ? 1 : 0);
    if (isUnaryOp(op)) {
      if (isFill(n.in[0], &a)) return emitFill(d.dtype, d.shape, evalConst(op, d.dtype, a, 0));
      if (op == OP_neg && node(n.in[0]).op == OP_neg) return node(n.in[0]).in[0];
      return -1;
    }
    if (isBinaryOp(op)) {
      int x = n.in[0], y = n.in[1];
      if (isFill(x, &a) && isFill(y, &b)) return emitFill(d.dtype, d.shape, evalConst(op, d.dtype, a, b));
      if ((op == OP_mul || op == OP_div) && isFillOf(y, 1)) return sameValue(x, d);
      if (op == OP_mul && isFillOf(x, 1)) return sameValue(y, d);
      // x + c and x - c are x, bit for bit, only when c is the zero that keeps x's sign: x + (-0)
      // and x - (+0) (for x = -0, x + (+0) is +0).
      if (op == OP_add && isFillOf(y, -0.0)) return sameValue(x, d);
      if (op == OP_sub && isFillOf(y, 0.0)) return sameValue(x, d);
      if (op == OP_add && isFillOf(x, -0.0)) return sameValue(y, d);
      return -1;
    }
    int x = n.in.empty() ? -1 : n.in[0];
    switch (op) {
      case OP_matmul:
        for (int k = 0; k < 2; ++k) {
          const Node& t = node(n.in[k]);
          if (!isLastTwoSwap(t)) continue;
          if (n.attrs.size() != 2) n.attrs.assign(2, 0);
          n.attrs[k] = !n.attrs[k];
          n.in[k] = t.in[0];
        }
        return -1;
      case OP_reshape:
      case OP_broadcastTo:
        if (node(x).desc.shape == d.shape) return x;
        if (isFill(x, &a)) return emitFill(d.dtype, d.shape, a);
        if (node(x).op == op) {   // reshape(reshape y) = reshape y; same for broadcastTo
          n.in[0] = node(x).in[0];
          n.attrs = d.shape;
          return node(n.in[0]).desc.shape == d.shape ? n.in[0] : -1;
        }
        if (op == OP_reshape) n.attrs = d.shape;   // resolve the -1 so equal reshapes share a key
        return -1;
      case OP_transpose: {
        size_t r = d.shape.size();
        std::vector<int64_t> perm(r);
        for (size_t i = 0; i < r; ++i) perm[i] = n.attrs.empty() ? (int64_t)(r - 1 - i) : n.attrs[i];
        if (isFill(x, &a)) return emitFill(d.dtype, d.shape, a);
        if (node(x).op == OP_transpose) {   // transpose(transpose(y, p), q) = transpose(y, p[q])
          const Node& t = node(x);
          std::vector<int64_t> inner(r);
          for (size_t i = 0; i < r; ++i) inner[i] = t.attrs.empty() ? (int64_t)(r - 1 - i) : t.attrs[i];
          for (size_t i = 0; i < r; ++i) perm[i] = inner[perm[i]];
          n.in[0] = t.in[0];
        }
        bool ident = true;
        for (size_t i = 0; i < r; ++i) ident = ident && perm[i] == (int64_t)i;
        if (ident) return n.in[0];
        n.attrs = perm;
        return -1;
      }
      case OP_sumToShape: {
        if (node(x).desc.shape == d.shape) return x;
        const Node& src = node(x);
        if (isFill(x, &a)) {
          int64_t count = src.desc.numel() / std::max<int64_t>(1, d.numel());
          return emitFill(d.dtype, d.shape, count == 0 ? 0.0 : a * (double)count);   // an empty sum is +0
        }
        if (src.op == OP_broadcastTo && node(src.in[0]).desc.shape == d.shape) {
          // Summing k broadcast copies of y is k * y (exact up to rounding of the product).
          int y = src.in[0];
          int64_t k = src.desc.numel() / std::max<int64_t>(1, d.numel());
          if (k == 1 || d.numel() == 0) return y;
          if (k == 0) return emitFill(d.dtype, d.shape, 0.0);   // zero copies: +0, not y * 0
          return emitOp(OP_mul, {y, emitFill(d.dtype, {}, (double)k)}, {});
        }
        return -1;
      }
      case OP_sum:
      case OP_mean:
      case OP_max:
        if (isFill(x, &a)) {
          int64_t count = node(x).desc.numel() / std::max<int64_t>(1, d.numel());
          // An empty sum is +0 (not a * 0: NaN for inf, -0 for a < 0); an empty mean is NaN.
          return emitFill(d.dtype, d.shape, count == 0 ? (op == OP_sum ? 0.0 : NAN) : op == OP_sum ? a * (double)count : a);
        }
        return -1;
    }
    return -1;
  }

  static std::string key(const Node& n) {
    std::string k;
    auto put = [&](const void* p, size_t len) { k.append((const char*)p, len); };
    put(&n.op, sizeof n.op);
    put(&n.desc.dtype, sizeof n.desc.dtype);
    size_t sizes[3] = {n.in.size(), n.attrs.size(), n.desc.shape.size()};
    put(sizes, sizeof sizes);
    put(n.in.data(), n.in.size() * sizeof(int));
    put(n.attrs.data(), n.attrs.size() * sizeof(int64_t));
    put(n.desc.shape.data(), n.desc.shape.size() * sizeof(int64_t));
    put(&n.scalar, sizeof n.scalar);   // bitwise: 0.0 and -0.0 stay distinct, NaN matches itself
    return k;
  }

  int emit(Node n) {
    if (n.op != OP_INPUT) {
      int same = rewrite(n);
      if (same >= 0) return same;
    }
    bool shareable = n.op != OP_INPUT && n.op != OP_callback;   // callbacks may have side effects
    std::string k;
    if (shareable) {
      k = key(n);
      auto it = table.find(k);
      if (it != table.end()) return it->second;
    }
    out.nodes.push_back(std::move(n));
    int id = (int)out.nodes.size() - 1;
    if (shareable) table.emplace(std::move(k), id);
    return id;
  }
};

}  // namespace

void simplify(Graph::Impl* g) {
  Rebuilder rb;
  std::vector<int> remap(g->nodes.size(), -1);
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    Node n = g->nodes[i];
    for (int& in : n.in) in = remap[in];
    remap[i] = rb.emit(std::move(n));
  }
  for (int& o : g->outputs) o = remap[o];
  for (auto& u : g->updates) u.second = remap[u.second];
  for (int& i : g->inputNodes) i = remap[i];
  g->nodes = std::move(rb.out.nodes);
}

// Note [GEMM updates]: an SGD-style update p <- p - c * matmul(a, b) (also p + c' * mm, c * mm in
// either order, p - mm, p + mm, mm + p; c a one-element fill) would otherwise take three passes over
// p-sized memory: the gemm writes the gradient, then an elementwise step reads it and p and writes p.
// Instead the update's value becomes one accumulating matmul, in = [a, b, p], attrs [transposeA,
// transposeB, 1], scalar = alpha (= -c, c', -1 or 1): gemm with C = p's buffer, beta = 1. Lowering
// computes it into p's buffer as one of the last steps (Note [In-place updates] in lowering.cpp), after
// every reader of the old p (its dependency edges say so), so nothing sees p half updated. Folded only
// when that is safe and unobservable:
//  * the value is used by nothing but this one update (no node, no output, no other update), and so
//    are the matmul and the scaling mul: the gradient is never materialised;
//  * the matmul's result has p's shape and dtype (Float32/Float64), so C is p, element for element;
//  * neither a nor b is an update target (p included: gemm's C must not alias A or B, and another
//    target may already hold its new value when this step runs).
// Rounding: gemm adds alpha * (a b) to C, the same p - fl(c * g) as the unfolded steps when alpha's
// product rounds the same way (-c is exact), up to one rounding where the gemm kernel fuses the add.
// Executable runs this pass only for a backend that implements the accumulating form
// (Capabilities::accumulatingGemm; the CPU's does).
void foldGemmUpdates(Graph::Impl* g) {
  std::vector<Node>& nodes = g->nodes;
  size_t n = nodes.size();
  std::vector<int> uses(n, 0), updateUses(n, 0);
  for (const Node& node : nodes)
    for (int i : node.in) uses[i]++;
  for (int o : g->outputs) uses[o]++;
  for (auto& u : g->updates) updateUses[u.second]++;
  std::vector<char> target(g->inputNodes.size(), 0);
  for (auto& u : g->updates) target[u.first] = 1;
  auto isTarget = [&](int id) {   // reads an update target, through reshape aliases
    while (nodes[id].op == OP_reshape) id = nodes[id].in[0];
    return nodes[id].op == OP_INPUT && target[nodes[id].inputIndex];
  };
  auto onlyFeeds = [&](int id) { return uses[id] == 1 && updateUses[id] == 0; };
  bool changed = false;
  for (auto& u : g->updates) {
    const int p = g->inputNodes[u.first], v = u.second;
    Node& s = nodes[v];
    if (uses[v] != 0 || updateUses[v] != 1 || s.in.size() != 2 || (s.op != OP_sub && s.op != OP_add)) continue;
    const TensorDesc& pd = nodes[p].desc;
    if ((pd.dtype != kFloat32 && pd.dtype != kFloat64) || s.desc.dtype != pd.dtype || s.desc.shape != pd.shape) continue;
    int term;
    double sign;
    if (s.in[0] == p && s.in[1] != p) {
      term = s.in[1];
      sign = s.op == OP_sub ? -1 : 1;
    } else if (s.op == OP_add && s.in[1] == p && s.in[0] != p) {
      term = s.in[0];
      sign = 1;
    } else {
      continue;
    }
    if (!onlyFeeds(term)) continue;
    int mm = term;
    double alpha = sign;
    const Node& t = nodes[term];
    if (t.op == OP_mul) {
      int k = nodes[t.in[1]].op == OP_fill && nodes[t.in[1]].desc.numel() == 1 ? 1 : nodes[t.in[0]].op == OP_fill && nodes[t.in[0]].desc.numel() == 1 ? 0 : -1;
      if (k < 0 || t.in[0] == t.in[1]) continue;
      mm = t.in[1 - k];
      alpha = sign * nodes[t.in[k]].scalar;
      if (t.desc.shape != pd.shape || !onlyFeeds(mm)) continue;
    }
    if (alpha == 0 || !std::isfinite(alpha)) continue;   // gemm may skip A*B when alpha is 0; keep NaN/inf semantics
    const Node& m = nodes[mm];
    if (m.op != OP_matmul || m.in.size() != 2 || m.desc.dtype != pd.dtype || m.desc.shape != pd.shape) continue;
    if (isTarget(m.in[0]) || isTarget(m.in[1])) continue;
    const bool ta = m.attrs.size() == 2 && m.attrs[0], tb = m.attrs.size() == 2 && m.attrs[1];
    std::vector<int> in{m.in[0], m.in[1], p};
    s.op = OP_matmul;
    s.in = std::move(in);
    s.attrs = {ta, tb, 1};
    s.scalar = alpha;
    changed = true;
  }
  if (changed) eliminateDeadCode(g);
}

// Note [Product-rule GEMMs]: the tangent of a product is a sum of products, d(AB) = dA B + A dB, so
// forward-over-reverse derivatives (the HVP) are full of add(matmul, matmul). Unfolded that is two
// gemms writing their results and an add reading both and writing a third; folded, the second gemm
// accumulates into the first's result (in = [a, b, c], attrs [transposeA, transposeB, 1], scalar 1,
// as in Note [GEMM updates]) and the add is gone. Lowering writes the accumulating step over c's temp
// (planMemory), which needs c to die there: folded only when
//  * both matmuls are 2-D products of the add's own shape and dtype (Float32/Float64), and each is
//    read by nothing but the add (no other node, output or update); one may accumulate already (a
//    sum of three products folds twice), and becomes c;
//  * the add is not an output or an update value (its result stays a temp);
// Otherwise the first matmul in node order is c. Rounding: the gemm adds its product into c in its own blocks
// (one rounding per K block instead of one for the add), so the sum can differ in the last bits from
// the unfolded add; run to run and thread count to thread count it is the same.
// Executable runs it only where Capabilities::accumulatingGemm.
void foldProductGemms(Graph::Impl* g) {
  std::vector<Node>& nodes = g->nodes;
  const size_t n = nodes.size();
  std::vector<int> uses(n, 0);
  std::vector<char> pinned(n, 0);
  for (const Node& node : nodes)
    for (int i : node.in) uses[i]++;
  for (int o : g->outputs) pinned[o] = 1;
  for (auto& u : g->updates) pinned[u.second] = 1;
  // A 2-D matmul of shape and dtype d read only once; plain: not (yet) accumulating.
  auto product = [&](int id, const TensorDesc& d) {
    const Node& m = nodes[id];
    return m.op == OP_matmul && uses[id] == 1 && !pinned[id] && m.desc.dtype == d.dtype && m.desc.shape == d.shape &&
           nodes[m.in[0]].desc.shape.size() == 2 && nodes[m.in[1]].desc.shape.size() == 2;
  };
  auto plain = [&](int id) { return nodes[id].in.size() == 2 && nodes[id].attrs.size() <= 2; };
  bool changed = false;
  for (size_t i = 0; i < n; ++i) {
    Node& s = nodes[i];
    if (s.op != OP_add || s.in.size() != 2 || s.in[0] == s.in[1] || pinned[i]) continue;
    if ((s.desc.dtype != kFloat32 && s.desc.dtype != kFloat64) || s.desc.shape.size() != 2) continue;
    if (!product(s.in[0], s.desc) || !product(s.in[1], s.desc) || (!plain(s.in[0]) && !plain(s.in[1]))) continue;
    // m is folded in: a plain product, the later one when both are; c may accumulate already (a chain).
    const int later = std::max(s.in[0], s.in[1]), earlier = std::min(s.in[0], s.in[1]);
    const int m = plain(later) ? later : earlier, c = m == later ? earlier : later;
    const Node& mm = nodes[m];
    const bool ta = mm.attrs.size() == 2 && mm.attrs[0], tb = mm.attrs.size() == 2 && mm.attrs[1];
    std::vector<int> in{mm.in[0], mm.in[1], c};
    s.op = OP_matmul;
    s.in = std::move(in);
    s.attrs = {ta, tb, 1};
    s.scalar = 1;
    changed = true;
  }
  if (changed) eliminateDeadCode(g);
}

}  // namespace adjoint
