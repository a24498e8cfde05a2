#include "compiler/ir.h"

namespace adjoint {

Graph::Graph() : impl_(new Impl) {}
Graph::~Graph() { delete impl_; }

int Graph::addInput(int dtype, const int64_t* shape, int rank) {
  if (!validDtype(dtype)) fail("addInput: unknown dtype ", dtype);
  if (rank < 0 || (rank > 0 && !shape)) fail("addInput: invalid rank ", rank);
  Node n;
  n.desc.dtype = dtype;
  n.desc.shape.assign(shape, shape + rank);
  checkShape("addInput", n.desc.shape, dtype);   // Note [Sizes]
  n.inputIndex = (int)impl_->inputNodes.size();
  impl_->nodes.push_back(std::move(n));
  impl_->inputNodes.push_back((int)impl_->nodes.size() - 1);
  return (int)impl_->nodes.size() - 1;
}

int Graph::addNode(int op, const int* inputs, int numInputs, const int64_t* attrs, int numAttrs, double scalar) {
  if (op < 0 || op >= OP_COUNT) fail("addNode: unknown op id ", op, " (the engine has ", (int)OP_COUNT, " ops)");
  if (numInputs < 0 || (numInputs > 0 && !inputs)) fail(opName(op), ": invalid input count ", numInputs);
  if (numAttrs < 0 || (numAttrs > 0 && !attrs)) fail(opName(op), ": invalid attr count ", numAttrs);
  Node n;
  n.op = op;
  n.in.assign(inputs, inputs + numInputs);
  n.attrs.assign(attrs, attrs + numAttrs);
  n.scalar = scalar;
  std::vector<const TensorDesc*> descs;
  for (int i = 0; i < numInputs; ++i) {
    if (n.in[i] < 0 || n.in[i] >= (int)impl_->nodes.size())
      fail(opName(op), ": input ", i, " refers to node ", n.in[i], ", but the graph has ", impl_->nodes.size(), " nodes");
    descs.push_back(&impl_->nodes[n.in[i]].desc);
  }
  n.desc = inferNode(op, descs, n.attrs, scalar);
  checkShape(opName(op), n.desc.shape, n.desc.dtype);   // Note [Sizes]: fill, broadcastTo, matmul, broadcasting...
  impl_->nodes.push_back(std::move(n));
  return (int)impl_->nodes.size() - 1;
}

static void checkNode(const Graph::Impl* g, int node, const char* what) {
  if (node < 0 || node >= (int)g->nodes.size())
    fail(what, ": node ", node, " does not exist (the graph has ", g->nodes.size(), " nodes)");
}

void Graph::addOutput(int node) {
  checkNode(impl_, node, "addOutput");
  impl_->outputs.push_back(node);
}

void Graph::addUpdate(int inputIndex, int node) {
  checkNode(impl_, node, "addUpdate");
  if (inputIndex < 0 || inputIndex >= (int)impl_->inputNodes.size())
    fail("addUpdate: input ", inputIndex, " does not exist (the graph has ", impl_->inputNodes.size(), " inputs)");
  for (auto& u : impl_->updates)
    if (u.first == inputIndex) fail("addUpdate: input ", inputIndex, " already has an update");
  const TensorDesc& in = impl_->nodes[impl_->inputNodes[inputIndex]].desc;
  const TensorDesc& v = impl_->nodes[node].desc;
  if (in.dtype != v.dtype || in.shape != v.shape)
    fail("addUpdate: input ", inputIndex, " is ", descStr(in), " but node ", node, " is ", descStr(v));
  impl_->updates.emplace_back(inputIndex, node);
}

int Graph::numNodes() const { return (int)impl_->nodes.size(); }
int Graph::numInputs() const { return (int)impl_->inputNodes.size(); }
int Graph::numOutputs() const { return (int)impl_->outputs.size(); }

int Graph::nodeDtype(int node) const {
  checkNode(impl_, node, "nodeDtype");
  return impl_->nodes[node].desc.dtype;
}

int Graph::nodeRank(int node) const {
  checkNode(impl_, node, "nodeRank");
  return (int)impl_->nodes[node].desc.shape.size();
}

int64_t Graph::nodeDim(int node, int axis) const {
  checkNode(impl_, node, "nodeDim");
  const auto& s = impl_->nodes[node].desc.shape;
  if (axis < 0 || axis >= (int)s.size()) fail("nodeDim: axis ", axis, " out of range for node ", node, " of shape ", shapeStr(s));
  return s[axis];
}

}  // namespace adjoint
