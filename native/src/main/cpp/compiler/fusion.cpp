// Elementwise fusion: trees of elementwise ops become one OP_FUSED node (FusedInstr code).
//
// Note [Fusion rules]: a group is grown from a root (walking the graph backwards) through
// producers that are elementwise, have exactly the root's element count or one element (so every
// register is read linearly or as a scalar), are used by this group only, and are not graph
// outputs or update values: a value that is needed elsewhere is materialised by its own step.
// Fill nodes of the right size are copied into every group that reads them as constants. A group of
// one op and no constants stays a plain step. Groups stop growing at the kernel limits, counting the
// constants a member will bring in when it is accepted (not later, when they are found).
#include <algorithm>

#include "compiler/ir.h"
#include "cpu/kernels.h"

namespace adjoint {

void fuseElementwise(Graph::Impl* g) {
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

  for (size_t root = n; root-- > 0;) {
    Node& r = nodes[root];
    if (absorbed[root] || !isElementwiseOp(r.op)) continue;
    const int64_t numel = r.desc.numel();
    auto fitsSize = [&](int id) {
      int64_t m = nodes[id].desc.numel();
      return m == numel || m == 1;
    };
    // Members in discovery order; fills are kept separately (they are duplicated, not absorbed).
    std::vector<int> members{(int)root}, fills;
    bool ok = true;
    for (int in : r.in) ok = ok && fitsSize(in);
    if (!ok) continue;
    // Every member's code slot and every constant it will copy in count against kMaxFusedCode from
    // the moment it is accepted: `promised[k]` fills that member k may still add when its inputs
    // are walked, `pending` their sum over the members not walked yet.
    auto newFills = [&](int id) {
      int c = 0;
      const std::vector<int>& ins = nodes[id].in;
      for (size_t j = 0; j < ins.size(); ++j)
        if (nodes[ins[j]].op == OP_fill && fitsSize(ins[j]) && std::find(fills.begin(), fills.end(), ins[j]) == fills.end() &&
            std::find(ins.begin(), ins.begin() + j, ins[j]) == ins.begin() + j)
          ++c;
      return c;
    };
    std::vector<int> promised{newFills((int)root)};
    int pending = promised[0];
    for (size_t k = 0; k < members.size(); ++k) {
      for (int in : nodes[members[k]].in) {
        const Node& p = nodes[in];
        if (std::find(members.begin(), members.end(), in) != members.end() || std::find(fills.begin(), fills.end(), in) != fills.end()) continue;
        if (p.op == OP_fill && fitsSize(in)) {
          fills.push_back(in);
          continue;
        }
        if (!isElementwiseOp(p.op) || pinned[in] || uses[in] != 1 || absorbed[in] || !fitsSize(in)) continue;
        bool inputsFit = true;
        for (int pin : p.in) inputsFit = inputsFit && (nodes[pin].desc.numel() == p.desc.numel() || nodes[pin].desc.numel() == 1);
        int f = newFills(in);
        if (!inputsFit || (int)(members.size() + fills.size()) + pending + 1 + f > cpu::kMaxFusedCode - 1) continue;
        members.push_back(in);
        promised.push_back(f);
        pending += f;
      }
      pending -= promised[k];   // what member k added is in `fills` now
    }
    if (members.size() == 1 && fills.empty()) continue;
    // Registers: external inputs first, then one per instruction in node (= topological) order.
    std::vector<int> order = members;
    order.insert(order.end(), fills.begin(), fills.end());
    std::sort(order.begin(), order.end());
    std::vector<int> external;
    for (int m : order)
      for (int in : nodes[m].in)
        if (!std::binary_search(order.begin(), order.end(), in) && std::find(external.begin(), external.end(), in) == external.end())
          external.push_back(in);
    if ((int)external.size() > cpu::kMaxFusedInputs) continue;
    auto reg = [&](int id) -> int {
      auto e = std::find(external.begin(), external.end(), id);
      if (e != external.end()) return (int)(e - external.begin());
      return (int)external.size() + (int)(std::lower_bound(order.begin(), order.end(), id) - order.begin());
    };
    std::vector<FusedInstr> code;
    for (int m : order) {
      const Node& p = nodes[m];
      if (p.op == OP_fill) code.push_back({OP_fill, -1, -1, p.scalar});
      else code.push_back({p.op, reg(p.in[0]), p.in.size() > 1 ? reg(p.in[1]) : -1, 0.0});
    }
    for (int m : members)
      if (m != (int)root) absorbed[m] = 1;
    r.op = OP_FUSED;
    r.in = external;
    r.attrs.clear();
    r.scalar = 0;
    r.code = std::move(code);
  }
  eliminateDeadCode(g);
}

}  // namespace adjoint
