// Data movement: transpose and broadcastTo as one strided gather, for any element size.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace adjoint {
namespace cpu {
namespace {

template <class E>
void gather(const StridedLoop& loop, const E* x, E* y) {
  int64_t s = loop.innerStride(0);
  ThreadPool::instance().parallelFor(loop.rows(), std::max<int64_t>(1, kParallelGrain / loop.rowLength()), [&](int64_t lo, int64_t hi) {
    loop.forRows(lo, hi, [&](int64_t row, const int64_t* off, int64_t len) {
      E* out = y + row * len;
      const E* in = x + off[0];
      if (s == 1) {
        std::memcpy(out, in, len * sizeof(E));
      } else if (s == 0) {
        std::fill(out, out + len, in[0]);
      } else {
        for (int64_t i = 0; i < len; ++i) out[i] = in[i * s];
      }
    });
  });
}

}  // namespace

void stridedCopy(int elemSize, const std::vector<int64_t>& outShape, const std::vector<int64_t>& strides, const void* x, void* y) {
  int64_t n = 1;
  for (int64_t d : outShape) n *= d;
  if (n == 0) return;
  StridedLoop loop(outShape, {strides});
  if (elemSize == 8) gather(loop, (const uint64_t*)x, (uint64_t*)y);
  else gather(loop, (const uint32_t*)x, (uint32_t*)y);
}

}  // namespace cpu
}  // namespace adjoint
