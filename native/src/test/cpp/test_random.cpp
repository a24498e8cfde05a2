// Small random graphs of the core ops, checked against the float64 reference, run twice (the second
// run reuses the arena) and on both dtypes.
#include <cstdlib>

#include "check.h"
#include "random_graph.h"

using namespace adjoint;
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
