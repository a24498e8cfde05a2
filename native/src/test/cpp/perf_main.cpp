// Performance sanity check (not a test): adjoint_perf [threads]
//
// W3: d/dx and d2/dx2 of sum(sin x) over 16M floats, as the gradient graphs Java would build
//     (cos(x) * onesLike and neg(sin x) * ones * ones), against a plain copy loop (the ideal is one
//     memory pass: read x, write y).
// W2: the gradient of a 1024x1024 matmul w.r.t. both inputs (two gemms with transposed operands),
//     against two raw cblas_sgemm calls, sequential and with the branches concurrent.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "adjoint/engine.h"

using namespace adjoint;

static double bestMs(int reps, const std::function<void()>& f) {
  f();   // warm-up (first run allocates the arena)
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main(int argc, char** argv) {
  if (argc > 1) setThreads(atoi(argv[1]));
  std::printf("threads %d, %s\n", threads(), blasInfo().c_str());
  const int64_t n = 16 << 20;
  int64_t shape[1] = {n};
  Buffer* x = newBuffer(kCpu, kFloat32, shape, 1);
  Buffer* y = newBuffer(kCpu, kFloat32, shape, 1);
  std::vector<float> host(n);
  for (int64_t i = 0; i < n; ++i) host[i] = (float)(i % 1000) * 0.001f;
  x->copyFromHost(host.data(), x->bytes());

  double copyMs = bestMs(10, [&] { std::memcpy(y->data(), x->data(), n * 4); });
  std::printf("W3 copy 16M floats (ideal one pass): %.2f ms (%.1f GB/s)\n", copyMs, 2.0 * n * 4 / copyMs / 1e6);

  for (int order = 1; order <= 2; ++order) {
    Graph g;
    int in = g.addInput(kFloat32, shape, 1);
    int v;
    if (order == 1) {   // d/dx sum(sin x) = cos(x) * onesLike(sum) broadcast
      int c = g.addNode(OP_cos, &in, 1, nullptr, 0, 0);
      int ones = g.addNode(OP_onesLike, &in, 1, nullptr, 0, 0);
      int args[2] = {c, ones};
      v = g.addNode(OP_mul, args, 2, nullptr, 0, 0);
    } else {            // d2/dx2 = neg(sin x) * ones * ones
      int s = g.addNode(OP_sin, &in, 1, nullptr, 0, 0);
      int ns = g.addNode(OP_neg, &s, 1, nullptr, 0, 0);
      int ones = g.addNode(OP_onesLike, &in, 1, nullptr, 0, 0);
      int a1[2] = {ns, ones};
      int m = g.addNode(OP_mul, a1, 2, nullptr, 0, 0);
      int a2[2] = {m, ones};
      v = g.addNode(OP_mul, a2, 2, nullptr, 0, 0);
    }
    g.addOutput(v);
    Executable ex(g, kCpu);
    ex.setInput(0, x);
    ex.setOutput(0, y);
    double ms = bestMs(10, [&] { ex.run(); });
    std::printf("W3 order %d: %d step(s), %.2f ms = %.2fx the copy loop\n%s", order, ex.numSteps(), ms, ms / copyMs, ex.describe().c_str());
  }

  const int N = 1024;
  int64_t sq[2] = {N, N};
  std::vector<float> a(N * N), b(N * N), d(N * N), o1(N * N), o2(N * N);
  for (int i = 0; i < N * N; ++i) {
    a[i] = (float)((i * 7) % 13) * 0.1f;
    b[i] = (float)((i * 5) % 11) * 0.1f;
    d[i] = (float)((i * 3) % 7) * 0.1f;
  }
  double raw = bestMs(5, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, N, 1, d.data(), N, b.data(), N, 0, o1.data(), N);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, N, 1, a.data(), N, d.data(), N, 0, o2.data(), N);
  });
  double flops = 2.0 * 2 * N * (double)N * N;
  std::printf("W2 raw 2x cblas_sgemm 1024: %.2f ms (%.1f GFLOP/s)\n", raw, flops / raw / 1e6);
  Graph g;
  int ia = g.addInput(kFloat32, sq, 2), ib = g.addInput(kFloat32, sq, 2), id = g.addInput(kFloat32, sq, 2);
  int in1[2] = {id, ib}, in2[2] = {ia, id};
  int64_t nt[2] = {0, 1}, tn[2] = {1, 0};
  g.addOutput(g.addNode(OP_matmul, in1, 2, nt, 2, 0));   // dA = dC B^T
  g.addOutput(g.addNode(OP_matmul, in2, 2, tn, 2, 0));   // dB = A^T dC
  Executable ex(g, kCpu);
  Buffer *ba = newBuffer(kCpu, kFloat32, sq, 2), *bb = newBuffer(kCpu, kFloat32, sq, 2), *bd = newBuffer(kCpu, kFloat32, sq, 2);
  Buffer *r1 = newBuffer(kCpu, kFloat32, sq, 2), *r2 = newBuffer(kCpu, kFloat32, sq, 2);
  ba->copyFromHost(a.data(), ba->bytes());
  bb->copyFromHost(b.data(), bb->bytes());
  bd->copyFromHost(d.data(), bd->bytes());
  ex.setInput(0, ba);
  ex.setInput(1, bb);
  ex.setInput(2, bd);
  ex.setOutput(0, r1);
  ex.setOutput(1, r2);
  double ms = bestMs(5, [&] { ex.run(); });
  std::printf("W2 engine matmul gradient 1024: %.2f ms = %.2fx raw (%.1f GFLOP/s)\n", ms, ms / raw, flops / ms / 1e6);
  for (Buffer* buf : {x, y, ba, bb, bd, r1, r2}) freeBuffer(buf);
  return 0;
}
