// Counter-based random numbers for the randomUniform op (ops.def), compiled for the host and, under
// nvcc, for the device, so the CPU and CUDA kernels give the same bits.
//
// Note [Philox]: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011; the generator of Random123, cuRAND and JAX's older PRNG): a keyed bijection of a 128-bit
// counter, so element i of a tensor is a pure function of (key, step, i) that any thread computes on
// its own, and a new step (a runtime input of the graph) gives a new stream without recompiling. The
// counter is (block, step) as four 32-bit words (block_lo, block_hi, step_lo, step_hi), the key the
// op's 64-bit key attribute (key_lo, key_hi). One block gives four 32-bit words: four float32 values
// (element i reads word i % 4 of block i / 4, its top 24 bits times 2^-24) or two float64 values
// (element i reads words 2 (i % 2) and 2 (i % 2) + 1 of block i / 2, the top 53 of those 64 bits times
// 2^-53). Both lie in [0, 1). The Java host generator (dev.adjoint.Tensor.rand) is the same function.
// The step is the value of a one-element float tensor, truncated towards zero to a 64-bit integer
// (NaN gives 0, values beyond the int64 range its ends), so integer steps up to 2^53 are exact in
// float64 (2^24 in float32).
#pragma once

#include <stdint.h>

#include "adjoint/op_table.h"

namespace adjoint {
namespace random {

struct Block {
  uint32_t w[4];
};

ADJOINT_HD inline void mulhilo(uint32_t m, uint32_t x, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = (uint64_t)m * (uint64_t)x;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

// Philox4x32 with 10 rounds of counter `c` under key `k` (Random123's philox4x32_R(10, ...)).
ADJOINT_HD inline Block philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(0xD2511F53u, c0, &hi0, &lo0);
    mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  Block b;
  b.w[0] = c0;
  b.w[1] = c1;
  b.w[2] = c2;
  b.w[3] = c3;
  return b;
}

// The step of a counter value (Note [Philox]).
ADJOINT_HD inline uint64_t stepOf(double v) {
  if (!(v == v)) return 0;
  if (v >= 9.2233720368547758e18) return (uint64_t)INT64_MAX;
  if (v <= -9.2233720368547758e18) return (uint64_t)INT64_MIN;
  return (uint64_t)(int64_t)v;
}

ADJOINT_HD inline Block block(uint64_t key, uint64_t step, uint64_t blockIndex) {
  return philox4x32((uint32_t)blockIndex, (uint32_t)(blockIndex >> 32), (uint32_t)step, (uint32_t)(step >> 32),
                    (uint32_t)key, (uint32_t)(key >> 32));
}

ADJOINT_HD inline float uniformFloat(uint32_t w) { return (float)(w >> 8) * 5.9604644775390625e-08f; }   // 2^-24
ADJOINT_HD inline double uniformDouble(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 1.1102230246251565e-16;   // 2^-53
}

// Element i of randomUniform in float32 / float64 (Note [Philox]).
ADJOINT_HD inline float uniform32(uint64_t key, uint64_t step, uint64_t i) {
  return uniformFloat(block(key, step, i >> 2).w[i & 3]);
}
ADJOINT_HD inline double uniform64(uint64_t key, uint64_t step, uint64_t i) {
  const Block b = block(key, step, i >> 1);
  const int j = (int)(i & 1) * 2;
  return uniformDouble(b.w[j], b.w[j + 1]);
}

}  // namespace random
}  // namespace adjoint
