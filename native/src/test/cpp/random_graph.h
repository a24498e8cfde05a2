// Random graphs of the core ops for the randomized tests (test_random.cpp, test_schedule.cpp): each
// value added to the Graph is kept with its float64 reference result, built with reference.h.
#pragma once

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "check.h"
#include "reference.h"

namespace t {

struct RandomGraph {
  struct Val {
    int id;   // node id in g
    Host h;   // reference value
  };

  // Which values step() draws from. Extended adds square and step to the unary ops, a reshape to
  // the shape of another value of the same size, and constants (fills of +-0, 1, 2, -0.5).
  enum class Mix { Basic, Extended };

  std::mt19937 rng;
  adjoint::Graph g;
  std::vector<Val> vals;
  std::vector<Host> inputs;
  std::vector<int> inputVal;   // vals index of input i
  int dtype;
  Mix mix;

  RandomGraph(unsigned seed, int dt, Mix m = Mix::Basic) : rng(seed), dtype(dt), mix(m) {}

  int coin(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  int pick() { return coin((int)vals.size()); }

  int node(int op, std::vector<int> in, std::vector<int64_t> attrs, double scalar = 0) {
    return g.addNode(op, in.data(), (int)in.size(), attrs.data(), (int)attrs.size(), scalar);
  }

  static bool broadcastOk(const Shape& a, const Shape& b) {
    size_t r = std::max(a.size(), b.size());
    for (size_t i = 0; i < r; ++i) {
      int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
      int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
      if (da != db && da != 1 && db != 1) return false;
    }
    return true;
  }

  void input(const Shape& s) {
    Host h = t::random(s, rng, -1, 1);
    inputVal.push_back((int)vals.size());
    vals.push_back({g.addInput(dtype, s.data(), (int)s.size()), h});
    inputs.push_back(h);
  }

  // A fill of +-0, 1, 2 or -0.5, scalar or of some value's shape.
  void constant() {
    static const double cs[] = {0.0, -0.0, 1.0, 2.0, -0.5};
    double c = cs[coin(5)];
    Shape s = coin(2) ? Shape{} : vals[pick()].h.shape;
    std::vector<int64_t> attrs{dtype};
    attrs.insert(attrs.end(), s.begin(), s.end());
    Host h;
    h.shape = s;
    h.v.assign(t::numel(s), c);
    vals.push_back({node(adjoint::OP_fill, {}, attrs, c), h});
  }

  enum Kind { Unary, Binary, Reduce, Broadcast, Transpose, Flatten, ReshapeLike, Matmul, FillLike, Constant };

  // Adds at most one value built from one or two random earlier values (none when the draw does not
  // fit their shapes).
  void step() {
    using namespace adjoint;
    // One entry per outcome of the draw, so repeats weight a kind. The order fixes which graph a
    // seed makes: changing it changes every test's graphs.
    static const Kind basic[] = {Unary, Unary, Binary, Binary, Binary, Reduce, Broadcast, Transpose, Flatten, Matmul, FillLike};
    static const Kind extended[] = {Unary, Unary, Binary, Binary, Binary, Reduce, Broadcast, Transpose, Flatten,
                                    ReshapeLike, Matmul, FillLike, Constant};
    const Val a = vals[pick()];
    const Val b = vals[pick()];
    int r = (int)a.h.shape.size();
    const bool ext = mix == Mix::Extended;
    switch (ext ? extended[coin(13)] : basic[coin(11)]) {
      case Unary: {
        int ops[] = {OP_sin, OP_cos, OP_tanh, OP_neg, OP_relu, OP_square, OP_step};   // Basic: first 5
        int op = ops[coin(ext ? 7 : 5)];
        vals.push_back({node(op, {a.id}, {}), ref::map1(op, a.h)});
        break;
      }
      case Binary: {
        if (!broadcastOk(a.h.shape, b.h.shape)) break;
        int ops[] = {OP_add, OP_sub, OP_mul};
        int op = ops[coin(3)];
        vals.push_back({node(op, {a.id, b.id}, {}), ref::map2(op, a.h, b.h)});
        break;
      }
      case Reduce: {
        if (r == 0) break;
        int axis = coin(r), keep = coin(2), kind = coin(3);
        std::vector<char> mask(r, 0);
        mask[axis] = 1;
        if (kind == 2 && a.h.shape[axis] == 0) break;
        int op = kind == 0 ? OP_sum : kind == 1 ? OP_mean : OP_max;
        vals.push_back({node(op, {a.id}, {keep, axis}), ref::reduce(a.h, mask, kind, keep)});
        break;
      }
      case Broadcast: {   // broadcast to [3, 4] then maybe sum back
        Shape to{3, 4};
        if (!broadcastOk(a.h.shape, to) || ref::bshape(a.h.shape, to) != to) break;
        int bt = node(OP_broadcastTo, {a.id}, to);
        Host bh = ref::broadcastTo(a.h, to);
        if (coin(2)) {
          vals.push_back({bt, bh});
        } else {
          size_t lead = 2 - a.h.shape.size();
          std::vector<char> mask(2);
          for (size_t i = 0; i < 2; ++i) mask[i] = i < lead || (a.h.shape[i - lead] == 1 && to[i] != 1);
          Host s = ref::reduce(bh, mask, 0, true);
          s.shape = a.h.shape;
          vals.push_back({node(OP_sumToShape, {bt}, a.h.shape), s});
        }
        break;
      }
      case Transpose: {
        if (r < 2) break;
        std::vector<int64_t> perm(r);
        for (int i = 0; i < r; ++i) perm[i] = i;
        std::swap(perm[r - 1], perm[r - 2]);
        vals.push_back({node(OP_transpose, {a.id}, perm), ref::transpose(a.h, perm)});
        break;
      }
      case Flatten: {
        Host h = a.h;
        h.shape = {h.numel()};
        vals.push_back({node(OP_reshape, {a.id}, {-1}), h});
        break;
      }
      case ReshapeLike: {   // reshape to the shape of some other value of the same size
        const Val c = vals[pick()];
        if (c.h.numel() != a.h.numel()) break;
        Host h = a.h;
        h.shape = c.h.shape;
        vals.push_back({node(OP_reshape, {a.id}, c.h.shape), h});
        break;
      }
      case Matmul: {
        if (r != 2 || b.h.shape.size() != 2) break;
        for (int ta = 0; ta < 2; ++ta)
          for (int tb = 0; tb < 2; ++tb)
            if (a.h.shape[ta ? 0 : 1] == b.h.shape[tb ? 1 : 0]) {
              vals.push_back({node(OP_matmul, {a.id, b.id}, {ta, tb}), ref::matmul(a.h, b.h, ta, tb)});
              return;
            }
        break;
      }
      case FillLike: {
        int op = coin(2) ? OP_onesLike : OP_zerosLike;
        Host h = a.h;
        for (auto& v : h.v) v = op == OP_onesLike ? 1 : 0;
        vals.push_back({node(op, {a.id}, {}), h});
        break;
      }
      case Constant:
        constant();
        break;
    }
  }
};

// The extended mix (constants, reshapes to another value's shape, ...) plus updates and outputs.
struct UpdateGraph : RandomGraph {
  std::vector<int> outs;                      // vals indices
  std::vector<std::pair<int, int>> updates;   // (input, vals index)

  UpdateGraph(unsigned seed, int dt) : RandomGraph(seed, dt, Mix::Extended) {}

  // An SGD-like value for input i: p - c * v or p + v (v of p's shape), or any value of p's shape.
  void update(int i) {
    const Val p = vals[inputVal[i]];
    std::vector<int> same;
    for (size_t k = 0; k < vals.size(); ++k)
      if (vals[k].h.shape == p.h.shape) same.push_back((int)k);
    const Val v = vals[same[coin((int)same.size())]];
    switch (coin(3)) {
      case 0: {
        std::vector<int64_t> attrs{dtype};
        int c = node(adjoint::OP_fill, {}, attrs, 0.25);
        int m = node(adjoint::OP_mul, {c, v.id}, {});
        Host h = p.h;
        for (size_t e = 0; e < h.v.size(); ++e) h.v[e] = p.h.v[e] - 0.25 * v.h.v[e];
        vals.push_back({node(adjoint::OP_sub, {p.id, m}, {}), h});
        break;
      }
      case 1: {
        vals.push_back({node(adjoint::OP_add, {p.id, v.id}, {}), ref::map2(adjoint::OP_add, p.h, v.h)});
        break;
      }
      default:
        updates.emplace_back(i, same[coin((int)same.size())]);
        g.addUpdate(i, vals[updates.back().second].id);
        return;
    }
    updates.emplace_back(i, (int)vals.size() - 1);
    g.addUpdate(i, vals.back().id);
  }
};

struct FreeBuf {
  void operator()(adjoint::Buffer* b) const { adjoint::freeBuffer(b); }
};
using BufPtr = std::unique_ptr<adjoint::Buffer, FreeBuf>;

// Runs `g` `times` times on one executable; per run, every output, then every input (as the updates left it).
inline std::vector<std::vector<Host>> runTimes(const adjoint::Graph& g, const std::vector<Host>& ins, int dt, int times, int device = 0) {
  adjoint::Executable ex(g, device);
  std::vector<BufPtr> bufs;
  for (size_t i = 0; i < ins.size(); ++i) {
    bufs.emplace_back(upload(ins[i], dt, device));
    ex.setInput((int)i, bufs.back().get());
  }
  std::vector<std::vector<Host>> res;
  for (int r = 0; r < times; ++r) {
    ex.run();
    std::vector<Host> outs;
    for (int k = 0; k < ex.numOutputs(); ++k) {
      BufPtr o(ex.takeOutput(k));
      outs.push_back(download(o.get()));
    }
    for (auto& b : bufs) outs.push_back(download(b.get()));
    res.push_back(outs);
  }
  return res;
}

}  // namespace t
