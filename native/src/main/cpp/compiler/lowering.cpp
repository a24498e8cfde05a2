// Lowering a simplified, fused graph to a Program: slots, memory plan (liveness, in-place, arena
// packing) and schedule (dependencies, lanes).
//
// Note [Storage]: several slots may share one storage (one piece of memory): a reshape that is not
// an output aliases its source, and an elementwise step may run in place in an input that dies
// there. Liveness, arena packing and the dependency edges are all computed per storage, so an
// alias keeps its source alive and an in-place write waits for every other reader.
//
// Note [Dependencies]: Step::after lists steps that must finish first, such that every hazard is
// covered by a path of `after` edges (not necessarily by a direct one):
//  * RAW: a step comes after the last writer of each storage it reads;
//  * WAR/WAW: a step that overwrites a storage comes after its last writer and after the reads of
//    its current value (an update writing back into an input included);
//  * arena reuse: a step that first writes a temp comes after every access of each earlier storage
//    whose arena bytes it reuses.
// With these edges any order that respects `after` (its transitive closure) is valid, which is what
// lets the CPU executor (a step becomes ready when all its `after` steps are done) and the CUDA
// backend (stream order within a lane, events across lanes, both transitive) run independent steps
// concurrently on top of a memory plan made for the sequential order.
// Only edges that no other kept edge implies are recorded where that is cheap to see, so the count
// stays linear in the steps for chains (listing every earlier access made it quadratic: see
// bench/RESULTS.md, "Engine-internal measurements"):
//  * reads: a storage keeps the reads of its current value, minus those a later reader of it
//    directly waits for (that reader stands for them); a write waits for the reads left;
//  * arena reuse: the arena keeps, per byte range, the storage placed there last; a temp's first
//    write waits for the latest accesses of the storages it displaces: the reads left of their
//    final value, or their last write when nothing read it. Those steps come after every earlier
//    access of the storage, and its first write came after whoever held the bytes before, so the
//    older accesses are implied.
// The memory plan itself (planMemory) finds the temps alive during a temp's lifetime through an
// index over steps instead of scanning every placed temp.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "compiler/ir.h"

namespace adjoint {
namespace {

struct Storage {
  int kind;
  int index;
  int64_t bytes;
  int def = -1, last = -1;
  int64_t offset = 0;
  int mergedInto = -1;
};

constexpr int64_t kAlign = 64;
int64_t alignUp(int64_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

class Lowering {
 public:
  Lowering(const Graph::Impl& g, const Capabilities& caps) : g_(g), caps_(caps) {}

  Program run() {
    buildSteps();
    planMemory();
    addDependencies();
    assignLanes();
    for (size_t s = 0; s < p_.slots.size(); ++s)
      if (p_.slots[s].kind == SLOT_TEMP) p_.slots[s].offset = st_[root(slotStorage_[s])].offset;
    layoutSteps();
    return std::move(p_);
  }

 private:
  int root(int st) const {
    while (st_[st].mergedInto >= 0) st = st_[st].mergedInto;
    return st;
  }

  int newStorage(int kind, int index, int64_t bytes) {
    st_.push_back({kind, index, bytes});
    return (int)st_.size() - 1;
  }

  int newSlot(const TensorDesc& desc, int storage) {
    Slot s;
    s.desc = desc;
    s.kind = st_[storage].kind;
    s.index = st_[storage].index;
    p_.slots.push_back(s);
    slotStorage_.push_back(storage);
    return (int)p_.slots.size() - 1;
  }

  int newTemp(const TensorDesc& desc) { return newSlot(desc, newStorage(SLOT_TEMP, -1, desc.bytes())); }

  void addStep(int op, std::vector<int> in, int out, const Node* node) {
    Step s;
    s.op = op;
    s.in = std::move(in);
    s.out = out;
    if (node) {
      s.attrs = node->attrs;
      s.scalar = node->scalar;
      s.code = node->code;
    }
    p_.steps.push_back(std::move(s));
  }

  void buildSteps() {
    const auto& nodes = g_.nodes;
    std::vector<int> nodeSlot(nodes.size(), -1), claimedBy(nodes.size(), -1);
    for (size_t i = 0; i < g_.inputNodes.size(); ++i) {
      const TensorDesc& d = nodes[g_.inputNodes[i]].desc;
      nodeSlot[g_.inputNodes[i]] = newSlot(d, newStorage(SLOT_INPUT, (int)i, d.bytes()));
    }
    for (size_t k = 0; k < g_.outputs.size(); ++k) {
      int v = g_.outputs[k];
      if (nodes[v].op != OP_INPUT && claimedBy[v] < 0) claimedBy[v] = (int)k;
    }
    std::vector<int> inPlace = inPlaceUpdates();   // update index -> value node written in place, or -1
    std::vector<int> deferredTarget(nodes.size(), -1);
    for (size_t k = 0; k < g_.updates.size(); ++k)
      if (inPlace[k] >= 0) deferredTarget[inPlace[k]] = g_.updates[k].first;
    auto emitNode = [&](size_t id, int out) {
      const Node& n = nodes[id];
      std::vector<int> in;
      for (int i : n.in) in.push_back(nodeSlot[i]);
      addStep(n.op, std::move(in), out, &n);
      nodeSlot[id] = out;
    };
    for (size_t id = 0; id < nodes.size(); ++id) {
      const Node& n = nodes[id];
      if (n.op == OP_INPUT || deferredTarget[id] >= 0) continue;
      if (n.op == OP_reshape && claimedBy[id] < 0) {   // alias, no step (Note [Storage])
        nodeSlot[id] = newSlot(n.desc, slotStorage_[nodeSlot[n.in[0]]]);
        continue;
      }
      emitNode(id, claimedBy[id] >= 0 ? newSlot(n.desc, newStorage(SLOT_OUTPUT, claimedBy[id], n.desc.bytes())) : newTemp(n.desc));
    }
    for (size_t k = 0; k < g_.outputs.size(); ++k) {
      int v = g_.outputs[k];
      if (claimedBy[v] == (int)k) continue;
      int out = newSlot(nodes[v].desc, newStorage(SLOT_OUTPUT, (int)k, nodes[v].desc.bytes()));
      addStep(OP_identity, {nodeSlot[v]}, out, nullptr);
    }
    // Updates write into input buffers after everything else. A value that lives in an input's
    // memory is snapshotted first, so `a <- b, b <- a` swaps instead of copying one value twice.
    std::vector<int> valueSlot;
    for (size_t k = 0; k < g_.updates.size(); ++k) {
      const auto& u = g_.updates[k];
      if (inPlace[k] >= 0) {
        valueSlot.push_back(-1);
        continue;
      }
      int sv = nodeSlot[u.second];
      if (u.second != g_.inputNodes[u.first] && st_[slotStorage_[sv]].kind == SLOT_INPUT) {
        int t = newTemp(nodes[u.second].desc);
        addStep(OP_identity, {sv}, t, nullptr);
        sv = t;
      }
      valueSlot.push_back(sv);
    }
    // Note [In-place updates]: a value computed only for its update is computed straight into the
    // input's buffer, as one of the last steps (after every other reader of the old value).
    for (size_t k = 0; k < g_.updates.size(); ++k)
      if (inPlace[k] >= 0) emitNode(inPlace[k], newSlot(nodes[inPlace[k]].desc, slotStorage_[nodeSlot[g_.inputNodes[g_.updates[k].first]]]));
    for (size_t k = 0; k < g_.updates.size(); ++k) {
      const auto& u = g_.updates[k];
      if (u.second == g_.inputNodes[u.first] || inPlace[k] >= 0) continue;   // x <- x, or done in place
      addStep(OP_identity, {valueSlot[k]}, nodeSlot[g_.inputNodes[u.first]], nullptr);
    }
  }

  // Note [In-place updates]: update k (input i <- node v) is done by computing v into input i's buffer
  // when that cannot be observed:
  //  * v is a step's result (not an input or a reshape alias) used by nothing else: no other node, no
  //    output, no other update; so its step can move to the end of the program;
  //  * v's step is elementwise (plain or fused), so it reads input i, if at all, at the element it
  //    writes (same element count; a fused step reads an element before it writes it);
  //  * v's step reads no other update target (its old value is read by steps that run earlier; an
  //    updated one would be overwritten by then), following reshape aliases back to their input;
  //  * the backend runs elementwise steps in place (Capabilities::inPlace).
  // An accumulating matmul (Note [GEMM updates] in passes.cpp) qualifies too: it reads input i only
  // as its third input, C, and the fold made sure of the rest; it has no other way to run, so it
  // must be done in place.
  static bool isAccumulatingMatmul(const Node& n) { return n.op == OP_matmul && n.attrs.size() == 3 && n.attrs[2]; }

  std::vector<int> inPlaceUpdates() const {
    const auto& nodes = g_.nodes;
    std::vector<int> result(g_.updates.size(), -1);
    std::vector<int> uses(nodes.size(), 0), updateUses(nodes.size(), 0);
    for (const Node& n : nodes)
      for (int i : n.in) uses[i]++;
    for (int o : g_.outputs) uses[o]++;
    for (auto& u : g_.updates) updateUses[u.second]++;
    auto inputOf = [&](int id) {   // the input index behind `id` through reshape aliases, or -1
      while (nodes[id].op == OP_reshape) id = nodes[id].in[0];
      return nodes[id].op == OP_INPUT ? nodes[id].inputIndex : -1;
    };
    std::vector<char> target(g_.inputNodes.size(), 0);
    for (auto& u : g_.updates) target[u.first] = 1;
    for (size_t k = 0; k < g_.updates.size(); ++k) {
      int input = g_.updates[k].first, v = g_.updates[k].second;
      const Node& n = nodes[v];
      if (isAccumulatingMatmul(n)) {
        bool ok = uses[v] == 0 && updateUses[v] == 1 && n.in.size() == 3 && n.in[2] == g_.inputNodes[input];
        for (int j = 0; j < 2 && ok; ++j) ok = inputOf(n.in[j]) < 0 || !target[inputOf(n.in[j])];
        if (!ok) fail("compile: internal error: an accumulating matmul for input ", input, " cannot be done in place");
        result[k] = v;
        continue;
      }
      if (!caps_.inPlace || n.op == OP_INPUT || n.op == OP_reshape || uses[v] != 0 || updateUses[v] != 1) continue;
      if (!isElementwiseOp(n.op) && n.op != OP_FUSED) continue;
      bool ok = true;
      for (int i : n.in) {
        int src = inputOf(i);
        if (src < 0 || !target[src]) continue;
        ok = ok && src == input && nodes[i].desc.numel() == n.desc.numel();
      }
      if (ok) result[k] = v;
    }
    return result;
  }

  // The placed temps, by lifetime: those alive at a step (a segment tree over steps: a temp is kept
  // at the O(log n) nodes that exactly cover its lifetime, so each temp alive at step t sits on
  // exactly one node of t's leaf-to-root path) and those first written in a range of steps.
  class LifetimeIndex {
   public:
    explicit LifetimeIndex(int steps) {
      while (size_ < steps) size_ *= 2;
      nodes_.resize(2 * size_);
    }
    void add(int id, int def, int last) {
      for (int l = def + size_, r = last + 1 + size_; l < r; l >>= 1, r >>= 1) {
        if (l & 1) nodes_[l++].push_back(id);
        if (r & 1) nodes_[--r].push_back(id);
      }
      byDef_.emplace(def, id);
    }
    // Calls f(id) once for each placed temp whose lifetime [def, last] meets [lo, hi].
    template <class F>
    void overlapping(int lo, int hi, F f) const {
      for (int i = lo + size_; i >= 1; i >>= 1)   // alive at lo
        for (int id : nodes_[i]) f(id);
      for (auto it = byDef_.upper_bound({lo, INT32_MAX}); it != byDef_.end() && it->first <= hi; ++it) f(it->second);   // born in (lo, hi]
    }

   private:
    int size_ = 1;
    std::vector<std::vector<int>> nodes_;
    std::set<std::pair<int, int>> byDef_;
  };

  void planMemory() {
    auto& steps = p_.steps;
    for (size_t s = 0; s < steps.size(); ++s) {
      for (int in : steps[s].in) st_[slotStorage_[in]].last = (int)s;
      Storage& o = st_[slotStorage_[steps[s].out]];
      if (o.def < 0) o.def = (int)s;
    }
    // An accumulating matmul (Note [Product-rule GEMMs] in passes.cpp) writes over its C, a temp that
    // dies there; an update's (Note [In-place updates]) already has C's storage.
    for (size_t s = 0; s < steps.size(); ++s) {
      const Step& step = steps[s];
      if (step.op != OP_matmul || step.attrs.size() != 3 || !step.attrs[2]) continue;
      const int o = root(slotStorage_[step.out]), t = root(slotStorage_[step.in[2]]);
      if (o == t) continue;
      if (st_[o].kind != SLOT_TEMP || st_[t].kind != SLOT_TEMP || st_[o].def != (int)s || st_[t].last != (int)s || st_[t].bytes != st_[o].bytes)
        fail("compile: internal error: accumulating matmul step ", s, " cannot write over its third input");
      st_[o].mergedInto = t;
      st_[t].last = std::max(st_[t].last, st_[o].last);
    }
    // In place: an elementwise step may write over a same-sized temp input that dies at this step.
    for (size_t s = 0; caps_.inPlace && s < steps.size(); ++s) {
      const Step& step = steps[s];
      if (!isElementwiseOp(step.op) && step.op != OP_FUSED) continue;
      int o = root(slotStorage_[step.out]);
      if (st_[o].kind != SLOT_TEMP || st_[o].def != (int)s) continue;
      for (int in : step.in) {
        int t = root(slotStorage_[in]);
        if (t == o || st_[t].kind != SLOT_TEMP || st_[t].last != (int)s || st_[t].bytes != st_[o].bytes ||
            p_.slots[in].desc.numel() != p_.slots[step.out].desc.numel())
          continue;
        st_[o].mergedInto = t;
        st_[t].last = std::max(st_[t].last, st_[o].last);
        break;
      }
    }
    // Greedy by size: biggest temps first, each at the lowest offset free over its lifetime.
    std::vector<int> temps;
    for (size_t i = 0; i < st_.size(); ++i)
      if (st_[i].kind == SLOT_TEMP && st_[i].mergedInto < 0 && st_[i].def >= 0 && st_[i].bytes > 0) {
        if (st_[i].last < st_[i].def) st_[i].last = st_[i].def;
        temps.push_back((int)i);
      }
    std::stable_sort(temps.begin(), temps.end(), [&](int a, int b) { return st_[a].bytes > st_[b].bytes; });
    LifetimeIndex placed((int)steps.size());
    std::vector<std::pair<int64_t, int64_t>> busy;
    int64_t arena = 0;
    for (int t : temps) {
      Storage& x = st_[t];
      busy.clear();
      placed.overlapping(x.def, x.last, [&](int q) { busy.emplace_back(st_[q].offset, st_[q].offset + alignUp(st_[q].bytes)); });
      std::sort(busy.begin(), busy.end());
      int64_t off = 0, need = alignUp(x.bytes);   // bytes <= 2^62 (Note [Sizes]): no overflow
      for (auto& b : busy) {
        if (b.first - off >= need) break;
        off = std::max(off, b.second);
      }
      x.offset = off;
      if (off > kMaxTensorBytes - need) fail(arenaWhat(x.def), " needs more than 2^62 bytes (", off, " + ", need, ")");
      arena = std::max(arena, off + need);
      placed.add(t, x.def, x.last);
    }
    p_.arenaBytes = arena;
  }

  // For an arena that would outgrow 2^62 bytes: names the step that first writes the temp.
  std::string arenaWhat(int step) const {
    const Step& s = p_.steps[step];
    return std::string("compile: the scratch arena for the temporaries alive at step ") + std::to_string(step) + " (" +
           (s.op == OP_FUSED ? "fused" : opName(s.op)) + " -> " + descStr(p_.slots[s.out].desc) + ")";
  }

  void addDependencies() {   // Note [Dependencies]
    auto& steps = p_.steps;
    // A read: step `step` reads storage `storage`'s current value; dead once a later reader of the
    // storage waits for `step` directly.
    struct Read {
      int step, storage;
      bool live;
    };
    std::vector<Read> reads;
    std::vector<size_t> readStart(steps.size() + 1, 0);   // reads of step s: [readStart[s], readStart[s + 1])
    std::vector<int> lastWriter(st_.size(), -1);
    std::vector<std::vector<int>> readsOf(st_.size());     // indices into `reads`, since the last write
    std::vector<size_t> compactAt(st_.size(), 8);
    // Arena bytes [start, end) -> the storage placed there last (disjoint ranges, keyed by start).
    std::map<int64_t, std::pair<int64_t, int>> owner;
    std::vector<int> distinct;
    auto waitForValue = [&](int r, std::vector<int>& after) {   // the latest accesses of r's current value
      bool any = false;
      for (int i : readsOf[r])
        if (reads[i].live) {
          after.push_back(reads[i].step);
          any = true;
        }
      if (!any && lastWriter[r] >= 0) after.push_back(lastWriter[r]);
    };
    for (size_t s = 0; s < steps.size(); ++s) {
      std::vector<int>& after = steps[s].after;
      int o = root(slotStorage_[steps[s].out]);
      for (int in : steps[s].in) {   // RAW
        int r = root(slotStorage_[in]);
        if (lastWriter[r] >= 0) after.push_back(lastWriter[r]);
      }
      waitForValue(o, after);   // WAW, WAR
      const Storage& so = st_[o];
      if (so.def == (int)s && so.kind == SLOT_TEMP && so.bytes > 0) {   // arena reuse
        int64_t lo = so.offset, hi = so.offset + alignUp(so.bytes);
        auto it = owner.lower_bound(lo);
        if (it != owner.begin() && std::prev(it)->second.first > lo) --it;
        while (it != owner.end() && it->first < hi) {
          int64_t start = it->first, end = it->second.first;
          int e = it->second.second;
          waitForValue(e, after);
          it = owner.erase(it);
          if (start < lo) owner.emplace(start, std::make_pair(lo, e));   // the parts outside [lo, hi) stay e's
          if (end > hi) it = owner.emplace(hi, std::make_pair(end, e)).first;
        }
        owner.emplace(lo, std::make_pair(hi, o));
      }
      after.erase(std::remove(after.begin(), after.end(), (int)s), after.end());
      std::sort(after.begin(), after.end());
      after.erase(std::unique(after.begin(), after.end()), after.end());
      after.shrink_to_fit();
      distinct.clear();
      for (int in : steps[s].in) {
        int r = root(slotStorage_[in]);
        if (r != o && std::find(distinct.begin(), distinct.end(), r) == distinct.end()) distinct.push_back(r);
      }
      readStart[s] = reads.size();
      for (int r : distinct) {
        for (int a : after)   // reads of r that this step waits for are implied by this one
          for (size_t i = readStart[a]; i < readStart[a + 1]; ++i)
            if (reads[i].storage == r) reads[i].live = false;
        readsOf[r].push_back((int)reads.size());
        reads.push_back({(int)s, r, true});
        if (readsOf[r].size() >= compactAt[r]) {   // amortised: drop the dead entries now and then
          auto& v = readsOf[r];
          v.erase(std::remove_if(v.begin(), v.end(), [&](int i) { return !reads[i].live; }), v.end());
          compactAt[r] = std::max<size_t>(8, 2 * v.size());
        }
      }
      readStart[s + 1] = reads.size();
      lastWriter[o] = (int)s;
      readsOf[o].clear();
      compactAt[o] = 8;
    }
  }

  // The last pass: every step's normalised iteration space (Note [Step layout]), within the backend's
  // rank. A reduction whose runs would not fit was transposed by legalizeForBackend.
  void layoutSteps() {
    for (Step& s : p_.steps) {
      layoutStep(p_, &s, caps_.maxRank);
      if (isReduceOp(s.op) && caps_.maxRank > 0) {
        int kept, reduced;
        reduceRuns(s.layout, &kept, &reduced);
        if (kept > caps_.maxRank || reduced > caps_.maxRank)
          fail("compile: internal error: ", opName(s.op), " of ", descStr(p_.slots[s.in[0]].desc), " has ", kept, " kept and ", reduced,
               " reduced runs, over the backend's ", caps_.maxRank);
      }
    }
  }

  // Chains of dependent steps share a lane (a CUDA stream); a step starts a new lane when its
  // predecessors' lanes are already continued by another step.
  void assignLanes() {
    auto& steps = p_.steps;
    std::vector<char> continued(steps.size(), 0);
    int lanes = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      int pick = -1;
      for (int a : steps[s].after)
        if (!continued[a] && (pick < 0 || a > pick)) pick = a;
      if (pick >= 0) {
        continued[pick] = 1;
        steps[s].lane = steps[pick].lane;
      } else {
        steps[s].lane = lanes++;
      }
    }
    p_.numLanes = std::max(1, lanes);
  }

  const Graph::Impl& g_;
  const Capabilities& caps_;
  Program p_;
  std::vector<Storage> st_;
  std::vector<int> slotStorage_;
};

}  // namespace

// A reduction's input runs alternate between kept and reduced dims; a backend that indexes at most
// maxRank dims per launch cannot take more than maxRank runs of either kind. Such a reduction (it
// needs rank 2 * maxRank + 1 or more) becomes a transpose that moves the reduced axes last (a gather,
// whose leading dims the backend loops over on the host if need be), a reduction of the trailing
// axes (one kept and one reduced run) and a reshape to the original result's shape (an alias).
void legalizeForBackend(Graph::Impl* g, const Capabilities& caps) {
  if (caps.maxRank <= 0) return;
  auto tooManyRuns = [&](const Node& n) {
    if (!isReduceOp(n.op)) return false;
    const std::vector<int64_t>& in = g->nodes[n.in[0]].desc.shape;
    int kept, reduced;
    reduceRuns(reduceLayout(in, reduceMask(n.op, in, n.attrs)), &kept, &reduced);
    return kept > caps.maxRank || reduced > caps.maxRank;
  };
  bool any = false;
  for (const Node& n : g->nodes) any = any || tooManyRuns(n);
  if (!any) return;
  std::vector<Node> out;
  std::vector<int> remap(g->nodes.size(), -1);
  auto push = [&](int op, int x, std::vector<int64_t> attrs) {
    Node n;
    n.op = op;
    n.in = {x};
    n.attrs = std::move(attrs);
    n.desc = inferNode(op, {&out[x].desc}, n.attrs, 0);
    out.push_back(std::move(n));
    return (int)out.size() - 1;
  };
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    Node n = g->nodes[i];
    for (int& in : n.in) in = remap[in];
    if (n.op == OP_INPUT || !tooManyRuns(g->nodes[i])) {
      out.push_back(std::move(n));
      remap[i] = (int)out.size() - 1;
      continue;
    }
    const std::vector<int64_t>& shape = out[n.in[0]].desc.shape;
    const std::vector<char> mask = reduceMask(n.op, shape, n.attrs);
    std::vector<int64_t> perm, axes{0};   // keepdims 0, then the trailing (reduced) axes
    for (int pass = 0; pass < 2; ++pass)
      for (size_t d = 0; d < shape.size(); ++d)
        if ((bool)mask[d] == (pass == 1)) perm.push_back((int64_t)d);
    const int64_t keptAxes = (int64_t)(shape.size() - std::count(mask.begin(), mask.end(), 1));
    for (int64_t d = keptAxes; d < (int64_t)shape.size(); ++d) axes.push_back(d);
    int t = push(OP_transpose, n.in[0], perm);
    int r = push(n.op == OP_sumToShape ? OP_sum : n.op, t, axes);
    remap[i] = push(OP_reshape, r, n.desc.shape);
  }
  g->nodes = std::move(out);
  for (int& o : g->outputs) o = remap[o];
  for (auto& u : g->updates) u.second = remap[u.second];
  for (int& i : g->inputNodes) i = remap[i];
}

Program lowerToProgram(const Graph::Impl& g, const Capabilities& caps) { return Lowering(g, caps).run(); }

}  // namespace adjoint
