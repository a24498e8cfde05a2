// The seam between the engine's compiler and the devices that run its output.
//
// The engine compiles a Graph into a Program (a list of steps over numbered slots, with a memory plan
// and a schedule); a Backend allocates memory and executes Programs. The CPU backend lives in the
// engine; the CUDA backend is a separate shared library (cuda-kernels) that the engine opens with
// dlopen and asks for a Backend through ADJOINT_BACKEND_ENTRY. The CPU build never links CUDA.
//
// Both sides are compiled by the same g++ against the same libstdc++, so std::vector/std::string may
// cross; ADJOINT_BACKEND_ABI is bumped whenever anything in this file changes. The op table is part of
// the ABI too (kernel ids, OP_FUSED): its size is folded in, so a backend built against another
// ops.def is refused at load time without anyone remembering to bump.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adjoint/engine.h"

namespace adjoint {

enum { ADJOINT_BACKEND_ABI = 3 * 1000 + OP_COUNT };

struct TensorDesc {
  int dtype = kFloat32;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t bytes() const { return numel() * dtypeSize(dtype); }
};

// One instruction of a fused elementwise step. Registers: r < numInputs of the step is input r (read
// at the current element, or at element 0 when that input has numel 1); r >= numInputs is the result
// of instruction r - numInputs. op is a unary or binary elementwise Op (b = -1 for unary) or OP_fill
// (a = b = -1; the constant is `scalar`). The step's output is the last instruction's result.
// In a step with StepLayout::groups G > 1 (Capabilities::fusedLeadingSums) exactly one instruction is
// OP_sum (b = -1): the instructions before it run once per group g = 0..G-1, reading each grouped input
// at g * n onwards; OP_sum adds register a over the groups, in order from 0 (the bits of a sum over the
// leading G rows); the instructions after it run once and read no grouped input and no register from
// before it other than an OP_fill.
struct FusedInstr {
  int op;
  int a;
  int b;
  double scalar;
};

enum { OP_FUSED = OP_COUNT };  // Step::op of a fused elementwise step

// Note [Step layout]: the compiler's last pass (layoutStep in backend_util.h, run by lowering.cpp)
// writes each step's iteration space, normalised, so no backend derives it at run time:
//  * elementwise steps (unary, binary, fused), transpose and broadcastTo: `shape` is the output's
//    dims with size-1 dims dropped and neighbours merged where they are contiguous for every
//    operand, outermost first (empty: one element); strides[k] is input k's element stride per dim,
//    0 where it is broadcast (transpose: the permutation resolved into input strides; fused: 1, or 0
//    for an input of one element). The output is dense row-major over `shape`.
//  * reductions (sum, mean, max, sumToShape): `shape` is the input's runs of kept and reduced dims
//    (size-1 dims dropped, neighbours of the same kind merged), `reduced` marks the reduced runs and
//    strides[0] holds the input's dense strides per run; the output is dense over the kept runs.
//  * other steps (identity, reshape, fill, onesLike, zerosLike, matmul, callback): empty.
// hostLoopDims: for a backend whose kernels index at most Capabilities::maxRank dims, the leading
// hostLoopDims dims of an elementwise or gather step are a loop on the host, one launch per index
// (forEachHostIndex); a reduction never needs one (the compiler transposes its input first when its
// runs would not fit: legalizeForBackend in compiler/lowering.cpp).
struct StepLayout {
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> strides;   // per input
  std::vector<char> reduced;                   // reductions: per run
  int hostLoopDims = 0;
  // Fused steps only, empty or one per input: 0, or P for an input of P elements read at element
  // i mod P (its shape is a suffix of the output's; Capabilities::fusedPeriodicInputs).
  std::vector<int64_t> periods;
  // Fused steps with an OP_sum instruction only: the number of groups G summed over, and per input 0
  // or n, the output's numel (a grouped input holds G * n elements, group g from element g * n).
  int64_t groups = 1;
  std::vector<int64_t> groupStrides;
};

// A matmul step's attrs are [transposeA, transposeB] (or empty) as in ops.def, except for one form
// the compiler emits only for a backend with Capabilities::accumulatingGemm (Note [GEMM updates] in
// compiler/passes.cpp): attrs [transposeA, transposeB, 1], in = [a, b, c] with c's slot == out,
// scalar = alpha: out = c + alpha * op(a) op(b) (gemm with beta = 1, in place).
struct Step {
  int op = OP_identity;           // an Op, or OP_FUSED
  std::vector<int> in;            // slot ids
  int out = -1;                   // slot id
  std::vector<int64_t> attrs;     // as given to Graph::addNode (but see matmul above)
  double scalar = 0;
  std::vector<FusedInstr> code;   // OP_FUSED only
  StepLayout layout;              // Note [Step layout]
  std::vector<int> after;         // steps (indices into Program::steps) that must finish first
  int lane = 0;                   // stream / worker lane chosen by the scheduler
};

enum SlotKind { SLOT_INPUT = 0, SLOT_OUTPUT = 1, SLOT_TEMP = 2 };

struct Slot {
  TensorDesc desc;
  int kind = SLOT_TEMP;
  int index = -1;       // SLOT_INPUT / SLOT_OUTPUT: which input or output
  int64_t offset = 0;   // SLOT_TEMP: byte offset into the executable's arena (64-byte aligned)
};

struct Program {
  std::vector<Slot> slots;
  std::vector<Step> steps;    // in a valid sequential order
  int64_t arenaBytes = 0;
  int numLanes = 1;
};

struct ExecContext {
  HostCallback hostCallback = nullptr;
};

// Note [Capabilities]: what a backend can run, asked by the compiler, which shapes the Program to fit
// (as ggml's scheduler asks ggml_backend_supports_op): fusion grows groups only within the fused-step
// limits and splits them where they are reached; the update folding into gemms runs only where
// accumulatingGemm; the memory plan writes elementwise results over dying inputs only where inPlace;
// the step layouts leave at most maxRank dims per launch (Note [Step layout]).
// No backend's limits are written into the compiler, so a graph that compiles for a device runs there.
struct Capabilities {
  int maxFusedInputs = 16;         // inputs of one fused step
  int maxFusedCode = 64;           // instructions of one fused step
  int maxFusedLive = 0;            // registers of one fused step (fusedRegisters in backend_util.h); 0: any
  int maxRank = 0;                 // dims one launch indexes (Note [Step layout]); 0: any
  bool accumulatingGemm = false;   // matmul attrs [tA, tB, 1]: out = c + alpha op(a) op(b) (Note [GEMM updates])
  bool inPlace = false;            // an elementwise step may write over a same-sized input that dies there
  // A fused step may read an input whose shape is a suffix of its output's (a bias [K] in [M, K], a
  // [N, K] in [2, N, K]) at element i mod its numel (StepLayout::periods; Note [Fusion rules]).
  bool fusedPeriodicInputs = false;
  // A fused step may end a tree of exact elementwise ops over [G, n] in a sum over the G leading rows
  // (FusedInstr OP_sum, StepLayout::groups; Note [Leading sums] in compiler/fusion.cpp).
  bool fusedLeadingSums = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Capabilities capabilities() const = 0;   // constant for the backend's lifetime
  virtual void* allocate(size_t bytes) = 0;       // throws Error when out of memory
  virtual void release(void* ptr) = 0;
  virtual void upload(void* dst, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // Runs every step; slot i lives at slots[i]. Returns once all work is complete; errors raised by
  // asynchronous work are thrown from here as Error, never lost.
  virtual void execute(const Program& program, void* const* slots, const ExecContext& ctx) = 0;
  virtual void synchronize() = 0;
};

}  // namespace adjoint

// Exported by a backend library with C linkage.
//   int adjoint_backend_abi();                       returns ADJOINT_BACKEND_ABI
//   int adjoint_backend_device_count(char* err, size_t errLen);   -1 and a message on failure
//   adjoint::Backend* adjoint_backend_create(int ordinal, char* err, size_t errLen);  nullptr on failure
//   void adjoint_backend_device_name(int ordinal, char* out, size_t outLen);
#define ADJOINT_BACKEND_ABI_SYMBOL "adjoint_backend_abi"
#define ADJOINT_BACKEND_COUNT_SYMBOL "adjoint_backend_device_count"
#define ADJOINT_BACKEND_CREATE_SYMBOL "adjoint_backend_create"
#define ADJOINT_BACKEND_NAME_SYMBOL "adjoint_backend_device_name"
