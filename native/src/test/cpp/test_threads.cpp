// Thread counts: the per-shape choice of OpenBLAS threads (Note [BLAS threads]) and the defaults
// (Note [Threading policy]).
#include <cblas.h>

#include <cstdlib>
#include <vector>

#include "check.h"
#include "core/thread_pool.h"
#include "cpu/blas_threads.h"

using namespace adjoint;
using cpu::GemmArms;

// Feeds `runs` runs with fixed times per arm, `dt` seconds apart from `now`, through real probe
// windows; returns how many ran on arm 1.
static int feed(GemmArms& a, cpu::ProbeWindows& w, double& now, int runs, double dt, double t0, double t1) {
  int on1 = 0;
  for (int i = 0; i < runs; ++i, now += dt) {
    int arm = a.pick(w.current(now));
    on1 += arm;
    if (a.record(arm, arm == 0 ? t0 : t1)) w.flipped(now);
  }
  return on1;
}

TEST(gemm_arms_measure_both_then_take_the_faster) {
  GemmArms a;
  // Two samples of each arm first (one thread, then the limit).
  CHECK(a.pick(-1) == 0); a.record(0, 9.0);   // cold sample: replaced
  CHECK(a.pick(-1) == 0); a.record(0, 1.0);
  CHECK(a.pick(-1) == 1); a.record(1, 9.0);
  CHECK(a.pick(-1) == 1); a.record(1, 0.5);
  CHECK(a.measured());
  CHECK(a.best() == 1);
  CHECK(a.mean(0) == 1.0 && a.mean(1) == 0.5);
  // Outside a window the best arm runs; in a window the other runs twice (a warm-up, not recorded,
  // then the probe), then the best again.
  CHECK(a.pick(-1) == 1);
  CHECK(a.pick(7) == 0); a.record(0, 50.0);   // warm-up: not recorded
  CHECK(a.mean(0) == 1.0);
  CHECK(a.pick(7) == 0); a.record(0, 1.0);
  CHECK(a.pick(7) == 1);
  CHECK(a.pick(8) == 0); a.record(0, 1.0);
}

TEST(probe_windows_are_rare_and_shared) {
  cpu::ProbeWindows w;
  double now = 0;
  int opened = 0;
  int64_t last = -1;
  for (int i = 0; i < 100000; ++i, now += 0.001) {   // 100 s, one gemm per ms
    int64_t id = w.current(now);
    if (id >= 0 && id != last) ++opened, last = id;
  }
  // 0.1, 0.2, 0.4, ... 2 s apart: about 50 windows in 100 s, not one per run.
  CHECK_MSG(opened >= 45 && opened <= 60, "windows opened: " << opened);
  w.flipped(now);   // a flip brings the next window within 0.1 s
  bool soon = false;
  for (int i = 0; i < 150; ++i, now += 0.001) soon = soon || w.current(now) > last;
  CHECK(soon);
}

TEST(gemm_arms_follow_a_load_that_comes_and_goes) {
  GemmArms a;
  cpu::ProbeWindows w;
  double now = 0, dt = 0.001;   // one gemm of this shape per millisecond
  feed(a, w, now, 4, dt, 1.0e-3, 0.5e-3);
  feed(a, w, now, 5000, dt, 1.0e-3, 0.5e-3);
  CHECK(a.best() == 1);
  // Load: the multi-threaded gemm is now 5x slower than one thread. The running arm shows it at
  // once, and the choice flips within a few runs.
  int slow = feed(a, w, now, 6, dt, 1.0e-3, 5.0e-3);
  CHECK(slow <= 6);
  CHECK(a.best() == 0);
  // From then on the slow arm runs only in probe windows: a few runs in 20 s, not a share of them.
  int probes = feed(a, w, now, 20000, dt, 1.0e-3, 5.0e-3);
  CHECK_MSG(probes >= 10 && probes <= 50, "probe runs in 20 s (two per window): " << probes);
  // The load goes away: probes bring the limit back within a few windows (seconds, not minutes).
  double t0 = now;
  while (a.best() == 0 && now - t0 < 60) feed(a, w, now, 1, dt, 1.0e-3, 0.5e-3);
  CHECK(a.best() == 1);
  CHECK_MSG(now - t0 <= 8.0, "seconds until the limit was taken again: " << now - t0);
}

// A spell of slow multi-threaded runs (preempted, or a load that came and went) leaves arm 1's mean
// high after the choice flipped to one thread; two winning probes bring the limit back anyway.
TEST(gemm_arms_return_to_the_limit_after_two_winning_probes) {
  GemmArms a;
  a.record(0, 1.0); a.record(0, 1.0); a.record(1, 0.5); a.record(1, 0.5);
  CHECK(a.best() == 1);
  for (int i = 0; i < 3; ++i) a.record(1, 8.0);   // three runs 16x slower: the mean goes past 1.25
  CHECK(a.best() == 0);
  CHECK(a.mean(1) > 2.0);
  auto probe = [&](int64_t window, double t) {   // a window's warm-up (slow: waking threads), then its probe
    CHECK(a.pick(window) == 1); a.record(1, 3.0);
    CHECK(a.pick(window) == 1); a.record(1, t);
  };
  probe(1, 0.5);          // a probe 2x faster than one thread
  CHECK(a.best() == 0);   // one is not enough
  probe(2, 0.5);          // the second in a row
  CHECK(a.best() == 1);
  CHECK(a.mean(1) == 0.5);
  // A probe that loses in between resets the count.
  for (int i = 0; i < 3; ++i) a.record(1, 8.0);
  CHECK(a.best() == 0);
  probe(3, 0.5);
  probe(4, 0.9);   // 0.9 * 1.25 > 1.0: lost
  probe(5, 0.5);
  CHECK(a.best() == 0);
  probe(6, 0.5);
  CHECK(a.best() == 1);
}

TEST(blas_thread_choice_keeps_small_gemms_serial_and_learns_large_ones) {
  int saved = cpu::blasThreadLimit();
  cpu::blasThreadStatsReset();
  cpu::setBlasThreadLimit(2);
  {
    cpu::BlasThreadChoice small(8, 8, 8, false, false, 4);   // below OpenBLAS's own threshold
    CHECK(small.threads() == 1);
    CHECK(openblas_get_num_threads() == 1);
  }
  CHECK(cpu::blasAdaptiveShapes() == 0);
  // A real gemm shape, run through the engine path: the first runs try both arms.
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i) {
    cpu::BlasThreadChoice c(256, 256, 256, false, true, 4);
    seen.push_back(c.threads());
    CHECK(openblas_get_num_threads() == c.threads());
  }
  CHECK(seen == (std::vector<int>{1, 1, 2, 2}));
  CHECK(cpu::blasAdaptiveShapes() == 1);
  int chosen = cpu::blasThreadsChosenFor(256, 256, 256, false, true, 4);
  CHECK(chosen == 1 || chosen == 2);
  // A different transpose or dtype is a different shape; the table is bounded.
  for (int i = 0; i < 600; ++i) cpu::BlasThreadChoice c(512 + i, 64, 64, false, false, 8);
  CHECK(cpu::blasAdaptiveShapes() == 512);
  cpu::setBlasThreadLimit(1);   // limit 1: always one thread, no statistics
  {
    cpu::BlasThreadChoice c(256, 256, 256, false, true, 4);
    CHECK(c.threads() == 1);
  }
  cpu::blasThreadStatsReset();
  cpu::setBlasThreadLimit(saved);
}

TEST(default_thread_counts_come_from_the_usable_cpus_or_the_environment) {
  int cpus = ThreadPool::usableCpus();
  CHECK(cpus >= 1);
  const char* env = std::getenv("ADJOINT_THREADS");
  if (env && std::atoi(env) >= 1) CHECK(ThreadPool::defaultThreads() == std::atoi(env));
  else CHECK(ThreadPool::defaultThreads() == cpus);
  CHECK(ThreadPool::defaultBlasThreads() >= 1);
}
