// A strict test backend (Note [Capabilities] in backend.h): the CPU backend's memory and kernels with
// other Capabilities, refusing every step beyond them, as a device with those limits would. Served
// at kTestDevice (core/devices.h), so a graph compiled there shows what the compiler made for those
// capabilities, and runs, without that device.
#pragma once

#include <string>

#include "adjoint/backend_util.h"
#include "core/devices.h"

namespace t {

// The CUDA backend's answers (cuda-kernels/src/launch_plan.cpp, cudaCapabilities).
inline adjoint::Capabilities cudaLikeCapabilities() {
  adjoint::Capabilities c;
  c.maxFusedInputs = 16;
  c.maxFusedCode = 64;
  c.maxFusedLive = 32;
  c.maxRank = 8;
  c.accumulatingGemm = false;
  c.inPlace = true;
  return c;
}

class StrictBackend : public adjoint::Backend {
 public:
  explicit StrictBackend(const adjoint::Capabilities& caps) : caps_(caps) {}
  std::string name() const override { return "strict test backend"; }
  adjoint::Capabilities capabilities() const override { return caps_; }
  void* allocate(size_t bytes) override { return cpu()->allocate(bytes); }
  void release(void* ptr) override { cpu()->release(ptr); }
  void upload(void* dst, const void* host, size_t bytes) override { cpu()->upload(dst, host, bytes); }
  void download(void* host, const void* src, size_t bytes) override { cpu()->download(host, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { cpu()->copy(dst, src, bytes); }
  void synchronize() override {}
  void execute(const adjoint::Program& p, void* const* slots, const adjoint::ExecContext& ctx) override {
    for (size_t i = 0; i < p.steps.size(); ++i) check(p, i);
    ++programs_;
    cpu()->execute(p, slots, ctx);
  }
  int programsRun() const { return programs_; }

 private:
  static adjoint::Backend* cpu() { return adjoint::cpuBackend(); }

  // Same storage or overlapping arena bytes.
  static bool overlap(const adjoint::Program& p, int x, int y) {
    const adjoint::Slot &a = p.slots[x], &b = p.slots[y];
    if (a.kind != b.kind) return false;
    if (a.kind != adjoint::SLOT_TEMP) return a.index == b.index;
    return a.offset < b.offset + b.desc.bytes() && b.offset < a.offset + a.desc.bytes();
  }

  void check(const adjoint::Program& p, size_t i) const {
    using namespace adjoint;
    const Step& s = p.steps[i];
    const std::string at = "strict backend: step " + std::to_string(i) + " (" + opLabel(s.op) + ")";
    if (s.op == OP_FUSED) {
      if ((int)s.in.size() > caps_.maxFusedInputs) fail(at, " has ", s.in.size(), " inputs, over ", caps_.maxFusedInputs);
      if ((int)s.code.size() > caps_.maxFusedCode) fail(at, " has ", s.code.size(), " instructions, over ", caps_.maxFusedCode);
      int live = fusedRegisters(s.code, (int)s.in.size());
      if (caps_.maxFusedLive > 0 && live > caps_.maxFusedLive) fail(at, " needs ", live, " registers, over ", caps_.maxFusedLive);
    }
    if (s.op == OP_matmul && s.attrs.size() == 3 && s.attrs[2] && !caps_.accumulatingGemm) fail(at, " accumulates; this backend cannot");
    if (caps_.maxRank > 0) {   // Note [Step layout]
      const int launchRank = (int)s.layout.shape.size() - s.layout.hostLoopDims;
      if (isReduceOp(s.op)) {
        int kept, reduced;
        reduceRuns(s.layout, &kept, &reduced);
        if (kept > caps_.maxRank || reduced > caps_.maxRank) fail(at, " has ", kept, " kept and ", reduced, " reduced runs, over ", caps_.maxRank);
      } else if (launchRank > caps_.maxRank) {
        fail(at, " indexes ", launchRank, " dims per launch, over ", caps_.maxRank);
      }
    }
    if (!caps_.inPlace && (s.op == OP_FUSED || isElementwiseOp(s.op)))
      for (int in : s.in)
        if (p.slots[in].desc.bytes() > 0 && p.slots[s.out].desc.bytes() > 0 && overlap(p, in, s.out)) fail(at, " writes over its input");
  }

  adjoint::Capabilities caps_;
  int programs_ = 0;
};

// Serves kTestDevice with a StrictBackend for the scope.
struct TestDeviceScope {
  StrictBackend backend;
  explicit TestDeviceScope(const adjoint::Capabilities& caps) : backend(caps) { adjoint::setTestBackend(&backend); }
  ~TestDeviceScope() { adjoint::setTestBackend(nullptr); }
};

}  // namespace t
