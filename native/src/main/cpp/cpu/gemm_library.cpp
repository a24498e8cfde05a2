// Note [GEMM library]: OpenBLAS or oneDNN, chosen per gemm shape by a fixed rule.
//
// oneDNN's sgemm (its JIT AVX2/AVX-512 kernels) was measured against OpenBLAS 0.3.31 on the shapes of
// the workloads (bench/RESULTS.md, "GEMM library per shape"; adjoint_gemm_bench, 1 thread, Intel Xeon,
// AVX-512): faster on the float32 shapes with m*n*k >= 32^3 — 0.68-0.82x OpenBLAS's time on the PINN's
// 16896x64x64 and 64x64x16896 gemms, 0.52-0.67x on its 2- and 1-column first and last layers, 0.68-0.87x on the
// force field's and the MLP's, 0.88-0.95x at n = 1024, within noise at 2048 (0.94-1.15x over two runs) — and
// slower below (its call costs 0.2-0.5 us against OpenBLAS's 0.1-0.25 us: 1.5-2.7x on 1..16-sized gemms).
// On an AMD EPYC Zen 5 (OpenBLAS on its AVX2 Haswell kernels there) oneDNN took 0.33-0.56x OpenBLAS's time
// on every one of those shapes from 32^3 up, 0.52x at 1024 and 2048, and 1.7x at 16^3. So:
//   float32, oneDNN present, m*n*k >= kOneDnnFrom  -> oneDNN;   everything else -> OpenBLAS.
// Float64 always runs on OpenBLAS (dnnl has no dgemm). The rule is fixed, not measured per run:
// the two libraries round differently (results differ in the last bits), so a timing-based choice
// would make two runs of the same program differ in their bits. Each library's own thread count is
// still chosen per shape by measurement (Note [BLAS threads]); dnnl_sgemm's results do not depend on
// its thread count (checked on the workloads' shapes, test_gemm_library.cpp).
// ADJOINT_GEMM=openblas (or Adjoint.setGemm) turns oneDNN off; =onednn sends every float32 gemm to it
// but the tiny ones (at most 512 multiply-adds), which the engine computes itself (Note [Tiny gemm]).
//
// Loading: libdnnl.so.3 (with its libgomp.so.1) comes from the org.bytedeco:dnnl platform jar, which
// JavaCPP unpacks into its cache; the engine opens it with dlopen (never linked: a build or a user
// without it is unaffected). Opening the 90 MB library takes ~50-70 ms, so Java starts it on a
// background thread when the engine loads (oneDnnExpect, then oneDnnLoad); the first gemm that wants
// it waits for that load to finish, so which library a gemm uses never depends on timing.
//
// OpenMP threads: oneDNN runs on GNU OpenMP, whose idle threads spin for GOMP_SPINCOUNT (default
// 300000 pauses, several ms) after each parallel region — on a loaded machine that steals the core
// the caller needs (Note [Oversubscription]). Unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT,
// the engine sets GOMP_SPINCOUNT=10000 (a fraction of a millisecond, enough to bridge the gaps between
// a step's gemms) before libgomp is loaded. The thread count is set per call on the calling thread
// (omp_set_num_threads: OpenMP's count is per thread).
#include "cpu/gemm_library.h"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/common.h"

namespace adjoint {
namespace cpu {
namespace {

constexpr double kOneDnnFrom = 32.0 * 32.0 * 32.0;   // m*n*k from which oneDNN runs float32 gemms
constexpr auto kLoadWait = std::chrono::seconds(120);   // a pending load longer than this is given up

// The C ABI of the two oneDNN entry points used (oneapi/dnnl/dnnl.h, dnnl_common_types.h, v3):
// dnnl_status_t is an int-sized enum, dnnl_dim_t is int64_t.
using SgemmFn = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpuRuntime, gpuRuntime;
};
using VersionFn = const DnnlVersion* (*)();
using SetThreadsFn = void (*)(int);

enum class State { kNone, kPending, kReady, kFailed };

std::mutex gMu;
std::condition_variable gCv;
State gState = State::kNone;
std::string gWhy = "no oneDNN library was offered (the org.bytedeco:dnnl platform jar is not on the class path)";
std::string gPath, gVersion;
SgemmFn gSgemm = nullptr;
SetThreadsFn gSetThreads = nullptr;
std::atomic<int> gReady{0};   // 1 once kReady: the fast path without the lock
std::atomic<int> gMode{-1};   // -1: not read from ADJOINT_GEMM yet

void finish(State s, const std::string& why) {
  {
    std::lock_guard<std::mutex> g(gMu);
    gState = s;
    if (!why.empty()) gWhy = why;
    if (s == State::kReady) gReady.store(1, std::memory_order_release);
  }
  gCv.notify_all();
}

int readMode() {
  const char* e = std::getenv("ADJOINT_GEMM");
  if (!e || !*e || std::strcmp(e, "auto") == 0) return 0;
  if (std::strcmp(e, "openblas") == 0) return 1;
  if (std::strcmp(e, "onednn") == 0) return 2;
  fail("ADJOINT_GEMM=", e, " is not one of auto, openblas, onednn");
}

}  // namespace

int gemmMode() {
  int v = gMode.load(std::memory_order_relaxed);
  if (v < 0) {
    v = readMode();
    int expected = -1;
    if (!gMode.compare_exchange_strong(expected, v)) v = expected;
  }
  return v;
}

void setGemmMode(int mode) {
  if (mode < 0 || mode > 2) fail("setGemm: mode must be 0 (auto), 1 (OpenBLAS) or 2 (oneDNN), got ", mode);
  gMode.store(mode);
}

void oneDnnExpect() {
  std::lock_guard<std::mutex> g(gMu);
  if (gState != State::kReady) gState = State::kPending;
}

void oneDnnUnavailable(const std::string& why) { finish(State::kFailed, why); }

void oneDnnLoad(const std::string& path) {
  {
    std::lock_guard<std::mutex> g(gMu);
    if (gState == State::kReady) return;
    gState = State::kPending;
  }
  // Before libgomp is loaded: it reads its settings once (see the Note).
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "10000", 0);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    finish(State::kFailed, "cannot open " + path + ": " + (e ? e : "unknown dlopen error"));
    return;
  }
  // dlsym on the handle searches the library and its dependencies, libgomp.so.1 among them.
  auto sgemm = (SgemmFn)dlsym(h, "dnnl_sgemm");
  auto version = (VersionFn)dlsym(h, "dnnl_version");
  auto setThreads = (SetThreadsFn)dlsym(h, "omp_set_num_threads");
  if (!sgemm || !version || !setThreads) {
    finish(State::kFailed, path + " lacks " + (!sgemm ? "dnnl_sgemm" : !version ? "dnnl_version" : "omp_set_num_threads (GNU OpenMP)"));
    return;   // the handle stays open: harmless, and nothing else may still refer to it
  }
  const DnnlVersion* v = version();
  std::string ver = v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) : "?";
  {
    std::lock_guard<std::mutex> g(gMu);
    gSgemm = sgemm;
    gSetThreads = setThreads;
    gPath = path;
    gVersion = ver;
  }
  finish(State::kReady, "");
}

bool oneDnnReady() {
  if (gReady.load(std::memory_order_acquire)) return true;
  std::unique_lock<std::mutex> g(gMu);
  if (gState == State::kPending && !gCv.wait_for(g, kLoadWait, [] { return gState != State::kPending; })) {
    gState = State::kFailed;
    gWhy = "loading oneDNN took longer than 120 s; float32 gemms run on OpenBLAS";
  }
  return gState == State::kReady;
}

std::string gemmLibraryInfo() {
  int mode = gemmMode();
  std::unique_lock<std::mutex> g(gMu);
  if (gState == State::kPending) {
    g.unlock();
    oneDnnReady();
    g.lock();
  }
  if (mode == 1) return "OpenBLAS for every gemm (ADJOINT_GEMM=openblas or Adjoint.setGemm)";
  if (gState != State::kReady) return "OpenBLAS for every gemm: oneDNN unavailable (" + gWhy + ")";
  std::string s = "oneDNN " + gVersion + " (" + gPath + ") for float32 gemms";
  s += mode == 2 ? " (every one above 512 multiply-adds: ADJOINT_GEMM=onednn)" : " with m*n*k >= 32768";
  return s + ", OpenBLAS for the rest and float64";
}

GemmLibrary gemmLibraryFor(int64_t m, int64_t n, int64_t k, int elemBytes) {
  if (elemBytes != 4) return GemmLibrary::kOpenBlas;
  int mode = gemmMode();
  if (mode == 1) return GemmLibrary::kOpenBlas;
  // In double: m, n and k are each below 2^31 but their product need not fit in int64.
  if (mode == 0 && (double)m * (double)n * (double)k < kOneDnnFrom) return GemmLibrary::kOpenBlas;
  return oneDnnReady() ? GemmLibrary::kOneDnn : GemmLibrary::kOpenBlas;
}

void oneDnnSgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  gSetThreads(threads);
  int status = gSgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != 0)   // dnnl_success is 0; the others (invalid arguments, out of memory) are errors
    fail("matmul: oneDNN's sgemm failed with status ", status, " on ", m, "x", k, (ta ? "^T" : ""), " by ", k, "x", n,
         (tb ? "^T" : ""), "; ADJOINT_GEMM=openblas runs it on OpenBLAS");
}

}  // namespace cpu
}  // namespace adjoint
