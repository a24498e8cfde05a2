// CPU kernels. Each takes raw pointers plus descriptors; the `...Tile` functions are the vectorised
// inner loops (compiled for AVX-512, AVX2 and baseline x86-64 with target_clones) and the others
// split big work across the thread pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adjoint/backend.h"

#define ADJOINT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace adjoint {
namespace cpu {

// Work below this many elements is not worth waking another thread for.
constexpr int64_t kParallelGrain = 32768;
// Size limits of one fused step, reported by CpuBackend::capabilities() (Note [Capabilities]).
constexpr int kMaxFusedInputs = 32;
constexpr int kMaxFusedCode = 64;

// Note [Prefetch]: a transcendental tile computes for long enough that the hardware prefetcher,
// which runs only a few lines ahead of the demand loads, leaves the core with too few reads in
// flight, and a streamed 16M-float sin pass took the sum of its compute and memory times instead of
// the larger one. So the tile that streams a big input (kernels_fused.cpp) hands the transcendental
// tile the input `kPrefetchAheadBytes` further on, and that tile prefetches it a few lines at a time
// (every kPrefetchChunk elements), spread over its compute, which keeps the reads in flight. A burst
// at the start of the tile, or prefetches in the streaming-store loop, measured no better than none
// (bench/RESULTS.md, "Engine-internal measurements").
struct Prefetch {
  static constexpr int kMaxStreams = 4;
  const char* at[kMaxStreams];   // each stream's address for element 0 of the tile
  int count = 0;
  // Prefetches bytes [off, off + bytes) of every stream, one cache line at a time.
  inline __attribute__((always_inline)) void issue(int64_t off, int64_t bytes) const {
    for (int s = 0; s < count; ++s)
      for (int64_t b = off; b < off + bytes; b += 64) __builtin_prefetch(at[s] + b);
  }
};
constexpr int64_t kPrefetchAheadBytes = 8192;
constexpr int64_t kPrefetchChunk = 64;

// --- tiles: y[i] = op(x[i * sx]), sx in {0, 1}; never throw ------------------------------------
// The values are op_math.h's (Note [Scalar semantics]). A tile given an op outside its family writes
// nothing, so callers check the op first (runStep and fused() do). `pf` (may be null): lines to
// prefetch while computing (Note [Prefetch]); only the transcendental tiles use it.
// Transcendental ops (libmvec; float32 sin through SLEEF where loaded, Note [SLEEF]); false for others.
bool mathTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf = nullptr);
bool mathTile(int op, const double* x, double* y, int64_t n, const Prefetch* pf = nullptr);
void unaryTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf = nullptr);     // every unary op
void unaryTile(int op, const double* x, double* y, int64_t n, const Prefetch* pf = nullptr);

// Note [SLEEF] (kernels_sleef.cpp): float32 sin on AVX-512 through SLEEF's u35 function when the
// build found SLEEF and libsleef loads at run time; false (nothing written) for any other op or
// where SLEEF is not active, and the caller uses libmvec. sleefActive() says which; sleefStatus() says why, for `adjoint info`.
bool sleefTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf);
bool sleefActive();
std::string sleefStatus();
// Tests only: turns the SLEEF path off (libmvec for everything) or back on where it loaded.
void setSleefEnabled(bool enabled);
// y[i] = a[i * sa] op b[i * sb] with sa, sb in {0, 1}
void binaryTile(int op, const float* a, int sa, const float* b, int sb, float* y, int64_t n);
void binaryTile(int op, const double* a, int sa, const double* b, int sb, double* y, int64_t n);

// --- whole kernels ------------------------------------------------------------------------------
// Index arithmetic comes from the step's layout (Note [Step layout]), never from shapes.
void fill(int dtype, double value, void* y, int64_t n);
void unary(int op, int dtype, const void* x, void* y, int64_t n);
void binary(int op, int dtype, const StepLayout& layout, const void* pa, const void* pb, void* y);
void fused(const std::vector<FusedInstr>& code, const StepLayout& layout, const std::vector<const void*>& in, int dtype, int64_t n, void* y);
// sum/mean/max/sumToShape over the layout's reduced runs.
void reduce(int op, int dtype, const StepLayout& layout, const void* x, void* y);
// y = op(a) op(b), or with `accumulate` y = y + alpha * op(a) op(b) (gemm's beta = 1; Note [GEMM updates]).
void matmul(bool ta, bool tb, const TensorDesc& a, const void* pa, const TensorDesc& b, const void* pb, const TensorDesc& out, void* y,
            bool accumulate = false, double alpha = 1.0);
// out[i...] = in[sum_d i_d * strides[0][d]] for any element size: transpose and broadcastTo.
void stridedCopy(int elemSize, const StepLayout& layout, const void* x, void* y);
void copy(void* y, const void* x, int64_t bytes);
// y[0..n) = randomUniform values of (key, the step of `counter`, i) in dtype (Note [Philox]).
void randomUniform(int dtype, uint64_t key, double counter, void* y, int64_t n);
// slice, sliceGrad, concat, gather, scatterAdd, oneHot, argmax (kernels_index.cpp); throws Error for an
// index out of range before writing anything (Note [Index errors] in backend_util.h).
void indexStep(const Step& s, const std::vector<const TensorDesc*>& in, const std::vector<const void*>& ptr, const TensorDesc& out, void* y);

// Note [Streaming stores] (kernels_fused.cpp): outputs of at least this many bytes are written with
// non-temporal stores (default 16 MiB; environment ADJOINT_STREAM_MB overrides, 0 = never).
int64_t streamingThresholdBytes();
// Copies with non-temporal stores where the destination is cache-line aligned; streamFence() must run
// on the same thread before another thread reads what was stored.
void streamStore(void* y, const void* x, int64_t bytes);
void streamFence();

}  // namespace cpu
}  // namespace adjoint
