// Scheduling and concurrent execution. Step::after (Note [Dependencies] in compiler/lowering.cpp):
// every memory hazard of a compiled program is covered by a path of `after` edges, and the edges stay
// linear in the steps for long chains; and runs of several executables at once stay correct.
//
// The hazards are recomputed here from describe() alone, independently of how the compiler found
// them: each step reads its input slots and writes its output slot; "inK"/"outK" are whole
// buffers, "tmp@X" is the arena range [X, X + bytes) where bytes is the size of the value written
// there last (in the listed, sequential order). Two steps that touch overlapping memory, one of
// them writing, must be ordered by the closure of `after`.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "check.h"
#include "listing.h"
#include "random_graph.h"
#include "reference.h"

using namespace adjoint;
using t::Host;
using t::Shape;

namespace {

struct Access {
  std::string space;   // "tmp", or the buffer's name ("in0", "out1")
  int64_t lo, hi;
  bool write;
};

using Listed = listing::Step;

std::vector<Listed> parseListing(const std::string& d) { return listing::parse(d); }

int64_t countEdges(const std::string& d) {
  int64_t n = 0;
  for (const Listed& l : parseListing(d)) n += (int64_t)l.after.size();
  return n;
}

// Empty when every hazard of the listing is ordered; else the first unordered pair.
std::string unorderedHazard(const std::string& d) {
  std::vector<Listed> lines = parseListing(d);
  size_t n = lines.size(), words = (n + 63) / 64;
  std::vector<std::vector<Access>> acc(n);
  std::map<int64_t, int64_t> tmpBytes;   // arena offset -> bytes of the value written there last
  auto access = [&](const std::string& slot, bool write, int64_t writeBytes) -> Access {
    if (slot.rfind("tmp@", 0) != 0) return {slot, 0, 1, write};
    int64_t off = std::stoll(slot.substr(4));
    if (write) tmpBytes[off] = writeBytes;
    return {"tmp", off, off + tmpBytes[off], write};
  };
  for (size_t s = 0; s < n; ++s) {
    for (const std::string& in : lines[s].in) acc[s].push_back(access(in, false, 0));
    acc[s].push_back(access(lines[s].out, true, lines[s].outBytes));
  }
  std::vector<std::vector<uint64_t>> anc(n, std::vector<uint64_t>(words, 0));   // steps reachable through `after`
  for (size_t s = 0; s < n; ++s)
    for (int a : lines[s].after) {
      if (a < 0 || (size_t)a >= s) return "step " + std::to_string(s) + " waits for step " + std::to_string(a) + "\n" + d;
      for (size_t w = 0; w < words; ++w) anc[s][w] |= anc[a][w];
      anc[s][a / 64] |= uint64_t(1) << (a % 64);
    }
  for (size_t j = 0; j < n; ++j)
    for (size_t i = 0; i < j; ++i) {
      if (anc[j][i / 64] >> (i % 64) & 1) continue;
      for (const Access& x : acc[i])
        for (const Access& y : acc[j])
          if ((x.write || y.write) && x.space == y.space && x.lo < y.hi && y.lo < x.hi && x.lo < x.hi && y.lo < y.hi)
            return "steps " + std::to_string(i) + " and " + std::to_string(j) + " both touch " + x.space + " [" +
                   std::to_string(std::max(x.lo, y.lo)) + ", " + std::to_string(std::min(x.hi, y.hi)) + ") (" +
                   (x.write ? "the first writes" : "the second writes") + ") but `after` does not order them\n" + d;
    }
  return "";
}

// x @ W repeated: W is a signed permutation, so every product is exact in float32 and the
// reference (the same products in float64) must match bit for bit.
void buildChain(Graph& g, int n, bool update) {
  Shape s{4, 4};
  int x = g.addInput(kFloat32, s.data(), 2);
  int w = g.addInput(kFloat32, s.data(), 2);
  int v = x;
  for (int i = 0; i < n; ++i) {
    int in[2] = {v, w};
    v = g.addNode(OP_matmul, in, 2, nullptr, 0, 0);
  }
  g.addOutput(v);
  if (update) g.addUpdate(1, g.addNode(OP_neg, &w, 1, nullptr, 0, 0));   // W <- -W, after all 40k reads of W
}

Host chainW() {
  Host w({4, 4}, std::vector<double>(16, 0.0));
  const int to[4] = {2, 0, 3, 1};
  for (int i = 0; i < 4; ++i) w.v[i * 4 + to[i]] = i == 1 ? -1.0 : 1.0;
  return w;
}

}  // namespace

TEST(chain_of_40k_matmuls_has_linear_dependencies) {
  const int n = 40000;
  Graph g;
  buildChain(g, n, true);
  Executable ex(g, 0);
  std::string d = ex.describe();
  int64_t edges = countEdges(d);
  CHECK_MSG(ex.numSteps() >= n && edges < 4 * (int64_t)ex.numSteps(), ex.numSteps() << " steps, " << edges << " after edges");
  CHECK_MSG(ex.arenaBytes() <= 2 * 128, "arena " << ex.arenaBytes());
  std::mt19937 rng(7);
  Host x = t::random({4, 4}, rng), w = chainW();
  Host want = x;
  for (int i = 0; i < n; ++i) want = ref::matmul(want, w, false, false);
  Buffer* bx = t::upload(x, kFloat32);
  Buffer* bw = t::upload(w, kFloat32);
  ex.setInput(0, bx);
  ex.setInput(1, bw);
  ex.run();
  Buffer* out = ex.takeOutput(0);
  Host got = t::download(out);
  std::vector<float> wantF(want.v.begin(), want.v.end());   // x rounded to float32, then exact
  std::vector<float> gotF(got.v.begin(), got.v.end());
  CHECK_MSG(gotF == wantF, "chain result differs from the reference");
  Host w1 = t::download(bw);
  for (auto& e : w.v) e = -e;
  CHECK_MSG(w1.v == w.v, "W was not updated to -W");
  freeBuffer(out);
  freeBuffer(bx);
  freeBuffer(bw);
}

TEST(chain_dependencies_cover_every_hazard) {
  for (bool opt : {true, false}) {
    t::OptimizeScope o(opt);
    Graph g;
    buildChain(g, 300, true);
    Executable ex(g, 0);
    std::string why = unorderedHazard(ex.describe());
    CHECK_MSG(why.empty(), why);
  }
}

// Random graphs with updates (SGD-like ones fold into gemms), with and without the rewriting passes.
TEST(random_dependencies_cover_every_hazard) {
  int checked = 0;
  for (unsigned seed = 0; seed < 150; ++seed)
    for (bool opt : {true, false}) {
      t::OptimizeScope o(opt);
      t::RandomGraph rg(5000 + seed, seed % 2 ? kFloat32 : kFloat64, t::RandomGraph::Mix::Extended);
      for (Shape s : {Shape{3, 4}, Shape{4}, Shape{4, 4}, Shape{}, Shape{4, 3}})
        if (rg.coin(3)) rg.input(s);
      if (rg.vals.empty()) rg.input({4, 4});
      int n = 3 + rg.coin(40);
      for (int i = 0; i < n; ++i) rg.step();
      bool any = false;
      for (size_t i = 0; i < rg.inputs.size(); ++i) {
        if (!rg.coin(2)) continue;
        const auto p = rg.vals[rg.inputVal[i]];
        std::vector<int> same;
        for (size_t k = 0; k < rg.vals.size(); ++k)
          if (rg.vals[k].h.shape == p.h.shape) same.push_back(rg.vals[k].id);
        int v = same[rg.coin((int)same.size())];
        if (rg.coin(2)) {   // p - 0.25 * v
          int c = rg.node(OP_fill, {}, {rg.dtype}, 0.25);
          v = rg.node(OP_sub, {p.id, rg.node(OP_mul, {c, v}, {})}, {});
        }
        rg.g.addUpdate((int)i, v);
        any = true;
      }
      for (int k = 0; k < (any ? rg.coin(3) : 1 + rg.coin(3)); ++k) rg.g.addOutput(rg.vals[rg.vals.size() - 1 - rg.coin(std::min<int>(4, (int)rg.vals.size()))].id);
      Executable ex(rg.g, 0);
      std::string why = unorderedHazard(ex.describe());
      CHECK_MSG(why.empty(), "seed " << seed << (opt ? " (passes on): " : " (passes off): ") << why);
      ++checked;
    }
  CHECK(checked == 300);
}

// Two threads run different DAG-scheduled executables at once while a third changes the pool size
// (setThreads is a public entry point any Java thread may call). Before the fix, resize() joined and
// replaced the workers with no lock against a concurrent resize, and size() read the worker vector
// while it was being rebuilt.
TEST(concurrent_runs_and_set_threads) {
  t::ThreadsScope th(std::max(2, threads()));
  t::BlasThreadsScope bt(1);
  std::vector<std::unique_ptr<t::UpdateGraph>> graphs;
  std::vector<std::vector<std::vector<Host>>> want;
  for (int seed = 0; graphs.size() < 8; ++seed) {
    auto rg = std::make_unique<t::UpdateGraph>(7000 + seed, kFloat64);
    rg->input({64, 64});
    rg->input({64, 1});
    for (int i = 0; i < 25; ++i) rg->step();
    rg->g.addOutput(rg->vals.back().id);
    rg->g.addOutput(rg->vals[rg->vals.size() / 2].id);
    want.push_back(t::runTimes(rg->g, rg->inputs, kFloat64, 1));
    graphs.push_back(std::move(rg));
  }
  std::atomic<int> bad{0}, errors{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int first) {
    for (int it = 0; it < 40; ++it) {
      int k = (first + it) % (int)graphs.size();
      try {
        auto got = t::runTimes(graphs[k]->g, graphs[k]->inputs, kFloat64, 1);
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
