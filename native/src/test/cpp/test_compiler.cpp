// The compile passes: results unchanged, steps removed, fusion, memory plan, updates.
#include <cstring>

#include "check.h"
#include "cpu/kernels.h"
#include "random_graph.h"
#include "reference.h"
#include "test_backend.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

int unary(Graph& g, int op, int x) { return g.addNode(op, &x, 1, nullptr, 0, 0); }
int binary(Graph& g, int op, int a, int b) {
  int in[2] = {a, b};
  return g.addNode(op, in, 2, nullptr, 0, 0);
}
int withAttrs(Graph& g, int op, int x, std::vector<int64_t> attrs) { return g.addNode(op, &x, 1, attrs.data(), (int)attrs.size(), 0); }
int fill(Graph& g, int dtype, Shape s, double v) {
  std::vector<int64_t> attrs{dtype};
  attrs.insert(attrs.end(), s.begin(), s.end());
  return g.addNode(OP_fill, nullptr, 0, attrs.data(), (int)attrs.size(), v);
}

std::mt19937 rng(99);

bool bitEqual(const Host& a, const Host& b) {
  return a.shape == b.shape && std::memcmp(a.v.data(), b.v.data(), a.v.size() * sizeof(double)) == 0;
}

// Runs `g` on float64 inputs and returns output 0's raw values.
std::vector<double> run64(const Graph& g, const std::vector<Host>& ins) {
  auto outs = t::runGraph(g, ins, std::vector<int>(ins.size(), kFloat64));
  return outs.at(0).v;
}

}  // namespace

TEST(dce_cse_identity) {
  Graph g;
  Shape s{4, 5};
  int x = g.addInput(kFloat32, s.data(), 2);
  int a = unary(g, OP_sin, x);
  int b = unary(g, OP_sin, x);   // CSE with a
  unary(g, OP_exp, x);           // dead
  int c = binary(g, OP_add, unary(g, OP_identity, a), b);
  g.addOutput(c);
  Executable ex(g, 0);
  CHECK_MSG(ex.numSteps() == 1, ex.describe());   // sin then add fused into one step
  Host h = t::random(s, rng);
  auto out = t::runGraph(g, {h}, {kFloat32});
  Host sx = ref::map1(OP_sin, h);
  std::string why;
  CHECK_MSG(t::close(out[0], ref::map2(OP_add, sx, sx), 1e-5, &why), why);
}

TEST(algebraic_rules_keep_values) {
  for (int dt : {kFloat32, kFloat64}) {
    Graph g;
    Shape s{3, 4};
    int x = g.addInput(dt, s.data(), 2);
    int ones = unary(g, OP_onesLike, x);
    int zeros = unary(g, OP_zerosLike, x);
    int v = binary(g, OP_mul, x, ones);                  // x
    v = binary(g, OP_mul, fill(g, dt, {}, 1), v);        // x
    v = binary(g, OP_sub, v, zeros);                     // x (x + zeros is not: -0 + 0 is +0)
    v = binary(g, OP_add, v, fill(g, dt, {}, -0.0));     // x
    v = binary(g, OP_sub, v, fill(g, dt, {1}, 0));       // x
    v = unary(g, OP_neg, unary(g, OP_neg, v));           // x
    v = withAttrs(g, OP_reshape, v, {3, 4});             // x
    v = withAttrs(g, OP_sumToShape, v, {3, 4});          // x
    v = withAttrs(g, OP_transpose, withAttrs(g, OP_transpose, v, {1, 0}), {1, 0});   // x
    g.addOutput(v);
    Executable ex(g, 0);
    CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("identity") != std::string::npos, ex.describe());   // only the output copy
    Host h = t::random(s, rng);
    auto out = t::runGraph(g, {h}, {dt});
    Host want = h;
    if (dt == kFloat32)
      for (auto& e : want.v) e = (double)(float)e;
    CHECK(bitEqual(out[0], want));
  }
}

TEST(broadcast_then_sum_to_shape) {
  Graph g;
  Shape s{3};
  int x = g.addInput(kFloat64, s.data(), 1);
  int b = withAttrs(g, OP_broadcastTo, x, {4, 3});
  int back = withAttrs(g, OP_sumToShape, b, {3});
  g.addOutput(back);
  Executable ex(g, 0);
  CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("fused[fill mul]") != std::string::npos, ex.describe());
  Host h({3}, {1, 2, 3});
  auto out = t::runGraph(g, {h}, {kFloat64});
  CHECK(bitEqual(out[0], Host({3}, {4, 8, 12})));
}

TEST(transpose_folds_into_matmul) {
  for (int dt : {kFloat32, kFloat64}) {
    Graph g;
    Shape sa{2, 5, 3}, sb{2, 5, 4};
    int a = g.addInput(dt, sa.data(), 3), b = g.addInput(dt, sb.data(), 3);
    int at = withAttrs(g, OP_transpose, a, {0, 2, 1});
    int in[2] = {at, b};
    std::vector<int64_t> tr{0, 0};
    g.addOutput(g.addNode(OP_matmul, in, 2, tr.data(), 2, 0));
    Executable ex(g, 0);
    CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("matmul") != std::string::npos, ex.describe());
    Host ha = t::random(sa, rng), hb = t::random(sb, rng);
    auto out = t::runGraph(g, {ha, hb}, {dt, dt});
    std::string why;
    CHECK_MSG(t::close(out[0], ref::matmul(ha, hb, true, false), 1e-4, &why), why);
  }
}

// x + 0 -> x is not exact: -0 + +0 is +0. Simplification returned x (-0); node for node gives +0.
TEST(add_zero_keeps_signed_zero) {
  for (int form = 0; form < 4; ++form) {
    Graph g;
    Shape s{2};
    int x = g.addInput(kFloat64, s.data(), 1);
    int z = unary(g, OP_zerosLike, x);
    int y = form == 0 ? binary(g, OP_add, x, z) : form == 1 ? binary(g, OP_add, z, x) : form == 2 ? binary(g, OP_sub, x, z) : binary(g, OP_sub, x, unary(g, OP_neg, z));
    g.addOutput(y);
    Host h({2}, {-0.0, 1.5});
    std::vector<double> on, off;
    {
      t::OptimizeScope o(true);
      on = run64(g, {h});
    }
    {
      t::OptimizeScope o(false);
      off = run64(g, {h});
    }
    for (int i = 0; i < 2; ++i) CHECK_MSG(t::sameBits(on[i], off[i]), "form " << form << " element " << i << ": " << on[i] << " vs " << off[i]);
  }
}

// Constant folding of a reduction over an empty axis: the sum of no elements is +0, but the rule
// computed value * 0 (NaN for inf, -0 for negative values).
TEST(fold_sum_of_empty_fill) {
  for (double v : std::vector<double>{INFINITY, -1.0, NAN}) {
    for (int kind = 0; kind < 2; ++kind) {
      Graph g;
      Shape s{1};
      int x = g.addInput(kFloat64, s.data(), 1);
      int f = fill(g, kFloat64, {0, 3}, v);
      int r = kind == 0 ? withAttrs(g, OP_sum, f, {0, 0}) : withAttrs(g, OP_sumToShape, f, {1, 3});
      g.addOutput(binary(g, OP_add, r, x));
      std::vector<double> on, off;
      Host h({1}, {0.0});
      {
        t::OptimizeScope o(true);
        on = run64(g, {h});
      }
      {
        t::OptimizeScope o(false);
        off = run64(g, {h});
      }
      for (size_t i = 0; i < off.size(); ++i)
        CHECK_MSG(t::sameBits(on[i], off[i]), "fill " << v << " kind " << kind << " element " << i << ": " << on[i] << " vs " << off[i]);
    }
  }
}

// sumToShape(broadcastTo(y, [0, 3]), [1, 3]) sums zero copies of y: +0, not y * 0.
TEST(fold_sum_to_shape_of_empty_broadcast) {
  Graph g;
  Shape s{1, 3};
  int y = g.addInput(kFloat64, s.data(), 2);
  int b = withAttrs(g, OP_broadcastTo, y, {0, 3});
  g.addOutput(withAttrs(g, OP_sumToShape, b, {1, 3}));
  Host h({1, 3}, {-1.0, INFINITY, 2.0});
  std::vector<double> on, off;
  {
    t::OptimizeScope o(true);
    on = run64(g, {h});
  }
  {
    t::OptimizeScope o(false);
    off = run64(g, {h});
  }
  for (size_t i = 0; i < off.size(); ++i) CHECK_MSG(t::sameBits(on[i], off[i]), "element " << i << ": " << on[i] << " vs " << off[i]);
}

TEST(constant_folding) {
  Graph g;
  Shape s{2, 2};
  int x = g.addInput(kFloat32, s.data(), 2);
  int c = binary(g, OP_mul, fill(g, kFloat32, {}, 1), fill(g, kFloat32, {}, 1));   // fill 1
  c = unary(g, OP_neg, binary(g, OP_add, c, fill(g, kFloat32, {}, 2)));             // fill -3
  g.addOutput(binary(g, OP_mul, x, c));
  Executable ex(g, 0);
  CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("fused[fill mul]") != std::string::npos, ex.describe());
  auto out = t::runGraph(g, {Host({2, 2}, {1, 2, 3, 4})}, {kFloat32});
  CHECK(bitEqual(out[0], Host({2, 2}, {-3, -6, -9, -12})));
}

// The same chain with every intermediate made an output (so nothing fuses) gives identical bits.
TEST(fused_equals_unfused) {
  for (int dt : {kFloat32, kFloat64}) {
    Shape s{1000, 37};
    Host h = t::random(s, rng), hb = t::random({37}, rng, 0.5, 1.5), hs = t::random({}, rng);
    for (int materialise = 0; materialise < 2; ++materialise) {
      Graph g;
      int x = g.addInput(dt, s.data(), 2);
      int bcol = g.addInput(dt, hb.shape.data(), 1);
      int sc = g.addInput(dt, nullptr, 0);
      int a = unary(g, OP_sin, x);
      int b = binary(g, OP_mul, a, sc);
      int c = unary(g, OP_tanh, binary(g, OP_sub, b, unary(g, OP_cos, x)));
      int d = binary(g, OP_div, c, bcol);   // broadcast from [37]: a periodic input of the one fused step
      int e = unary(g, OP_exp, unary(g, OP_square, d));
      int f = binary(g, OP_add, e, unary(g, OP_relu, x));
      g.addOutput(f);
      if (materialise)
        for (int v : {a, b, c, d, e}) g.addOutput(v);
      Executable ex(g, 0);
      if (!materialise) CHECK_MSG(ex.numSteps() == 1, ex.describe());
      static Host first;
      auto out = t::runGraph(g, {h, hb, hs}, {dt, dt, dt});
      if (!materialise) first = out[0];
      else CHECK(bitEqual(out[0], first));
    }
  }
}

// Suffix-broadcast inputs (Note [Fusion rules]): a bias [K] (shorter than a tile), a [N, K] value
// into [3, N, K] (longer than a tile) and a broadcastTo feeding one binary op all fuse into one step
// with identical bits to the unfused graph, on 1 and 2 threads (chunks not aligned to periods); a
// column [N, 1] is not a suffix and stays a step of its own.
TEST(fused_periodic_inputs_equal_unfused) {
  const int before = threads();
  for (int dt : {kFloat32, kFloat64})
    for (int threads : {1, 2}) {
      setThreads(threads);
      const int64_t N = 300, K = 37;
      Host hx = t::random({3, N, K}, rng), hv = t::random({N, K}, rng), hb = t::random({K}, rng, 0.5, 1.5),
           hc = t::random({N, 1}, rng, 0.5, 1.5), hw = t::random({K}, rng);
      Host first;
      for (int materialise = 0; materialise < 2; ++materialise) {
        Graph g;
        Shape sx{3, N, K}, sv{N, K}, sb{K}, sc{N, 1};
        int x = g.addInput(dt, sx.data(), 3), v = g.addInput(dt, sv.data(), 2), b = g.addInput(dt, sb.data(), 1);
        int c = g.addInput(dt, sc.data(), 2), w = g.addInput(dt, sb.data(), 1);
        int a = unary(g, OP_tanh, binary(g, OP_add, x, b));   // bias [K]
        int m = binary(g, OP_mul, a, v);                        // [N, K] into [3, N, K]
        int64_t target[] = {3, N, K};
        int wIn[] = {w};
        int wb = g.addNode(OP_broadcastTo, wIn, 1, target, 3, 0);
        int e = binary(g, OP_sub, m, wb);                       // broadcastTo(w) dropped: w periodic
        int f = unary(g, OP_sin, binary(g, OP_mul, e, c));      // [N, 1]: not a suffix
        g.addOutput(f);
        if (materialise)
          for (int q : {a, m, e}) g.addOutput(q);
        Executable ex(g, 0);
        if (!materialise) {
          std::string d = ex.describe();
          CHECK_MSG(ex.numSteps() == 3 && d.find("fused[add tanh mul sub]") != std::string::npos && d.find("broadcastTo") == std::string::npos, d);
        }
        auto out = t::runGraph(g, {hx, hv, hb, hc, hw}, {dt, dt, dt, dt, dt});
        double worst = 0;   // against a float64 host reference
        for (int64_t i = 0; i < 3 * N * K; ++i) {
          double want = std::sin((std::tanh(hx.v[i] + hb.v[i % K]) * hv.v[i % (N * K)] - hw.v[i % K]) * hc.v[(i / K) % N]);
          worst = std::max(worst, std::fabs(want - out[0].v[i]));
        }
        CHECK_MSG(worst < (dt == kFloat32 ? 1e-5 : 1e-12), "dtype " << dt << ": " << worst);
        if (!materialise) first = out[0];
        else CHECK_MSG(bitEqual(out[0], first), "dtype " << dt << " threads " << threads);
      }
    }
  setThreads(before);
}

// Note [Leading sums]: a sum over the leading rows of [G, n] (sum over axis 0, with and without
// keepdims, and sumToShape) joins the group of its consumer together with the exact elementwise ops
// below it, one fused step each, and gives the bits of the same graph compiled without passes (one
// plain kernel per op); the values match a float64 host reference. The big case has the sum
// as the step's last instruction with streamed output.
TEST(fused_leading_sums_equal_unfused) {
  const int before = threads();
  for (int dt : {kFloat32, kFloat64})
    for (int threads : {1, 2}) {
      setThreads(threads);
      const int64_t G = 3, N = 300, K = 37, M = N * K;
      Host hx = t::random({G, N, K}, rng), ht = t::random({N, K}, rng), hl = t::random({N, K}, rng), hb = t::random({K}, rng, 0.5, 1.5);
      std::vector<Host> first;
      for (int unfused = 0; unfused < 2; ++unfused) {
        Graph g;
        Shape sx{G, N, K}, st{N, K}, sb{K};
        int x = g.addInput(dt, sx.data(), 3), tt = g.addInput(dt, st.data(), 2), lap = g.addInput(dt, st.data(), 2);
        int b = g.addInput(dt, sb.data(), 1);
        int sq = unary(g, OP_square, binary(g, OP_mul, x, b));                  // [G, N, K], b periodic
        int s = withAttrs(g, OP_sum, sq, {0, 0});                                 // [N, K]
        int d2 = binary(g, OP_sub, fill(g, dt, {}, 1.0), unary(g, OP_square, tt));
        int r = binary(g, OP_add, binary(g, OP_mul, tt, lap), binary(g, OP_mul, d2, s));
        int u = withAttrs(g, OP_sumToShape, binary(g, OP_mul, x, tt), {N, K});   // [N, K] read in every group
        int k = binary(g, OP_mul, withAttrs(g, OP_sum, binary(g, OP_sub, x, lap), {1, 0}), fill(g, dt, {}, 0.5));   // [1, N, K]
        g.addOutput(r);
        g.addOutput(u);
        g.addOutput(k);
        setOptimize(!unfused);
        Executable ex(g, 0);
        std::string d = ex.describe();
        if (!unfused)
          CHECK_MSG(ex.numSteps() == 3 && d.find("fused[fill mul square sum") != std::string::npos && d.find("fused[mul sum]") != std::string::npos &&
                        d.find("fused[fill sub sum mul]") != std::string::npos,
                    d);
        else CHECK_MSG(d.find("sum(") != std::string::npos && d.find("fused") == std::string::npos, d);
        auto out = t::runGraph(g, {hx, ht, hl, hb}, {dt, dt, dt, dt});
        setOptimize(true);
        double worst = 0;   // against a float64 host reference
        for (int64_t i = 0; i < M; ++i) {
          double sumSq = 0, sumU = 0, sumK = 0;
          for (int64_t q = 0; q < G; ++q) {
            const double xv = hx.v[q * M + i];
            sumSq += (xv * hb.v[i % K]) * (xv * hb.v[i % K]);
            sumU += xv * ht.v[i];
            sumK += xv - hl.v[i];
          }
          const double tv = ht.v[i];
          worst = std::max(worst, std::fabs(tv * hl.v[i] + (1 - tv * tv) * sumSq - out[0].v[i]));
          worst = std::max(worst, std::fabs(sumU - out[1].v[i]));
          worst = std::max(worst, std::fabs(0.5 * sumK - out[2].v[i]));
        }
        CHECK_MSG(worst < (dt == kFloat32 ? 1e-4 : 1e-12), "dtype " << dt << ": " << worst);
        if (!unfused) first = out;
        else
          for (int o = 0; o < 3; ++o) CHECK_MSG(bitEqual(out[o], first[o]), "output " << o << " dtype " << dt << " threads " << threads);
      }
    }
  {   // past the streaming threshold, the sum last: [2, M] -> [M], float32, 2 threads
    setThreads(2);
    const int64_t M = cpu::streamingThresholdBytes() / 4 + 4096 + 3;
    Host hx = t::random({2, M}, rng), hw = t::random({M}, rng);
    std::vector<Host> outs;
    for (bool passes : {true, false}) {
      Graph g;
      Shape sx{2, M}, sw{M};
      int x = g.addInput(kFloat32, sx.data(), 2), w = g.addInput(kFloat32, sw.data(), 1);
      g.addOutput(withAttrs(g, OP_sumToShape, binary(g, OP_mul, x, w), {M}));
      setOptimize(passes);
      Executable ex(g, 0);
      if (passes) CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("fused[mul sum]") != std::string::npos, ex.describe());
      outs.push_back(t::runGraph(g, {hx, hw}, {kFloat32, kFloat32})[0]);
      setOptimize(true);
    }
    CHECK(bitEqual(outs[0], outs[1]));
  }
  setThreads(before);
}

// Note [Duplicated producers]: the derivatives of a tanh layer, 1 - t^2 and -2t(1 - t^2), read by
// three steps (one of them [2, N, K], reading them as suffix broadcasts), are recomputed from t in
// each instead of materialised: four steps (tanh, and one per output), the bits of the graph compiled
// without passes, the values of a float64 host reference.
TEST(fused_copies_of_exact_producers_equal_unfused) {
  const int before = threads();
  for (int dt : {kFloat32, kFloat64})
    for (int threads : {1, 2}) {
      setThreads(threads);
      const int64_t N = 300, K = 37, M = N * K;
      Host hx = t::random({N, K}, rng), hg = t::random({2, N, K}, rng), hl = t::random({N, K}, rng);
      std::vector<Host> first;
      for (int unfused = 0; unfused < 2; ++unfused) {
        Graph g;
        Shape sx{N, K}, sg{2, N, K};
        int x = g.addInput(dt, sx.data(), 2), gt = g.addInput(dt, sg.data(), 3), lap = g.addInput(dt, sx.data(), 2);
        int tt = unary(g, OP_tanh, x);
        int d1 = binary(g, OP_sub, fill(g, dt, {}, 1.0), unary(g, OP_square, tt));
        int d2 = unary(g, OP_neg, binary(g, OP_mul, binary(g, OP_mul, fill(g, dt, {}, 2.0), tt), d1));
        int gout = binary(g, OP_mul, d1, gt);                                      // [2, N, K]
        int s = withAttrs(g, OP_sum, unary(g, OP_square, gout), {0, 0});
        int lout = binary(g, OP_add, binary(g, OP_mul, d1, lap), binary(g, OP_mul, d2, s));
        int e = binary(g, OP_mul, binary(g, OP_mul, d1, d2), x);
        for (int o : {gout, lout, e}) g.addOutput(o);
        setOptimize(!unfused);
        Executable ex(g, 0);
        if (!unfused) CHECK_MSG(ex.numSteps() == 4, ex.describe());
        auto out = t::runGraph(g, {hx, hg, hl}, {dt, dt, dt});
        setOptimize(true);
        double worst = 0;
        for (int64_t i = 0; i < M; ++i) {
          const double tv = std::tanh(hx.v[i]), a = 1 - tv * tv, b = -2 * tv * a;
          double sq = 0;
          for (int q = 0; q < 2; ++q) {
            const double go = a * hg.v[q * M + i];
            sq += go * go;
            worst = std::max(worst, std::fabs(go - out[0].v[q * M + i]));
          }
          worst = std::max(worst, std::fabs(a * hl.v[i] + b * sq - out[1].v[i]));
          worst = std::max(worst, std::fabs(a * b * hx.v[i] - out[2].v[i]));
        }
        CHECK_MSG(worst < (dt == kFloat32 ? 1e-4 : 1e-12), "dtype " << dt << ": " << worst);
        if (!unfused) first = out;
        else
          for (int o = 0; o < 3; ++o) CHECK_MSG(bitEqual(out[o], first[o]), "output " << o << " dtype " << dt << " threads " << threads);
      }
    }
  setThreads(before);
}

// A copied producer read both below a leading sum and after it (1 - t^2 scales the tangents inside the sum
// and the Laplacian after it) cannot be one register of the group: the group leaves one of the two readers
// out instead of running code that reads a per-group register after the sum. The graph compiles, runs, and
// gives the bits of the unfused graph.
TEST(fused_copy_read_below_and_after_a_leading_sum) {
  for (int dt : {kFloat32, kFloat64}) {
    const int64_t N = 70, K = 33, M = N * K;
    Host hx = t::random({N, K}, rng), hg = t::random({2, N, K}, rng), hl = t::random({N, K}, rng);
    std::vector<Host> outs;
    for (bool passes : {true, false}) {
      Graph g;
      Shape sx{N, K}, sg{2, N, K};
      int x = g.addInput(dt, sx.data(), 2), gt = g.addInput(dt, sg.data(), 3), lap = g.addInput(dt, sx.data(), 2);
      int tt = unary(g, OP_tanh, x);
      int d1 = binary(g, OP_sub, fill(g, dt, {}, 1.0), unary(g, OP_square, tt));
      int s = withAttrs(g, OP_sum, unary(g, OP_square, binary(g, OP_mul, d1, gt)), {0, 0});
      g.addOutput(binary(g, OP_add, binary(g, OP_mul, d1, lap), s));
      g.addOutput(binary(g, OP_mul, d1, x));   // d1 read by another step too: copied, not moved
      setOptimize(passes);
      auto out = t::runGraph(g, {hx, hg, hl}, {dt, dt, dt});
      setOptimize(true);
      outs.push_back(out[0]);
      double worst = 0;
      for (int64_t i = 0; i < M; ++i) {
        const double tv = std::tanh(hx.v[i]), a = 1 - tv * tv;
        double sq = 0;
        for (int q = 0; q < 2; ++q) sq += (a * hg.v[q * M + i]) * (a * hg.v[q * M + i]);
        worst = std::max(worst, std::fabs(a * hl.v[i] + sq - out[0].v[i]));
      }
      CHECK_MSG(worst < (dt == kFloat32 ? 1e-4 : 1e-12), worst);
    }
    CHECK(bitEqual(outs[0], outs[1]));
  }
}

// Random tangent-shaped graphs ([G, N, K] tangents, [N, K] values, [K] biases; exact ops, tanh, leading sums,
// values read several times, several outputs) compiled with the passes on (leading sums, copies, periodic
// inputs) and off: the same bits, at sizes that are not multiples of a tile.
TEST(fusion_fuzz_tangent_graphs) {
  int withLeadingSum = 0;
  for (unsigned seed = 0; seed < 150; ++seed) {
    std::mt19937 r(9000 + seed);
    auto coin = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(r); };
    const int dt = seed % 2 ? kFloat32 : kFloat64;
    const int64_t G = 2 + coin(2), N = 3 + coin(40), K = 2 + coin(20);
    const std::vector<Shape> shapes{{G, N, K}, {N, K}, {K}};
    std::vector<Host> ins;
    for (int i = 0; i < 4; ++i) ins.push_back(t::random(shapes[i % 3], r, -1.2, 1.2));
    std::vector<Host> outs[2];
    std::string listing;
    for (int unfused = 0; unfused < 2; ++unfused) {
      Graph g;
      std::vector<std::pair<int, int>> vals;   // (node, shape class 0..2)
      for (int i = 0; i < 4; ++i) {
        const Shape& sh = shapes[i % 3];
        vals.push_back({g.addInput(dt, sh.data(), (int)sh.size()), i % 3});
      }
      std::mt19937 body(seed);   // the same graph both times
      auto bc = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(body); };
      for (int step = 0; step < 14; ++step) {
        const auto a = vals[bc((int)vals.size())], b = vals[bc((int)vals.size())];
        switch (bc(7)) {
          case 0: case 1: case 2: {   // exact binary op, broadcasting to the larger shape
            const int ops[] = {OP_add, OP_sub, OP_mul};
            vals.push_back({binary(g, ops[bc(3)], a.first, b.first), std::min(a.second, b.second)});
            break;
          }
          case 3: vals.push_back({unary(g, bc(2) ? OP_square : OP_neg, a.first), a.second}); break;
          case 4: vals.push_back({unary(g, OP_tanh, a.first), a.second}); break;
          case 5:
            if (a.second == 0) vals.push_back({bc(2) ? withAttrs(g, OP_sum, a.first, {0, 0}) : withAttrs(g, OP_sumToShape, a.first, {N, K}), 1});
            break;
          default: vals.push_back({binary(g, OP_mul, a.first, fill(g, dt, {}, 0.5 + bc(3))), a.second}); break;
        }
      }
      g.addOutput(vals.back().first);
      for (int k = 0; k < 2; ++k) g.addOutput(vals[4 + bc((int)vals.size() - 4)].first);
      setOptimize(!unfused);
      if (!unfused) listing = Executable(g, 0).describe();
      outs[unfused] = t::runGraph(g, ins, {dt, dt, dt, dt});
      setOptimize(true);
    }
    for (size_t o = 0; o < outs[0].size(); ++o)
      CHECK_MSG(bitEqual(outs[0][o], outs[1][o]), "seed " << seed << " output " << o << "\n" << listing);
    withLeadingSum += listing.find(" sum") != std::string::npos && listing.find("fused[") != std::string::npos &&
                      listing.find("sum(") == std::string::npos;
  }
  CHECK_MSG(withLeadingSum >= 10, withLeadingSum << " of 150 graphs fused a leading sum");
}

// Note [One-element fused steps]: a fused chain on one element (shapes [] and [1]) gives the bits of
// the same graph compiled without passes (one plain kernel per op), transcendental ops and constants
// included.
TEST(fused_one_element_equals_unfused) {
  for (int dt : {kFloat32, kFloat64})
    for (Shape s : {Shape{}, Shape{1}})
      for (double xv : {0.3, -2.5, 3.14159}) {
        std::vector<double> outs;
        for (bool passes : {true, false}) {
          Graph g;
          int x = g.addInput(dt, s.data(), (int)s.size());
          int y = g.addInput(dt, s.data(), (int)s.size());
          int v = binary(g, OP_sub, unary(g, OP_sin, x), unary(g, OP_cos, y));
          v = binary(g, OP_mul, v, fill(g, dt, {}, 1.7));
          v = binary(g, OP_add, unary(g, OP_tanh, v), unary(g, OP_exp, unary(g, OP_neg, binary(g, OP_mul, x, y))));
          v = binary(g, OP_div, v, binary(g, OP_add, unary(g, OP_square, y), fill(g, dt, {}, 0.5)));
          g.addOutput(v);
          setOptimize(passes);
          Executable ex(g, 0);
          setOptimize(true);
          if (passes) CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("fused") != std::string::npos, ex.describe());
          else CHECK_MSG(ex.describe().find("fused") == std::string::npos, ex.describe());
          Host hx(s, {xv}), hy(s, {0.7 - xv});
          std::vector<Buffer*> ins{t::upload(hx, dt), t::upload(hy, dt)};
          ex.setInput(0, ins[0]);
          ex.setInput(1, ins[1]);
          ex.run();
          Buffer* o = ex.takeOutput(0);
          outs.push_back(t::download(o).v.at(0));
          freeBuffer(o);
          for (Buffer* b : ins) freeBuffer(b);
        }
        CHECK_MSG(std::memcmp(&outs[1], &outs[0], sizeof(double)) == 0, outs[0] << " fused, " << outs[1] << " unfused");
      }
}

// sum over i < 32 of x * (2 + i), summed pairwise as a tree, x of shape [8]: every product is live at
// once in node order and each brings its own fill. Returns the sum of the constants.
static double productTree(Graph& g) {
  Shape s{8};
  int x = g.addInput(kFloat64, s.data(), 1);
  std::vector<int> level;
  for (int i = 0; i < 32; ++i) level.push_back(binary(g, OP_mul, x, fill(g, kFloat64, {}, 2.0 + i)));
  while (level.size() > 1) {
    std::vector<int> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(binary(g, OP_add, level[i], level[i + 1]));
    level = next;
  }
  g.addOutput(level[0]);
  double csum = 0;
  for (int i = 0; i < 32; ++i) csum += 2.0 + i;
  return csum;
}

// Fusion counted the fills a group copies in only after its members were chosen, so a wide tree of
// x * c_i (distinct constants) became one fused step of 95 instructions, over kMaxFusedCode (64):
// the graph compiled and every run threw "fused step with ... instructions".
TEST(fusion_respects_code_limit_with_many_constants) {
  Graph g;
  double csum = productTree(g);
  Host h({8}, {1, 2, 3, 4, 5, 6, 7, -1});
  try {
    auto got = run64(g, {h});
    for (int i = 0; i < 8; ++i) CHECK_MSG(std::fabs(got[i] - h.v[i] * csum) < 1e-9, "element " << i << ": " << got[i]);
  } catch (const Error& e) {
    CHECK_MSG(false, e.what());
  }
}

// Note [Capabilities]: the compiler asks the backend. x0 + x1 + ... + x19 is one fused step of 20
// inputs for the CPU (limit 32); for a backend that takes 16 (the CUDA backend's limit, here the
// strict test backend, which refuses anything beyond it) the group is split, not rejected. Before,
// fusion used the CPU's limit for every device and the CUDA backend threw at run time.
TEST(fusion_splits_groups_for_the_backends_input_limit) {
  Graph g;
  Shape s{64};
  std::vector<Host> ins;
  int v = -1;
  for (int i = 0; i < 20; ++i) {
    int x = g.addInput(kFloat64, s.data(), 1);
    v = v < 0 ? x : binary(g, OP_add, v, x);
    ins.push_back(t::random(s, rng));
  }
  g.addOutput(v);
  Host want = ins[0];
  for (int i = 1; i < 20; ++i) want = ref::map2(OP_add, want, ins[i]);
  {
    Executable ex(g, kCpu);
    CHECK_MSG(ex.numSteps() == 1 && ex.describe().find("in19") != std::string::npos, ex.describe());
  }
  t::TestDeviceScope dev(t::cudaLikeCapabilities());
  Executable ex(g, kTestDevice);
  CHECK_MSG(ex.numSteps() == 2, ex.describe());
  std::string why;
  auto out = t::runGraph(g, ins, std::vector<int>(20, kFloat64), 1, kTestDevice);
  CHECK_MSG(t::close(out[0], want, 1e-12, &why), why);
  CHECK(dev.backend.programsRun() == 1);
}

// The same for the registers a fused step may hold (Note [Fused registers]): a tree of 32 products
// x * c_i summed pairwise holds 32 products at once in node order. (With 64 instructions a step
// never needs more than the CUDA backend's 32 registers, so a backend with only 4 is asked here.)
TEST(fusion_splits_groups_for_the_backends_register_limit) {
  Graph g;
  double csum = productTree(g);
  Host h({8}, {1, 2, 3, 4, 5, 6, 7, -1});
  Capabilities caps = t::cudaLikeCapabilities();
  caps.maxFusedLive = 4;
  t::TestDeviceScope dev(caps);
  Executable ex(g, kTestDevice);
  CHECK_MSG(ex.numSteps() > 8, ex.describe());
  auto got = t::runGraph(g, {h}, {kFloat64}, 1, kTestDevice);
  for (int i = 0; i < 8; ++i) CHECK_MSG(std::fabs(got[0].v[i] - h.v[i] * csum) < 1e-9, "element " << i << ": " << got[0].v[i]);
}

// A backend without an accumulating gemm never gets one (Note [GEMM updates]), and one that cannot
// run elementwise steps in place never gets an in-place step; the values are the CPU's.
TEST(gemm_folding_and_in_place_only_where_the_backend_can) {
  Graph g;
  Shape sp{4, 3}, sa{4, 5}, sb{5, 3};
  int p = g.addInput(kFloat64, sp.data(), 2), a = g.addInput(kFloat64, sa.data(), 2), b = g.addInput(kFloat64, sb.data(), 2);
  int in[2] = {a, b};
  int mm = g.addNode(OP_matmul, in, 2, nullptr, 0, 0);
  g.addUpdate(0, binary(g, OP_sub, p, binary(g, OP_mul, fill(g, kFloat64, {}, 0.5), mm)));
  int e = unary(g, OP_exp, binary(g, OP_add, a, a));   // computed into a dying temp in place on the CPU
  g.addOutput(binary(g, OP_mul, e, withAttrs(g, OP_sum, e, {1})));
  Host hp = t::random(sp, rng), ha = t::random(sa, rng), hb = t::random(sb, rng);
  auto onCpu = t::runTimes(g, {hp, ha, hb}, kFloat64, 2);
  {
    Executable ex(g, kCpu);
    CHECK_MSG(ex.describe().find("matmul(in1, in2, in0)") != std::string::npos, ex.describe());
  }
  Capabilities caps = t::cudaLikeCapabilities();
  caps.inPlace = false;
  t::TestDeviceScope dev(caps);
  Executable ex(g, kTestDevice);
  CHECK_MSG(ex.describe().find("matmul(in1, in2) ->") != std::string::npos, ex.describe());
  auto onTest = t::runTimes(g, {hp, ha, hb}, kFloat64, 2, kTestDevice);
  for (size_t r = 0; r < onCpu.size(); ++r)
    for (size_t k = 0; k < onCpu[r].size(); ++k) {
      std::string why;
      CHECK_MSG(t::close(onTest[r][k], onCpu[r][k], 1e-12, &why), "run " << r << " result " << k << ": " << why);
    }
}

// Note [Step layout]: a backend whose kernels index at most 8 dims (the CUDA backend's maxRank) gets
// steps it can run for any rank; the CPU has no limit. Before, more than 8 dims after coalescing
// threw on CUDA at run time. Elementwise and gather steps keep their layout and loop over the
// leading dims on the host (hostLoopDims); a reduction with more than 8 runs of either kind is
// transposed first.
TEST(layouts_fit_the_backends_rank) {
  t::TestDeviceScope dev(t::cudaLikeCapabilities());
  // Binary: a = [2,1,2,1,...], b = [1,3,1,3,...] (12 dims) broadcast in alternation: 12 dims.
  Shape sa, sb;
  for (int i = 0; i < 6; ++i) {
    sa.insert(sa.end(), {2, 1});
    sb.insert(sb.end(), {1, 3});
  }
  Host ha = t::random(sa, rng), hb = t::random(sb, rng);
  // Transpose: the reverse of [2, 3, 2, 3, ...] (10 dims), which no neighbours can merge.
  Shape st;
  for (int i = 0; i < 5; ++i) st.insert(st.end(), {2, 3});
  Host ht = t::random(st, rng);
  std::vector<int64_t> rev;
  for (int i = 9; i >= 0; --i) rev.push_back(i);
  // Reductions: sum, mean and max over the even axes of [2, 2, ...] (17 dims): 9 reduced runs and 8
  // kept ones; and a sumToShape with the same mask.
  Shape sr(17, 2);
  Host hr = t::random(sr, rng);
  std::vector<int64_t> axes{0}, target;   // keepdims 0
  std::vector<char> mask(17);
  for (int i = 0; i < 17; ++i) {
    mask[i] = i % 2 == 0;
    if (mask[i]) axes.push_back(i);
    target.push_back(mask[i] ? 1 : sr[i]);
  }
  for (int dt : {kFloat32, kFloat64}) {
    Graph g;
    int a = g.addInput(dt, sa.data(), (int)sa.size()), b = g.addInput(dt, sb.data(), (int)sb.size());
    int x = g.addInput(dt, st.data(), (int)st.size()), r = g.addInput(dt, sr.data(), (int)sr.size());
    g.addOutput(binary(g, OP_sub, a, b));
    g.addOutput(withAttrs(g, OP_transpose, x, rev));
    g.addOutput(withAttrs(g, OP_sum, r, axes));
    g.addOutput(withAttrs(g, OP_mean, r, axes));
    g.addOutput(withAttrs(g, OP_max, r, axes));
    g.addOutput(withAttrs(g, OP_sumToShape, r, target));
    std::vector<Host> want{ref::map2(OP_sub, ha, hb), ref::transpose(ht, rev), ref::reduce(hr, mask, 0, true), ref::reduce(hr, mask, 1, true),
                           ref::reduce(hr, mask, 2, true), ref::reduce(hr, mask, 0, true)};
    for (int k = 2; k < 5; ++k) want[k] = ref::reduce(hr, mask, k - 2, false);
    for (int optimize = 0; optimize < 2; ++optimize) {
      t::OptimizeScope o(optimize);
      Executable ex(g, kTestDevice);
      const std::string d = ex.describe();
      CHECK_MSG(d.find("hostLoop 4") != std::string::npos && d.find("hostLoop 2") != std::string::npos, d);
      auto got = t::runGraph(g, {ha, hb, ht, hr}, {dt, dt, dt, dt}, 1, kTestDevice);
      for (size_t k = 0; k < want.size(); ++k) {
        std::string why;
        CHECK_MSG(t::close(got[k], want[k], dt == kFloat32 ? 1e-4 : 1e-12, &why), dtypeName(dt) << " output " << k << ": " << why);
      }
      Executable cpu(g, kCpu);
      CHECK_MSG(cpu.describe().find("hostLoop") == std::string::npos && cpu.describe().find("transpose") == cpu.describe().rfind("transpose"),
                cpu.describe());
    }
  }
}

TEST(multi_use_value_is_materialised) {
  Graph g;
  Shape s{5000};
  int x = g.addInput(kFloat64, s.data(), 1);
  int a = unary(g, OP_sin, x);
  int b = unary(g, OP_exp, a);
  int c = binary(g, OP_mul, a, b);                  // a used twice inside one group: fine
  int m = withAttrs(g, OP_sum, a, {0});             // a also used by a reduction: materialised
  g.addOutput(c);
  g.addOutput(m);
  Host h = t::random(s, rng);
  auto out = t::runGraph(g, {h}, {kFloat64});
  Host sa = ref::map1(OP_sin, h);
  std::string why;
  CHECK_MSG(t::close(out[0], ref::map2(OP_mul, sa, ref::map1(OP_exp, sa)), 1e-12, &why), why);
  CHECK_MSG(t::close(out[1], ref::reduce(sa, {1}, 0, false), 1e-9, &why), why);
}

TEST(arena_reuse_and_no_allocations_after_first_run) {
  // Bit-equal runs need pinned BLAS threads (Note [BLAS threads]): the adaptive choice may run a
  // gemm on 1 thread in one run and 2 in the next, and on AMD EPYC OpenBLAS (which runs these gemms
  // until a test has loaded oneDNN) gives other bits for 256^3 on 1 and 2 threads.
  const int limit = blasThreads();
  pinBlasThreads(limit);
  struct Restore { int n; ~Restore() { setBlasThreads(n); } } restore{limit};
  Graph g;
  Shape s{256, 256};
  int x = g.addInput(kFloat32, s.data(), 2);
  int v = x;
  for (int i = 0; i < 6; ++i) {   // a chain of matmuls: temporaries die one after another
    int in[2] = {v, x};
    v = g.addNode(OP_matmul, in, 2, nullptr, 0, 0);
    v = withAttrs(g, OP_mean, v, {1, 1});
    v = binary(g, OP_sub, binary(g, OP_mul, x, unary(g, OP_onesLike, x)), unary(g, OP_sin, v));
  }
  g.addOutput(v);
  Executable ex(g, 0);
  int64_t one = 256 * 256 * 4;
  CHECK_MSG(ex.arenaBytes() <= 3 * one, "arena " << ex.arenaBytes() << "\n" << ex.describe());
  Host h = t::random(s, rng, -0.1, 0.1);
  Buffer* b = t::upload(h, kFloat32);
  ex.setInput(0, b);
  ex.run();
  CHECK(ex.runAllocations() == (ex.arenaBytes() > 0 ? 1 : 0));
  Buffer* firstOut = ex.takeOutput(0);   // taken: the next run allocates a fresh output (not scratch)
  Host first = t::download(firstOut);
  freeBuffer(firstOut);
  for (int r = 0; r < 3; ++r) {
    ex.run();
    CHECK(ex.runAllocations() == 0);
  }
  Buffer* out = ex.takeOutput(0);
  Buffer* bound = newBuffer(0, kFloat32, s.data(), 2);
  ex.setOutput(0, bound);
  ex.run();
  CHECK(ex.runAllocations() == 0);
  CHECK(t::download(out).v == t::download(bound).v);
  CHECK(t::download(out).v == first.v);
  CHECK_THROWS(ex.takeOutput(0), "setOutput");
  freeBuffer(out);
  freeBuffer(bound);
  freeBuffer(b);
}

TEST(in_place_elementwise) {
  Graph g;
  Shape s{1 << 16};
  int x = g.addInput(kFloat32, s.data(), 1);
  int y = g.addInput(kFloat32, s.data(), 1);
  int a = binary(g, OP_add, x, y);
  int m = withAttrs(g, OP_sum, a, {1, 0});           // a materialised (used twice)
  int b = binary(g, OP_sub, a, m);                     // a dies here: b can reuse a's memory
  int bb = withAttrs(g, OP_max, b, {1});
  g.addOutput(binary(g, OP_div, b, bb));
  Executable ex(g, 0);
  CHECK_MSG(ex.arenaBytes() <= (int64_t)(1 << 16) * 4 + 128, ex.arenaBytes() << "\n" << ex.describe());
}

TEST(updates_write_inputs_after_all_steps) {
  Graph g;
  Shape s{3};
  int a = g.addInput(kFloat64, s.data(), 1);
  int b = g.addInput(kFloat64, s.data(), 1);
  int w = g.addInput(kFloat64, s.data(), 1);
  g.addOutput(binary(g, OP_add, a, b));                      // reads the old values
  g.addUpdate(0, b);                                         // swap a and b
  g.addUpdate(1, a);
  g.addUpdate(2, binary(g, OP_sub, w, binary(g, OP_mul, w, fill(g, kFloat64, {}, 0.5))));   // w <- w/2
  Executable ex(g, 0);
  Host ha({3}, {1, 2, 3}), hb({3}, {10, 20, 30}), hw({3}, {4, 8, 16});
  Buffer *ba = t::upload(ha, kFloat64), *bb = t::upload(hb, kFloat64), *bw = t::upload(hw, kFloat64);
  ex.setInput(0, ba);
  ex.setInput(1, bb);
  ex.setInput(2, bw);
  ex.run();
  Buffer* o = ex.takeOutput(0);
  CHECK(t::download(o).v == std::vector<double>({11, 22, 33}));
  CHECK(t::download(ba).v == hb.v);
  CHECK(t::download(bb).v == ha.v);
  CHECK(t::download(bw).v == std::vector<double>({2, 4, 8}));
  ex.run();
  CHECK(t::download(ba).v == ha.v);
  CHECK(t::download(bw).v == std::vector<double>({1, 2, 4}));
  freeBuffer(o);
  freeBuffer(ba);
  freeBuffer(bb);
  freeBuffer(bw);
}

TEST(outputs_that_are_inputs_or_repeated) {
  Graph g;
  Shape s{2};
  int x = g.addInput(kFloat32, s.data(), 1);
  int r = withAttrs(g, OP_reshape, x, {2, 1});
  int sx = unary(g, OP_sin, r);
  g.addOutput(x);
  g.addOutput(sx);
  g.addOutput(sx);
  g.addOutput(r);
  Host h({2}, {0.5, 1.0});
  auto out = t::runGraph(g, {h}, {kFloat32});
  CHECK(out.size() == 4);
  CHECK(out[0].v == out[3].v && out[3].shape == Shape({2, 1}));
  CHECK(out[1].v == out[2].v);
}

TEST(independent_branches_run_concurrently) {
  for (int threads : {1, 2, 3}) {
    setThreads(threads);
    Graph g;
    Shape s{128, 128};
    int a = g.addInput(kFloat32, s.data(), 2), b = g.addInput(kFloat32, s.data(), 2), d = g.addInput(kFloat32, s.data(), 2);
    int in1[2] = {d, b}, in2[2] = {a, d};
    std::vector<int64_t> nt{0, 1}, tn{1, 0};
    int da = g.addNode(OP_matmul, in1, 2, nt.data(), 2, 0);   // dA = dC B^T
    int db = g.addNode(OP_matmul, in2, 2, tn.data(), 2, 0);   // dB = A^T dC
    g.addOutput(da);
    g.addOutput(unary(g, OP_sin, db));
    Executable ex(g, 0);
    CHECK_MSG(ex.describe().find("lane 1") != std::string::npos, ex.describe());
    Host ha = t::random(s, rng), hb = t::random(s, rng), hd = t::random(s, rng);
    auto out = t::runGraph(g, {ha, hb, hd}, {kFloat32, kFloat32, kFloat32}, 3);
    std::string why;
    CHECK_MSG(t::close(out[0], ref::matmul(hd, hb, false, true), 1e-4, &why), why);
    CHECK_MSG(t::close(out[1], ref::map1(OP_sin, ref::matmul(ha, hd, true, false)), 1e-4, &why), why);
  }
  setThreads(2);
}
