// Note [GEMM updates] (passes.cpp): p <- p - c * matmul(a, b) is one gemm accumulating into p's buffer.
// Each case compiles the same graph with the passes on and off (off: node for node, no folding) and
// compares: outputs bit for bit, updated parameters within one rounding after one run.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <sstream>

#include "check.h"
#include "listing.h"
#include "reference.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

std::mt19937 rng(4242);

int op1(Graph& g, int op, int x) { return g.addNode(op, &x, 1, nullptr, 0, 0); }
int op2(Graph& g, int op, int a, int b) {
  int in[2] = {a, b};
  return g.addNode(op, in, 2, nullptr, 0, 0);
}
int mm(Graph& g, int a, int b, bool ta, bool tb) {
  int in[2] = {a, b};
  int64_t attrs[2] = {ta, tb};
  return g.addNode(OP_matmul, in, 2, attrs, 2, 0);
}
int constant(Graph& g, int dt, double v) {
  int64_t attrs[1] = {dt};
  return g.addNode(OP_fill, nullptr, 0, attrs, 1, v);
}

// Distance in units in the last place of `dt` (0 when equal).
int64_t ulps(double a, double b, int dt) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  if (dt == kFloat32) {
    float fa = (float)a, fb = (float)b;
    int32_t ia, ib;
    std::memcpy(&ia, &fa, 4);
    std::memcpy(&ib, &fb, 4);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia, ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
  }
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  if ((ia < 0) != (ib < 0)) return INT64_MAX;
  return ia > ib ? ia - ib : ib - ia;
}

int64_t maxUlps(const Host& a, const Host& b, int dt) {
  if (a.shape != b.shape) return INT64_MAX;
  int64_t worst = 0;
  for (size_t i = 0; i < a.v.size(); ++i) worst = std::max(worst, ulps(a.v[i], b.v[i], dt));
  return worst;
}

struct Result {
  std::vector<Host> inputs, outputs;   // after the last run
  std::string describe;
};

// Compiles `build`'s graph with the passes on or off and runs it `runs` times from `ins`.
Result runOnce(const std::function<void(Graph&)>& build, const std::vector<Host>& ins, int dt, bool optimizeOn, int runs) {
  Graph g;
  build(g);
  setOptimize(optimizeOn);
  Executable ex(g, kCpu);
  setOptimize(true);
  std::vector<Buffer*> bufs;
  for (size_t i = 0; i < ins.size(); ++i) {
    bufs.push_back(t::upload(ins[i], dt));
    ex.setInput((int)i, bufs.back());
  }
  Result r;
  r.describe = ex.describe();
  for (int run = 0; run < runs; ++run) {
    ex.run();
    if (run > 0) CHECK(ex.runAllocations() == 0);
    r.outputs.clear();
    for (int k = 0; k < ex.numOutputs(); ++k) {
      Buffer* o = ex.takeOutput(k);
      r.outputs.push_back(t::download(o));
      freeBuffer(o);
    }
  }
  for (Buffer* b : bufs) {
    r.inputs.push_back(t::download(b));
    freeBuffer(b);
  }
  return r;
}

// Steps of a describe() listing, parsed (listing.h).
using Line = listing::Step;
inline std::vector<Line> parse(const std::string& d) { return listing::parse(d); }

// Accumulating gemms: matmul steps that read and write one input buffer.
int countFolded(const std::string& d) {
  int n = 0;
  for (const Line& l : parse(d))
    if (l.op == "matmul" && l.in.size() == 3 && l.in[2] == l.out && l.out.rfind("in", 0) == 0) ++n;
  return n;
}

// Every other step that reads a folded gemm's target must come before it through `after` edges
// (directly or not: Note [Dependencies] keeps only edges that others do not imply).
bool foldedGemmsWaitForReaders(const std::string& d, std::string* why) {
  std::vector<Line> lines = parse(d);
  std::vector<std::vector<char>> before(lines.size(), std::vector<char>(lines.size(), 0));   // before[s][r]: r precedes s
  for (size_t s = 0; s < lines.size(); ++s)
    for (int a : lines[s].after) {
      if (a < 0 || (size_t)a >= s) continue;
      before[s][a] = 1;
      for (size_t r = 0; r < s; ++r) before[s][r] |= before[a][r];
    }
  for (size_t s = 0; s < lines.size(); ++s) {
    const Line& l = lines[s];
    if (!(l.op == "matmul" && l.in.size() == 3 && l.in[2] == l.out)) continue;
    for (size_t r = 0; r < lines.size(); ++r) {
      if (r == s) continue;
      bool reads = false;
      for (const std::string& in : lines[r].in) reads = reads || in == l.out;
      if (!reads) continue;
      if (r > s || !before[s][r]) {
        *why = "step " + std::to_string(r) + " reads " + l.out + " but the gemm (step " + std::to_string(s) + ") does not wait for it\n" + d;
        return false;
      }
    }
  }
  return true;
}

void compare(const Result& on, const Result& off, int dt, const std::vector<int>& updated, int64_t maxUlp, const char* what) {
  for (size_t k = 0; k < on.outputs.size(); ++k)
    CHECK_MSG(on.outputs[k].v == off.outputs[k].v, what << ": output " << k << "\n" << on.describe);
  for (size_t i = 0; i < on.inputs.size(); ++i) {
    bool isUpdated = std::find(updated.begin(), updated.end(), (int)i) != updated.end();
    int64_t u = maxUlps(on.inputs[i], off.inputs[i], dt);
    CHECK_MSG(u <= (isUpdated ? maxUlp : 0), what << " (" << dtypeName(dt) << "): input " << i << " differs by " << u << " ulp\n" << on.describe);
  }
}

}  // namespace

// The SGD forms (and the forms the simplifier leaves) fold; forward and backward readers of W see
// the old W, and the update equals the unfolded one within the rounding of the gemm.
TEST(gemm_update_folds_sgd_forms) {
  // Scale 1: every gemm is below Note [Tiny gemm]'s bound (computed directly); scale 4: above it (OpenBLAS).
  for (int64_t sc : {1, 4})
  for (int dt : {kFloat32, kFloat64}) {
    for (int form = 0; form < 7; ++form) {
      const double lr = 0.01;
      auto build = [&](Graph& g) {
        Shape sx{6 * sc, 7 * sc}, sw{7 * sc, 5 * sc}, sd{6 * sc, 5 * sc};
        int x = g.addInput(dt, sx.data(), 2), w = g.addInput(dt, sw.data(), 2), d = g.addInput(dt, sd.data(), 2);
        g.addOutput(op1(g, OP_sin, mm(g, x, w, false, false)));   // forward reads W
        g.addOutput(mm(g, d, w, false, true));                    // backward reads W
        int grad = mm(g, x, d, true, false);                      // x^T d, [7, 5]
        int v;
        switch (form) {
          case 0: v = op2(g, OP_sub, w, op2(g, OP_mul, grad, constant(g, dt, lr))); break;
          case 1: v = op2(g, OP_sub, w, op2(g, OP_mul, constant(g, dt, lr), grad)); break;
          case 2: v = op2(g, OP_add, w, op2(g, OP_mul, grad, constant(g, dt, -lr))); break;
          case 3: v = op2(g, OP_add, op2(g, OP_mul, constant(g, dt, -lr), grad), w); break;
          case 4: v = op2(g, OP_sub, w, grad); break;
          case 5: v = op2(g, OP_add, grad, w); break;
          default: {   // a [1, 1] constant and a transposed operand folded into the matmul's attrs
            int64_t one[3] = {dt, 1, 1}, perm[2] = {1, 0};
            int c = g.addNode(OP_fill, nullptr, 0, one, 3, lr);
            int xt = g.addNode(OP_transpose, &x, 1, perm, 2, 0);
            v = op2(g, OP_sub, w, op2(g, OP_mul, mm(g, xt, d, false, false), c));
          }
        }
        g.addUpdate(1, v);
      };
      std::vector<Host> ins{t::random({6 * sc, 7 * sc}, rng), t::random({7 * sc, 5 * sc}, rng), t::random({6 * sc, 5 * sc}, rng)};
      Result on = runOnce(build, ins, dt, true, 1), off = runOnce(build, ins, dt, false, 1);
      CHECK_MSG(countFolded(on.describe) == 1, "form " << form << "\n" << on.describe);
      CHECK_MSG(on.describe.find("sub") == std::string::npos && on.describe.find("add") == std::string::npos, on.describe);
      CHECK(countFolded(off.describe) == 0);
      std::string why;
      CHECK_MSG(foldedGemmsWaitForReaders(on.describe, &why), why);
      // The tiny path rounds as the unfolded graph does (1 ulp of W). OpenBLAS computes alpha * AB + C
      // in its own order, kernel by kernel (one rounding of the product fewer on Intel's; up to 30 ulp
      // of W where W - c * g cancels on AMD EPYC's), so there W is held to the standard gemm error bound
      // instead: |on - off| <= (k + 2) eps (|W| + |c| (|x|^T |d|)), k = the contraction length.
      if (sc == 1) {
        compare(on, off, dt, {1}, 1, "form, tiny");
      } else {
        compare(on, off, dt, {1}, INT64_MAX, "form, OpenBLAS");
        const int64_t k = 6 * sc, rows = 7 * sc, cols = 5 * sc;
        const double coef = form == 4 || form == 5 ? 1.0 : lr;
        const double eps = dt == kFloat32 ? 0x1p-24 : 0x1p-53;
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) {
            double s = 0;
            for (int64_t r = 0; r < k; ++r) s += std::fabs(ins[0].v[r * rows + i]) * std::fabs(ins[2].v[r * cols + j]);
            const double a = on.inputs[1].v[i * cols + j], b = off.inputs[1].v[i * cols + j];
            const double bound = (double)(k + 2) * eps * (std::fabs(b) + coef * s);
            CHECK_MSG(std::fabs(a - b) <= bound, "form " << form << " (" << dtypeName(dt) << "): W[" << i << ", " << j << "] = " << a
                                                      << " against " << b << " unfolded, bound " << bound);
          }
      }
      // Several runs: each starts from the updated W (differences of one rounding may grow a little).
      Result on3 = runOnce(build, ins, dt, true, 3), off3 = runOnce(build, ins, dt, false, 3);
      CHECK_MSG(t::close(on3.inputs[1], off3.inputs[1], t::tolFor(dt), &why), why);
      for (size_t k = 0; k < on3.outputs.size(); ++k) CHECK_MSG(t::close(on3.outputs[k], off3.outputs[k], t::tolFor(dt), &why), why);
    }
  }
}

// Not folded where it would be observable or unsound; results stay those of the unfolded graph.
TEST(gemm_update_not_folded_when_unsafe) {
  for (int dt : {kFloat32, kFloat64}) {
    for (int kase = 0; kase < 5; ++kase) {
      auto build = [&](Graph& g) {
        Shape s{5, 5};
        int w = g.addInput(dt, s.data(), 2), d = g.addInput(dt, s.data(), 2), v = g.addInput(dt, s.data(), 2);
        int64_t one[1] = {1};
        int c = constant(g, dt, 0.25);
        int grad;
        switch (kase) {
          case 0: grad = mm(g, w, d, true, false); break;   // reads W itself: C would alias A
          case 1: grad = mm(g, d, v, false, false); g.addUpdate(2, op2(g, OP_mul, v, c)); break;   // reads another target
          case 2: grad = mm(g, d, d, true, false); g.addOutput(grad); break;   // the gradient is also an output
          case 3: grad = mm(g, d, d, true, false); c = g.addInput(dt, one, 1); break;   // the rate is not a constant
          default: grad = mm(g, d, d, true, false); c = constant(g, dt, 0); break;   // 0 * inf must stay NaN
        }
        int nw = op2(g, OP_sub, w, op2(g, OP_mul, grad, c));
        g.addUpdate(0, nw);
        if (kase == 2) g.addOutput(op1(g, OP_neg, w));
      };
      std::vector<Host> ins{t::random({5, 5}, rng), t::random({5, 5}, rng), t::random({5, 5}, rng)};
      if (kase == 3) ins.push_back(Host({1}, {0.25}));
      if (kase == 4) ins[1].v[3] = INFINITY;
      Result on = runOnce(build, ins, dt, true, 1), off = runOnce(build, ins, dt, false, 1);
      CHECK_MSG(countFolded(on.describe) == 0, "case " << kase << "\n" << on.describe);
      compare(on, off, dt, {0, 2}, 0, "unsafe");
      if (kase == 4) CHECK(std::isnan(on.inputs[0].v[3]));
    }
  }
}

// W is read after its update's value exists (in node order): by an output, by another update (not in
// place, it reads a target) and, through a temp, by a second folded gemm. All see the old W, on
// every execution mode (sequential with threaded OpenBLAS; dependency graph on the pool otherwise).
TEST(gemm_update_ordered_after_late_readers) {
  int blas = blasThreads(), threadsBefore = threads();
  for (int dt : {kFloat32, kFloat64}) {
    for (int mode = 0; mode < 3; ++mode) {
      setBlasThreads(mode == 0 ? 2 : 1);
      setThreads(mode == 2 ? 1 : 3);
      auto build = [&](Graph& g) {
        Shape sx{8, 6}, sw{6, 6}, sd{8, 6};
        int x = g.addInput(dt, sx.data(), 2), w = g.addInput(dt, sw.data(), 2), d = g.addInput(dt, sd.data(), 2);
        int q = g.addInput(dt, sw.data(), 2), w2 = g.addInput(dt, sw.data(), 2);
        int c = constant(g, dt, 0.125);
        g.addUpdate(1, op2(g, OP_sub, w, op2(g, OP_mul, mm(g, x, d, true, false), c)));
        int h = op1(g, OP_sin, mm(g, x, w, false, false));   // built after W's update value
        g.addOutput(op1(g, OP_cos, mm(g, h, w2, false, false)));
        g.addUpdate(3, op2(g, OP_add, q, w));                 // q <- q + old W
        g.addUpdate(4, op2(g, OP_sub, w2, op2(g, OP_mul, c, mm(g, h, d, true, false))));   // reads W through h
        g.addOutput(op2(g, OP_mul, w, c));
      };
      std::vector<Host> ins{t::random({8, 6}, rng), t::random({6, 6}, rng), t::random({8, 6}, rng), t::random({6, 6}, rng),
                            t::random({6, 6}, rng)};
      for (int rep = 0; rep < 5; ++rep) {
        Result on = runOnce(build, ins, dt, true, 1), off = runOnce(build, ins, dt, false, 1);
        CHECK_MSG(countFolded(on.describe) == 2, on.describe);
        std::string why;
        CHECK_MSG(foldedGemmsWaitForReaders(on.describe, &why), why);
        compare(on, off, dt, {1, 4}, 1, "late readers");
        CHECK(on.inputs[3].v == off.inputs[3].v);
      }
    }
  }
  setBlasThreads(blas);
  setThreads(threadsBefore);
}

// An empty contraction (k = 0) adds nothing; a non-empty one beside it.
TEST(gemm_update_empty_contraction) {
  for (int dt : {kFloat32, kFloat64}) {
    for (int64_t k : {0, 3}) {
      auto build = [&](Graph& g) {
        Shape sa{k, 4}, sb{k, 5}, sw{4, 5};
        int a = g.addInput(dt, sa.data(), 2), b = g.addInput(dt, sb.data(), 2), w = g.addInput(dt, sw.data(), 2);
        g.addUpdate(2, op2(g, OP_sub, w, op2(g, OP_mul, mm(g, a, b, true, false), constant(g, dt, 0.5))));
        g.addOutput(op2(g, OP_mul, w, w));
      };
      std::vector<Host> ins{t::random({k, 4}, rng), t::random({k, 5}, rng), t::random({4, 5}, rng)};
      Result on = runOnce(build, ins, dt, true, 2), off = runOnce(build, ins, dt, false, 2);
      CHECK_MSG(countFolded(on.describe) == 1, on.describe);
      compare(on, off, dt, {2}, k == 0 ? 0 : 2, "k");
    }
  }
}

// Note [Product-rule GEMMs] (passes.cpp): add(matmul, matmul) is one gemm accumulating into the first
// product's temp, chains too; a product that is also an output is not folded. Sizes for the engine's
// tiny loop, OpenBLAS and (float32 from 32^3) oneDNN; values within a few ulps of the unfolded graph.
TEST(product_gemms_fold_into_one_accumulating_gemm) {
  const int threadsBefore = threads();
  auto countAccumulating = [](const std::string& d) {
    int n = 0;
    for (const Line& l : parse(d))
      if (l.op == "matmul" && l.in.size() == 3 && l.in[2] == l.out && l.out.rfind("tmp", 0) == 0) ++n;
    return n;
  };
  for (int dt : {kFloat32, kFloat64})
    for (int threads : {1, 2})
      for (int64_t m : {5, 64, 130}) {
        setThreads(threads);
        const int64_t k = m == 5 ? 3 : 48, n = m == 5 ? 4 : 40;
        for (int kase = 0; kase < 3; ++kase) {
          auto build = [&](Graph& g) {
            Shape sa{m, k}, sb{k, n}, sat{k, m}, sbt{n, k};
            int a = g.addInput(dt, sa.data(), 2), da = g.addInput(dt, sa.data(), 2), b = g.addInput(dt, sb.data(), 2);
            int dbt = g.addInput(dt, sbt.data(), 2), at = g.addInput(dt, sat.data(), 2);
            int p1 = mm(g, da, b, false, false), p2 = mm(g, a, dbt, false, true);   // dA B + A dB
            int s = op2(g, OP_add, p1, p2);
            if (kase == 1) s = op2(g, OP_add, mm(g, at, b, true, false), s);         // a third product, first in the sum
            g.addOutput(op1(g, OP_tanh, s));
            if (kase == 2) g.addOutput(p1);                                           // read elsewhere: not folded
          };
          std::vector<Host> ins{t::random({m, k}, rng), t::random({m, k}, rng), t::random({k, n}, rng), t::random({n, k}, rng),
                                t::random({k, m}, rng)};
          Result on = runOnce(build, ins, dt, true, 2), off = runOnce(build, ins, dt, false, 2);
          CHECK_MSG(countAccumulating(on.describe) == (kase == 0 ? 1 : kase == 1 ? 2 : 0), "case " << kase << "\n" << on.describe);
          CHECK_MSG(kase == 2 || on.describe.find("add") == std::string::npos, on.describe);
          CHECK(countAccumulating(off.describe) == 0);
          for (size_t o = 0; o < on.outputs.size(); ++o) {
            int64_t u = maxUlps(on.outputs[o], off.outputs[o], dt);
            CHECK_MSG(u <= (dt == kFloat32 ? 64 : 1024), "case " << kase << " m " << m << " (" << dtypeName(dt) << "): output " << o << " differs by " << u
                                                                 << " ulp\n" << on.describe);
          }
          Result again = runOnce(build, ins, dt, true, 1);   // the same bits run to run
          for (size_t o = 0; o < on.outputs.size(); ++o) CHECK(again.outputs[o].v == on.outputs[o].v);
        }
      }
  setThreads(threadsBefore);
}
