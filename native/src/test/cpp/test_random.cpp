// Small random graphs of the core ops, checked against the float64 reference, run twice (the second
// run reuses the arena) and on both dtypes.
#include <cstdlib>

#include "check.h"
#include "reference.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

struct Val {
  int id;
  Host h;
};

struct RandomGraph {
  std::mt19937 rng;
  Graph g;
  std::vector<Val> vals;
  std::vector<Host> inputs;
  int dtype;

  RandomGraph(unsigned seed, int dt) : rng(seed), dtype(dt) {}

  int pick() { return std::uniform_int_distribution<int>(0, (int)vals.size() - 1)(rng); }
  int coin(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  void input(const Shape& s) {
    Host h = t::random(s, rng, -1, 1);
    vals.push_back({g.addInput(dtype, s.data(), (int)s.size()), h});
    inputs.push_back(h);
  }

  int node(int op, std::vector<int> in, std::vector<int64_t> attrs, double scalar = 0) {
    return g.addNode(op, in.data(), (int)in.size(), attrs.data(), (int)attrs.size(), scalar);
  }

  void step() {
    const Val a = vals[pick()];
    const Val b = vals[pick()];
    int r = (int)a.h.shape.size();
    switch (coin(11)) {
      case 0: case 1: {
        int ops[] = {OP_sin, OP_cos, OP_tanh, OP_neg, OP_relu};
        int op = ops[coin(5)];
        vals.push_back({node(op, {a.id}, {}), ref::map1(op, a.h)});
        break;
      }
      case 2: case 3: case 4: {
        Shape out;
        if (!broadcastOk(a.h.shape, b.h.shape)) break;
        int ops[] = {OP_add, OP_sub, OP_mul};
        int op = ops[coin(3)];
        vals.push_back({node(op, {a.id, b.id}, {}), ref::map2(op, a.h, b.h)});
        break;
      }
      case 5: {
        if (r == 0) break;
        int axis = coin(r);
        int keep = coin(2);
        std::vector<char> mask(r, 0);
        mask[axis] = 1;
        int kind = coin(3);
        if (kind == 2 && a.h.shape[axis] == 0) break;
        int op = kind == 0 ? OP_sum : kind == 1 ? OP_mean : OP_max;
        vals.push_back({node(op, {a.id}, {keep, axis}), ref::reduce(a.h, mask, kind, keep)});
        break;
      }
      case 6: {   // broadcast to [3, 4] then maybe sum back
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
      case 7: {
        if (r < 2) break;
        std::vector<int64_t> perm(r);
        for (int i = 0; i < r; ++i) perm[i] = i;
        std::swap(perm[r - 1], perm[r - 2]);
        vals.push_back({node(OP_transpose, {a.id}, perm), ref::transpose(a.h, perm)});
        break;
      }
      case 8: {
        Host h = a.h;
        h.shape = {h.numel()};
        vals.push_back({node(OP_reshape, {a.id}, {-1}), h});
        break;
      }
      case 9: {
        if (r != 2 || b.h.shape.size() != 2) break;
        for (int ta = 0; ta < 2; ++ta)
          for (int tb = 0; tb < 2; ++tb)
            if (a.h.shape[ta ? 0 : 1] == b.h.shape[tb ? 1 : 0]) {
              vals.push_back({node(OP_matmul, {a.id, b.id}, {ta, tb}), ref::matmul(a.h, b.h, ta, tb)});
              return;
            }
        break;
      }
      case 10: {
        int op = coin(2) ? OP_onesLike : OP_zerosLike;
        Host h = a.h;
        for (auto& v : h.v) v = op == OP_onesLike ? 1 : 0;
        vals.push_back({node(op, {a.id}, {}), h});
        break;
      }
    }
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
};

}  // namespace

TEST(random_graphs) {
  int checked = 0;
  const char* env = std::getenv("ADJOINT_RANDOM_SEEDS");   // more graphs for a soak run (default 150)
  const unsigned seeds = env && std::atoi(env) > 0 ? (unsigned)std::atoi(env) : 150;
  for (unsigned seed = 0; seed < seeds; ++seed)
    for (int dt : {kFloat64, kFloat32}) {
      RandomGraph rg(seed, dt);
      for (Shape s : {Shape{3, 4}, Shape{4}, Shape{3, 1}, Shape{}, Shape{4, 3}})
        if (rg.coin(3)) rg.input(s);
      if (rg.vals.empty()) rg.input({3, 4});
      int n = 3 + rg.coin(14);
      for (int i = 0; i < n; ++i) rg.step();
      std::vector<int> outs;
      for (int k = 0; k < 1 + rg.coin(3); ++k) {
        int v = (int)rg.vals.size() - 1 - rg.coin(std::min<int>(3, (int)rg.vals.size()));
        outs.push_back(v);
        rg.g.addOutput(rg.vals[v].id);
      }
      auto got = t::runGraph(rg.g, rg.inputs, std::vector<int>(rg.inputs.size(), dt), 2);
      for (size_t k = 0; k < outs.size(); ++k) {
        std::string why;
        CHECK_MSG(t::close(got[k], rg.vals[outs[k]].h, dt == kFloat32 ? 1e-3 : 1e-9, &why),
                  "seed " << seed << " " << dtypeName(dt) << " output " << k << ": " << why);
        ++checked;
      }
    }
  CHECK(checked > 300);
}
