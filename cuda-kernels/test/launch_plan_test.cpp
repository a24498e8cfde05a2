// Host-only checks of the CUDA backend's launch planning (launch_plan.h): broadcasting, coalescing, transpose
// and reduction layouts, fused-code register allocation, matmul batching. No GPU needed.
#include <cstdio>
#include <string>
#include <vector>

#include "allocator.h"
#include "launch_plan.h"

using namespace adjoint;
using namespace adjoint::cuda;
using V = std::vector<int64_t>;

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

template <typename F>
static bool throws(F f) {
  try {
    f();
  } catch (const Error&) {
    return true;
  }
  return false;
}

int main() {
  // Broadcast strides, right-aligned.
  CHECK((broadcastStrides({3, 1}, {2, 3, 4}) == V{0, 1, 0}));
  CHECK((broadcastStrides({4}, {2, 3, 4}) == V{0, 0, 1}));
  CHECK(throws([] { broadcastStrides({3}, {2, 4}); }));

  // Binary modes.
  BinaryIndex bi;
  CHECK(planBinary({2, 3}, {2, 3}, {2, 3}, &bi) == kBinarySame);
  CHECK(planBinary({1}, {2, 3}, {2, 3}, &bi) == kBinaryScalarA);
  CHECK(planBinary({2, 3}, {}, {2, 3}, &bi) == kBinaryScalarB);
  CHECK(planBinary({1, 3}, {2, 3}, {2, 3}, &bi) == kBinaryStrided);   // a row broadcast over 2 rows
  CHECK(bi.rank == 2 && bi.strideA[0] == 0 && bi.strideA[1] == 1 && bi.strideB[0] == 3 && bi.strideB[1] == 1);
  // [4,5,6] + [6] coalesces to 2 dims: (20, 6).
  CHECK(planBinary({4, 5, 6}, {6}, {4, 5, 6}, &bi) == kBinaryStrided);
  CHECK(bi.rank == 2 && bi.shape[0] == 20 && bi.shape[1] == 6 && bi.strideB[0] == 0 && bi.strideA[0] == 6);

  // broadcastTo.
  GatherIndex gi;
  CHECK(planBroadcast({3, 1}, {2, 3, 4}, &gi));
  CHECK(gi.rank == 3 && gi.stride[0] == 0 && gi.stride[1] == 1 && gi.stride[2] == 0);
  CHECK(!planBroadcast({1, 3}, {1, 3}, &gi));

  // Transposes.
  TransposePlan tp = planTranspose({2, 3}, {});
  CHECK(tp.kind == 1 && tp.batch == 1 && tp.rows == 2 && tp.cols == 3);
  tp = planTranspose({5, 2, 3}, {0, 2, 1});
  CHECK(tp.kind == 1 && tp.batch == 5 && tp.rows == 2 && tp.cols == 3);
  tp = planTranspose({2, 3, 4}, {1, 2, 0});   // merges (3,4): a 2-D transpose of [2, 12]
  CHECK(tp.kind == 1 && tp.batch == 1 && tp.rows == 2 && tp.cols == 12);
  tp = planTranspose({2, 1, 3}, {1, 0, 2});   // only moves a size-1 dim: a copy
  CHECK(tp.kind == 0);
  tp = planTranspose({2, 3, 4}, {2, 0, 1});
  CHECK(tp.kind == 1 && tp.rows == 6 && tp.cols == 4);
  tp = planTranspose({2, 3, 4}, {1, 0, 2});   // [3,2,4]: a general gather
  CHECK(tp.kind == 2 && tp.gather.rank == 3 && tp.gather.stride[0] == 4 && tp.gather.stride[1] == 12 &&
        tp.gather.stride[2] == 1);
  CHECK(throws([] { planTranspose({2, 3}, {0, 0}); }));

  // Reductions.
  ReducePlan rp = planReduce({4, 5}, reduceMaskFromAttrs({4, 5}, {0, -1}));
  CHECK(rp.kind == 1 && rp.rows == 4 && rp.len == 5);
  rp = planReduce({4, 5}, reduceMaskFromAttrs({4, 5}, {1}));   // no axes: everything
  CHECK(rp.kind == 1 && rp.rows == 1 && rp.len == 20);
  rp = planReduce({4, 5, 6}, reduceMaskFromAttrs({4, 5, 6}, {0, 1}));
  CHECK(rp.kind == 2 && rp.outCount == 24 && rp.redCount == 5 && rp.idx.keptRank == 2 && rp.idx.redRank == 1 &&
        rp.idx.redStride[0] == 6);
  rp = planReduce({4, 1, 6}, reduceMaskFromAttrs({4, 1, 6}, {0, 1}));   // size-1 axis: a copy
  CHECK(rp.kind == 0);
  rp = planReduce({0, 3}, reduceMaskFromAttrs({0, 3}, {0, 0}));
  CHECK(rp.kind == 3);
  CHECK((sumToShapeMask({5, 3, 4}, {3, 1}) == std::vector<bool>{true, false, true}));
  rp = planReduce({5, 3, 4}, sumToShapeMask({5, 3, 4}, {3, 1}));
  CHECK(rp.kind == 2 && rp.outCount == 3 && rp.redCount == 20 && rp.idx.redRank == 2);
  rp = planReduce({128, 512}, sumToShapeMask({128, 512}, {512}));   // a bias gradient
  CHECK(rp.kind == 2 && rp.outCount == 512 && rp.redCount == 128 && rp.idx.keptStride[0] == 1);
  CHECK(throws([] { reduceMaskFromAttrs({2, 3}, {0, 2}); }));

  // Fused register allocation: sin(x0) * x1 + 2 needs 2 registers.
  std::vector<FusedInstr> code = {{OP_sin, 0, -1, 0}, {OP_mul, 2, 1, 0}, {OP_fill, -1, -1, 2.0}, {OP_add, 3, 4, 0}};
  FusedCode fc = planFused(code, 2);
  CHECK(fc.numInstrs == 4);
  CHECK(fc.instrs[0].a == -1 && fc.instrs[0].b == kFusedNoOperand && fc.instrs[0].dst == 0);
  CHECK(fc.instrs[1].a == 0 && fc.instrs[1].b == -2 && fc.instrs[1].dst == 0);
  CHECK(fc.instrs[2].a == kFusedNoOperand && fc.instrs[2].dst == 1 && fc.instrs[2].scalar == 2.0);
  CHECK(fc.instrs[3].a == 0 && fc.instrs[3].b == 1 && fc.instrs[3].dst == 0);
  // A long chain reuses one register.
  std::vector<FusedInstr> chain;
  chain.push_back({OP_neg, 0, -1, 0});
  for (int i = 1; i < 60; ++i) chain.push_back({OP_sin, i, -1, 0});
  fc = planFused(chain, 1);
  bool oneReg = true;
  for (int i = 0; i < fc.numInstrs; ++i) oneReg &= fc.instrs[i].dst == 0;
  CHECK(oneReg);
  // 40 live values at once do not fit.
  std::vector<FusedInstr> wide;
  for (int i = 0; i < 40; ++i) wide.push_back({OP_fill, -1, -1, (double)i});
  for (int i = 0; i < 39; ++i) wide.push_back({OP_add, i == 0 ? 1 : 40 + i, 2 + i, 0});
  CHECK(throws([&] { planFused(wide, 1); }));
  CHECK(throws([] { planFused({{OP_matmul, 0, 0, 0}}, 1); }));
  CHECK(throws([] { planFused({{OP_add, 0, 5, 0}}, 1); }));

  // Matmul batching.
  MatmulPlan mp = planMatmul({2, 3}, {3, 4}, {2, 4}, false, false);
  CHECK(mp.m == 2 && mp.n == 4 && mp.k == 3 && mp.batch == 1);
  mp = planMatmul({3, 2}, {4, 3}, {2, 4}, true, true);
  CHECK(mp.m == 2 && mp.n == 4 && mp.k == 3);
  mp = planMatmul({5, 2, 3}, {3, 4}, {5, 2, 4}, false, false);
  CHECK(mp.strided && mp.foldIntoM && mp.strideB == 0);
  mp = planMatmul({2, 3}, {5, 3, 4}, {5, 2, 4}, false, false);
  CHECK(mp.strided && !mp.foldIntoM && mp.strideA == 0 && mp.strideB == 12);
  mp = planMatmul({2, 1, 2, 3}, {1, 3, 3, 4}, {2, 3, 2, 4}, false, false);
  CHECK(!mp.strided && mp.batch == 6 && (mp.indexA == V{0, 0, 0, 1, 1, 1}) && (mp.indexB == V{0, 1, 2, 0, 1, 2}));
  CHECK(throws([] { planMatmul({2, 3}, {4, 4}, {2, 4}, false, false); }));

  // Allocator buckets: at most 25% slack, monotone.
  CHECK(DeviceAllocator::bucketSize(1) == 512);
  CHECK(DeviceAllocator::bucketSize(1000) == 1024);
  CHECK(DeviceAllocator::bucketSize(1025) == 1280);
  CHECK(DeviceAllocator::bucketSize((size_t)100 << 20) >= ((size_t)100 << 20));
  // Huge requests are an Error; from 2^63 on the rounding used to loop forever.
  CHECK(DeviceAllocator::bucketSize((size_t)1 << 62) == ((size_t)1 << 62));
  CHECK(DeviceAllocator::bucketSize(((size_t)1 << 62) - 1) == ((size_t)1 << 62));
  CHECK(throws([] { DeviceAllocator::bucketSize(((size_t)1 << 62) + 1); }));
  CHECK(throws([] { DeviceAllocator::bucketSize((size_t)1 << 63); }));
  CHECK(throws([] { DeviceAllocator::bucketSize(~(size_t)0); }));

  if (failures == 0) std::printf("plan_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
