// randomUniform (ops.def family Random): Philox4x32-10 of (key, step, element index), Note [Philox].
#include "adjoint/random.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {

void randomUniform(int dtype, uint64_t key, double counter, void* y, int64_t n) {
  const uint64_t step = random::stepOf(counter);
  // Blocks of four (float32) or two (float64) elements, so each Philox call fills a whole block.
  const int per = dtype == kFloat32 ? 4 : 2;
  const int64_t blocks = (n + per - 1) / per;
  ThreadPool::instance().parallelFor(blocks, kParallelGrain / 16, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const random::Block r = random::block(key, step, (uint64_t)b);
      const int64_t first = b * per, count = n - first < per ? n - first : per;
      if (dtype == kFloat32) {
        float* out = (float*)y + first;
        for (int64_t j = 0; j < count; ++j) out[j] = random::uniformFloat(r.w[j]);
      } else {
        double* out = (double*)y + first;
        for (int64_t j = 0; j < count; ++j) out[j] = random::uniformDouble(r.w[2 * j], r.w[2 * j + 1]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace adjoint
