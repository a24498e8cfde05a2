// Engine-wide names, information and settings.
#include <cblas.h>

#include <atomic>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/blas_threads.h"
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
