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
// With Capabilities::fusedPeriodicInputs (the CPU) an input may also be a suffix broadcast of the
// group's shape — its shape, without leading 1s, equal to the trailing dims of the group's: a bias
// [K] added to [M, K], a [N, K] value multiplying [2, N, K] tangents — read at element i mod its numel.
// Members themselves always have the group's element count. And a broadcastTo that only feeds one
// binary op whose other operand already has the output's shape is dropped first (that op broadcasts
// by itself), so its source becomes such a periodic input instead of a materialised copy.
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

  // Whether `id` can be read by a group of shape `shape` (numel elements): linearly, as a scalar, or
  // periodically where the backend can.
  bool fitsSize(int id, int64_t numel, const std::vector<int64_t>* shape = nullptr) const {
    int64_t m = nodes_[id].desc.numel();
    if (m == numel || m == 1) return true;
    return shape && caps_.fusedPeriodicInputs && isSuffixOf(nodes_[id].desc.shape, *shape);
  }

  // `in` without its leading 1s equals the trailing dims of `out`, and is smaller.
  static bool isSuffixOf(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
    size_t lead = 0;
    while (lead < in.size() && in[lead] == 1) ++lead;
    size_t k = in.size() - lead;
    if (k == 0 || k > out.size()) return false;
    for (size_t i = 0; i < k; ++i)
      if (in[lead + i] != out[out.size() - k + i]) return false;
    return numelOf(in) < numelOf(out);
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
  if (caps.fusedPeriodicInputs) {
    // broadcastTo(src) feeding only a binary op whose other operand has the output's shape: the op
    // reads src itself (its own broadcast), and src becomes a periodic input of its group.
    for (size_t i = 0; i < n; ++i) {
      Node& c = nodes[i];
      if (!isBinaryOp(c.op) || c.in.size() != 2 || c.in[0] == c.in[1]) continue;
      for (int j = 0; j < 2; ++j) {
        int b = c.in[j], other = c.in[1 - j];
        const Node& bn = nodes[b];
        if (bn.op != OP_broadcastTo || uses[b] != 1 || pinned[b] || nodes[other].desc.shape != c.desc.shape) continue;
        if (nodes[bn.in[0]].desc.dtype != c.desc.dtype || !Fuser::isSuffixOf(nodes[bn.in[0]].desc.shape, c.desc.shape)) continue;
        uses[bn.in[0]]++;   // the broadcastTo's own use of it goes when dead code is dropped
        c.in[j] = bn.in[0];
        uses[b] = 0;
      }
    }
  }

  for (size_t root = n; root-- > 0;) {
    Node& r = nodes[root];
    if (absorbed[root] || !isElementwiseOp(r.op)) continue;
    const int64_t numel = r.desc.numel();
    const std::vector<int64_t>& shape = r.desc.shape;
    bool ok = true;
    for (int in : r.in) ok = ok && fuser.fitsSize(in, numel, &shape);
    if (!ok) continue;
    std::vector<int> members{(int)root};   // in discovery order: each one's consumer comes before it
    Group grp = fuser.build(members, numel);
    if (!fuser.fits(grp)) continue;
    for (size_t k = 0; k < members.size(); ++k) {
      for (int in : nodes[members[k]].in) {
        const Node& p = nodes[in];
        if (std::find(members.begin(), members.end(), in) != members.end() || fuser.isConstant(in, numel)) continue;
        if (!isElementwiseOp(p.op) || pinned[in] || uses[in] != 1 || absorbed[in] || p.desc.numel() != numel) continue;
        bool inputsFit = true;
        for (int pin : p.in) inputsFit = inputsFit && fuser.fitsSize(pin, numel, &shape);
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
