// Every kernel in both float dtypes against the float64 reference.
#include "adjoint/op_table.h"
#include "check.h"
#include "reference.h"
#include "special_values.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

const int kDtypes[] = {kFloat32, kFloat64};

// Builds a one-op graph over inputs of the given shapes and checks it against `want`.
void expectOp(const char* what, int op, const std::vector<Host>& ins, int dtype, const std::vector<int64_t>& attrs, const Host& want,
              double scalar = 0, double tolScale = 1) {
  Graph g;
  std::vector<int> ids;
  for (auto& h : ins) ids.push_back(g.addInput(dtype, h.shape.data(), (int)h.shape.size()));
  int n = g.addNode(op, ids.data(), (int)ids.size(), attrs.data(), (int)attrs.size(), scalar);
  g.addOutput(n);
  auto outs = t::runGraph(g, ins, std::vector<int>(ins.size(), dtype));
  std::string why;
  CHECK_MSG(t::close(outs[0], want, t::tolFor(dtype) * tolScale, &why),
            what << " " << opName(op) << " " << dtypeName(dtype) << ": " << why);
}

std::mt19937 rng(1234);

}  // namespace

TEST(unary_ops) {
  for (int dt : kDtypes)
    for (int op = 0; op < OP_COUNT; ++op)
      for (Shape s : {Shape{}, Shape{1}, Shape{0}, Shape{3, 0, 2}, Shape{5, 7}, Shape{100003}}) {
        if (!isUnaryOp(op)) continue;
        bool positive = op == OP_log || op == OP_sqrt || op == OP_log1p;
        Host x = t::random(s, rng, positive ? 0.1 : -3, 3);
        expectOp("unary", op, {x}, dt, {}, ref::map1(op, x));
      }
}

// Note [Scalar semantics] (op_math.h): every elementwise op, in both dtypes, on NaN, +-0, +-inf, huge
// and subnormal values (special_values.h), through each way the CPU backend computes it: the plain
// kernel (vector loop and tail, same-shape and broadcast operands), a fused step, and a folded
// constant, with the passes on and off; always against op_math.h's scalar function in that dtype.
namespace {

template <class T>
Host hostOf(const Shape& s, const std::vector<T>& v) {
  return Host(s, std::vector<double>(v.begin(), v.end()));
}

// Output k of a run against op(a[i], b[i]) for every element i.
template <class T>
void expectSemantics(const std::string& what, int op, const std::vector<T>& a, const std::vector<T>& b, const Host& got) {
  CHECK_MSG(got.v.size() == a.size(), what << ": " << got.v.size() << " elements, want " << a.size());
  int bad = 0;
  for (size_t i = 0; i < a.size() && i < got.v.size() && bad < 3; ++i) {
    std::string why;
    if (!special::agrees<T>(op, a[i], b.empty() ? T(0) : b[i], (T)got.v[i], &why)) {
      CHECK_MSG(false, what << " element " << i << ": " << why);
      ++bad;
    }
  }
}

template <class T>
void checkElementwiseSemantics(int dt) {
  const std::vector<T> vals = special::values<T>();
  const int64_t m = (int64_t)vals.size();
  const char* dn = dtypeName(dt);
  for (int op = 0; op < OP_COUNT; ++op) {
    if (!isElementwiseOp(op)) continue;
    const bool unary = isUnaryOp(op);
    std::vector<T> a, b;
    special::operands(unary, vals, &a, &b);
    const int64_t n = (int64_t)a.size();
    const Shape s{n};
    std::vector<Host> ins{hostOf(s, a)};
    if (!unary) ins.push_back(hostOf(s, b));
    for (int optimize = 0; optimize < 2; ++optimize) {
      t::OptimizeScope o(optimize);
      const std::string tag = std::string(opName(op)) + " " + dn + (optimize ? " (passes on)" : " (passes off)");
      {   // plain step
        Graph g;
        std::vector<int> x;
        for (size_t k = 0; k < ins.size(); ++k) x.push_back(g.addInput(dt, s.data(), 1));
        g.addOutput(g.addNode(op, x.data(), (int)x.size(), nullptr, 0, 0));
        expectSemantics<T>(tag + " plain", op, a, b, t::runGraph(g, ins, std::vector<int>(ins.size(), dt))[0]);
      }
      {   // fused with a multiplication by ones (exact), so the op runs inside a fused step
        Graph g;
        std::vector<int> x;
        for (size_t k = 0; k < ins.size(); ++k) x.push_back(g.addInput(dt, s.data(), 1));
        int ones = g.addInput(dt, s.data(), 1);
        int v[2] = {g.addNode(op, x.data(), (int)x.size(), nullptr, 0, 0), ones};
        g.addOutput(g.addNode(OP_mul, v, 2, nullptr, 0, 0));
        if (optimize) {
          Executable ex(g, 0);
          CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("fused[") != std::string::npos, tag << ": " << ex.describe());
        }
        std::vector<Host> fin = ins;
        fin.push_back(Host(s, std::vector<double>(n, 1.0)));
        expectSemantics<T>(tag + " fused", op, a, b, t::runGraph(g, fin, std::vector<int>(fin.size(), dt))[0]);
      }
      if (!unary) {   // broadcast operands: a column against a row, and a row against a column
        std::vector<T> col(vals), row(vals), ca, rb, ra, cb;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < m; ++j) {
            ca.push_back(col[i]);
            rb.push_back(row[j]);
          }
        for (int flip = 0; flip < 2; ++flip) {
          Graph g;
          Shape sc{m, 1}, sr{m};
          int p = g.addInput(dt, (flip ? sr : sc).data(), flip ? 1 : 2), q = g.addInput(dt, (flip ? sc : sr).data(), flip ? 2 : 1);
          int in[2] = {p, q};
          g.addOutput(g.addNode(op, in, 2, nullptr, 0, 0));
          auto got = t::runGraph(g, {hostOf(flip ? sr : sc, flip ? row : col), hostOf(flip ? sc : sr, flip ? col : row)}, {dt, dt})[0];
          // out[i][j] = op(p[..], q[..]): unflipped p = col[i], q = row[j]; flipped p = row[j], q = col[i]
          std::vector<T> pa, qb;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < m; ++j) {
              pa.push_back(flip ? row[j] : col[i]);
              qb.push_back(flip ? col[i] : row[j]);
            }
          expectSemantics<T>(tag + (flip ? " row op column" : " column op row"), op, pa, qb, got);
        }
      }
      {   // on constants: folded with the passes on, the kernel on one element with them off
        Graph g;
        std::vector<T> fa, fb;
        for (int64_t i = 0; i < (unary ? m : m * m); ++i) {
          std::vector<int64_t> attrs{dt};
          T va = unary ? vals[i] : vals[i / m], vb = unary ? T(0) : vals[i % m];
          int f[2] = {g.addNode(OP_fill, nullptr, 0, attrs.data(), 1, (double)va), g.addNode(OP_fill, nullptr, 0, attrs.data(), 1, (double)vb)};
          g.addOutput(g.addNode(op, f, unary ? 1 : 2, nullptr, 0, 0));
          fa.push_back(va);
          if (!unary) fb.push_back(vb);
        }
        if (optimize) {
          Executable ex(g, 0);
          CHECK_MSG(ex.describe().find(std::string(": ") + opName(op) + "(") == std::string::npos, tag << ": not folded\n" << ex.describe());
        }
        auto outs = t::runGraph(g, {}, {});
        Host got;
        for (auto& h : outs) got.v.push_back(h.v.at(0));
        got.shape = {(int64_t)got.v.size()};
        expectSemantics<T>(tag + " constant", op, fa, fb, got);
      }
    }
  }
}

}  // namespace

TEST(elementwise_special_values) {
  checkElementwiseSemantics<float>(kFloat32);
  checkElementwiseSemantics<double>(kFloat64);
}

TEST(binary_broadcasting) {
  std::vector<std::pair<Shape, Shape>> cases = {
      {{}, {}}, {{2, 3}, {2, 3}}, {{2, 3}, {}}, {{}, {2, 3}}, {{2, 3}, {3}}, {{2, 3}, {2, 1}}, {{1, 3}, {2, 1}},
      {{4, 1, 5}, {3, 1}}, {{2, 3}, {1, 2, 3}}, {{1}, {7}}, {{0, 3}, {3}}, {{2, 0}, {2, 1}}, {{3, 1, 0}, {1, 4, 1}},
      {{1000, 70}, {70}}, {{70, 1000}, {70, 1}}, {{5, 1, 6, 1}, {1, 4, 1, 3}}};
  for (int dt : kDtypes)
    for (int op = 0; op < OP_COUNT; ++op)
      for (auto& c : cases) {
        if (!isBinaryOp(op)) continue;
        Host a = t::random(c.first, rng), b = t::random(c.second, rng, 0.5, 2);
        expectOp("binary", op, {a, b}, dt, {}, ref::map2(op, a, b));
      }
}

TEST(matmul_transposes_batches) {
  struct Case {
    Shape a, b;
    bool ta, tb;
  };
  std::vector<Case> cases;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      int64_t m = 3, k = 5, n = 4;
      Shape a = ta ? Shape{k, m} : Shape{m, k}, b = tb ? Shape{n, k} : Shape{k, n};
      cases.push_back({a, b, (bool)ta, (bool)tb});
      Shape a3 = a, b3 = b;
      a3.insert(a3.begin(), 2);
      b3.insert(b3.begin(), 2);
      cases.push_back({a3, b3, (bool)ta, (bool)tb});   // batched
      cases.push_back({a3, b, (bool)ta, (bool)tb});    // b broadcast over the batch
      cases.push_back({a, b3, (bool)ta, (bool)tb});    // a broadcast over the batch
      Shape a4 = a, b4 = b;
      a4.insert(a4.begin(), {3, 1});
      b4.insert(b4.begin(), {1, 2});
      cases.push_back({a4, b4, (bool)ta, (bool)tb});   // batch dims broadcast both ways
    }
  cases.push_back({{0, 5}, {5, 4}, false, false});
  cases.push_back({{3, 0}, {0, 4}, false, false});   // k = 0: zeros
  cases.push_back({{3, 5}, {5, 0}, false, false});
  cases.push_back({{1, 1}, {1, 1}, true, true});
  cases.push_back({{65, 130}, {130, 33}, false, false});
  // Either side of Note [Tiny gemm]'s bound (512 multiply-adds: computed directly, then OpenBLAS).
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int64_t k : {8, 9}) {
        Shape a = ta ? Shape{k, 8} : Shape{8, k}, b = tb ? Shape{8, k} : Shape{k, 8};
        cases.push_back({a, b, (bool)ta, (bool)tb});
      }
  for (int dt : kDtypes)
    for (auto& c : cases) {
      Host a = t::random(c.a, rng), b = t::random(c.b, rng);
      expectOp("matmul", OP_matmul, {a, b}, dt, {c.ta, c.tb}, ref::matmul(a, b, c.ta, c.tb), 0, 5);
    }
}

TEST(reductions) {
  std::vector<Shape> shapes = {{}, {7}, {3, 4}, {2, 3, 4}, {2, 1, 5, 3}, {0, 3}, {4, 0, 2}, {300, 257}, {1 << 18}};
  for (int dt : kDtypes)
    for (auto& s : shapes) {
      Host x = t::random(s, rng);
      int r = (int)s.size();
      std::vector<std::vector<int64_t>> axesSets = {{}};   // all axes
      for (int a = 0; a < r; ++a) axesSets.push_back({a});
      if (r >= 2) axesSets.push_back({0, r - 1});
      if (r >= 3) axesSets.push_back({-1, -2});
      if (r >= 3) axesSets.push_back({1});
      for (auto& axes : axesSets)
        for (int keep = 0; keep < 2; ++keep)
          for (int kind = 0; kind < 3; ++kind) {
            std::vector<char> mask(r, axes.empty() ? 1 : 0);
            for (auto a : axes) mask[a < 0 ? a + r : a] = 1;
            bool empty = false;
            for (int d = 0; d < r; ++d) empty = empty || (mask[d] && s[d] == 0);
            if (kind == 2 && empty) continue;   // max over an empty axis is an error (test_errors)
            std::vector<int64_t> attrs{keep};
            attrs.insert(attrs.end(), axes.begin(), axes.end());
            int op = kind == 0 ? OP_sum : kind == 1 ? OP_mean : OP_max;
            expectOp("reduce", op, {x}, dt, attrs, ref::reduce(x, mask, kind, keep), 0, 10);
          }
    }
}

TEST(max_propagates_nan) {
  Host x({2, 3}, {1, NAN, 3, 4, 5, 6});
  for (int dt : kDtypes) {
    expectOp("max-nan", OP_max, {x}, dt, {0, 1}, Host({2}, {NAN, 6}));
    expectOp("max-nan", OP_max, {x}, dt, {0, 0}, Host({3}, {4, NAN, 6}));
    expectOp("max-nan", OP_max, {x}, dt, {0}, Host({}, {NAN}));
  }
}

TEST(sum_to_shape) {
  std::vector<std::pair<Shape, Shape>> cases = {{{2, 3}, {3}}, {{2, 3}, {2, 1}}, {{2, 3}, {}}, {{2, 3}, {1, 1}}, {{4, 2, 3}, {2, 1}},
                                                {{4, 2, 3}, {4, 1, 3}}, {{2, 3}, {2, 3}}, {{0, 3}, {3}}, {{5, 1}, {1}}};
  for (int dt : kDtypes)
    for (auto& c : cases) {
      Host x = t::random(c.first, rng);
      size_t r = c.first.size(), lead = r - c.second.size();
      std::vector<char> mask(r);
      for (size_t i = 0; i < r; ++i) mask[i] = i < lead || (c.second[i - lead] == 1 && c.first[i] != 1);
      Host want = ref::reduce(x, mask, 0, true);
      want.shape = c.second;
      expectOp("sumToShape", OP_sumToShape, {x}, dt, c.second, want, 0, 10);
    }
}

TEST(layout_ops) {
  for (int dt : kDtypes) {
    Host x = t::random({2, 3, 4}, rng);
    for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {0, 2, 1}, {2, 0, 1}, {1, 2, 0}})
      expectOp("transpose", OP_transpose, {x}, dt, perm, ref::transpose(x, perm));
    expectOp("transpose", OP_transpose, {x}, dt, {}, ref::transpose(x, {2, 1, 0}));   // empty = reverse
    Host big = t::random({300, 500}, rng);
    expectOp("transpose", OP_transpose, {big}, dt, {1, 0}, ref::transpose(big, {1, 0}));
    Host z = t::random({0, 3}, rng);
    expectOp("transpose", OP_transpose, {z}, dt, {1, 0}, ref::transpose(z, {1, 0}));
    Host r = x;
    r.shape = {6, 4};
    expectOp("reshape", OP_reshape, {x}, dt, {-1, 4}, r);
    r.shape = {24};
    expectOp("reshape", OP_reshape, {x}, dt, {-1}, r);
    r.shape = {2, 1, 12};
    expectOp("reshape", OP_reshape, {x}, dt, {2, 1, -1}, r);
    Host v = t::random({3, 1}, rng);
    expectOp("broadcastTo", OP_broadcastTo, {v}, dt, {2, 3, 4}, ref::broadcastTo(v, {2, 3, 4}));
    Host s = t::random({}, rng);
    expectOp("broadcastTo", OP_broadcastTo, {s}, dt, {5}, ref::broadcastTo(s, {5}));
    expectOp("broadcastTo", OP_broadcastTo, {v}, dt, {0, 3, 4}, ref::broadcastTo(v, {0, 3, 4}));
    expectOp("identity", OP_identity, {x}, dt, {}, x);
  }
}

TEST(fill_and_likes) {
  for (int dt : kDtypes) {
    Host x = t::random({3, 2}, rng);
    expectOp("onesLike", OP_onesLike, {x}, dt, {}, Host({3, 2}, std::vector<double>(6, 1)));
    expectOp("zerosLike", OP_zerosLike, {x}, dt, {}, Host({3, 2}, std::vector<double>(6, 0)));
    Graph g;
    std::vector<int64_t> attrs{dt, 2, 2};
    g.addOutput(g.addNode(OP_fill, nullptr, 0, attrs.data(), 3, 2.5));
    auto outs = t::runGraph(g, {}, {});
    std::string why;
    CHECK_MSG(t::close(outs[0], Host({2, 2}, {2.5, 2.5, 2.5, 2.5}), 0, &why), why);
  }
}

TEST(int32_storage_passthrough) {
  Graph g;
  Shape s{2, 3};
  int x = g.addInput(kInt32, s.data(), 2);
  std::vector<int64_t> perm{1, 0};
  g.addOutput(g.addNode(OP_transpose, &x, 1, perm.data(), 2, 0));
  Executable ex(g, 0);
  Buffer* b = newBuffer(0, kInt32, s.data(), 2);
  int32_t v[6] = {1, 2, 3, 4, 5, 6}, o[6];
  b->copyFromHost(v, sizeof v);
  ex.setInput(0, b);
  ex.run();
  Buffer* out = ex.takeOutput(0);
  out->copyToHost(o, sizeof o);
  int32_t want[6] = {1, 4, 2, 5, 3, 6};
  CHECK(std::equal(o, o + 6, want));
  freeBuffer(out);
  freeBuffer(b);
}

static int doubler(int id, int n, void** in, void* out) {
  if (id == 7) return 1;   // simulated Java exception
  const double* x = (const double*)in[0];
  double* y = (double*)out;
  for (int i = 0; i < 3; ++i) y[i] = 2 * x[i] + (n > 1 ? ((const double*)in[1])[0] : 0);
  return 0;
}

TEST(host_callback) {
  setHostCallback(doubler);
  for (int id : {3, 7}) {
    Graph g;
    Shape s{3};
    int x = g.addInput(kFloat64, s.data(), 1);
    int sx = g.addNode(OP_sin, &x, 1, nullptr, 0, 0);
    std::vector<int64_t> attrs{id, kFloat64, 3};
    int ins[2] = {sx, x};
    int cb = g.addNode(OP_callback, ins, 1, attrs.data(), 3, 0);
    g.addOutput(g.addNode(OP_cos, &cb, 1, nullptr, 0, 0));
    Host h({3}, {0.1, 0.2, 0.3});
    if (id == 3) {
      auto outs = t::runGraph(g, {h}, {kFloat64});
      Host want = ref::map1(OP_cos, ref::map2(OP_mul, ref::map1(OP_sin, h), Host({}, {2})));
      std::string why;
      CHECK_MSG(t::close(outs[0], want, 1e-12, &why), why);
    } else {
      CHECK_THROWS(t::runGraph(g, {h}, {kFloat64}), "host callback 7 failed");
    }
  }
  setHostCallback(nullptr);
}
