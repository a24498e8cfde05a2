// Every class of bad input throws adjoint::Error with a message that names the problem.
#include "check.h"

using namespace adjoint;
using t::Shape;

TEST(shape_errors_name_op_inputs_and_shapes) {
  Graph g;
  Shape s23{2, 3}, s45{4, 5}, s4{4};
  int a = g.addInput(kFloat32, s23.data(), 2);
  int b = g.addInput(kFloat32, s45.data(), 2);
  int c = g.addInput(kFloat32, s4.data(), 1);
  int d = g.addInput(kFloat64, s23.data(), 2);
  int i32 = g.addInput(kInt32, s23.data(), 2);
  int ab[2] = {a, b}, ac[2] = {a, c}, ad[2] = {a, d};
  CHECK_THROWS(g.addNode(OP_matmul, ab, 2, nullptr, 0, 0), "matmul: input 1 has shape [4, 5], incompatible with input 0 [2, 3] (contracting dims 3 vs 4)");
  CHECK_THROWS(g.addNode(OP_add, ac, 2, nullptr, 0, 0), "add: cannot broadcast input 0 [2, 3] with input 1 [4]");
  CHECK_THROWS(g.addNode(OP_mul, ad, 2, nullptr, 0, 0), "mul: input 1 has dtype Float64 but input 0 has Float32");
  CHECK_THROWS(g.addNode(OP_sin, &i32, 1, nullptr, 0, 0), "sin: input 0 has dtype Int32");
  CHECK_THROWS(g.addNode(OP_matmul, &c, 1, nullptr, 0, 0), "matmul: expected 2 input(s), got 1");
  int cc[2] = {c, c};
  CHECK_THROWS(g.addNode(OP_matmul, cc, 2, nullptr, 0, 0), "matmul: input 0 has shape [4]; matmul needs rank >= 2");
  CHECK_THROWS(g.addNode(99, &a, 1, nullptr, 0, 0), "unknown op id 99");
  CHECK_THROWS(g.addNode(-1, &a, 1, nullptr, 0, 0), "unknown op id -1");
  int64_t three[3] = {1, 0, 1};
  CHECK_THROWS(g.addNode(OP_matmul, ab, 2, three, 3, 0), "matmul: expected attrs [transposeA, transposeB], got 3");
  CHECK_THROWS(g.addNode(OP_sin, &a, 1, three, 1, 0), "sin: expected attrs [], got 1");
  int64_t axes[2] = {0, 2};
  CHECK_THROWS(g.addNode(OP_sum, &a, 1, axes, 2, 0), "sum: axis 2 is out of range for input 0 [2, 3]");
  int64_t rep[3] = {0, 1, -1};
  CHECK_THROWS(g.addNode(OP_mean, &a, 1, rep, 3, 0), "mean: axis -1 is repeated");
  int64_t bad[2] = {4, -1};
  CHECK_THROWS(g.addNode(OP_reshape, &a, 1, bad, 2, 0), "reshape: cannot reshape input 0 [2, 3] (6 elements) to [4, -1]");
  int64_t two[2] = {-1, -1};
  CHECK_THROWS(g.addNode(OP_reshape, &a, 1, two, 2, 0), "more than one -1");
  int64_t perm[2] = {0, 0};
  CHECK_THROWS(g.addNode(OP_transpose, &a, 1, perm, 2, 0), "transpose: [0, 0] is not a permutation");
  int64_t to[1] = {4};
  CHECK_THROWS(g.addNode(OP_broadcastTo, &a, 1, to, 1, 0), "broadcastTo: cannot broadcast input 0 [2, 3] to [4]");
  CHECK_THROWS(g.addNode(OP_sumToShape, &a, 1, to, 1, 0), "sumToShape: cannot sum input 0 [2, 3] down to [4]");
  Shape e{2, 0};
  int empty = g.addInput(kFloat32, e.data(), 2);
  CHECK_THROWS(g.addNode(OP_max, &empty, 1, nullptr, 0, 0), "max: cannot reduce over empty axis 1");
  int64_t fillBad[2] = {kInt32, 2};
  CHECK_THROWS(g.addNode(OP_fill, nullptr, 0, fillBad, 2, 0), "fill: dtype 2");
  int missing = 1000;
  CHECK_THROWS(g.addNode(OP_neg, &missing, 1, nullptr, 0, 0), "neg: input 0 refers to node 1000");
  CHECK_THROWS(g.addOutput(1000), "addOutput: node 1000 does not exist");
  CHECK_THROWS(g.addUpdate(0, c), "addUpdate: input 0 is Float32 [2, 3] but node 2 is Float32 [4]");
  CHECK_THROWS(g.addUpdate(9, a), "addUpdate: input 9 does not exist");
  CHECK_THROWS(g.addInput(7, s23.data(), 2), "unknown dtype 7");
}

TEST(run_errors_leave_executable_usable) {
  Graph g;
  Shape s{2, 3};
  int x = g.addInput(kFloat32, s.data(), 2);
  int y = g.addInput(kFloat32, s.data(), 2);
  g.addOutput(g.addNode(OP_add, std::vector<int>{x, y}.data(), 2, nullptr, 0, 0));
  Executable ex(g, 0);
  Buffer* good = newBuffer(0, kFloat32, s.data(), 2);
  Buffer* wrongDtype = newBuffer(0, kFloat64, s.data(), 2);
  Shape s32{3, 2};
  Buffer* wrongShape = newBuffer(0, kFloat32, s32.data(), 2);
  float v[6] = {1, 2, 3, 4, 5, 6};
  good->copyFromHost(v, sizeof v);
  CHECK_THROWS(ex.run(), "input 0 was not set");
  ex.setInput(0, good);
  CHECK_THROWS(ex.run(), "input 1 was not set");
  ex.setInput(1, wrongDtype);
  CHECK_THROWS(ex.run(), "input 1: expected Float32 [2, 3], got Float64 [2, 3]");
  ex.setInput(1, wrongShape);
  CHECK_THROWS(ex.run(), "input 1: expected Float32 [2, 3], got Float32 [3, 2]");
  CHECK_THROWS(ex.setOutput(0, wrongShape), "output 0: expected Float32 [2, 3], got Float32 [3, 2]");
  CHECK_THROWS(ex.setInput(5, good), "setInput: input 5 does not exist");
  CHECK_THROWS(ex.takeOutput(0), "output 0 is not available");
  ex.setInput(1, good);
  ex.run();
  Buffer* o = ex.takeOutput(0);
  float r[6];
  o->copyToHost(r, sizeof r);
  CHECK(r[5] == 12);
  CHECK_THROWS(ex.takeOutput(0), "already taken");
  CHECK_THROWS(ex.outputDim(0, 2), "outputDim: axis 2 out of range");
  freeBuffer(o);
  freeBuffer(good);
  freeBuffer(wrongDtype);
  freeBuffer(wrongShape);
}

// runWith: inputs in, outputs out (fresh or into given buffers), in one call; an error takes nothing
// and leaves nothing bound.
TEST(run_with_in_one_call) {
  Graph g;
  Shape s{2, 3};
  int x = g.addInput(kFloat32, s.data(), 2), y = g.addInput(kFloat32, s.data(), 2);
  int in[2] = {x, y};
  g.addOutput(g.addNode(OP_add, in, 2, nullptr, 0, 0));
  g.addOutput(g.addNode(OP_mul, in, 2, nullptr, 0, 0));
  Executable ex(g, 0);
  Buffer* a = newBuffer(0, kFloat32, s.data(), 2);
  Buffer* wrong = newBuffer(0, kFloat64, s.data(), 2);
  float v[6] = {1, 2, 3, 4, 5, 6};
  a->copyFromHost(v, sizeof v);
  for (int r = 0; r < 3; ++r) {
    Buffer* io[4] = {a, a, nullptr, nullptr};
    ex.runWith(io);
    CHECK(io[2] && io[3] && io[2] != io[3]);
    float sum[6], prod[6];
    io[2]->copyToHost(sum, sizeof sum);
    io[3]->copyToHost(prod, sizeof prod);
    CHECK(sum[5] == 12 && prod[5] == 36 && sum[0] == 2 && prod[0] == 1);
    freeBuffer(io[2]);
    freeBuffer(io[3]);
  }
  Buffer* bad[4] = {a, wrong, nullptr, nullptr};
  CHECK_THROWS(ex.runWith(bad), "input 1: expected Float32 [2, 3], got Float64 [2, 3]");
  CHECK(bad[2] == nullptr && bad[3] == nullptr);
  CHECK_THROWS(ex.run(), "input 0 was not set");   // runWith's inputs were bound for its call only
  CHECK_THROWS(ex.takeOutput(0), "not available");
  // A given output buffer is written for this call only; an aliasing or mismatched one is refused.
  Buffer* given = newBuffer(0, kFloat32, s.data(), 2);
  Buffer* io1[4] = {a, a, nullptr, given};
  ex.runWith(io1);
  CHECK(io1[3] == given && io1[2] && io1[2] != given);
  float prod[6];
  given->copyToHost(prod, sizeof prod);
  CHECK(prod[5] == 36);
  freeBuffer(io1[2]);
  Buffer* alias[4] = {a, a, a, nullptr};
  CHECK_THROWS(ex.runWith(alias), "must not alias an input");
  CHECK(alias[3] == nullptr);
  Buffer* mismatch[4] = {a, a, wrong, nullptr};
  CHECK_THROWS(ex.runWith(mismatch), "output 0: expected Float32 [2, 3], got Float64 [2, 3]");
  Buffer* io2[4] = {a, a, nullptr, nullptr};   // nothing stays bound from the calls before
  ex.runWith(io2);
  CHECK(io2[2] && io2[3] && io2[3] != given);
  freeBuffer(io2[2]);
  freeBuffer(io2[3]);
  Buffer* bound = given;
  ex.setOutput(0, bound);
  Buffer* io[4] = {a, a, nullptr, nullptr};
  CHECK_THROWS(ex.runWith(io), "runWith: output 0 is bound with setOutput");
  freeBuffer(bound);
  freeBuffer(a);
  freeBuffer(wrong);
}

TEST(buffer_and_device_errors) {
  Shape s{2, 2};
  Buffer* b = newBuffer(0, kFloat32, s.data(), 2);
  float v[4] = {0};
  CHECK_THROWS(b->copyFromHost(v, 8), "copyFromHost: got 8 bytes for a Float32 [2, 2] buffer of 16 bytes");
  CHECK_THROWS(b->copyToHost(v, 20), "copyToHost: asked for 20 bytes");
  Shape s3{3};
  Buffer* c = newBuffer(0, kFloat32, s3.data(), 1);
  CHECK_THROWS(b->copyFrom(*c), "copyFrom: source Float32 [3] does not match destination Float32 [2, 2]");
  CHECK_THROWS(b->dim(2), "axis 2 out of range");
  CHECK_THROWS(newBuffer(0, 9, s.data(), 2), "Buffer: unknown dtype 9");
  Shape neg{-1};
  CHECK_THROWS(newBuffer(0, kFloat32, neg.data(), 1), "negative dimension");
  if (cudaDeviceCount() == 0) {
    CHECK_THROWS(newBuffer(1, kFloat32, s.data(), 2), "CUDA device 0 requested but no CUDA backend is loaded");
    Graph g;
    int x = g.addInput(kFloat32, s.data(), 2);
    g.addOutput(x);
    CHECK_THROWS(Executable(g, 1), "CUDA device 0 requested");
  }
  CHECK_THROWS(loadBackend("/nonexistent/libadjoint_cuda.so"), "cannot load CUDA backend /nonexistent/libadjoint_cuda.so: ");
  CHECK_THROWS(loadBackend("libm.so.6"), "missing symbol adjoint_backend_abi");
  CHECK(!cudaLoaded());
  CHECK(backendStatus().find("cuda: not loaded") != std::string::npos);
  CHECK_THROWS(setThreads(0), "setThreads");
  CHECK_THROWS(opName(OP_COUNT + 5), "unknown op id");
  CHECK(std::string(opName(OP_sumToShape)) == "sumToShape");
  CHECK(blasInfo().find("OpenBLAS") != std::string::npos);
  Graph empty;
  CHECK_THROWS(Executable(empty, 0), "no outputs");
  freeBuffer(b);
  freeBuffer(c);
}

TEST(zero_sized_buffers) {
  Shape s{0, 3};
  Buffer* b = newBuffer(0, kFloat32, s.data(), 2);
  CHECK(b->data() != nullptr && b->bytes() == 0);
  b->copyFromHost(nullptr, 0);
  freeBuffer(b);
}
