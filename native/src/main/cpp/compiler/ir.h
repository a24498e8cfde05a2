// The compiler's graph form: Graph::Impl, shared by graph building, the passes, fusion and lowering.
//
// Note [Node order]: nodes are kept in topological order (every input id is smaller than the node's
// own id). Graph::addNode guarantees it, and every pass rebuilds the node list front to back, so
// passes can walk forwards for rewriting and backwards for use counting without a sort.
#pragma once

#include <utility>
#include <vector>

#include "core/common.h"

namespace adjoint {

enum { OP_INPUT = -1 };   // Node::op of a graph input

struct Node {
  int op = OP_INPUT;
  std::vector<int> in;
  std::vector<int64_t> attrs;
  double scalar = 0;
  TensorDesc desc;
  int inputIndex = -1;              // OP_INPUT only
  std::vector<FusedInstr> code;     // OP_FUSED only (after fusion)
};

}  // namespace adjoint

struct adjoint::Graph::Impl {
  std::vector<Node> nodes;
  std::vector<int> inputNodes;                   // node id of input i
  std::vector<int> outputs;                      // node ids
  std::vector<std::pair<int, int>> updates;      // (input index, node id)
};

namespace adjoint {

// shape.cpp: infers (and checks) the result of `op`; throws Error naming the op, input and shapes.
TensorDesc inferNode(int op, const std::vector<const TensorDesc*>& in, const std::vector<int64_t>& attrs, double scalar);


// The compile pipeline (Note [Compile pipeline] in executable.cpp).
void eliminateDeadCode(Graph::Impl* g);      // passes.cpp
void simplify(Graph::Impl* g);               // passes.cpp: CSE, algebraic rules, constant folding
// The passes below take the backend's Capabilities (Note [Capabilities] in backend.h); nothing in
// this directory includes a backend's headers.
void foldGemmUpdates(Graph::Impl* g);        // passes.cpp, only for accumulatingGemm: p <- p - c * matmul as one gemm
void foldProductGemms(Graph::Impl* g);       // passes.cpp, only for accumulatingGemm: matmul + matmul as one accumulating gemm
void fuseElementwise(Graph::Impl* g, const Capabilities& caps);        // fusion.cpp
void legalizeForBackend(Graph::Impl* g, const Capabilities& caps);      // lowering.cpp: reductions within maxRank
Program lowerToProgram(const Graph::Impl& g, const Capabilities& caps);   // lowering.cpp: slots, memory plan, schedule, step layouts

}  // namespace adjoint
