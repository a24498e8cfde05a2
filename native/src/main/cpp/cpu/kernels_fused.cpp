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
  if (n == 1) return fusedOne(code, in, y);   // Note [One-element fused steps]
  const int numIn = (int)in.size();
  const int numCode = (int)code.size();
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
  int freeSlots[kMaxFusedCode], numFree = 0, scratchCount = 0;
  for (int i = 0; i < numCode; ++i) {
    const FusedInstr& f = code[i];
    int stride = f.op == OP_fill ? 0 : regs[f.a].stride | (f.b >= 0 ? regs[f.b].stride : 0);
    // Operands dying here give their slot back first: the tile loops read element i before they
    // write element i, so a result may overwrite its own operand.
    if (f.a >= numIn && lastUse[f.a] == i) freeSlots[numFree++] = regs[f.a].scratch;
    if (f.b >= numIn && f.b != f.a && lastUse[f.b] == i) freeSlots[numFree++] = regs[f.b].scratch;
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
  for (int i = 0; i < numCode && stream && prefetchAt < 0; ++i)
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
      auto ptr = [&](int r) -> const T* { return r < numIn ? inputs[r] : sbase + R[r].scratch * tile; };
      Prefetch pf;   // the same elements `ahead` further on, while they are still this range's
      if (prefetchAt >= 0 && end + ahead <= hi)
        for (int k = 0; k < numPrefetch; ++k) pf.at[pf.count++] = (const char*)(inputs[prefetchInputs[k]] + ahead);
      for (int i = 0; i < numCode; ++i) {
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
    }
    if (stream) streamFence();
  };
  ThreadPool::instance().parallelFor(n, std::max<int64_t>(kParallelGrain, tile), runRange);
}

}  // namespace

void fused(const std::vector<FusedInstr>& code, const StepLayout& l, const std::vector<const void*>& in, int dtype, int64_t n, void* y) {
  if (in.size() > (size_t)kMaxFusedInputs || code.size() > (size_t)kMaxFusedCode || code.empty())
    fail("fused step with ", in.size(), " inputs and ", code.size(), " instructions (limits ", kMaxFusedInputs, " and ", kMaxFusedCode, ")");
  for (size_t i = 0; i < code.size(); ++i) {   // the tiles write nothing for an op outside their family
    const FusedInstr& f = code[i];
    const int limit = (int)(in.size() + i);
    bool ok = f.op == OP_fill || (isUnaryOp(f.op) && f.a >= 0 && f.a < limit) ||
              (isBinaryOp(f.op) && f.a >= 0 && f.a < limit && f.b >= 0 && f.b < limit);
    if (!ok) fail("fused step: instruction ", i, " (op ", f.op, ", operands ", f.a, ", ", f.b, ") is not a fill or an elementwise op on earlier registers");
  }
  if (l.strides.size() != in.size()) fail("fused step: layout for ", l.strides.size(), " inputs, given ", in.size());
  if (!l.periods.empty() && l.periods.size() != in.size()) fail("fused step: periods for ", l.periods.size(), " inputs, given ", in.size());
  for (int64_t P : l.periods)
    if (P < 0 || (P > 0 && n % P != 0)) fail("fused step over ", n, " elements: an input period of ", P, " does not divide it");
  if (n == 0) return;
  if (dtype == kFloat32) fusedT(code, l, in, n, (float*)y);
  else fusedT(code, l, in, n, (double*)y);
}

}  // namespace cpu
}  // namespace adjoint
