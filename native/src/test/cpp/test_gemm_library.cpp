// The gemm library (Note [GEMM library]): oneDNN's sgemm against OpenBLAS on the same gemms, the rule
// that picks between them, waiting for a pending load, and failures that name the library.
#include <cblas.h>

#include <thread>
#include <vector>

#include "check.h"
#include "cpu/blas_threads.h"
#include "cpu/gemm_library.h"
#include "cpu/kernels.h"

using namespace adjoint;

namespace {

std::vector<float> randomFloats(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

TensorDesc desc(std::vector<int64_t> shape) {
  TensorDesc d;
  d.dtype = kFloat32;
  d.shape = std::move(shape);
  return d;
}

// C (m x n) = op(A) op(B) [+ alpha * that into C], through cpu::matmul with the given mode.
std::vector<float> run(int mode, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const std::vector<float>& a,
                       const std::vector<float>& b, bool accumulate, const std::vector<float>& c0) {
  cpu::setGemmMode(mode);
  std::vector<float> c = c0;
  cpu::matmul(ta, tb, desc(ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}), a.data(),
              desc(tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}), b.data(), desc({m, n}), c.data(),
              accumulate, -0.5);
  cpu::setGemmMode(0);
  return c;
}

}  // namespace

TEST(gemm_library_unavailable_names_why) {
  // Before any load was offered (or after a failed one) every gemm runs on OpenBLAS and info says why.
  cpu::oneDnnLoad("/nonexistent/libdnnl.so.3");
  CHECK(!cpu::oneDnnReady());
  CHECK(cpu::gemmLibraryFor(512, 512, 512, 4) == cpu::GemmLibrary::kOpenBlas);
  std::string info = gemmInfo();
  CHECK_MSG(info.find("OpenBLAS for every gemm") != std::string::npos && info.find("/nonexistent/libdnnl.so.3") != std::string::npos,
            info);
  CHECK_THROWS(setGemmMode(3), "mode must be 0 (auto), 1 (OpenBLAS) or 2 (oneDNN)");
  CHECK_THROWS(gemmLibraryFor(-1, 2, 2, kFloat32), "sizes must be >= 0");
  CHECK_THROWS(gemmLibraryFor(2, 2, 2, 7), "unknown dtype 7");
}

#ifdef ADJOINT_ONEDNN_LIBRARY

TEST(gemm_library_pending_load_is_waited_for) {
  // A gemm that wants oneDNN while it loads waits for the load: the choice never depends on timing.
  cpu::oneDnnExpect();
  cpu::GemmLibrary seen = cpu::GemmLibrary::kOpenBlas;
  std::thread user([&] { seen = cpu::gemmLibraryFor(256, 256, 256, 4); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cpu::oneDnnLoad(ADJOINT_ONEDNN_LIBRARY);
  user.join();
  CHECK(seen == cpu::GemmLibrary::kOneDnn);
  CHECK(cpu::oneDnnReady());
  std::string info = gemmInfo();
  CHECK_MSG(info.find("oneDNN 3.") != std::string::npos && info.find("m*n*k >= 32768") != std::string::npos, info);
}

TEST(gemm_library_rule) {
  CHECK(cpu::oneDnnReady());
  CHECK(gemmLibraryFor(32, 32, 32, kFloat32) == 1);   // from 32^3 on
  CHECK(gemmLibraryFor(16896, 64, 64, kFloat32) == 1);
  CHECK(gemmLibraryFor(31, 32, 32, kFloat32) == 0);   // small: OpenBLAS's call is cheaper
  CHECK(gemmLibraryFor(2, 3, 2, kFloat32) == 0);
  CHECK(gemmLibraryFor(512, 512, 512, kFloat64) == 0);   // no dgemm in oneDNN
  setGemmMode(1);
  CHECK(gemmLibraryFor(512, 512, 512, kFloat32) == 0);
  CHECK(gemmInfo().find("OpenBLAS for every gemm (ADJOINT_GEMM=openblas") != std::string::npos);
  setGemmMode(2);
  CHECK(gemmLibraryFor(2, 3, 2, kFloat32) == 1);
  setGemmMode(0);
}

TEST(gemm_library_onednn_matches_openblas) {
  CHECK(cpu::oneDnnReady());
  struct Shape { int64_t m, n, k; };
  // Small ones reach oneDNN through mode 2; skinny, square and odd sizes; k = 1.
  for (Shape s : {Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{64, 64, 64}, Shape{257, 31, 65}, Shape{1000, 1, 64},
                  Shape{64, 64, 4000}, Shape{100, 130, 1}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int acc = 0; acc < 2; ++acc) {
          auto a = randomFloats(s.m * s.k, 1), b = randomFloats(s.k * s.n, 2), c0 = randomFloats(s.m * s.n, 3);
          auto ref = run(1, ta, tb, s.m, s.n, s.k, a, b, acc, c0);
          auto got = run(2, ta, tb, s.m, s.n, s.k, a, b, acc, c0);
          double worst = 0;
          for (size_t i = 0; i < ref.size(); ++i)
            worst = std::max(worst, (double)std::fabs(ref[i] - got[i]) / (1.0 + std::fabs(ref[i])));
          // float32 sums of k products of values in [-1, 1]: rounding grows like sqrt(k) * 2^-24 * |terms|.
          CHECK_MSG(worst < 2e-6 * std::sqrt((double)s.k) + 1e-6,
                    s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " tb=" << tb << " acc=" << acc << ": " << worst);
        }
}

TEST(gemm_library_onednn_bits_do_not_depend_on_threads) {
  // Why the per-shape thread choice may stay adaptive on oneDNN (Note [BLAS threads]).
  CHECK(cpu::oneDnnReady());
  struct Shape { bool ta, tb; int64_t m, n, k; };
  for (Shape s : {Shape{true, false, 64, 64, 16896}, Shape{false, false, 128, 512, 784}, Shape{false, true, 4096, 64, 64},
                  Shape{false, false, 256, 256, 256}}) {
    auto a = randomFloats(s.m * s.k, 4), b = randomFloats(s.k * s.n, 5);
    std::vector<float> c1(s.m * s.n), c2(s.m * s.n);
    int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    cpu::oneDnnSgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 0.f, c1.data(), s.n, 1);
    cpu::oneDnnSgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 0.f, c2.data(), s.n, 2);
    CHECK_MSG(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0, s.m << "x" << s.n << "x" << s.k);
  }
}

TEST(gemm_library_batched_and_folded_update_on_onednn) {
  // A batched matmul [3, m, k] x [k, n] (one tall gemm) and an accumulating one (the folded SGD update).
  CHECK(cpu::oneDnnReady());
  int64_t batch = 3, m = 40, n = 48, k = 56;
  auto a = randomFloats(batch * m * k, 6), b = randomFloats(k * n, 7);
  for (int mode : {1, 0}) {
    cpu::setGemmMode(mode);
    std::vector<float> c(batch * m * n, 0.f);
    cpu::matmul(false, false, desc({batch, m, k}), a.data(), desc({k, n}), b.data(), desc({batch, m, n}), c.data());
    double worst = 0;
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p) s += (double)a[(bi * m + i) * k + p] * b[p * n + j];
          worst = std::max(worst, std::fabs(s - c[(bi * m + i) * n + j]));
        }
    CHECK_MSG(worst < 1e-4, "mode " << mode << ": " << worst);
  }
  cpu::setGemmMode(0);
}

#else

TEST(gemm_library_onednn_tests_skipped) {
  std::printf("[skip] gemm_library_*: no oneDNN library for the tests (build.sh's ONEDNN_ROOT, set by native/pom.xml)\n");
}

#endif
