// Small random graphs of the core ops, checked against the float64 reference, run twice (the second
// run reuses the arena) and on both dtypes; and random graphs with updates, run three times.
#include <algorithm>
#include <cstdlib>

#include "check.h"
#include "random_graph.h"
#include "test_backend.h"

using namespace adjoint;
using t::Host;
using t::RandomGraph;
using t::Shape;

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

// Random graphs with updates (in place, swapped, folded into gemms), outputs that are inputs or
// repeated, constants and layout ops; run three times with the passes on and off, on the DAG
// executor (one OpenBLAS thread, so programs with gemms take it too) and checked against the
// float64 reference for the first run and against each other for the later ones (the updates feed
// the next run). ADJOINT_UPDATE_SEEDS sets the number of graphs (default 200 per dtype).
namespace {

int updateSeeds() {
  const char* e = std::getenv("ADJOINT_UPDATE_SEEDS");
  return e ? std::max(1, std::atoi(e)) : 200;
}

}  // namespace

namespace {

// Runs `seeds` random update graphs per dtype on `device`.
void checkUpdateGraphs(int device, int seeds) {
  int checked = 0;
  for (int seed = 0; seed < seeds; ++seed)
    for (int dt : {kFloat64, kFloat32}) {
      t::UpdateGraph rg(1000 + seed, dt);
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
          t::OptimizeScope o(true);
          on = t::runTimes(rg.g, rg.inputs, dt, 3, device);
        }
        {
          t::OptimizeScope o(false);
          off = t::runTimes(rg.g, rg.inputs, dt, 3, device);
        }
      } catch (const Error& e) {
        CHECK_MSG(false, "seed " << seed << " " << dtypeName(dt) << " on " << deviceLabel(device) << ": " << e.what());
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

}  // namespace

TEST(random_graphs_with_updates) {
  t::ThreadsScope th(std::max(2, threads()));
  t::BlasThreadsScope bt(1);
  checkUpdateGraphs(kCpu, updateSeeds());
}

// The same graphs compiled for the CUDA backend's capabilities (Note [Capabilities]) and run on the
// strict test backend, which refuses any step beyond them: what the compiler makes for a GPU runs.
TEST(random_graphs_with_updates_for_cuda_capabilities) {
  t::ThreadsScope th(std::max(2, threads()));
  t::BlasThreadsScope bt(1);
  t::TestDeviceScope dev(t::cudaLikeCapabilities());
  checkUpdateGraphs(kTestDevice, std::max(1, updateSeeds() / 2));
  CHECK(dev.backend.programsRun() > 0);
}
