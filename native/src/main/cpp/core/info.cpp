// Engine-wide names, information and settings.
#include <cblas.h>

#include <atomic>
#include <climits>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/blas_threads.h"
#include "cpu/gemm_library.h"
#include "cpu/host_allocator.h"
#include "cpu/kernels.h"

#ifndef ADJOINT_VERSION
#define ADJOINT_VERSION "dev"
#endif

namespace adjoint {

int opCount() { return OP_COUNT; }

const char* opName(int op) {
  if (op == OP_FUSED) return "fused";
  const char* name = opTableName(op);
  if (!name) fail("unknown op id ", op, " (the engine has ", (int)OP_COUNT, " ops)");
  return name;
}

static std::atomic<HostCallback> gHostCallback{nullptr};
void setHostCallback(HostCallback callback) { gHostCallback.store(callback); }
HostCallback currentHostCallback() { return gHostCallback.load(); }

std::string version() { return ADJOINT_VERSION; }

std::string blasInfo() {
  std::string s;
  const char* config = openblas_get_config();
  const char* core = openblas_get_corename();
  s += config ? config : "?";
  s += "; core ";
  s += core ? core : "?";
  s += "; threads " + std::to_string(cpu::blasThreadLimit()) + (cpu::blasThreadsAdaptive() ? " at most, chosen per gemm shape" : " (pinned)");
  return s;
}

void oneDnnExpect() { cpu::oneDnnExpect(); }
void oneDnnLoad(const std::string& path) { cpu::oneDnnLoad(path); }
void oneDnnUnavailable(const std::string& why) { cpu::oneDnnUnavailable(why); }
std::string gemmInfo() { return cpu::gemmLibraryInfo(); }
int gemmMode() { return cpu::gemmMode(); }
void setGemmMode(int mode) { cpu::setGemmMode(mode); }
int gemmLibraryFor(int64_t m, int64_t n, int64_t k, int dtype) {
  if (m < 0 || n < 0 || k < 0) fail("gemmLibraryFor: sizes must be >= 0, got ", m, ", ", n, ", ", k);
  dtypeSize(dtype);   // an unknown dtype throws, naming it
  return dtype == kFloat32 ? (int)cpu::gemmLibraryFor(m, n, k, 4) : 0;
}

void rawSgemm(int library, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
              int threads) {
  if (m < 1 || n < 1 || k < 1 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
    fail("rawSgemm: sizes must be in [1, 2^31), got ", m, ", ", n, ", ", k);
  if (threads < 1) fail("rawSgemm: threads must be >= 1, got ", threads);
  if (!a || !b || !c) fail("rawSgemm: null buffer");
  int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if (library == 1) {
    if (!cpu::oneDnnReady()) fail("rawSgemm: oneDNN is unavailable: ", cpu::gemmLibraryInfo());
    cpu::oneDnnSgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, n, threads);
    return;
  }
  if (library != 0) fail("rawSgemm: library must be 0 (OpenBLAS) or 1 (oneDNN), got ", library);
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
              (blasint)k, 1.f, a, (blasint)lda, b, (blasint)ldb, 0.f, c, (blasint)n);
}

std::string mathInfo() { return cpu::sleefStatus(); }

// The limit, not OpenBLAS's current count, which Note [BLAS threads] changes gemm by gemm.
int blasThreads() { return cpu::blasThreadLimit(); }

void setBlasThreads(int n) {
  if (n < 1) fail("setBlasThreads: thread count must be >= 1, got ", n);
  cpu::setBlasThreadLimit(n);
  cpu::setBlasThreadsAdaptive(true);
}

void pinBlasThreads(int n) {
  if (n < 1) fail("pinBlasThreads: thread count must be >= 1, got ", n);
  cpu::setBlasThreadLimit(n);
  cpu::setBlasThreadsAdaptive(false);
}

bool blasThreadsPinned() { return !cpu::blasThreadsAdaptive(); }

int threads() { return ThreadPool::instance().size(); }

void setThreads(int n) {
  if (n < 1) fail("setThreads: thread count must be >= 1, got ", n);
  ThreadPool::instance().resize(n);
}

void emptyCache() { cpu::hostEmptyCache(); }

int64_t cachedBytes() { return cpu::hostCachedBytes(); }

}  // namespace adjoint
