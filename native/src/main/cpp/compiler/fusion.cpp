// Elementwise fusion: trees of elementwise ops become one OP_FUSED node (FusedInstr code).
//
// Note [Fusion rules]: a group is grown from a root (walking the graph backwards) through
// producers that are elementwise, have exactly the root's element count or one element (so every
// register is read linearly or as a scalar), are used by this group only, and are not graph
// outputs or update values: a value that is needed elsewhere is materialised by its own step.
// Fill nodes of the right size are copied into every group that reads them as constants. A group of
// one op and no constants stays a plain step. A producer joins only if the group, with it and the
// constants it brings, still fits the backend's fused-step limits (Note [Capabilities]: inputs,
// instructions, registers by Note [Fused registers]); one that does not stays outside, becomes an
// input of the group and later the root of a group of its own, so a big tree is split into steps
// that fit, never rejected.
#include <algorithm>

#include "compiler/ir.h"

namespace adjoint {
namespace {

struct Group {
  std::vector<int> order;      // members and copied fills, in node (= topological) order
  std::vector<int> external;   // the fused step's inputs, in first-use order
  std::vector<FusedInstr> code;
};

class Fuser {
 public:
  Fuser(Graph::Impl* g, const Capabilities& caps) : nodes_(g->nodes), caps_(caps) {}

  // The group made of `members` (the root first) and the fills they read; registers are the
  // external inputs first, then one per instruction in node order.
  Group build(const std::vector<int>& members, int64_t numel) const {
    Group grp;
    grp.order = members;
    for (int m : members)
      for (int in : nodes_[m].in)
        if (isConstant(in, numel) && std::find(grp.order.begin(), grp.order.end(), in) == grp.order.end()) grp.order.push_back(in);
    std::sort(grp.order.begin(), grp.order.end());
    for (int m : grp.order)
      for (int in : nodes_[m].in)
        if (!std::binary_search(grp.order.begin(), grp.order.end(), in) && std::find(grp.external.begin(), grp.external.end(), in) == grp.external.end())
          grp.external.push_back(in);
    auto reg = [&](int id) -> int {
      auto e = std::find(grp.external.begin(), grp.external.end(), id);
      if (e != grp.external.end()) return (int)(e - grp.external.begin());
      return (int)grp.external.size() + (int)(std::lower_bound(grp.order.begin(), grp.order.end(), id) - grp.order.begin());
    };
    for (int m : grp.order) {
      const Node& p = nodes_[m];
      if (p.op == OP_fill) grp.code.push_back({OP_fill, -1, -1, p.scalar});
      else grp.code.push_back({p.op, reg(p.in[0]), p.in.size() > 1 ? reg(p.in[1]) : -1, 0.0});
    }
    return grp;
  }

  bool fits(const Group& grp) const {
    if ((int)grp.external.size() > caps_.maxFusedInputs || (int)grp.code.size() > caps_.maxFusedCode) return false;
    return caps_.maxFusedLive <= 0 || fusedRegisters(grp.code, (int)grp.external.size()) <= caps_.maxFusedLive;
  }

  bool isConstant(int id, int64_t numel) const { return nodes_[id].op == OP_fill && fitsSize(id, numel); }

  bool fitsSize(int id, int64_t numel) const {
    int64_t m = nodes_[id].desc.numel();
    return m == numel || m == 1;
  }

 private:
  const std::vector<Node>& nodes_;
  const Capabilities& caps_;
};

}  // namespace

void fuseElementwise(Graph::Impl* g, const Capabilities& caps) {
  std::vector<Node>& nodes = g->nodes;
  size_t n = nodes.size();
  std::vector<int> uses(n, 0);
  std::vector<char> pinned(n, 0);   // outputs and update values
  for (auto& node : nodes) {
    std::vector<int> distinct = node.in;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int i : distinct) uses[i]++;
  }
  for (int o : g->outputs) pinned[o] = 1;
  for (auto& u : g->updates) pinned[u.second] = 1;
  std::vector<char> absorbed(n, 0);
  Fuser fuser(g, caps);

  for (size_t root = n; root-- > 0;) {
    Node& r = nodes[root];
    if (absorbed[root] || !isElementwiseOp(r.op)) continue;
    const int64_t numel = r.desc.numel();
    bool ok = true;
    for (int in : r.in) ok = ok && fuser.fitsSize(in, numel);
    if (!ok) continue;
    std::vector<int> members{(int)root};   // in discovery order: each one's consumer comes before it
    Group grp = fuser.build(members, numel);
    if (!fuser.fits(grp)) continue;
    for (size_t k = 0; k < members.size(); ++k) {
      for (int in : nodes[members[k]].in) {
        const Node& p = nodes[in];
        if (std::find(members.begin(), members.end(), in) != members.end() || fuser.isConstant(in, numel)) continue;
        if (!isElementwiseOp(p.op) || pinned[in] || uses[in] != 1 || absorbed[in] || !fuser.fitsSize(in, numel)) continue;
        bool inputsFit = true;
        for (int pin : p.in) inputsFit = inputsFit && fuser.fitsSize(pin, p.desc.numel());
        if (!inputsFit) continue;
        members.push_back(in);
        Group trial = fuser.build(members, numel);
        if (fuser.fits(trial)) grp = std::move(trial);
        else members.pop_back();   // stays outside: an input of this group, a root later
      }
    }
    if (members.size() == 1 && grp.order.size() == 1) continue;   // one op, no constants: a plain step
    for (int m : members)
      if (m != (int)root) absorbed[m] = 1;
    r.op = OP_FUSED;
    r.in = grp.external;
    r.attrs.clear();
    r.scalar = 0;
    r.code = std::move(grp.code);
  }
  eliminateDeadCode(g);
}

}  // namespace adjoint
