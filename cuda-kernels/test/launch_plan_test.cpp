// Host-only checks of the CUDA backend's launch planning (launch_plan.h) over the compiler's step
// layouts (backend_util.h): broadcasting, coalescing, host loops beyond kMaxDims, transpose and
// reduction plans, fused-code register allocation, matmul batching, allocator buckets. No GPU needed.
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

// Layouts as the compiler writes them (Note [Step layout]), for one step over the given shapes.
static StepLayout binaryLayout(const V& a, const V& b, const V& out, int maxRank = 0) {
  Program p;
  for (const V* s : {&a, &b, &out}) {
    Slot slot;
    slot.desc.shape = *s;
    p.slots.push_back(slot);
  }
  Step st;
  st.op = OP_add;
  st.in = {0, 1};
  st.out = 2;
  layoutStep(p, &st, maxRank);
  return st.layout;
}

static StepLayout reduceOf(const V& in, int op, const V& attrs) { return reduceLayout(in, reduceMask(op, in, attrs)); }

int main() {
  // The kernels' limits are what the backend reports.
  const Capabilities caps = cudaCapabilities();
  CHECK(caps.maxFusedInputs == kFusedMaxInputs && caps.maxFusedCode == kFusedMaxInstrs && caps.maxFusedLive == kFusedMaxRegs);
  CHECK(caps.maxRank == kMaxDims && !caps.accumulatingGemm && caps.inPlace);

  // Broadcast strides, right-aligned (backend_util.h, shared with the compiler).
  CHECK((broadcastStrides({3, 1}, {2, 3, 4}) == V{0, 1, 0}));
  CHECK((broadcastStrides({4}, {2, 3, 4}) == V{0, 0, 1}));
  CHECK(throws([] { broadcastStrides({3}, {2, 4}); }));

  // Binary modes.
  BinaryIndex bi;
  CHECK(planBinary(binaryLayout({2, 3}, {2, 3}, {2, 3}), &bi) == kBinarySame);
  CHECK(planBinary(binaryLayout({1}, {2, 3}, {2, 3}), &bi) == kBinaryScalarA);
  CHECK(planBinary(binaryLayout({2, 3}, {}, {2, 3}), &bi) == kBinaryScalarB);
  CHECK(planBinary(binaryLayout({}, {}, {}), &bi) == kBinarySame);
  CHECK(planBinary(binaryLayout({1, 3}, {2, 3}, {2, 3}), &bi) == kBinaryStrided);   // a row broadcast over 2 rows
  CHECK(bi.rank == 2 && bi.strideA[0] == 0 && bi.strideA[1] == 1 && bi.strideB[0] == 3 && bi.strideB[1] == 1);
  // [4,5,6] + [6] coalesces to 2 dims: (20, 6).
  CHECK(planBinary(binaryLayout({4, 5, 6}, {6}, {4, 5, 6}), &bi) == kBinaryStrided);
  CHECK(bi.rank == 2 && bi.shape[0] == 20 && bi.shape[1] == 6 && bi.strideB[0] == 0 && bi.strideA[0] == 6);

  // More dims than a launch indexes: the leading ones are a host loop, and together the launches
  // read exactly the elements broadcasting says (checked element by element against the shapes).
  {
    V a, b, out;
    for (int i = 0; i < 6; ++i) {
      a.insert(a.end(), {2, 1});
      b.insert(b.end(), {1, 3});
      out.insert(out.end(), {2, 3});
    }
    StepLayout l = binaryLayout(a, b, out, kMaxDims);
    CHECK(l.shape.size() == 12 && l.hostLoopDims == 4);
    CHECK(planBinary(l, &bi) == kBinaryStrided && bi.rank == kMaxDims);
    const int64_t inner = launchElements(l);
    CHECK(inner == 2 * 3 * 2 * 3 * 2 * 3 * 2 * 3);
    const V sa = broadcastStrides(a, out), sb = broadcastStrides(b, out);
    int64_t visited = 0, wrong = 0;
    forEachHostIndex(l, [&](int64_t o, const int64_t* off) {
      for (int64_t e = 0; e < inner; ++e) {   // decode e as the kernel does
        int64_t rest = e, offA = off[0], offB = off[1];
        for (int d = bi.rank - 1; d >= 0; --d) {
          offA += rest % bi.shape[d] * bi.strideA[d];
          offB += rest % bi.shape[d] * bi.strideB[d];
          rest /= bi.shape[d];
        }
        int64_t flat = o + e, wantA = 0, wantB = 0;   // the same element from the shapes
        for (int d = (int)out.size() - 1; d >= 0; --d) {
          wantA += flat % out[d] * sa[d];
          wantB += flat % out[d] * sb[d];
          flat /= out[d];
        }
        wrong += offA != wantA || offB != wantB;
        ++visited;
      }
    });
    CHECK(visited == numelOf(out) && wrong == 0);
  }

  // broadcastTo and transposes.
  {
    Program p;
    Slot in, out;
    in.desc.shape = {3, 1};
    out.desc.shape = {2, 3, 4};
    p.slots = {in, out};
    Step st;
    st.op = OP_broadcastTo;
    st.in = {0};
    st.out = 1;
    layoutStep(p, &st, kMaxDims);
    GatherIndex gi = planGather(st.layout);
    CHECK(gi.rank == 3 && gi.stride[0] == 0 && gi.stride[1] == 1 && gi.stride[2] == 0);
  }
  TransposePlan tp = planTranspose(transposeLayout({2, 3}, {}));
  CHECK(tp.kind == 1 && tp.batch == 1 && tp.rows == 2 && tp.cols == 3);
  tp = planTranspose(transposeLayout({5, 2, 3}, {0, 2, 1}));
  CHECK(tp.kind == 1 && tp.batch == 5 && tp.rows == 2 && tp.cols == 3);
  tp = planTranspose(transposeLayout({2, 3, 4}, {1, 2, 0}));   // merges (3,4): a 2-D transpose of [2, 12]
  CHECK(tp.kind == 1 && tp.batch == 1 && tp.rows == 2 && tp.cols == 12);
  tp = planTranspose(transposeLayout({2, 1, 3}, {1, 0, 2}));   // only moves a size-1 dim: a copy
  CHECK(tp.kind == 0);
  tp = planTranspose(transposeLayout({2, 3, 4}, {2, 0, 1}));
  CHECK(tp.kind == 1 && tp.rows == 6 && tp.cols == 4);
  StepLayout tl = transposeLayout({2, 3, 4}, {1, 0, 2});   // [3,2,4]: a general gather
  tp = planTranspose(tl);
  GatherIndex tg = planGather(tl);
  CHECK(tp.kind == 2 && tg.rank == 3 && tg.stride[0] == 4 && tg.stride[1] == 12 && tg.stride[2] == 1);
  CHECK(throws([] { transposeLayout({2, 3}, {0, 5}); }));

  // Reductions.
  ReducePlan rp = planReduce(reduceOf({4, 5}, OP_sum, {0, -1}));
  CHECK(rp.kind == 1 && rp.rows == 4 && rp.len == 5);
  rp = planReduce(reduceOf({4, 5}, OP_sum, {1}));   // no axes: everything
  CHECK(rp.kind == 1 && rp.rows == 1 && rp.len == 20);
  rp = planReduce(reduceOf({4, 5, 6}, OP_sum, {0, 1}));
  CHECK(rp.kind == 2 && rp.outCount == 24 && rp.redCount == 5 && rp.idx.keptRank == 2 && rp.idx.redRank == 1 &&
        rp.idx.redStride[0] == 6);
  rp = planReduce(reduceOf({4, 1, 6}, OP_sum, {0, 1}));   // size-1 axis: a copy
  CHECK(rp.kind == 0);
  rp = planReduce(reduceOf({0, 3}, OP_sum, {0, 0}));
  CHECK(rp.kind == 3);
  CHECK((reduceMask(OP_sumToShape, {5, 3, 4}, {3, 1}) == std::vector<char>{1, 0, 1}));
  rp = planReduce(reduceOf({5, 3, 4}, OP_sumToShape, {3, 1}));
  CHECK(rp.kind == 2 && rp.outCount == 3 && rp.redCount == 20 && rp.idx.redRank == 2);
  rp = planReduce(reduceOf({128, 512}, OP_sumToShape, {512}));   // a bias gradient
  CHECK(rp.kind == 2 && rp.outCount == 512 && rp.redCount == 128 && rp.idx.keptStride[0] == 1);
  CHECK(throws([] { reduceMask(OP_sum, {2, 3}, {0, 2}); }));
  V alternating;
  for (int i = 0; i < 17; ++i) alternating.push_back(2 + i % 2);
  V everyOther{0};
  for (int i = 0; i < 17; i += 2) everyOther.push_back(i);
  CHECK(throws([&] { planReduce(reduceOf(alternating, OP_sum, everyOther)); }));   // 9 reduced runs: the compiler transposes first

  // Fused inputs read at element 0.
  CHECK(fusedScalarInputs(fusedLayout({6, 1, 6}, 6)) == 2u);
  CHECK(fusedScalarInputs(fusedLayout({1, 1}, 1)) == 3u);

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
