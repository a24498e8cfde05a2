// W3's kernels without Java (not a test): build/adjoint_sin_bench [threads] [repeats]
//
// 16M float32: cpu::copy (the engine's streamed copy, what copyEngine times), the fused [sin neg]
// step (second order) with SLEEF's sin (where active) and with libmvec's, the plain cos step (first
// order; libmvec, Note [SLEEF]), plus the fused loop as it was before Note [Prefetch] (tiles of mathTile + streamStore, no
// prefetch) for a comparison under the same load. Prints the minimum over the repeats and each one's
// fraction of the copy's time (with one thread also the minimum thread CPU time). Timing on a shared machine is noisy: repeat and take the minimum.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "adjoint/engine.h"
#include "cpu/kernels.h"

using namespace adjoint;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// This thread's CPU time: on a loaded machine it leaves out the time the thread waited for a core,
// which wall time does not (meaningful with one thread only).
double cpuNow() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

void withoutPrefetch(int threads, const float* x, float* y, int64_t n) {
  auto run = [&](int64_t lo, int64_t hi) {
    alignas(64) float s[1024];
    for (int64_t b = lo; b < hi; b += 1024) {
      cpu::mathTile(OP_sin, x + b, s, 1024);
      for (int i = 0; i < 1024; i++) s[i] = -s[i];
      cpu::streamStore(y + b, s, sizeof s);
    }
    cpu::streamFence();
  };
  if (threads == 1) return run(0, n);
  std::thread t([&] { run(n / 2, n); });
  run(0, n / 2);
  t.join();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  setThreads(threads);
  const int64_t n = 16 << 20;   // a multiple of 2 * 1024
  // 64-byte aligned, as the engine's buffers are: a misaligned output would make every streamed
  // tile start and end with plain stores into lines that are also streamed.
  float* x = (float*)std::aligned_alloc(64, n * 4);
  float* y = (float*)std::aligned_alloc(64, n * 4);
  std::memset(y, 0, n * 4);
  for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 1000) * 0.00628f - 3.14f;
  StepLayout l;
  l.shape = {n};
  l.strides = {{1}};
  const std::vector<FusedInstr> sinNeg = {{OP_sin, 0, -1, 0}, {OP_neg, 1, -1, 0}};
  const bool sleef = cpu::sleefActive();
  enum { kCopy, kSinNeg, kCos, kSinNegMvec, kOld, kOldMvec, kCount };
  const char* names[kCount] = {"copy", "fused[sin neg] SLEEF", "cos", "fused[sin neg] libmvec", "no prefetch [sin neg] SLEEF",
                               "no prefetch [sin neg] libmvec"};
  double best[kCount], bestCpu[kCount];
  std::fill(best, best + kCount, 1e30);
  std::fill(bestCpu, bestCpu + kCount, 1e30);
  auto time = [&](int k, auto f) {
    double t = now(), c = cpuNow();
    f();
    best[k] = std::min(best[k], now() - t);
    bestCpu[k] = std::min(bestCpu[k], cpuNow() - c);
  };
  for (int r = 0; r < repeats; r++) {
    time(kCopy, [&] { cpu::copy(y, x, n * 4); });
    for (int lib = 0; lib < 2; lib++) {
      cpu::setSleefEnabled(lib == 0);
      if (lib == 0 && !sleef) continue;
      time(lib ? kSinNegMvec : kSinNeg, [&] { cpu::fused(sinNeg, l, {x}, kFloat32, n, y); });
      if (lib) time(kCos, [&] { cpu::unary(OP_cos, kFloat32, x, y, n); });
      time(lib ? kOldMvec : kOld, [&] { withoutPrefetch(threads, x, y, n); });
    }
    cpu::setSleefEnabled(true);
  }
  std::printf("threads %d, %d repeats; math: %s\n", threads, repeats, mathInfo().c_str());
  for (int k = 0; k < kCount; k++)
    if (best[k] < 1e30) {
      std::printf("  %-30s %7.2f ms  %5.1f %% of copy", names[k], best[k] * 1e3, 100 * best[kCopy] / best[k]);
      if (threads == 1) std::printf("   (thread CPU time %7.2f ms  %5.1f %%)", bestCpu[k] * 1e3, 100 * bestCpu[kCopy] / bestCpu[k]);
      std::printf("\n");
    }
  std::free(x);
  std::free(y);
}
