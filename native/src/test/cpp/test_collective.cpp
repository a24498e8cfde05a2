// The collective seam (adjoint/collective.h, core/collective_loader.cpp): errors at the engine entry points,
// and, where CMake built the Gloo backend, its operations between ranks that are threads of this process
// (each with its own Gloo device and connections over loopback), and its join check.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "adjoint/collective.h"
#include "check.h"

using namespace adjoint;

TEST(collective_entry_point_errors) {
  CHECK_THROWS(collectiveOpen("/nonexistent/libadjoint_gloo.so", 0, 2, 1000, "/tmp", "p", ""),
               "cannot load collective backend /nonexistent/libadjoint_gloo.so");
  CHECK_THROWS(collectiveOpen("x", 2, 2, 1000, "/tmp", "p", ""), "collectiveOpen: rank 2 is outside [0, 2)");
  CHECK_THROWS(collectiveOpen("x", 0, 0, 1000, "/tmp", "p", ""), "world size must be >= 1");
  CHECK_THROWS(collectiveOpen("x", 0, 1, 0, "/tmp", "p", ""), "timeout must be > 0 ms");
  float v[2] = {1, 2};
  CHECK_THROWS(collectiveAllReduce(12345, v, 2, kFloat32, kReduceSum, 0), "allReduce: no open process group 12345");
  CHECK_THROWS(collectiveAllReduce(12345, v, 2, kInt32, kReduceSum, 0), "allReduce: dtype Int32 is not supported");
  CHECK_THROWS(collectiveAllReduce(12345, v, 2, kFloat32, 7, 0), "unknown reduction 7");
  CHECK_THROWS(collectiveBarrier(12345, 0), "barrier: no open process group");
}

#ifndef ADJOINT_GLOO_LIBRARY
TEST(gloo_backend_not_built) {
  std::printf("[skip] gloo_collectives_between_threads, gloo_join_check: CMake did not find Gloo, so "
              "libadjoint_gloo.so was not built (install libgloo-dev)\n");
}
#else
namespace {
std::string freshDir(const char* what) {
  return std::string("/tmp/adjoint-test-collective-") + what + "-" + std::to_string(getpid());
}
}  // namespace

TEST(gloo_collectives_between_threads) {
  const int n = 3;
  std::string dir = freshDir("ops");
  std::vector<std::string> errors(n);
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; r++)
    ranks.emplace_back([&, r] {
      try {
        int64_t g = collectiveOpen(ADJOINT_GLOO_LIBRARY, r, n, 20000, dir, "t", "127.0.0.1");
        auto expect = [&](bool ok, const std::string& what) {
          if (!ok && errors[r].empty()) errors[r] = what;
        };
        std::vector<double> d(1000);
        for (int i = 0; i < 1000; i++) d[i] = i * (r + 1);
        collectiveAllReduce(g, d.data(), 1000, kFloat64, kReduceSum, 1);
        expect(d[7] == 7.0 * (1 + 2 + 3) && d[999] == 999.0 * 6, "allReduce sum f64");
        float f[2] = {(float)r, 1};
        collectiveAllReduce(g, f, 2, kFloat32, kReduceMean, 2);
        expect(f[0] == 1.0f && f[1] == 1.0f, "allReduce mean f32");
        double b[2] = {(double)r, -1.0 * r};
        collectiveBroadcast(g, b, 2, kFloat64, 2, 3);
        expect(b[0] == 2 && b[1] == -2, "broadcast from rank 2");
        float mine[2] = {(float)r, 10.0f * r}, all[2 * n];
        collectiveAllGather(g, mine, all, 2, kFloat32, 4);
        for (int k = 0; k < n; k++) expect(all[2 * k] == k && all[2 * k + 1] == 10.0f * k, "allGather");
        collectiveBarrier(g, 5);
        expect(collectiveDescribe(g).find("gloo tcp rank " + std::to_string(r) + " of 3") != std::string::npos, "describe");
        collectiveClose(g);
        CHECK_THROWS(collectiveBarrier(g, 6), "no open process group");
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  std::filesystem::remove_all(dir);
  for (int r = 0; r < n; r++) CHECK_MSG(errors[r].empty(), "rank " + std::to_string(r) + ": " + errors[r]);
}

TEST(gloo_join_check_names_missing_ranks_and_mismatched_sizes) {
  CHECK_THROWS(collectiveOpen(ADJOINT_GLOO_LIBRARY, 0, 3, 300, freshDir("alone"), "t", "127.0.0.1"),
               "rank(s) 1, 2 did not join the rendezvous");
  std::filesystem::remove_all(freshDir("alone"));
  std::string dir = freshDir("sizes"), err0, err1;
  std::thread a([&] {
    try {
      collectiveOpen(ADJOINT_GLOO_LIBRARY, 0, 2, 2000, dir, "t", "127.0.0.1");
    } catch (const std::exception& e) {
      err0 = e.what();
    }
  });
  std::thread b([&] {
    try {
      collectiveOpen(ADJOINT_GLOO_LIBRARY, 1, 3, 2000, dir, "t", "127.0.0.1");
    } catch (const std::exception& e) {
      err1 = e.what();
    }
  });
  a.join();
  b.join();
  std::filesystem::remove_all(dir);
  CHECK_MSG(err0.find("rank 1 was started with world size 3, rank 0 with 2") != std::string::npos, err0);
  CHECK_MSG(err1.find("world size") != std::string::npos, err1);
}
#endif
