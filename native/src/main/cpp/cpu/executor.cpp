// Runs a Program on the CPU.
//
// Note [Threading policy]: one busy thread per usable core, on a loaded machine too.
// Thread counts: the engine pool has ADJOINT_THREADS threads, default the CPUs this process may use
// (affinity mask and cgroup quota, ThreadPool::usableCpus); OpenBLAS gets at most
// ADJOINT_BLAS_THREADS, default the same; Adjoint.setThreads / setBlasThreads change both at run
// time. Whether a gemm uses one BLAS thread or the limit is measured per shape (Note [BLAS threads]
// in blas_threads.cpp): a multi-threaded gemm slows down several-fold when another process holds a
// core, so under load the one-thread arm wins and is taken.
// The cores are shared by two sets of threads: the engine's pool (ThreadPool) and OpenBLAS's own
// threads, which run every multi-threaded gemm and, after one, keep spinning (sched_yield) for a
// while (OpenBLAS's THREAD_TIMEOUT, ~0.1 s) before they sleep. Anything the pool wakes while they
// spin, or while a gemm runs, is a third busy thread on a 2-core machine: it preempts a gemm thread
// (OpenBLAS's level-3 threads then spin at their sync points) or fights the spinner for a core. So:
//  1. A program with gemms, run with a BLAS limit above one, runs sequentially on the calling
//     thread: each gemm gets the cores through OpenBLAS, and no pool work ever runs concurrently
//     with it. Its other steps split across the pool only when very large (kGemmProgramMinGrains
//     grains, ~1M elements), where a contended wake-up is amortised.
//  2. Otherwise (no gemms, or a BLAS limit of one) independent branches (Program::numLanes > 1) run
//     as a dependency graph (Step::after) on the pool: idle threads pick up ready steps while the
//     kernels inside them can still split (Note [Thread pool] explains why nesting is safe). Gemms
//     never run concurrently with each other: a gemm that becomes ready while another runs is
//     deferred until that one finishes, the worker moving on to other ready steps.
//  3. Within a step, elementwise, fused, reduction and layout kernels split their range across the
//     pool (ThreadPool::parallelFor) only from ThreadPool::kDefaultMinGrains grains up (more than
//     64K elements): below that the wake-up costs more than the second thread saves. Chunks are
//     taken dynamically (4 per thread), so a worker that lost its core delays one chunk, not a
//     static half of the range.
//  4. Idle pool workers block on a condition variable; they never spin.
//  5. When other processes hold the cores, so that a submitter keeps waiting for workers that lost
//     theirs, jobs run on the calling thread alone for a while (Note [Oversubscription]).
// The figures behind rules 1 and 2 (W4 with and without pool work next to its gemms; two 1024x1024
// gemms concurrent on one OpenBLAS thread each against one after the other on two) are in
// bench/RESULTS.md, "Engine-internal measurements"; W10 there measures the policy under load.
//  6. A program without gemms whose steps write fewer than 16K elements in all (kSmallProgramElements:
//     scalar derivatives like W5) runs on the calling thread: handing a step to a worker and waiting
//     for it costs microseconds, more than such steps take (W5 ran 3.3 us at 2 threads against 1.0 us
//     at 1 in bench/RESULTS.md Run 7, before this rule).
// Programs with host callbacks run sequentially on the calling thread, because the Java callback
// must run on the thread that called run() (it is attached to the JVM).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include <cblas.h>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/blas_threads.h"
#include "cpu/cpu_backend.h"

namespace adjoint {
namespace cpu {
namespace {

// Note [Profiling]: ADJOINT_PROFILE=N (off by default) prints, to stderr, the per-step timeline of
// the N-th run of every Program (N=1: the first, cold run; a larger N shows a warm one): which
// thread ran each step, when it started and how long it took, relative to the start of the run.
// It is a debugging aid for the threading policy; the cost when off is one relaxed load per run.
struct StepTime {
  double start = 0, end = 0;
  int thread = -1;
};

double nowUs() { return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int threadIndex() {
  static std::atomic<int> next{0};
  thread_local int id = next.fetch_add(1);
  return id;
}

int profileTarget() {
  static const int target = [] {
    const char* e = std::getenv("ADJOINT_PROFILE");
    return e ? std::atoi(e) : 0;
  }();
  return target;
}

// Per-Program run statistics while profiling: every run is timed (cheap), and the N-th prints its
// timeline together with the mean run time so far and the mean gap between runs (time spent
// outside the engine, e.g. in Java, between one run's end and the next one's start).
struct RunStats {
  int runs = 0;
  double sumRun = 0, sumGap = 0, lastEnd = 0;
  std::vector<double> sumStep, maxStep;   // per step, over all runs so far
};

std::mutex gProfileMutex;
std::map<const Program*, RunStats> gRunStats;   // keyed by address: good enough for a debugging aid

// True when this run of `p` is the one whose timeline is printed.
bool profileThisRun(const Program& p) {
  std::lock_guard<std::mutex> g(gProfileMutex);
  return gRunStats[&p].runs + 1 == profileTarget();
}

// Records one run; returns the stats line (mean run time and gap) for the profiled run's header.
std::string recordRun(const Program& p, double t0, double t1, const std::vector<StepTime>& times) {
  std::lock_guard<std::mutex> g(gProfileMutex);
  RunStats& r = gRunStats[&p];
  if (r.runs > 0) r.sumGap += t0 - r.lastEnd;
  r.runs++;
  r.sumRun += t1 - t0;
  r.lastEnd = t1;
  r.sumStep.resize(times.size(), 0.0);
  r.maxStep.resize(times.size(), 0.0);
  for (size_t i = 0; i < times.size(); ++i) {
    double d = times[i].end - times[i].start;
    r.sumStep[i] += d;
    r.maxStep[i] = std::max(r.maxStep[i], d);
  }
  char line[160];
  std::snprintf(line, sizeof line, "%d runs: mean run %.1f us, mean gap between runs %.1f us", r.runs, r.sumRun / r.runs,
                r.runs > 1 ? r.sumGap / (r.runs - 1) : 0.0);
  return line;
}

void timedStep(const Program& p, const Step& s, void* const* slots, const ExecContext& ctx, StepTime* t) {
  if (!t) {
    runStep(p, s, slots, ctx);
    return;
  }
  t->thread = threadIndex();
  t->start = nowUs();
  runStep(p, s, slots, ctx);
  t->end = nowUs();
}

void printProfile(const Program& p, const std::vector<StepTime>& times, double t0, double t1, const char* mode, const std::string& stats) {
  std::vector<double> mean(times.size(), 0.0), worst(times.size(), 0.0);
  {
    std::lock_guard<std::mutex> g(gProfileMutex);
    const RunStats& rs = gRunStats[&p];
    for (size_t i = 0; i < times.size() && i < rs.sumStep.size(); ++i) {
      mean[i] = rs.sumStep[i] / rs.runs;
      worst[i] = rs.maxStep[i];
    }
  }
  std::string r = "# adjoint profile (" + std::string(mode) + "): " + std::to_string(p.steps.size()) + " steps, " +
                  std::to_string(p.numLanes) + " lanes, pool " + std::to_string(ThreadPool::instance().size()) + " threads, this run " +
                  std::to_string((int)(t1 - t0)) + " us; " + stats + "\n";
  double gemm = 0, other = 0, meanGemm = 0, meanOther = 0, otherBytes = 0;
  char line[512];
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    const StepTime& t = times[i];
    std::string name = opName(s.op);
    if (s.op == OP_FUSED) {
      name += "[";
      for (size_t k = 0; k < s.code.size(); ++k) name += (k ? " " : "") + std::string(opName(s.code[k].op));
      name += "]";
    }
    std::string shape;
    for (int64_t d : p.slots[s.out].desc.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    (s.op == OP_matmul ? gemm : other) += t.end - t.start;
    double bytes = (double)p.slots[s.out].desc.bytes();   // read and written, each slot once
    std::vector<int> seen;
    for (int in : s.in)
      if (std::find(seen.begin(), seen.end(), in) == seen.end()) {
        seen.push_back(in);
        bytes += (double)p.slots[in].desc.bytes();
      }
    if (s.op != OP_matmul && s.op != OP_identity && s.op != OP_reshape) otherBytes += bytes;
    (s.op == OP_matmul ? meanGemm : meanOther) += mean[i];
    std::snprintf(line, sizeof line, "#  %3zu T%-2d %8.1f +%8.1f us (mean %8.1f, max %8.1f)  %-12s %8.3f MB  %s\n", i, t.thread, t.start - t0,
                  t.end - t.start, mean[i], worst[i], shape.empty() ? "scalar" : shape.c_str(), bytes / 1e6, name.c_str());
    r += line;
  }
  std::snprintf(line, sizeof line, "#  sum of step times: matmul %.1f us, other %.1f us (means over all runs: %.1f, %.1f); other steps move %.2f MB\n",
                gemm, other, meanGemm, meanOther, otherBytes / 1e6);
  r += line;
  std::fputs(r.c_str(), stderr);
}

// Successor lists and counters, reused across runs so the hot path does not allocate.
struct DagScratch {
  std::vector<int> pending, succStart, succ, ready, deferredGemms;
};

class DagJob : public ThreadPool::Job {
 public:
  DagJob(const Program& p, void* const* slots, const ExecContext& ctx, DagScratch& s, StepTime* times)
      : p_(p), slots_(slots), ctx_(ctx), s_(s), times_(times) {
    size_t n = p.steps.size();
    s.pending.assign(n, 0);
    s.succStart.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      s.pending[i] = (int)p.steps[i].after.size();
      for (int a : p.steps[i].after) s.succStart[a + 1]++;
    }
    for (size_t i = 0; i < n; ++i) s.succStart[i + 1] += s.succStart[i];
    s.succ.assign(s.succStart[n], 0);
    std::vector<int>& fillPos = s.ready;   // reused as a cursor array before it becomes the ready list
    fillPos.assign(s.succStart.begin(), s.succStart.end() - 1);
    for (size_t i = 0; i < n; ++i)
      for (int a : p.steps[i].after) s.succ[fillPos[a]++] = (int)i;
    s.ready.clear();
    s.deferredGemms.clear();
    for (size_t i = n; i-- > 0;)
      if (s.pending[i] == 0) s.ready.push_back((int)i);
    readyCount_ = (int)s.ready.size();
    remaining_ = (int)n;
  }

  bool hasWork() override { return readyCount_.load() > 0; }
  bool finished() const { return remaining_.load() == 0; }
  std::exception_ptr error() const { return error_; }

  void work() override {
    for (;;) {
      int step;
      bool skip;
      {
        std::lock_guard<std::mutex> g(m_);
        for (;;) {
          if (s_.ready.empty()) return;
          step = s_.ready.back();
          s_.ready.pop_back();
          readyCount_.fetch_sub(1);
          if (p_.steps[step].op != OP_matmul) break;
          if (!gemmRunning_) {
            gemmRunning_ = true;
            break;
          }
          s_.deferredGemms.push_back(step);   // see Note [Threading policy]
        }
        skip = error_ != nullptr;   // after a failure the rest is drained, not run
      }
      if (!skip) {
        try {
          timedStep(p_, p_.steps[step], slots_, ctx_, times_ ? times_ + step : nullptr);
        } catch (...) {
          std::lock_guard<std::mutex> g(m_);
          if (!error_) error_ = std::current_exception();
        }
      }
      int woke = 0;
      {
        std::lock_guard<std::mutex> g(m_);
        if (p_.steps[step].op == OP_matmul) {
          gemmRunning_ = false;
          if (!s_.deferredGemms.empty()) {
            s_.ready.push_back(s_.deferredGemms.back());
            s_.deferredGemms.pop_back();
            ++woke;
          }
        }
        for (int k = s_.succStart[step]; k < s_.succStart[step + 1]; ++k)
          if (--s_.pending[s_.succ[k]] == 0) {
            s_.ready.push_back(s_.succ[k]);
            ++woke;
          }
        readyCount_.fetch_add(woke);
        remaining_.fetch_sub(1);
      }
      if (woke > 0 || finished()) ThreadPool::instance().notify();
    }
  }

 private:
  const Program& p_;
  void* const* slots_;
  const ExecContext& ctx_;
  DagScratch& s_;
  StepTime* times_;
  std::mutex m_;
  bool gemmRunning_ = false;
  std::atomic<int> readyCount_{0}, remaining_{0};
  std::exception_ptr error_;
};

bool hasCallback(const Program& p) {
  for (const Step& s : p.steps)
    if (s.op == OP_callback) return true;
  return false;
}

bool hasGemm(const Program& p) {
  for (const Step& s : p.steps)
    if (s.op == OP_matmul) return true;
  return false;
}

// Note [Threading policy], rule 1.
constexpr int kGemmProgramMinGrains = 32;

// Note [Threading policy], rule 6: a program without gemms whose steps write fewer elements than this
// in all runs on the calling thread.
constexpr int64_t kSmallProgramElements = 1 << 14;

bool smallProgram(const Program& p) {
  int64_t total = 0;
  for (const Step& s : p.steps) {
    if (s.op == OP_matmul) return false;
    total += p.slots[s.out].desc.numel();
    if (total >= kSmallProgramElements) return false;
  }
  return true;
}

}  // namespace

void executeProgram(const Program& p, void* const* slots, const ExecContext& ctx) {
  ThreadPool& pool = ThreadPool::instance();
  const bool profiling = profileTarget() > 0;
  const bool printThis = profiling && profileThisRun(p);
  std::vector<StepTime> times;
  if (profiling) times.resize(p.steps.size());
  StepTime* tp = times.empty() ? nullptr : times.data();
  double t0 = profiling ? nowUs() : 0;
  auto finish = [&](const char* mode) {
    if (!profiling) return;
    double t1 = nowUs();
    std::string stats = recordRun(p, t0, t1, times);
    if (printThis) printProfile(p, times, t0, t1, mode, stats);
  };
  const bool blasOwnsCores = blasThreadLimit() > 1 && hasGemm(p);   // Note [Threading policy]
  if (blasOwnsCores || p.numLanes <= 1 || pool.size() <= 1 || p.steps.size() < 2 || hasCallback(p) || smallProgram(p) ||
      !ThreadPool::workersUseful()) {   // Note [Oversubscription] in thread_pool.h
    ThreadPool::MinGrainsScope grains(blasOwnsCores ? kGemmProgramMinGrains : ThreadPool::kDefaultMinGrains);
    for (size_t i = 0; i < p.steps.size(); ++i) timedStep(p, p.steps[i], slots, ctx, tp ? tp + i : nullptr);
    finish("sequential");
    return;
  }
  thread_local DagScratch scratch;
  DagJob job(p, slots, ctx, scratch, tp);
  pool.run(&job, [&] { return job.finished(); });
  finish("dag");
  if (job.error()) std::rethrow_exception(job.error());
}

}  // namespace cpu
}  // namespace adjoint
