// Review findings: one test per bug, each failing before its fix (see the comment on each test).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "check.h"
#include "random_graph.h"
#include "reference.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

int op1(Graph& g, int op, int x, std::vector<int64_t> attrs = {}) { return g.addNode(op, &x, 1, attrs.data(), (int)attrs.size(), 0); }
int op2(Graph& g, int op, int a, int b) {
  int in[2] = {a, b};
  return g.addNode(op, in, 2, nullptr, 0, 0);
}
int fillNode(Graph& g, int dt, const Shape& s, double v) {
  std::vector<int64_t> attrs{dt};
  attrs.insert(attrs.end(), s.begin(), s.end());
  return g.addNode(OP_fill, nullptr, 0, attrs.data(), (int)attrs.size(), v);
}

struct OptimizeScope {
  bool saved = optimize();
  explicit OptimizeScope(bool on) { setOptimize(on); }
  ~OptimizeScope() { setOptimize(saved); }
};

struct ThreadsScope {
  int saved = threads();
  explicit ThreadsScope(int n) { setThreads(n); }
  ~ThreadsScope() { setThreads(saved); }
};

// Runs `g` on float64 inputs and returns output 0's raw values.
std::vector<double> run64(const Graph& g, const std::vector<Host>& ins) {
  auto outs = t::runGraph(g, ins, std::vector<int>(ins.size(), kFloat64));
  return outs.at(0).v;
}

bool sameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

// Fusion counted the fills a group copies in only after its members were chosen, so a wide tree of
// x * c_i (distinct constants) became one fused step of 95 instructions, over kMaxFusedCode (64):
// the graph compiled and every run threw "fused step with ... instructions".
TEST(review_fusion_respects_code_limit_with_many_constants) {
  Graph g;
  Shape s{8};
  int x = g.addInput(kFloat64, s.data(), 1);
  std::vector<int> level;
  for (int i = 0; i < 32; ++i) level.push_back(op2(g, OP_mul, x, fillNode(g, kFloat64, {}, 2.0 + i)));
  while (level.size() > 1) {
    std::vector<int> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(op2(g, OP_add, level[i], level[i + 1]));
    level = next;
  }
  g.addOutput(level[0]);
  Host h({8}, {1, 2, 3, 4, 5, 6, 7, -1});
  double csum = 0;
  for (int i = 0; i < 32; ++i) csum += 2.0 + i;
  try {
    auto got = run64(g, {h});
    for (int i = 0; i < 8; ++i) CHECK_MSG(std::fabs(got[i] - h.v[i] * csum) < 1e-9, "element " << i << ": " << got[i]);
  } catch (const Error& e) {
    CHECK_MSG(false, e.what());
  }
}

// x + 0 -> x is not exact: -0 + +0 is +0. Simplification returned x (-0); node for node gives +0.
TEST(review_add_zero_keeps_signed_zero) {
  for (int form = 0; form < 4; ++form) {
    Graph g;
    Shape s{2};
    int x = g.addInput(kFloat64, s.data(), 1);
    int z = op1(g, OP_zerosLike, x);
    int y = form == 0 ? op2(g, OP_add, x, z) : form == 1 ? op2(g, OP_add, z, x) : form == 2 ? op2(g, OP_sub, x, z) : op2(g, OP_sub, x, op1(g, OP_neg, z));
    g.addOutput(y);
    Host h({2}, {-0.0, 1.5});
    std::vector<double> on, off;
    {
      OptimizeScope o(true);
      on = run64(g, {h});
    }
    {
      OptimizeScope o(false);
      off = run64(g, {h});
    }
    for (int i = 0; i < 2; ++i) CHECK_MSG(sameBits(on[i], off[i]), "form " << form << " element " << i << ": " << on[i] << " vs " << off[i]);
  }
}

// Constant folding of a reduction over an empty axis: the sum of no elements is +0, but the rule
// computed value * 0 (NaN for inf, -0 for negative values).
TEST(review_fold_sum_of_empty_fill) {
  for (double v : std::vector<double>{INFINITY, -1.0, NAN}) {
    for (int kind = 0; kind < 2; ++kind) {
      Graph g;
      Shape s{1};
      int x = g.addInput(kFloat64, s.data(), 1);
      int f = fillNode(g, kFloat64, {0, 3}, v);
      int r = kind == 0 ? op1(g, OP_sum, f, {0, 0}) : op1(g, OP_sumToShape, f, {1, 3});
      g.addOutput(op2(g, OP_add, r, x));
      std::vector<double> on, off;
      Host h({1}, {0.0});
      {
        OptimizeScope o(true);
        on = run64(g, {h});
      }
      {
        OptimizeScope o(false);
        off = run64(g, {h});
      }
      for (size_t i = 0; i < off.size(); ++i)
        CHECK_MSG(sameBits(on[i], off[i]), "fill " << v << " kind " << kind << " element " << i << ": " << on[i] << " vs " << off[i]);
    }
  }
}

// sumToShape(broadcastTo(y, [0, 3]), [1, 3]) sums zero copies of y: +0, not y * 0.
TEST(review_fold_sum_to_shape_of_empty_broadcast) {
  Graph g;
  Shape s{1, 3};
  int y = g.addInput(kFloat64, s.data(), 2);
  int b = op1(g, OP_broadcastTo, y, {0, 3});
  g.addOutput(op1(g, OP_sumToShape, b, {1, 3}));
  Host h({1, 3}, {-1.0, INFINITY, 2.0});
  std::vector<double> on, off;
  {
    OptimizeScope o(true);
    on = run64(g, {h});
  }
  {
    OptimizeScope o(false);
    off = run64(g, {h});
  }
  for (size_t i = 0; i < off.size(); ++i) CHECK_MSG(sameBits(on[i], off[i]), "element " << i << ": " << on[i] << " vs " << off[i]);
}

// ---------------------------------------------------------------------------------------------
// Random graphs with updates (in place, swapped, folded into gemms), outputs that are inputs or
// repeated, constants and layout ops; run three times with the passes on and off, on the DAG
// executor (one OpenBLAS thread, so programs with gemms take it too) and checked against the
// float64 reference for the first run and against each other for the later ones (the updates feed
// the next run). ADJOINT_REVIEW_SEEDS sets the number of graphs (default 200 per dtype).
namespace {

// The extended mix (constants, reshapes to another value's shape, ...) plus updates and outputs.
struct ReviewGraph : t::RandomGraph {
  std::vector<int> outs;                      // vals indices
  std::vector<std::pair<int, int>> updates;   // (input, vals index)

  ReviewGraph(unsigned seed, int dt) : RandomGraph(seed, dt, Mix::Extended) {}

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
        int c = node(OP_fill, {}, attrs, 0.25);
        int m = node(OP_mul, {c, v.id}, {});
        Host h = p.h;
        for (size_t e = 0; e < h.v.size(); ++e) h.v[e] = p.h.v[e] - 0.25 * v.h.v[e];
        vals.push_back({node(OP_sub, {p.id, m}, {}), h});
        break;
      }
      case 1: {
        vals.push_back({node(OP_add, {p.id, v.id}, {}), ref::map2(OP_add, p.h, v.h)});
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
  void operator()(Buffer* b) const { freeBuffer(b); }
};
using BufPtr = std::unique_ptr<Buffer, FreeBuf>;

// Outputs of every run, then the inputs after every run.
std::vector<std::vector<Host>> runTimes(const Graph& g, const std::vector<Host>& ins, int dt, int times) {
  Executable ex(g, 0);
  std::vector<BufPtr> bufs;
  for (size_t i = 0; i < ins.size(); ++i) {
    bufs.emplace_back(t::upload(ins[i], dt));
    ex.setInput((int)i, bufs.back().get());
  }
  std::vector<std::vector<Host>> res;
  for (int r = 0; r < times; ++r) {
    ex.run();
    std::vector<Host> outs;
    for (int k = 0; k < ex.numOutputs(); ++k) {
      BufPtr o(ex.takeOutput(k));
      outs.push_back(t::download(o.get()));
    }
    for (auto& b : bufs) outs.push_back(t::download(b.get()));
    res.push_back(outs);
  }
  return res;
}

int reviewSeeds() {
  const char* e = std::getenv("ADJOINT_REVIEW_SEEDS");
  return e ? std::max(1, std::atoi(e)) : 200;
}

struct BlasThreadsScope {
  int saved = blasThreads();
  explicit BlasThreadsScope(int n) { setBlasThreads(n); }
  ~BlasThreadsScope() { setBlasThreads(saved); }
};

}  // namespace

TEST(review_random_graphs_with_updates) {
  ThreadsScope th(std::max(2, threads()));
  BlasThreadsScope bt(1);
  int seeds = reviewSeeds(), checked = 0;
  for (int seed = 0; seed < seeds; ++seed)
    for (int dt : {kFloat64, kFloat32}) {
      ReviewGraph rg(1000 + seed, dt);
      for (Shape s : {Shape{3, 4}, Shape{4}, Shape{3, 1}, Shape{}, Shape{4, 3}, Shape{4, 4}})
        if (rg.coin(2)) rg.input(s);
      if (rg.inputs.empty()) rg.input({3, 4});
      int n = 3 + rg.coin(40);
      for (int i = 0; i < n; ++i) rg.step();
      for (size_t i = 0; i < rg.inputs.size(); ++i)
        if (rg.coin(2)) rg.update((int)i);
      int nOut = rg.coin(4);
      if (nOut == 0 && rg.updates.empty()) nOut = 1;
      for (int k = 0; k < nOut; ++k) {
        int v = rg.coin(3) == 0 ? rg.pick() : (int)rg.vals.size() - 1 - rg.coin(std::min<int>(3, (int)rg.vals.size()));
        rg.outs.push_back(v);
        rg.g.addOutput(rg.vals[v].id);
      }
      std::vector<std::vector<Host>> on, off;
      try {
        {
          OptimizeScope o(true);
          on = runTimes(rg.g, rg.inputs, dt, 3);
        }
        {
          OptimizeScope o(false);
          off = runTimes(rg.g, rg.inputs, dt, 3);
        }
      } catch (const Error& e) {
        CHECK_MSG(false, "seed " << seed << " " << dtypeName(dt) << ": " << e.what());
        continue;
      }
      double tol = dt == kFloat32 ? 1e-3 : 1e-9;
      // First run against the reference: outputs, then every input (updated or not).
      std::vector<Host> want;
      for (int o : rg.outs) want.push_back(rg.vals[o].h);
      std::vector<Host> after = rg.inputs;
      for (auto& u : rg.updates) after[u.first] = rg.vals[u.second].h;
      for (auto& h : after) want.push_back(h);
      for (size_t k = 0; k < want.size(); ++k) {
        std::string why;
        CHECK_MSG(t::close(on[0][k], want[k], tol, &why), "seed " << seed << " " << dtypeName(dt) << " run 0 result " << k << " (passes on): " << why);
        CHECK_MSG(t::close(off[0][k], want[k], tol, &why), "seed " << seed << " " << dtypeName(dt) << " run 0 result " << k << " (passes off): " << why);
        ++checked;
      }
      for (int r = 1; r < 3; ++r)
        for (size_t k = 0; k < want.size(); ++k) {
          std::string why;
          CHECK_MSG(t::close(on[r][k], off[r][k], 10 * tol, &why), "seed " << seed << " " << dtypeName(dt) << " run " << r << " result " << k << ": " << why);
        }
    }
  CHECK(checked > seeds);
}

// Two threads run different DAG-scheduled executables at once while a third changes the pool size
// (setThreads is a public entry point any Java thread may call). Before the fix, resize() joined and
// replaced the workers with no lock against a concurrent resize, and size() read the worker vector
// while it was being rebuilt.
TEST(review_concurrent_runs_and_set_threads) {
  ThreadsScope th(std::max(2, threads()));
  BlasThreadsScope bt(1);
  std::vector<std::unique_ptr<ReviewGraph>> graphs;
  std::vector<std::vector<std::vector<Host>>> want;
  for (int seed = 0; graphs.size() < 8; ++seed) {
    auto rg = std::make_unique<ReviewGraph>(7000 + seed, kFloat64);
    rg->input({64, 64});
    rg->input({64, 1});
    for (int i = 0; i < 25; ++i) rg->step();
    rg->g.addOutput(rg->vals.back().id);
    rg->g.addOutput(rg->vals[rg->vals.size() / 2].id);
    want.push_back(runTimes(rg->g, rg->inputs, kFloat64, 1));
    graphs.push_back(std::move(rg));
  }
  std::atomic<int> bad{0}, errors{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int first) {
    for (int it = 0; it < 40; ++it) {
      int k = (first + it) % (int)graphs.size();
      try {
        auto got = runTimes(graphs[k]->g, graphs[k]->inputs, kFloat64, 1);
        for (size_t o = 0; o < got[0].size(); ++o) {
          std::string why;
          if (!t::close(got[0][o], want[k][0][o], 1e-12, &why)) bad++;
        }
      } catch (const std::exception&) {
        errors++;
      }
    }
  };
  std::thread resizer1([&] {
    for (int i = 0; !stop.load(); ++i) setThreads(1 + i % 3);
  });
  std::thread resizer2([&] {
    for (int i = 0; !stop.load(); ++i) setThreads(1 + (i + 1) % 3);
  });
  std::thread a(worker, 0), b(worker, 3);
  a.join();
  b.join();
  stop = true;
  resizer1.join();
  resizer2.join();
  CHECK_MSG(bad.load() == 0, bad.load() << " wrong results");
  CHECK_MSG(errors.load() == 0, errors.load() << " errors");
}
