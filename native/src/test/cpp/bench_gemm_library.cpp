// OpenBLAS against oneDNN on the workloads' gemm shapes (not a test; Note [GEMM library] quotes it):
//   build/adjoint_gemm_bench [threads]      best of 5 rounds per shape and library, each round ~0.2 s
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "adjoint/engine.h"

namespace {
struct Shape {
  const char* name;
  bool ta, tb;
  int64_t m, n, k;
};
}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  adjoint::oneDnnLoad(ADJOINT_ONEDNN_LIBRARY);
  std::printf("%s\nthreads %d\n", adjoint::gemmInfo().c_str(), threads);
  const Shape shapes[] = {
      {"W6 forward", false, false, 16896, 64, 64},    {"W6 weight grad", true, false, 64, 64, 16896},
      {"W6 input grad", false, true, 16896, 64, 64},  {"W6 first layer", false, false, 16896, 64, 2},
      {"W6 last layer", false, false, 16896, 1, 64},  {"W7 layer 1", false, false, 256, 128, 96},
      {"W7 layer 2", false, false, 256, 128, 128},    {"W7 weight grad", true, false, 128, 128, 256},
      {"W7 dE/dx", false, true, 256, 96, 128},        {"W4 layer 1", false, false, 128, 512, 784},
      {"W4 dW1", true, false, 784, 512, 128},         {"W4 dh1", false, true, 128, 784, 512},
      {"W4 layer 2", false, false, 128, 512, 512},    {"W2 1024 NT", false, true, 1024, 1024, 1024},
      {"W2 1024 TN", true, false, 1024, 1024, 1024},  {"W2 2048 NT", false, true, 2048, 2048, 2048},
      {"W2 2048 TN", true, false, 2048, 2048, 2048},  {"small 16^3", false, true, 16, 16, 16},
      {"small 32^3", false, true, 32, 32, 32},        {"small 64^3", false, true, 64, 64, 64}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-16s %-18s %12s %12s %8s\n", "shape", "m x n x k", "OpenBLAS us", "oneDNN us", "ratio");
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
    for (float& v : a) v = u(rng);
    for (float& v : b) v = u(rng);
    double flops = 2.0 * s.m * s.n * s.k;
    int reps = (int)std::clamp(2e10 / 100 / flops, 3.0, 20000.0);
    double best[2] = {1e30, 1e30};
    for (int round = 0; round < 5; ++round)
      for (int lib = 0; lib < 2; ++lib) {
        auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r)
          adjoint::rawSgemm(lib, s.ta, s.tb, s.m, s.n, s.k, a.data(), b.data(), c.data(), threads);
        best[lib] = std::min(best[lib], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
      }
    char dims[64];
    std::snprintf(dims, sizeof dims, "%lldx%lldx%lld%s", (long long)s.m, (long long)s.n, (long long)s.k,
                  s.ta ? " TN" : s.tb ? " NT" : " NN");
    std::printf("%-16s %-18s %12.1f %12.1f %8.2f\n", s.name, dims, best[0] * 1e6, best[1] * 1e6, best[1] / best[0]);
  }
}
