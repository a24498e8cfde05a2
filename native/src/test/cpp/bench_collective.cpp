// Raw Gloo all-reduce bandwidth, without Java: N processes (fork) on this machine open libadjoint_gloo.so
// as the engine does (Gloo's ring all-reduce over loopback TCP) and time float32 sums of 1-64 MiB. The
// reference for `./adjoint launch --nproc N allreduce-bench`, which goes through Communicator (Java arrays
// copied to native memory and back). Not a test: build/adjoint_gloo_bench [N] [iters] [MiB...]
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "adjoint/collective.h"

using namespace adjoint;
typedef Collective* (*CreateFn)(const CollectiveConfig*, char*, size_t);

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2, iters = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<int> sizes;
  for (int i = 3; i < argc; i++) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1, 4, 16, 64};
  std::string dir = "/tmp/adjoint-gloo-bench-" + std::to_string(getpid());
  std::vector<pid_t> kids;
  for (int r = 0; r < n; r++) {
    pid_t p = fork();
    if (p != 0) {
      kids.push_back(p);
      continue;
    }
    void* h = dlopen(ADJOINT_GLOO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      std::fprintf(stderr, "dlopen: %s\n", dlerror());
      _exit(2);
    }
    auto create = (CreateFn)dlsym(h, ADJOINT_COLLECTIVE_CREATE_SYMBOL);
    CollectiveConfig c;
    c.rank = r;
    c.size = n;
    c.timeoutMs = 60000;
    c.store = dir;
    c.prefix = "bench";
    c.host = "127.0.0.1";
    char err[1024] = {0};
    Collective* g = create(&c, err, sizeof err);
    if (!g) {
      std::fprintf(stderr, "rank %d: %s\n", r, err);
      _exit(3);
    }
    uint32_t tag = 0;
    if (r == 0) std::printf("raw Gloo ring all-reduce (sum, float32), %d processes, loopback\n", n);
    for (int mib : sizes) {
      std::vector<float> buf((size_t)mib << 18, 1.0f);
      g->allReduce(buf.data(), (int64_t)buf.size(), kFloat32, kReduceSum, tag++);
      g->barrier(tag++);
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; i++) g->allReduce(buf.data(), (int64_t)buf.size(), kFloat32, kReduceSum, tag++);
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
      double worst = 0;
      std::vector<double> all(n);
      g->allGather(&sec, all.data(), 1, kFloat64, tag++);
      for (double v : all) worst = v > worst ? v : worst;
      double algbw = ((double)mib * (1 << 20)) / worst / 1e9;
      if (r == 0)
        std::printf("  %3d MiB: %8.2f ms  algbw %6.3f GB/s  busbw %6.3f GB/s\n", mib, worst * 1e3, algbw,
                    algbw * 2.0 * (n - 1) / n);
      std::fflush(stdout);
    }
    delete g;
    _exit(0);
  }
  int rc = 0;
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
  }
  std::system(("rm -rf " + dir).c_str());
  return rc;
}
