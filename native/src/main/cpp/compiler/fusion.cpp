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
//
// Note [Leading sums]: with Capabilities::fusedLeadingSums (the CPU) a group of n elements may take in
// one sum (sum or sumToShape) of a [G, n] value over its G leading rows, 2 <= G <= kMaxLeadingGroups
// (the tangents of a forward Laplacian [2, N, K] -> [N, K], their square summed; the backward pass's
// sumToShape of a periodic input's adjoint), and below it a tree of exact elementwise ops of G * n
// elements (no transcendental op: their vector and scalar loops may differ in the last bit, and the
// group's tiles fall where the unfused step's do only when n is a multiple of a tile). Those run once
// per group over inputs of G * n elements read from g * n on (StepLayout::groupStrides), or of at most
// n elements read linearly or periodically; the rest of the group runs once on the sum. The sum adds
// the rows in order from 0, as the unfused reduction does: the same bits, one pass instead of one per
// op and one for the sum. Larger G (the sum over a batch of a bias gradient) stay a reduction step,
// which splits its work over the columns.
//
// Note [Duplicated producers]: an exact elementwise op (no transcendental op) that other steps read
// too is copied into a group when that does not make the group read more inputs — 1 - t^2 and
// -2t(1 - t^2) of a tanh layer, recomputed from t by each of their readers instead of written and
// read back — and so are the exact ops below a copy. A producer every reader copies is dropped. A
// member (moved or copied) of an exact op may also be a suffix broadcast of the group's shape
// (t' of [N, K] in a [2, N, K] group), computed again at every element it is read at; exact ops
// give the same bits wherever they run. At most kMaxCopied copies per group.
#include <algorithm>

#include "adjoint/backend_util.h"
#include "compiler/ir.h"

namespace adjoint {
namespace {

constexpr int64_t kMaxLeadingGroups = 16;
constexpr int kMaxCopied = 8;   // duplicated producers per group (Note [Duplicated producers])

struct Group {
  std::vector<int> order;      // members and copied fills, in code order: node (= topological) order,
                               // or with a leading sum the fills, the members below it, it, the rest
  std::vector<int> external;   // the fused step's inputs, in first-use order
  std::vector<FusedInstr> code;
  bool valid = true;           // false: a member is read below a leading sum and after it
};

// A group's leading sum (Note [Leading sums]): the node, its G and the [G, n] shape it sums.
struct LeadingSum {
  int node = -1;
  int64_t groups = 1;
  std::vector<int64_t> inShape;
};

class Fuser {
 public:
  Fuser(Graph::Impl* g, const Capabilities& caps) : nodes_(g->nodes), caps_(caps) {}

  // The group made of `members` (the root first) and the fills they read; registers are the
  // external inputs first, then one per instruction in code order.
  Group build(const std::vector<int>& members, int64_t numel, const LeadingSum& sum) const {
    Group grp;
    grp.order = members;
    for (int m : members)
      for (int in : nodes_[m].in)
        if (isConstant(in, numel, sum) && std::find(grp.order.begin(), grp.order.end(), in) == grp.order.end()) grp.order.push_back(in);
    std::sort(grp.order.begin(), grp.order.end());
    if (sum.node >= 0) {   // fills, the members below the sum, the sum, the others (Note [Leading sums])
      std::vector<char> below(nodes_.size(), 0);
      for (auto it = grp.order.rbegin(); it != grp.order.rend(); ++it) {   // consumers before producers
        const int m = *it;
        if (m != sum.node && !below[m]) continue;
        for (int in : nodes_[m].in)
          if (std::binary_search(grp.order.begin(), grp.order.end(), in) && nodes_[in].op != OP_fill) below[in] = 1;
      }
      // A copied member may have readers on both sides of the sum; its register would hold the last
      // group's value after the sum, so such a group is refused (fits) and the member left outside.
      for (int m : grp.order)
        if (m != sum.node && !below[m])
          for (int in : nodes_[m].in)
            if (below[in]) grp.valid = false;
      std::vector<int> ordered;
      for (int pass = 0; pass < 4; ++pass)
        for (int m : grp.order) {
          const int kind = nodes_[m].op == OP_fill ? 0 : below[m] ? 1 : m == sum.node ? 2 : 3;
          if (kind == pass) ordered.push_back(m);
        }
      grp.order = std::move(ordered);
    }
    auto position = [&](int id) { return (int)(std::find(grp.order.begin(), grp.order.end(), id) - grp.order.begin()); };
    for (int m : grp.order)
      for (int in : nodes_[m].in)
        if (position(in) == (int)grp.order.size() && std::find(grp.external.begin(), grp.external.end(), in) == grp.external.end())
          grp.external.push_back(in);
    auto reg = [&](int id) -> int {
      auto e = std::find(grp.external.begin(), grp.external.end(), id);
      if (e != grp.external.end()) return (int)(e - grp.external.begin());
      return (int)grp.external.size() + position(id);
    };
    for (int m : grp.order) {
      const Node& p = nodes_[m];
      if (p.op == OP_fill) grp.code.push_back({OP_fill, -1, -1, p.scalar});
      else if (m == sum.node) grp.code.push_back({OP_sum, reg(p.in[0]), -1, 0.0});
      else grp.code.push_back({p.op, reg(p.in[0]), p.in.size() > 1 ? reg(p.in[1]) : -1, 0.0});
    }
    return grp;
  }

  // Whether `id` sums a [G, n] value over its G leading rows only (2 <= G <= kMaxLeadingGroups):
  // Note [Leading sums].
  bool leadingSum(int id, LeadingSum* out) const {
    const Node& s = nodes_[id];
    if (!caps_.fusedLeadingSums || (s.op != OP_sum && s.op != OP_sumToShape) || s.in.size() != 1) return false;
    const std::vector<int64_t>& in = nodes_[s.in[0]].desc.shape;
    if (nodes_[s.in[0]].desc.dtype != s.desc.dtype) return false;
    const std::vector<char> mask = reduceMask(s.op, in, s.attrs);
    int64_t groups = 1;
    bool kept = false;
    for (size_t d = 0; d < in.size(); ++d) {
      if (in[d] == 1) continue;
      if (mask[d] && kept) return false;   // a reduced dim after a kept one
      if (mask[d]) groups *= in[d];
      else kept = true;
    }
    if (groups < 2 || groups > kMaxLeadingGroups || groups * s.desc.numel() != numelOf(in)) return false;
    *out = {id, groups, in};
    return true;
  }

  // Whether a member below the leading sum (G * n elements, shape sum.inShape) can read `id`: all of
  // it per group, one element, or at most n elements as a suffix broadcast.
  bool fitsBelowSum(int id, int64_t numel, const LeadingSum& sum) const {
    const int64_t m = nodes_[id].desc.numel();
    return m == sum.groups * numel || m == 1 || (m <= numel && isSuffixOf(nodes_[id].desc.shape, sum.inShape));
  }

  bool fits(const Group& grp) const {
    if (!grp.valid) return false;
    if ((int)grp.external.size() > caps_.maxFusedInputs || (int)grp.code.size() > caps_.maxFusedCode) return false;
    return caps_.maxFusedLive <= 0 || fusedRegisters(grp.code, (int)grp.external.size()) <= caps_.maxFusedLive;
  }

  bool isConstant(int id, int64_t numel, const LeadingSum& sum) const {
    return nodes_[id].op == OP_fill && (fitsSize(id, numel) || (sum.node >= 0 && nodes_[id].desc.numel() == sum.groups * numel));
  }

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
    LeadingSum sum;
    if (absorbed[root] || (uses[root] == 0 && !pinned[root])) continue;   // inside a group, or duplicated into all its readers
    if (!(isElementwiseOp(r.op) || fuser.leadingSum((int)root, &sum))) continue;
    const int64_t numel = r.desc.numel();
    const std::vector<int64_t>& shape = r.desc.shape;
    // Whether member m (below the leading sum, or the sum itself, or above it) can read `in`.
    auto readable = [&](int m, bool below, int in) {
      return below || m == sum.node ? fuser.fitsBelowSum(in, numel, sum) : fuser.fitsSize(in, numel, &shape);
    };
    // Whether elementwise `q` has a size a member can have (below the sum where `belowK`): its own, or
    // (exact ops only) a suffix broadcast of it, computed at every element of the group.
    auto sizeFits = [&](int q, bool belowK) {
      const Node& c = nodes[q];
      const int64_t m = c.desc.numel();
      const bool exact = !isTranscendentalOp(c.op);
      return belowK ? exact && (m == sum.groups * numel || (m <= numel && Fuser::isSuffixOf(c.desc.shape, sum.inShape)))
                    : m == numel || (exact && caps.fusedPeriodicInputs && Fuser::isSuffixOf(c.desc.shape, shape));
    };
    // Whether `q` can join as a copy below a member.
    auto copyable = [&](int q, bool belowK) {
      const Node& c = nodes[q];
      if (pinned[q] || absorbed[q] || !isElementwiseOp(c.op) || isTranscendentalOp(c.op) || !sizeFits(q, belowK)) return false;
      for (int pin : c.in)
        if (!readable(q, belowK, pin)) return false;
      return true;
    };
    bool ok = true;
    for (int in : r.in) ok = ok && readable((int)root, false, in);
    if (!ok) continue;
    std::vector<int> members{(int)root};   // in discovery order: each one's consumer comes before it
    std::vector<char> below{0};            // per member: below the leading sum
    std::vector<char> copied{0};           // per member: duplicated (Note [Duplicated producers])
    int numCopied = 0;
    auto isMember = [&](int q) { return std::find(members.begin(), members.end(), q) != members.end(); };
    Group grp = fuser.build(members, numel, sum);
    if (!fuser.fits(grp)) continue;
    for (size_t k = 0; k < members.size(); ++k) {
      const bool belowK = below[k] || members[k] == sum.node;   // its producers would be below the sum
      for (int in : nodes[members[k]].in) {
        const Node& p = nodes[in];
        if (isMember(in) || fuser.isConstant(in, numel, sum)) continue;
        if (pinned[in] || absorbed[in]) continue;
        // Moved in (read here only), or copied: an exact op read elsewhere too, or below a copy.
        const bool move = !copied[k] && uses[in] == 1;
        const bool exact = isElementwiseOp(p.op) && !isTranscendentalOp(p.op);
        if (!move && (!exact || numCopied >= kMaxCopied)) continue;
        LeadingSum candidate;
        const bool takeSum = move && !belowK && sum.node < 0 && p.desc.numel() == numel && fuser.leadingSum(in, &candidate);
        if (!takeSum && (!isElementwiseOp(p.op) || !sizeFits(in, belowK))) continue;
        const LeadingSum saved = sum;
        if (takeSum) sum = candidate;
        bool inputsFit = true;
        for (int pin : p.in) inputsFit = inputsFit && readable(in, belowK, pin);
        if (inputsFit) {
          // A copy brings the exact ops below it along, as far as they go and fit, so a chain is
          // judged by the inputs it ends at: tried with all of them first, then alone.
          std::vector<int> cone{in};
          for (size_t c = 0; !move && c < cone.size(); ++c)
            for (int q : nodes[cone[c]].in)
              if (numCopied + (int)cone.size() < kMaxCopied && !isMember(q) && std::find(cone.begin(), cone.end(), q) == cone.end() &&
                  !fuser.isConstant(q, numel, sum) && copyable(q, belowK))
                cone.push_back(q);
          bool taken = false;
          for (size_t count : {cone.size(), (size_t)1}) {
            for (size_t c = 0; c < count; ++c) {
              members.push_back(cone[c]);
              below.push_back(belowK);
              copied.push_back(!move);
            }
            Group trial = fuser.build(members, numel, sum);
            if (fuser.fits(trial) && (move || trial.external.size() <= grp.external.size())) {   // a copy reads no more inputs
              grp = std::move(trial);
              numCopied += move ? 0 : (int)count;
              taken = true;
              break;
            }
            for (size_t c = 0; c < count; ++c) {   // stays outside: an input of this group, a root later
              members.pop_back();
              below.pop_back();
              copied.pop_back();
            }
            if (cone.size() == 1) break;
          }
          if (taken) continue;
        }
        sum = saved;
      }
    }
    if (members.size() == 1 && grp.order.size() == 1) continue;   // one op, no constants: a plain step
    // Use counts after the group replaces its moved members: a copied member is no longer read by
    // them, and an input that only copies read is read by the group now.
    auto readByMoved = [&](int id) {
      int count = 0;
      for (size_t k = 0; k < members.size(); ++k) {
        const std::vector<int>& ins = nodes[members[k]].in;
        count += !copied[k] && std::find(ins.begin(), ins.end(), id) != ins.end();
      }
      return count;
    };
    if (numCopied > 0) {
      for (size_t k = 0; k < members.size(); ++k)
        if (copied[k]) uses[members[k]] -= readByMoved(members[k]);
      for (int e : grp.external)
        if (readByMoved(e) == 0) uses[e]++;
    }
    for (size_t k = 0; k < members.size(); ++k)
      if (members[k] != (int)root && !copied[k]) absorbed[members[k]] = 1;
    r.op = OP_FUSED;
    r.in = grp.external;
    r.attrs.clear();
    if (sum.node >= 0) r.attrs = {sum.groups};   // the step's groups (fusedLayout in backend_util.h)
    r.scalar = 0;
    r.code = std::move(grp.code);
  }
  eliminateDeadCode(g);
}

}  // namespace adjoint
