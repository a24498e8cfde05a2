// Note [BLAS threads]: the number of OpenBLAS threads is chosen per gemm, by measurement.
//
// A multi-threaded OpenBLAS gemm splits its work statically between its threads, which wait for
// each other at sync points by spinning. On an idle machine that is a near-linear speed-up; when
// another process holds one of the cores, the thread that lost its core holds up the others, which
// spin: measured on the 2-core CI machine with one core busy, a 4096x64 by 64x64 sgemm took 4.6 ms
// on two threads against 0.88 ms on one (1024^3: 27.5 against 17.2 ms), while idle two threads
// are 1.5-2.5x faster. No fixed setting is right for both, and the load changes while a program
// runs, so each gemm shape (m, n, k, transposes, dtype) keeps two running means of its time, with
// one thread and with the limit (blasThreadLimit()), and runs with the faster one:
//  - gemms below OpenBLAS's own threading threshold (m*n*k < 262144, where OpenBLAS uses one
//    thread whatever it is told) are not timed and keep one thread;
//  - a new shape tries each arm twice (the first sample of each, cold caches, is replaced);
//  - then the faster arm runs, and the other is re-measured in each probe window: its first call
//    there warms it up (not recorded: a multi-threaded gemm after a spell on one thread pays for
//    waking its sleeping workers, 50-100 us on a VM, which biased every probe against the limit
//    on AMD EPYC), its second is the probe that counts. Windows are
//    global, so the probes of all shapes fall in the same 20 ms: a multi-threaded probe leaves
//    OpenBLAS's workers spinning for ~0.1 s (THREAD_TIMEOUT), which on a loaded machine steals a
//    core, so probes must be rare and together. A window opens 0.1 s after the previous one, the
//    gap doubling up to 2 s, back to 0.1 s whenever a choice flips: a load that comes is seen at
//    once (the running arm slows down: its mean rises within a few runs); one that goes away is
//    seen at the next windows.
//  - means are exponential (weight 1/4 for a new sample, 1/2 for a probe's), and the choice flips
//    only when the other arm is 1.25x faster, so noisy samples (a preempted one-thread gemm on a
//    loaded machine) do not flip it, while a load that comes (the running arm slows) flips it in a few runs.
//    Back to the limit takes two probes in a row 1.25x faster than the one-thread mean, whatever
//    the limit's own (stale) mean says: on an idle AMD EPYC the W4 step's gemms had flipped to one
//    thread after a few preempted two-thread runs and stayed there (probes won, but at half weight
//    the polluted mean never came down), 1.4x slower than pinned at two (W10, bench/RESULTS.md).
// The table holds at most kMaxShapes shapes (a program has a handful); past that, new shapes run
// with the limit without statistics. It is shared by every program and thread: OpenBLAS's thread
// count is process-wide, so two gemms run at once on two threads may see each other's choice.
// Values: oneDNN's sgemm gave the same bits at 1 and 2 threads on every workload shape checked;
// OpenBLAS did too except 128x512x784 (NN), whose last bits differ between 1 and 2 threads. So a
// float32 run on OpenBLAS (ADJOINT_GEMM=openblas) and every float64 run repeat bit for bit only with
// pinned threads (Adjoint.pinBlasThreads); the values agree to rounding either way.
// The same per-shape choice applies to oneDNN (Note [GEMM library]): its arms are 1 and the limit
// OpenMP threads, with statistics of their own (an entry is per shape and library).
// Engine pool threads never spin (Note [Thread pool]); OpenBLAS's idle threads spin for a while
// after a gemm (its THREAD_TIMEOUT) — one more reason the one-thread arm wins under load.
#include "cpu/blas_threads.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/thread_pool.h"

namespace adjoint {
namespace cpu {
namespace {

constexpr int64_t kOpenBlasSerialBelow = 262144;   // SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD
constexpr int kMaxShapes = 512;
constexpr double kFirstInterval = 0.1, kMaxInterval = 2.0, kWindowOpen = 0.02;
constexpr double kWeight = 0.25, kProbeWeight = 0.5, kSwitch = 1.25;

struct Entry {
  int64_t m, n, k;
  bool ta, tb;
  int elemBytes;
  GemmLibrary lib;
  GemmArms arms;
};

std::mutex gMu;
ProbeWindows gWindows;
Entry gEntries[kMaxShapes];
int gCount = 0;
std::atomic<int> gLimit{0};   // 0: not initialised yet

double nowSeconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int find(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int eb, GemmLibrary lib) {
  for (int i = 0; i < gCount; ++i) {
    const Entry& e = gEntries[i];
    if (e.m == m && e.n == n && e.k == k && e.ta == ta && e.tb == tb && e.elemBytes == eb && e.lib == lib) return i;
  }
  return -1;
}

// In double: m, n and k are each below 2^31 but their product need not fit in int64.
bool serial(int64_t m, int64_t n, int64_t k) { return (double)m * (double)n * (double)k < (double)kOpenBlasSerialBelow; }

void setOpenBlas(int threads) {
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

}  // namespace

int GemmArms::pick(int64_t window) {
  call_ = kNormal;
  if (samples_[0] < 2) return 0;
  if (samples_[1] < 2) return 1;
  int b = best();
  if (window >= 0 && window != lastWindow_) {   // a window opened: the other arm, warming up
    lastWindow_ = window;
    probing_ = 1 - b;
    call_ = kWarmUp;
    return probing_;
  }
  if (window >= 0 && probing_ >= 0) {   // the same window's next call: the probe that counts
    const int arm = probing_;
    probing_ = -1;
    call_ = kProbe;
    return arm;
  }
  return b;
}

bool GemmArms::record(int arm, double t) {
  const Call call = call_;
  call_ = kNormal;
  if (call == kWarmUp) return false;   // its time includes waking the other arm's threads
  const bool probe = call == kProbe;
  bool wasMeasured = measured();
  int before = best_;
  if (samples_[arm] < 2) {
    mean_[arm] = t;   // the first sample (cold caches, OpenBLAS buffers) is replaced by the second
  } else {
    // A probe is the only recent news of its arm, so it weighs more than a sample of the arm that
    // runs every time; a load that goes away is then noticed in two or three probes.
    double w = probe ? kProbeWeight : kWeight;
    mean_[arm] += w * (t - mean_[arm]);
  }
  samples_[arm]++;
  if (!measured()) return false;
  if (!wasMeasured) {
    best_ = mean_[0] <= mean_[1] ? 0 : 1;
    return false;
  }
  // Hysteresis, asymmetric: fewer threads as soon as their mean is 1.25x better (a load came: the
  // running multi-threaded arm slows down at once); more threads only after two probes in a row
  // were 1.25x faster than the one-thread mean as well, because a wrong multi-threaded choice on a
  // loaded machine costs several times more than a wrong single-threaded one on an idle machine.
  // Two winning probes are enough on their own: arm 1's mean may still hold samples from a spell
  // of load (or a few preempted runs that flipped the choice), and probes, one per window at half
  // weight, would take many windows to bring it down; so the mean restarts from the last probe.
  if (probe && arm == 1) probeWins_ = t * kSwitch < mean_[0] ? probeWins_ + 1 : 0;
  if (best_ == 1 && mean_[0] * kSwitch < mean_[1]) {
    best_ = 0;
  } else if (best_ == 0 && probeWins_ >= 2) {
    best_ = 1;
    mean_[1] = t;
  }
  if (best_ != before) probeWins_ = 0;
  return best_ != before;
}

int64_t ProbeWindows::current(double now) {
  if (nextOpen_ < 0) nextOpen_ = now + interval_;
  if (now >= nextOpen_) {
    ++id_;
    closeAt_ = now + kWindowOpen;
    nextOpen_ = now + interval_;
    interval_ = std::min(interval_ * 2, kMaxInterval);
  }
  return now < closeAt_ ? id_ : -1;
}

void ProbeWindows::flipped(double now) {
  interval_ = kFirstInterval;
  nextOpen_ = std::min(nextOpen_ < 0 ? now + interval_ : nextOpen_, now + interval_);
}

int blasThreadLimit() {
  int v = gLimit.load(std::memory_order_relaxed);
  if (v == 0) {
    // Default: what ThreadPool chose (ADJOINT_THREADS or the usable CPUs), unless
    // ADJOINT_BLAS_THREADS says otherwise (Note [Threading policy] in executor.cpp).
    v = ThreadPool::defaultBlasThreads();
    int expected = 0;
    if (!gLimit.compare_exchange_strong(expected, v)) v = expected;
  }
  return v;
}

namespace {
std::atomic<int> gAdaptive{-1};   // -1: not read from the environment yet
}

bool blasThreadsAdaptive() {
  int v = gAdaptive.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("ADJOINT_BLAS_ADAPTIVE");
    v = (e && std::strcmp(e, "0") == 0) ? 0 : 1;
    int expected = -1;
    if (!gAdaptive.compare_exchange_strong(expected, v)) v = expected;
  }
  return v == 1;
}

void setBlasThreadsAdaptive(bool on) { gAdaptive.store(on ? 1 : 0); }

void setBlasThreadLimit(int n) {
  gLimit.store(std::max(1, n));
  setOpenBlas(std::max(1, n));
}

BlasThreadChoice::BlasThreadChoice(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int elemBytes, GemmLibrary lib) {
  int limit = blasThreadLimit();
  bool openBlas = lib == GemmLibrary::kOpenBlas;
  if (limit <= 1 || serial(m, n, k)) {
    threads_ = 1;
    if (openBlas) setOpenBlas(1);
    return;
  }
  if (!blasThreadsAdaptive()) {
    threads_ = limit;
    if (openBlas) setOpenBlas(limit);
    return;
  }
  {
    std::lock_guard<std::mutex> g(gMu);
    int i = find(m, n, k, ta, tb, elemBytes, lib);
    if (i < 0 && gCount < kMaxShapes) {
      i = gCount++;
      gEntries[i] = Entry{m, n, k, ta, tb, elemBytes, lib, GemmArms()};
    }
    if (i >= 0) {
      slot_ = i;
      start_ = nowSeconds();
      arm_ = gEntries[i].arms.pick(gWindows.current(start_));
    } else {
      arm_ = 1;
    }
  }
  threads_ = arm_ == 0 ? 1 : limit;
  if (openBlas) setOpenBlas(threads_);
  if (slot_ >= 0) start_ = nowSeconds();   // after the lock and the switch: only the gemm is timed
}

BlasThreadChoice::~BlasThreadChoice() {
  if (slot_ < 0) return;
  double t = nowSeconds() - start_;
  std::lock_guard<std::mutex> g(gMu);
  if (gEntries[slot_].arms.record(arm_, t)) gWindows.flipped(start_ + t);
}

int blasThreadsChosenFor(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int elemBytes, GemmLibrary lib) {
  int limit = blasThreadLimit();
  if (limit <= 1 || serial(m, n, k)) return 1;
  std::lock_guard<std::mutex> g(gMu);
  int i = find(m, n, k, ta, tb, elemBytes, lib);
  if (i < 0) return limit;
  return !gEntries[i].arms.measured() ? limit : gEntries[i].arms.best() == 0 ? 1 : limit;
}

int blasAdaptiveShapes() {
  std::lock_guard<std::mutex> g(gMu);
  return gCount;
}

void blasThreadStatsReset() {
  std::lock_guard<std::mutex> g(gMu);
  gCount = 0;
  gWindows = ProbeWindows();
}

}  // namespace cpu
}  // namespace adjoint
