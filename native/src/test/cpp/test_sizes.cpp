// Note [Sizes] (core/common.h): shapes whose element count or byte size overflows, or that no
// machine could hold, are an Error where they enter the engine, naming the op and the shape; an
// allocation that cannot be served is an Error "out of memory allocating N bytes". Before, a fill
// of [2^31, 2^31] Float32 computed 0 bytes and overran a 1-byte block, and a reshape to
// [2^62 + 1, 4] of a 4-element tensor passed (the product wrapped to 4).
#include <climits>
#include <cstdint>

#include "check.h"
#include "cpu/host_allocator.h"
#include "cpu/kernels.h"

// Under AddressSanitizer an allocation too big to serve aborts the process unless the allocator may
// return null, as malloc does; the engine must then report "out of memory" itself.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

using namespace adjoint;
using t::Shape;

namespace {

const int64_t k31 = int64_t(1) << 31, k32 = int64_t(1) << 32, k40 = int64_t(1) << 40;

int input(Graph& g, Shape s, int dtype = kFloat32) { return g.addInput(dtype, s.data(), (int)s.size()); }

int node(Graph& g, int op, std::vector<int> in, std::vector<int64_t> attrs) {
  return g.addNode(op, in.data(), (int)in.size(), attrs.data(), (int)attrs.size(), 0);
}

}  // namespace

TEST(sizes_reshape_counts_without_wrapping) {
  Graph g;
  int x = input(g, {2, 2});
  int64_t big = (int64_t(1) << 62) + 1;
  CHECK_THROWS(node(g, OP_reshape, {x}, {big, 4}), "reshape: shape [4611686018427387905, 4] has more elements than int64 can count");
  CHECK_THROWS(node(g, OP_reshape, {x}, {-1, k32, k32}), "reshape: shape [-1, 4294967296, 4294967296] has more elements than int64 can count");
  CHECK_THROWS(node(g, OP_reshape, {x}, {k32, 0, k32}), "reshape: shape [4294967296, 0, 4294967296] has dimensions whose product overflows int64");
  CHECK_THROWS(node(g, OP_reshape, {x}, {2, 3}), "reshape: cannot reshape input 0 [2, 2] (4 elements) to [2, 3]");
  CHECK(g.nodeDim(node(g, OP_reshape, {x}, {-1, 1}), 0) == 4);
}

TEST(sizes_fill_broadcast_and_inferred_shapes) {
  Graph g;
  CHECK_THROWS(node(g, OP_fill, {}, {kFloat32, k31, k31}),
               "fill: shape [2147483648, 2147483648] of Float32 has 4611686018427387904 elements of 4 bytes, more than the 2^62 bytes");
  CHECK_THROWS(node(g, OP_fill, {}, {kFloat64, k32, k32}), "fill: shape [4294967296, 4294967296] has more elements than int64 can count");
  CHECK_THROWS(node(g, OP_fill, {}, {kFloat32, 2, -3}), "fill: negative dimension in shape [2, -3]");
  CHECK_THROWS(node(g, OP_fill, {}, {kFloat32, 0, k32, k32}), "fill: shape [0, 4294967296, 4294967296] has dimensions whose product overflows int64");
  int one = input(g, {1});
  CHECK_THROWS(node(g, OP_broadcastTo, {one}, {k31, k31}), "broadcastTo: shape [2147483648, 2147483648] of Float32 has 4611686018427387904 elements");
  CHECK_THROWS(node(g, OP_broadcastTo, {one}, {k40, k40}), "broadcastTo: shape [1099511627776, 1099511627776] has more elements than int64 can count");
  CHECK_THROWS(node(g, OP_callback, {}, {0, kFloat32, k40, k40}), "callback: shape [1099511627776, 1099511627776] has more elements than int64 can count");
  // Results of valid inputs: broadcasting and matmul multiply dimensions of different inputs.
  int col = input(g, {k40, 1}), row = input(g, {1, k40});
  CHECK_THROWS(node(g, OP_add, {col, row}, {}), "add: shape [1099511627776, 1099511627776] has more elements than int64 can count");
  CHECK_THROWS(node(g, OP_matmul, {col, row}, {}), "matmul: shape [1099511627776, 1099511627776] has more elements than int64 can count");
  // Big but countable is fine at build time (it fails when allocated).
  CHECK(g.nodeDim(node(g, OP_fill, {}, {kFloat32, k31, 4}), 0) == k31);
}

TEST(sizes_graph_inputs_and_buffers) {
  Graph g;
  Shape count{k32, k32}, bytes{k31, k31}, neg{3, -1}, emptyHuge{0, k32, k32};
  CHECK_THROWS(input(g, count), "addInput: shape [4294967296, 4294967296] has more elements than int64 can count");
  CHECK_THROWS(input(g, bytes), "addInput: shape [2147483648, 2147483648] of Float32 has 4611686018427387904 elements of 4 bytes");
  CHECK_THROWS(input(g, neg), "addInput: negative dimension in shape [3, -1]");
  CHECK_THROWS(input(g, emptyHuge), "addInput: shape [0, 4294967296, 4294967296] has dimensions whose product overflows int64");
  CHECK_THROWS(newBuffer(kCpu, kFloat32, count.data(), 2), "Buffer: shape [4294967296, 4294967296] has more elements than int64 can count");
  CHECK_THROWS(newBuffer(kCpu, kFloat64, bytes.data(), 2), "Buffer: shape [2147483648, 2147483648] of Float64 has 4611686018427387904 elements of 8 bytes");
  CHECK_THROWS(newBuffer(kCpu, kFloat32, neg.data(), 2), "Buffer: negative dimension in shape [3, -1]");
  Shape empty{0, k40};   // empty and indexable: fine
  Buffer* e = newBuffer(kCpu, kFloat32, empty.data(), 2);
  CHECK(e->numel() == 0 && e->bytes() == 0 && e->data() != nullptr);
  freeBuffer(e);
}

TEST(sizes_out_of_memory_is_an_error) {
  // 2^60 bytes: countable, under the 2^62 limit, and beyond any address space.
  Shape huge{int64_t(1) << 58};
  CHECK_THROWS(newBuffer(kCpu, kFloat32, huge.data(), 1), "Buffer Float32 [288230376151711744]: cpu: out of memory allocating 1152921504606846976 bytes");
  CHECK_THROWS(cpu::hostAllocate(~(size_t)0), "out of memory allocating 18446744073709551615 bytes");
  CHECK_THROWS(cpu::hostAllocate(((size_t)1 << 62) + 1), "out of memory allocating");
  CHECK_THROWS(cpu::hostAllocate((size_t)1 << 60), "cpu: out of memory allocating 1152921504606846976 bytes");
  void* p = cpu::hostAllocate(100);   // and the allocator still works
  CHECK(p != nullptr);
  cpu::hostRelease(p);
}

TEST(sizes_arena_sum_is_checked) {
  // Three 2^61-byte temps alive at once (fusion off, so each op is its own step): 3 * 2^61 bytes.
  t::OptimizeScope o(false);
  Graph g;
  int x = input(g, {int64_t(1) << 59});
  int a = node(g, OP_sin, {x}, {}), b = node(g, OP_cos, {x}, {}), c = node(g, OP_exp, {x}, {});
  g.addOutput(node(g, OP_add, {node(g, OP_add, {a, b}, {}), c}, {}));
  CHECK_THROWS(Executable(g, kCpu), "compile: the scratch arena for the temporaries alive at step ");
  CHECK_THROWS(Executable(g, kCpu), "needs more than 2^62 bytes");
}

// OpenBLAS takes int sizes: a dimension above INT_MAX must not be truncated. (Checked before any
// memory is touched, so null pointers stand in for the 24 GB operand.)
TEST(sizes_matmul_dims_above_int_max_on_cpu) {
  TensorDesc a, b, out;
  a.dtype = b.dtype = out.dtype = kFloat32;
  a.shape = {3000000000LL, 2};
  b.shape = {2, 2};
  out.shape = {3000000000LL, 2};
  CHECK_THROWS(cpu::matmul(false, false, a, nullptr, b, nullptr, out, nullptr),
               "matmul: Float32 [3000000000, 2] x Float32 [2, 2] -> [3000000000, 2]: m = 3000000000 is above 2147483647");
  a.shape = {2, 3000000000LL};
  b.shape = {3000000000LL, 2};
  out.shape = {2, 2};
  CHECK_THROWS(cpu::matmul(false, false, a, nullptr, b, nullptr, out, nullptr), "k = 3000000000 is above 2147483647");
  a.shape = {2, 2};
  b.shape = {2, 3000000000LL};
  out.shape = {2, 3000000000LL};
  CHECK_THROWS(cpu::matmul(false, false, a, nullptr, b, nullptr, out, nullptr), "n = 3000000000 is above 2147483647");
  // Empty products never reach BLAS and stay fine.
  a.shape = {3000000000LL, 2};
  b.shape = {2, 0};
  out.shape = {3000000000LL, 0};
  cpu::matmul(false, false, a, nullptr, b, nullptr, out, nullptr);
}
