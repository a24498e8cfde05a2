// One pass of a fused elementwise step (FusedInstr code, see backend.h).
//
// The output is processed tile by tile; each instruction runs a vectorised loop over the tile into a
// small per-thread scratch register (a few KiB, so it stays in L1) and only the last instruction
// writes memory. Registers whose operands are all constants (inputs with numel 1, fill) are
// computed for one element and read with stride 0, which also makes `fill` free.
// A periodic input (StepLayout::periods: P elements read at element i mod P, a suffix broadcast such
// as a bias) shorter than a tile is replicated once per call into a per-thread buffer of tile + P
// elements, from which every tile reads contiguously at offset (base mod P); a longer one is read in
// place, except by a tile it wraps in, which reads a per-thread copy of the two pieces. Tiles keep
// their absolute alignment either way, so a fused step splits its loops into vector body and scalar
// tail exactly where the unfused steps do: the same bits (libmvec's vector and scalar tanh can
// differ in the last bit).
// A step with a leading sum (StepLayout::groups G > 1, one OP_sum instruction; Note [Leading sums] in
// compiler/fusion.cpp) runs, per tile, the code before OP_sum once per group with each grouped input
// advanced by g * n, adds the summed register into an accumulator tile that starts at 0 (the order
// and bits of the unfused [G, n] -> [n] sum), then runs the code after OP_sum once.
#include <algorithm>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

constexpr int64_t kTileBytes = 4096;

struct Reg {
  int stride;     // 0: one value (constant over the tile), 1: a full tile
  int scratch;    // scratch register holding it, or -1 for a step input
};

// Note [One-element fused steps]: a step of one element (scalars, shape [1]: the per-call workload
// W5 in bench/) runs its code on one value per register, calling the same tile functions with a
// length of 1 as the tiled loop below would, so the bits are the same; it skips the register
// allocation, the scratch tiles and the parallelFor, which cost several times the arithmetic there.
template <class T>
void fusedOne(const std::vector<FusedInstr>& code, const std::vector<const void*>& in, T* y) {
  const int numIn = (int)in.size(), numCode = (int)code.size();
  T v[kMaxFusedInputs + kMaxFusedCode];
  for (int r = 0; r < numIn; ++r) v[r] = *(const T*)in[r];
  for (int i = 0; i < numCode; ++i) {
    const FusedInstr& f = code[i];
    T* dst = v + numIn + i;
    if (f.op == OP_fill) *dst = (T)f.scalar;
    else if (f.b < 0) unaryTile(f.op, v + f.a, dst, 1);
    else binaryTile(f.op, v + f.a, 0, v + f.b, 0, dst, 1);
  }
  *y = v[numIn + numCode - 1];
}

template <class T>
void fusedT(const std::vector<FusedInstr>& code, const StepLayout& l, const std::vector<const void*>& in, int64_t n, T* y) {
  const int numIn = (int)in.size();
  const int numCode = (int)code.size();
  int sumAt = -1;   // the OP_sum instruction of a step with groups (checked by fused())
  for (int i = 0; i < numCode; ++i)
    if (code[i].op == OP_sum) sumAt = i;
  const int64_t groups = sumAt >= 0 ? l.groups : 1;
  if (n == 1 && sumAt < 0) return fusedOne(code, in, y);   // Note [One-element fused steps]
  const int64_t tile = kTileBytes / (int64_t)sizeof(T);
  // Register allocation (per call, code is short): each result takes a scratch slot that is freed
  // after its last use, so a long chain needs only a handful of tiles.
  Reg regs[kMaxFusedInputs + kMaxFusedCode];
  int lastUse[kMaxFusedInputs + kMaxFusedCode];
  std::fill(lastUse, lastUse + numIn + numCode, -1);
  for (int i = 0; i < numCode; ++i) {
    if (code[i].a >= 0) lastUse[code[i].a] = i;
    if (code[i].b >= 0) lastUse[code[i].b] = i;
  }
  for (int r = 0; r < numIn; ++r) regs[r] = {l.shape.empty() ? 0 : (int)l.strides[r][0], -1};   // 1: read linearly, 0: element 0
  int freeSlots[kMaxFusedCode + 1], numFree = 0, scratchCount = 0;
  // The accumulator of a leading sum has a slot of its own: it lives across the groups' passes over
  // the code before it, whose slots are reused in every pass.
  const int accSlot = sumAt >= 0 ? scratchCount++ : -1;
  for (int i = 0; i < numCode; ++i) {
    const FusedInstr& f = code[i];
    int stride = f.op == OP_fill ? 0 : regs[f.a].stride | (f.b >= 0 ? regs[f.b].stride : 0);
    // Operands dying here give their slot back first: the tile loops read element i before they
    // write element i, so a result may overwrite its own operand.
    if (f.a >= numIn && lastUse[f.a] == i) freeSlots[numFree++] = regs[f.a].scratch;
    if (f.b >= numIn && f.b != f.a && lastUse[f.b] == i) freeSlots[numFree++] = regs[f.b].scratch;
    if (i == sumAt) {
      regs[numIn + i] = {1, accSlot};
      continue;
    }
    int slot = numFree > 0 ? freeSlots[--numFree] : scratchCount++;
    regs[numIn + i] = {stride, slot};
  }
  const Reg* R = regs;
  // Note [Streaming stores]: an output far bigger than the caches is written with non-temporal
  // stores (no read for ownership, no eviction of useful lines). With plain stores the output
  // writes come as a burst after each tile's compute, so memory and compute do not overlap;
  // streamed, they do (bench/RESULTS.md, "Engine-internal measurements", has the figures). The
  // last instruction then fills a scratch tile, which is streamed out. Tiles are aligned to
  // absolute multiples of `tile` (4 KiB) so every streamed tile but a chunk's first and last starts
  // on a cache line. The reads are the other half: a streamed step with a transcendental op has
  // that op prefetch the linearly read inputs kPrefetchAheadBytes ahead (Note [Prefetch] in
  // kernels.h); cheap ops keep up with the hardware prefetcher and get none.
  const bool stream = (int64_t)(n * sizeof(T)) >= streamingThresholdBytes();
  int prefetchAt = -1;   // the instruction that prefetches: the first unary transcendental one (a
                         // mathTile; binary tiles take no prefetch) over full tiles
  for (int i = 0; i < numCode && stream && prefetchAt < 0 && sumAt < 0; ++i)
    if (isUnaryOp(code[i].op) && isTranscendentalOp(code[i].op) && R[numIn + i].stride) prefetchAt = i;
  int prefetchInputs[Prefetch::kMaxStreams], numPrefetch = 0;
  for (int r = 0; r < numIn && numPrefetch < Prefetch::kMaxStreams && prefetchAt >= 0; ++r)
    if (R[r].stride && (l.periods.empty() || l.periods[r] == 0)) prefetchInputs[numPrefetch++] = r;   // periodic: cached
  const int64_t ahead = kPrefetchAheadBytes / (int64_t)sizeof(T);
  const int outScratch = stream ? scratchCount : -1;
  const int scratchTiles = scratchCount + (stream ? 1 : 0);
  const bool periodic = !l.periods.empty();
  auto runRange = [&](int64_t lo, int64_t hi) {
    // Note: per-thread scratch, grown once and then reused for every later run (not arena memory,
    // because the number of threads is not known at compile time).
    thread_local std::vector<T> scratch;
    if ((int64_t)scratch.size() < scratchTiles * tile + 64 / (int64_t)sizeof(T)) scratch.resize(scratchTiles * tile + 64 / sizeof(T));
    T* sbase = scratch.data();
    sbase += ((64 - ((uintptr_t)sbase & 63)) & 63) / sizeof(T);   // 64-byte aligned tiles
    const T* inputs[kMaxFusedInputs];
    T* repl[kMaxFusedInputs] = {};   // short periodic inputs: replicated; long ones: a tile for wraps
    if (periodic) {
      thread_local std::vector<T> replicas;
      int64_t need = 0;
      for (int r = 0; r < numIn; ++r)
        if (l.periods[r] > 0) need += l.periods[r] < tile ? tile + l.periods[r] : tile;
      if ((int64_t)replicas.size() < need) replicas.resize(need);
      T* at = replicas.data();
      for (int r = 0; r < numIn; ++r) {
        const int64_t P = l.periods[r];
        if (P <= 0) continue;
        repl[r] = at;
        if (P >= tile) {
          at += tile;
          continue;
        }
        const T* x = (const T*)in[r];
        for (int64_t j = 0; j < tile + P; j += P) std::copy(x, x + std::min(P, tile + P - j), at + j);
        at += tile + P;
      }
    }
    for (int64_t base = lo, end; base < hi; base = end) {
      end = std::min(hi, (base / tile + 1) * tile);
      int64_t len = end - base;
      for (int r = 0; r < numIn; ++r) {
        const int64_t P = periodic ? l.periods[r] : 0;
        if (P <= 0) {
          inputs[r] = (const T*)in[r] + (R[r].stride ? base : 0);
        } else if (P < tile) {
          inputs[r] = repl[r] + base % P;
        } else {
          const T* x = (const T*)in[r];
          const int64_t at = base % P, first = std::min(len, P - at);
          if (first == len) {
            inputs[r] = x + at;
          } else {   // wraps inside this tile: its two pieces, copied together
            std::copy(x + at, x + P, repl[r]);
            std::copy(x, x + (len - first), repl[r] + first);
            inputs[r] = repl[r];
          }
        }
      }
      const T* const* cur = inputs;
      auto ptr = [&](int r) -> const T* { return r < numIn ? cur[r] : sbase + R[r].scratch * tile; };
      Prefetch pf;   // the same elements `ahead` further on, while they are still this range's
      if (prefetchAt >= 0 && end + ahead <= hi)
        for (int k = 0; k < numPrefetch; ++k) pf.at[pf.count++] = (const char*)(inputs[prefetchInputs[k]] + ahead);
      auto runCode = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
          const FusedInstr& f = code[i];
          const Reg& out = R[numIn + i];
          bool last = i == numCode - 1;
          int64_t m = out.stride ? len : 1;
          T* dst = last && out.stride ? (stream ? sbase + outScratch * tile : y + base) : sbase + out.scratch * tile;
          if (f.op == OP_fill) {
            dst[0] = (T)f.scalar;
          } else if (f.b < 0) {
            unaryTile(f.op, ptr(f.a), dst, m, i == prefetchAt && pf.count ? &pf : nullptr);
          } else {
            binaryTile(f.op, ptr(f.a), m == 1 ? 0 : R[f.a].stride, ptr(f.b), m == 1 ? 0 : R[f.b].stride, dst, m);
          }
          if (last && !out.stride) std::fill(y + base, y + base + len, dst[0]);
          else if (last && stream) streamStore(y + base, dst, len * (int64_t)sizeof(T));
        }
      };
      if (sumAt < 0) {
        runCode(0, numCode);
        continue;
      }
      T* acc = sbase + accSlot * tile;
      std::fill(acc, acc + len, T(0));
      const T* shifted[kMaxFusedInputs];
      for (int64_t g = 0; g < groups; ++g) {
        for (int r = 0; r < numIn; ++r) shifted[r] = inputs[r] + (l.groupStrides[r] ? g * l.groupStrides[r] : 0);
        cur = shifted;
        runCode(0, sumAt);
        const int a = code[sumAt].a;
        binaryTile(OP_add, (const T*)acc, 1, ptr(a), R[a].stride, acc, len);
      }
      cur = inputs;
      if (sumAt == numCode - 1) {
        if (stream) streamStore(y + base, acc, len * (int64_t)sizeof(T));
        else std::copy(acc, acc + len, y + base);
      } else {
        runCode(sumAt + 1, numCode);
      }
    }
    if (stream) streamFence();
  };
  ThreadPool::instance().parallelFor(n, std::max<int64_t>(kParallelGrain, tile), runRange);
}

// Note [Leading sums] (compiler/fusion.cpp): at most one OP_sum, present exactly when the layout has
// groups; the code after it reads no grouped input and no register from before it but fills.
void checkLeadingSum(const std::vector<FusedInstr>& code, const StepLayout& l, size_t numIn, int64_t n) {
  int sumAt = -1;
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i].op != OP_sum) continue;
    if (sumAt >= 0) fail("fused step: two sum instructions (", sumAt, " and ", i, ")");
    sumAt = (int)i;
  }
  if ((sumAt >= 0) != (l.groups > 1)) fail("fused step: ", l.groups, " groups but ", sumAt >= 0 ? "a" : "no", " sum instruction");
  if (sumAt < 0) {
    if (!l.groupStrides.empty()) fail("fused step: group strides without groups");
    return;
  }
  if (l.groupStrides.size() != numIn) fail("fused step: group strides for ", l.groupStrides.size(), " inputs, given ", numIn);
  for (int64_t s : l.groupStrides)
    if (s != 0 && s != n) fail("fused step over ", n, " elements: group stride ", s);
  auto readable = [&](int r) {
    if (r < 0) return true;
    if (r < (int)numIn) return l.groupStrides[r] == 0;
    const int k = r - (int)numIn;
    return k >= sumAt || code[k].op == OP_fill;
  };
  for (size_t i = sumAt + 1; i < code.size(); ++i) {
    const FusedInstr& f = code[i];
    if (f.op != OP_fill && (!readable(f.a) || (f.b >= 0 && !readable(f.b))))
      fail("fused step: instruction ", i, " after the sum reads a grouped input or a register from before it");
  }
}

}  // namespace

void fused(const std::vector<FusedInstr>& code, const StepLayout& l, const std::vector<const void*>& in, int dtype, int64_t n, void* y) {
  if (in.size() > (size_t)kMaxFusedInputs || code.size() > (size_t)kMaxFusedCode || code.empty())
    fail("fused step with ", in.size(), " inputs and ", code.size(), " instructions (limits ", kMaxFusedInputs, " and ", kMaxFusedCode, ")");
  for (size_t i = 0; i < code.size(); ++i) {   // the tiles write nothing for an op outside their family
    const FusedInstr& f = code[i];
    const int limit = (int)(in.size() + i);
    bool ok = f.op == OP_fill || ((isUnaryOp(f.op) || f.op == OP_sum) && f.a >= 0 && f.a < limit) ||
              (isBinaryOp(f.op) && f.a >= 0 && f.a < limit && f.b >= 0 && f.b < limit);
    if (!ok) fail("fused step: instruction ", i, " (op ", f.op, ", operands ", f.a, ", ", f.b, ") is not a fill or an elementwise op on earlier registers");
  }
  if (l.strides.size() != in.size()) fail("fused step: layout for ", l.strides.size(), " inputs, given ", in.size());
  checkLeadingSum(code, l, in.size(), n);
  if (!l.periods.empty() && l.periods.size() != in.size()) fail("fused step: periods for ", l.periods.size(), " inputs, given ", in.size());
  for (int64_t P : l.periods)
    if (P < 0 || (P > 0 && n % P != 0)) fail("fused step over ", n, " elements: an input period of ", P, " does not divide it");
  if (n == 0) return;
  if (dtype == kFloat32) fusedT(code, l, in, n, (float*)y);
  else fusedT(code, l, in, n, (double*)y);
}

}  // namespace cpu
}  // namespace adjoint
