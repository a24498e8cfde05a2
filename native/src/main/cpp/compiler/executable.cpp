// Executable: compile once, run many times.
//
// Note [Compile pipeline]: validate (done by Graph::addNode) -> DCE -> simplify (CSE, algebraic
// rules, constant folding) -> DCE -> [accumulatingGemm: fold updates into gemms] -> elementwise
// fusion -> legalisation (reductions within the backend's rank) -> lowering (slots, in-place, arena
// packing, dependencies, lanes, step layouts: Note [Step layout]). The passes read the
// backend's Capabilities (Note [Capabilities] in backend.h) and never its device number: the update
// folding (Note [GEMM updates] in passes.cpp) runs only for a backend with an accumulating gemm,
// fusion keeps fused steps within the backend's limits, and in-place writes need inPlace.
#include <algorithm>
#include <atomic>
#include <memory>

#include "compiler/ir.h"
#include "core/devices.h"

namespace adjoint {

static std::atomic<bool> gOptimize{true};

void setOptimize(bool on) { gOptimize.store(on); }
bool optimize() { return gOptimize.load(); }

struct Executable::Impl {
  int device = kCpu;
  Backend* backend = nullptr;
  // Immutable after compile; shared by every instance made with the copy constructor.
  std::shared_ptr<const Program> shared;
  const Program& program() const { return *shared; }
  std::vector<TensorDesc> inputDescs, outputDescs;
  std::vector<Buffer*> inputs;                      // borrowed, set by setInput
  std::vector<Buffer*> boundOutputs;                // borrowed, set by setOutput
  std::vector<std::unique_ptr<Buffer>> ownOutputs;  // allocated by run, until takeOutput
  std::vector<void*> slotPtrs;
  void* arena = nullptr;
  int64_t runAllocations = 0;

  void resetRunState() {
    inputs.assign(inputDescs.size(), nullptr);
    boundOutputs.assign(outputDescs.size(), nullptr);
    ownOutputs.clear();
    ownOutputs.resize(outputDescs.size());
    slotPtrs.assign(program().slots.size(), nullptr);
  }

  void checkBuffer(const char* what, int i, const Buffer* b, const TensorDesc& want) const {
    if (b->device() != device)
      fail(what, " ", i, ": expected a buffer on device ", device, " (", deviceLabel(device), "), got device ", b->device(), " (",
           deviceLabel(b->device()), ")");
    if (b->dtype() != want.dtype || b->shape() != want.shape)
      fail(what, " ", i, ": expected ", descStr(want), ", got ", dtypeName(b->dtype()), " ", shapeStr(b->shape()));
  }
};

Executable::Executable(const Graph& graph, int device) : impl_(nullptr) {
  auto impl = std::make_unique<Impl>();
  impl->device = device;
  impl->backend = backendFor(device);
  Graph::Impl g = *graph.impl();
  if (g.outputs.empty() && g.updates.empty()) fail("compile: the graph has no outputs and no updates");
  for (int i : g.inputNodes) impl->inputDescs.push_back(g.nodes[i].desc);
  for (int o : g.outputs) impl->outputDescs.push_back(g.nodes[o].desc);
  const Capabilities caps = impl->backend->capabilities();   // Note [Capabilities]
  eliminateDeadCode(&g);
  if (gOptimize.load()) {
    simplify(&g);
    eliminateDeadCode(&g);
    if (caps.accumulatingGemm) {
      foldGemmUpdates(&g);
      foldProductGemms(&g);
    }
    fuseElementwise(&g, caps);
  }
  legalizeForBackend(&g, caps);
  impl->shared = std::make_shared<const Program>(lowerToProgram(g, caps));
  impl->resetRunState();
  impl_ = impl.release();
}

// Note [Instances]: the compiled Program is immutable and shared; the run state (bound buffers, taken
// outputs, the scratch arena) is per instance. Concurrent or re-entrant runs of one compiled graph
// (a host callback that calls its own cell) each use their own instance, made with this constructor
// at the cost of one small allocation, never each other's in-flight buffers.
Executable::Executable(const Executable& prototype) : impl_(nullptr) {
  auto impl = std::make_unique<Impl>();
  impl->device = prototype.impl_->device;
  impl->backend = prototype.impl_->backend;
  impl->shared = prototype.impl_->shared;
  impl->inputDescs = prototype.impl_->inputDescs;
  impl->outputDescs = prototype.impl_->outputDescs;
  impl->resetRunState();
  impl_ = impl.release();
}

Executable::~Executable() {
  if (!impl_) return;
  try {
    if (impl_->arena) impl_->backend->release(impl_->arena);
  } catch (...) {
    // Note [Errors]: never let an exception escape a destructor.
  }
  delete impl_;
}

int Executable::numInputs() const { return (int)impl_->inputDescs.size(); }
int Executable::numOutputs() const { return (int)impl_->outputDescs.size(); }

static const TensorDesc& outDesc(const Executable::Impl* impl, int i, const char* what) {
  if (i < 0 || i >= (int)impl->outputDescs.size()) fail(what, ": output ", i, " does not exist (", impl->outputDescs.size(), " outputs)");
  return impl->outputDescs[i];
}

int Executable::outputDtype(int i) const { return outDesc(impl_, i, "outputDtype").dtype; }
int Executable::outputRank(int i) const { return (int)outDesc(impl_, i, "outputRank").shape.size(); }
int64_t Executable::outputDim(int i, int axis) const {
  const TensorDesc& d = outDesc(impl_, i, "outputDim");
  if (axis < 0 || axis >= (int)d.shape.size()) fail("outputDim: axis ", axis, " out of range for output ", i, " of shape ", shapeStr(d.shape));
  return d.shape[axis];
}

void Executable::setInput(int i, Buffer* buffer) {
  if (i < 0 || i >= numInputs()) fail("setInput: input ", i, " does not exist (", numInputs(), " inputs)");
  impl_->inputs[i] = buffer;
}

void Executable::setOutput(int i, Buffer* buffer) {
  outDesc(impl_, i, "setOutput");
  if (buffer) impl_->checkBuffer("output", i, buffer, impl_->outputDescs[i]);
  impl_->boundOutputs[i] = buffer;
  if (buffer) impl_->ownOutputs[i].reset();
}

void Executable::run() {
  Impl& x = *impl_;
  for (size_t i = 0; i < x.inputs.size(); ++i) {
    if (!x.inputs[i]) fail("input ", i, " was not set");
    x.checkBuffer("input", (int)i, x.inputs[i], x.inputDescs[i]);
  }
  for (size_t k = 0; k < x.outputDescs.size(); ++k) {
    if (x.boundOutputs[k]) {
      x.checkBuffer("output", (int)k, x.boundOutputs[k], x.outputDescs[k]);
      // A buffer bound as an output while also read as an input (or bound twice as an output) would
      // be overwritten while it is read: on the CPU a wrong result, on CUDA silent corruption.
      for (size_t i = 0; i < x.inputs.size(); ++i)
        if (x.inputs[i] == x.boundOutputs[k] || x.inputs[i]->data() == x.boundOutputs[k]->data())
          fail("output ", k, " is bound to the buffer of input ", i, ": an output must not alias an input");
      for (size_t j = 0; j < k; ++j)
        if (x.boundOutputs[j] && x.boundOutputs[j]->data() == x.boundOutputs[k]->data())
          fail("outputs ", j, " and ", k, " are bound to the same buffer");
    } else if (!x.ownOutputs[k]) {
      const TensorDesc& d = x.outputDescs[k];
      x.ownOutputs[k].reset(new Buffer(x.device, d.dtype, d.shape.data(), (int)d.shape.size()));
    }
  }
  x.runAllocations = 0;
  const Program& program = x.program();
  if (program.arenaBytes > 0 && !x.arena) {   // lazily, once: later runs reuse it
    x.arena = x.backend->allocate((size_t)program.arenaBytes);
    x.runAllocations = 1;
  }
  for (size_t s = 0; s < program.slots.size(); ++s) {
    const Slot& slot = program.slots[s];
    switch (slot.kind) {
      case SLOT_INPUT: x.slotPtrs[s] = x.inputs[slot.index]->data(); break;
      case SLOT_OUTPUT: x.slotPtrs[s] = x.boundOutputs[slot.index] ? x.boundOutputs[slot.index]->data() : x.ownOutputs[slot.index]->data(); break;
      default: x.slotPtrs[s] = (char*)x.arena + slot.offset; break;
    }
  }
  ExecContext ctx;
  ctx.hostCallback = currentHostCallback();
  x.backend->execute(program, x.slotPtrs.data(), ctx);
}

Buffer* Executable::takeOutput(int i) {
  outDesc(impl_, i, "takeOutput");
  if (impl_->boundOutputs[i]) fail("takeOutput: output ", i, " is written into the buffer given to setOutput; read that buffer instead");
  if (!impl_->ownOutputs[i]) fail("takeOutput: output ", i, " is not available (run() has not produced it, or it was already taken)");
  return impl_->ownOutputs[i].release();
}

void Executable::runWith(Buffer** io) {
  Impl& x = *impl_;
  const size_t ni = x.inputs.size(), no = x.outputDescs.size();
  for (size_t k = 0; k < no; ++k)
    if (x.boundOutputs[k]) fail("runWith: output ", k, " is bound with setOutput; runWith returns fresh outputs");
  // The buffers are borrowed for this call only: unbound again however it ends, so that no later run
  // of this instance can read or write a buffer Java has freed since.
  struct Unbind {
    Impl& x;
    ~Unbind() {
      std::fill(x.inputs.begin(), x.inputs.end(), nullptr);
      std::fill(x.boundOutputs.begin(), x.boundOutputs.end(), nullptr);
    }
  } unbind{x};
  for (size_t i = 0; i < ni; ++i) x.inputs[i] = io[i];
  for (size_t k = 0; k < no; ++k) x.boundOutputs[k] = io[ni + k];   // checked by run(), as setOutput's
  run();
  for (size_t k = 0; k < no; ++k)
    if (!io[ni + k]) io[ni + k] = x.ownOutputs[k].release();
}

int Executable::numSteps() const { return (int)impl_->program().steps.size(); }
int64_t Executable::arenaBytes() const { return impl_->program().arenaBytes; }
int64_t Executable::runAllocations() const { return impl_->runAllocations; }

std::string Executable::describe() const {
  const Program& p = impl_->program();
  auto slotName = [&](int s) {
    const Slot& sl = p.slots[s];
    std::string k = sl.kind == SLOT_INPUT ? "in" + std::to_string(sl.index)
                    : sl.kind == SLOT_OUTPUT ? "out" + std::to_string(sl.index)
                                             : "tmp@" + std::to_string(sl.offset);
    return k;
  };
  std::string r;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    r += std::to_string(i) + ": " + opName(s.op);
    if (s.op == OP_FUSED) {
      r += "[";
      for (size_t k = 0; k < s.code.size(); ++k) r += (k ? " " : "") + std::string(opName(s.code[k].op));
      r += "]";
    }
    r += "(";
    for (size_t k = 0; k < s.in.size(); ++k) r += (k ? ", " : "") + slotName(s.in[k]);
    r += ") -> " + slotName(s.out) + " " + descStr(p.slots[s.out].desc) + " lane " + std::to_string(s.lane);
    if (s.layout.hostLoopDims > 0) r += " hostLoop " + std::to_string(s.layout.hostLoopDims);
    if (!s.after.empty()) {
      r += " after";
      for (int a : s.after) r += " " + std::to_string(a);
    }
    r += "\n";
  }
  return r;
}

}  // namespace adjoint
