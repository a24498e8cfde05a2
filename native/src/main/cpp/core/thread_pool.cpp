#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace adjoint {

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() { resize(defaultThreads()); }

int64_t ThreadPool::nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
// Note [Oversubscription] state; racy updates are fine (a heuristic, never a value).
std::atomic<int64_t> gSerialUntil{0};
std::atomic<int64_t> gBackoffNs{100000000};   // 0.1 s
std::atomic<unsigned> gHistory{0};            // last 8 jobs, 1 = the submitter waited too long
std::atomic<int> gGoodStreak{0};
constexpr int64_t kMinBackoffNs = 100000000, kMaxBackoffNs = 3200000000LL, kMinWaitNs = 50000;
}  // namespace

bool ThreadPool::workersUseful() {
  int64_t until = gSerialUntil.load(std::memory_order_relaxed);
  return until == 0 || nowNs() >= until;
}

void ThreadPool::recordJob(int64_t ownNs, int64_t waitNs) {
  bool bad = waitNs > kMinWaitNs && waitNs * 2 > ownNs;
  unsigned h = ((gHistory.load(std::memory_order_relaxed) << 1) | (bad ? 1u : 0u)) & 0xffu;
  gHistory.store(h, std::memory_order_relaxed);
  if (!bad) {
    if (gGoodStreak.fetch_add(1, std::memory_order_relaxed) + 1 >= 64) gBackoffNs.store(kMinBackoffNs, std::memory_order_relaxed);
    return;
  }
  gGoodStreak.store(0, std::memory_order_relaxed);
  if (__builtin_popcount(h) < 3) return;
  int64_t backoff = gBackoffNs.load(std::memory_order_relaxed);
  gSerialUntil.store(nowNs() + backoff, std::memory_order_relaxed);
  gBackoffNs.store(std::min(backoff * 2, kMaxBackoffNs), std::memory_order_relaxed);
  gHistory.store(0, std::memory_order_relaxed);
}

namespace {

// A positive integer from the environment, 0 when unset; a malformed value is reported once.
int envThreads(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > 4096) {
    std::fprintf(stderr, "adjoint: ignoring %s=%s (expected a thread count from 1 to 4096)\n", name, v);
    return 0;
  }
  return (int)n;
}

// ceil(quota / period) from a cgroup file, 0 when there is no quota.
int cgroupQuotaCpus() {
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {   // cgroup v2: "max 100000" or "200000 100000"
    char quota[32] = {0};
    long period = 0;
    int got = std::fscanf(f, "%31s %ld", quota, &period);
    std::fclose(f);
    if (got == 2 && std::strcmp(quota, "max") != 0 && period > 0) {
      long q = std::atol(quota);
      if (q > 0) return (int)((q + period - 1) / period);
    }
    return 0;
  }
  long q = 0, period = 0;
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r")) {   // cgroup v1
    if (std::fscanf(f, "%ld", &q) != 1) q = 0;
    std::fclose(f);
  }
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r")) {
    if (std::fscanf(f, "%ld", &period) != 1) period = 0;
    std::fclose(f);
  }
  return q > 0 && period > 0 ? (int)((q + period - 1) / period) : 0;
}

}  // namespace

int ThreadPool::usableCpus() {
  int n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = (int)std::thread::hardware_concurrency();
  int quota = cgroupQuotaCpus();
  if (quota > 0) n = std::min(n, quota);
  return std::max(1, n);
}

int ThreadPool::defaultThreads() {
  static const int n = [] {
    int e = envThreads("ADJOINT_THREADS");
    return e > 0 ? e : usableCpus();
  }();
  return n;
}

int ThreadPool::defaultBlasThreads() {
  static const int n = [] {
    int e = envThreads("ADJOINT_BLAS_THREADS");
    return e > 0 ? e : defaultThreads();
  }();
  return n;
}

ThreadPool::~ThreadPool() {
  // Destructors must not throw (Note [Errors]); joining cannot, but be explicit.
  try {
    resize(1);
  } catch (...) {
  }
}

void ThreadPool::resize(int threads) {
  threads = std::max(1, threads);
  std::lock_guard<std::mutex> serial(resizeMu_);   // two resizes would join the same threads
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = false;
  }
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
  size_.store(threads, std::memory_order_relaxed);
}

ThreadPool::Job* ThreadPool::findWork() {
  for (Job* j : jobs_)
    if (j->hasWork()) return j;
  return nullptr;
}

void ThreadPool::workerLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    Job* job = nullptr;
    cv_.wait(lk, [&] { return stop_ || (job = findWork()) != nullptr; });
    if (stop_) return;
    ++job->active_;
    lk.unlock();
    job->work();
    lk.lock();
    --job->active_;
    doneCv_.notify_all();
  }
}

void ThreadPool::submit(Job* job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_all();
}

void ThreadPool::notify() {
  { std::lock_guard<std::mutex> lk(mu_); }
  cv_.notify_all();
  doneCv_.notify_all();
}

void ThreadPool::retire(Job* job) {
  std::unique_lock<std::mutex> lk(mu_);
  jobs_.erase(std::find(jobs_.begin(), jobs_.end(), job));
  doneCv_.wait(lk, [&] { return job->active_ == 0; });
}

}  // namespace adjoint
