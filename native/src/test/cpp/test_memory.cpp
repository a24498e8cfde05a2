// Host memory: the CPU backend's cache of freed large blocks (Note [Host cache]).
#include "check.h"
#include "reference.h"

using namespace adjoint;
using t::Host;
using t::Shape;

TEST(host_cache_reuses_freed_blocks) {
  emptyCache();
  CHECK(cachedBytes() == 0);
  Shape big{1 << 20};   // 4 MiB of float32: a huge-page block
  Buffer* a = newBuffer(kCpu, kFloat32, big.data(), 1);
  void* pa = a->data();
  CHECK(((uintptr_t)pa & 63) == 0);
  freeBuffer(a);
  CHECK(cachedBytes() >= (int64_t)(4 << 20));
  Buffer* b = newBuffer(kCpu, kFloat32, big.data(), 1);   // same size: the same memory
  CHECK(b->data() == pa);
  CHECK(cachedBytes() == 0);
  // A slightly smaller request fits the cached block too; a much smaller one does not take it.
  freeBuffer(b);
  Shape smaller{(1 << 20) - 1000};
  Buffer* c = newBuffer(kCpu, kFloat32, smaller.data(), 1);
  CHECK(c->data() == pa);
  freeBuffer(c);
  Shape half{1 << 19};
  Buffer* d = newBuffer(kCpu, kFloat32, half.data(), 1);
  CHECK(d->data() != pa);
  CHECK(cachedBytes() >= (int64_t)(4 << 20));
  freeBuffer(d);
  // Mid-size (256 KiB .. 4 MiB) blocks are cached too; small ones are not.
  Shape mid{100000};
  Buffer* m = newBuffer(kCpu, kFloat64, mid.data(), 1);
  void* pm = m->data();
  freeBuffer(m);
  Buffer* m2 = newBuffer(kCpu, kFloat64, mid.data(), 1);
  CHECK(m2->data() == pm);
  freeBuffer(m2);
  int64_t before = cachedBytes();
  Shape small{1000};
  freeBuffer(newBuffer(kCpu, kFloat32, small.data(), 1));
  CHECK(cachedBytes() == before);
  emptyCache();
  CHECK(cachedBytes() == 0);
}

TEST(host_cache_output_of_next_run_reuses_freed_output) {
  // The Java pattern: every run returns a fresh output, which the caller frees before the next run.
  emptyCache();
  Shape s{1 << 21};
  Graph g;
  int x = g.addInput(kFloat32, s.data(), 1);
  g.addOutput(g.addNode(OP_cos, &x, 1, nullptr, 0, 0));
  Executable ex(g, kCpu);
  std::vector<float> host(s[0]);
  for (size_t i = 0; i < host.size(); ++i) host[i] = (float)i * 1e-6f;
  Buffer* in = newBuffer(kCpu, kFloat32, s.data(), 1);
  in->copyFromHost(host.data(), in->bytes());
  ex.setInput(0, in);
  void* first = nullptr;
  for (int k = 0; k < 3; ++k) {
    ex.run();
    Buffer* out = ex.takeOutput(0);
    if (k == 0) first = out->data();
    else CHECK(out->data() == first);
    std::vector<float> got(s[0]);
    out->copyToHost(got.data(), out->bytes());
    bool ok = true;
    for (size_t i = 0; i < got.size(); i += 4097) ok = ok && std::fabs(got[i] - std::cos(host[i])) < 1e-6f;
    CHECK(ok);
    freeBuffer(out);
  }
  freeBuffer(in);
  emptyCache();
}

namespace {
int op1(Graph& g, int op, int x) { return g.addNode(op, &x, 1, nullptr, 0, 0); }
int op2(Graph& g, int op, int a, int b) {
  int in[2] = {a, b};
  return g.addNode(op, in, 2, nullptr, 0, 0);
}
int scalar(Graph& g, double v) {
  int64_t attrs[1] = {kFloat64};
  return g.addNode(OP_fill, nullptr, 0, attrs, 1, v);
}
}  // namespace

TEST(in_place_update_reads_old_values) {
  // w <- w - 0.5 * (w * x) is written straight into w; an output built after the update's value
  // (in node order) and a second update reading w both still see the old w.
  Graph g;
  Shape s{3};
  int w = g.addInput(kFloat64, s.data(), 1);
  int x = g.addInput(kFloat64, s.data(), 1);
  int v = g.addInput(kFloat64, s.data(), 1);
  int grad = op2(g, OP_mul, w, x);
  int wNew = op2(g, OP_sub, w, op2(g, OP_mul, scalar(g, 0.5), grad));
  g.addUpdate(0, wNew);
  int late = op2(g, OP_mul, w, scalar(g, 2));   // reads w after its update value exists
  g.addOutput(late);
  g.addUpdate(2, op2(g, OP_add, v, w));        // v <- v + w (old w)
  Executable ex(g, kCpu);
  std::string d = ex.describe();
  // w's update is computed into in0; v's reads w, another update target, so it is copied at the end.
  CHECK_MSG(d.find("sub](in0, in1) -> in0") != std::string::npos && d.find("identity") == d.rfind("identity") &&
                d.find("-> in2") != std::string::npos && d.find("identity(tmp@0) -> in2") != std::string::npos,
            d);
  Host hw({3}, {1, 2, 3}), hx({3}, {4, 5, 6}), hv({3}, {10, 20, 30});
  Buffer *bw = t::upload(hw, kFloat64), *bx = t::upload(hx, kFloat64), *bv = t::upload(hv, kFloat64);
  ex.setInput(0, bw);
  ex.setInput(1, bx);
  ex.setInput(2, bv);
  for (int run = 0; run < 2; ++run) {
    std::vector<double> oldW = t::download(bw).v, oldV = t::download(bv).v;
    ex.run();
    if (run == 1) CHECK(ex.runAllocations() == 0);
    Buffer* o = ex.takeOutput(0);
    std::vector<double> wantW(3), wantV(3), wantO(3);
    for (int i = 0; i < 3; ++i) {
      wantW[i] = oldW[i] - 0.5 * (oldW[i] * hx.v[i]);
      wantV[i] = oldV[i] + oldW[i];
      wantO[i] = oldW[i] * 2;
    }
    CHECK(t::download(o).v == wantO);
    CHECK(t::download(bw).v == wantW);
    CHECK(t::download(bv).v == wantV);
    freeBuffer(o);
  }
  freeBuffer(bw);
  freeBuffer(bx);
  freeBuffer(bv);
}

TEST(in_place_update_not_used_when_unsafe) {
  // a <- a + b and b <- b * a read each other's target: both must see the old values, so neither is
  // computed in place over an input the other still needs. A value that is also an output is copied.
  Graph g;
  Shape s{2};
  int a = g.addInput(kFloat32, s.data(), 1);
  int b = g.addInput(kFloat32, s.data(), 1);
  int c = g.addInput(kFloat32, s.data(), 1);
  g.addUpdate(0, op2(g, OP_add, a, b));
  g.addUpdate(1, op2(g, OP_mul, b, a));
  int cNew = op1(g, OP_neg, c);
  g.addUpdate(2, cNew);
  g.addOutput(cNew);
  Executable ex(g, kCpu);
  Host ha({2}, {1, 2}), hb({2}, {3, 4}), hc({2}, {5, 6});
  Buffer *ba = t::upload(ha, kFloat32), *bb = t::upload(hb, kFloat32), *bc = t::upload(hc, kFloat32);
  ex.setInput(0, ba);
  ex.setInput(1, bb);
  ex.setInput(2, bc);
  ex.run();
  Buffer* o = ex.takeOutput(0);
  CHECK(t::download(ba).v == std::vector<double>({4, 6}));
  CHECK(t::download(bb).v == std::vector<double>({3, 8}));
  CHECK(t::download(bc).v == std::vector<double>({-5, -6}));
  CHECK(t::download(o).v == std::vector<double>({-5, -6}));
  freeBuffer(o);
  freeBuffer(ba);
  freeBuffer(bb);
  freeBuffer(bc);
}
