// A small persistent thread pool shared by every CPU executable.
//
// Note [Thread pool]: work is published as Job objects that live on the submitter's stack; any
// thread (a pool worker or the submitting thread itself) pulls work out of a job until it has none
// left. The submitter always takes part, so a job submitted from inside another job (a kernel's
// parallelFor running inside a step of the executor's DAG job) can never deadlock: in the worst
// case the submitter does all of it alone. A job is unlinked and waited for (no thread inside it)
// before its frame is left, so workers never touch a dead job.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace adjoint {

class ThreadPool {
 public:
  class Job {
   public:
    virtual ~Job() = default;
    virtual bool hasWork() = 0;   // called under the pool lock: cheap, no locking of its own
    virtual void work() = 0;      // runs until hasWork() would be false; must not throw
   private:
    friend class ThreadPool;
    int active_ = 0;
  };

  static ThreadPool& instance();
  ~ThreadPool();

  int size() const { return size_.load(std::memory_order_relaxed); }   // workers plus the calling thread

  // The thread counts a process starts with (Note [Threading policy] in executor.cpp): the
  // environment variable ADJOINT_THREADS if set (a positive integer; anything else is reported on
  // stderr once and ignored), else the CPUs this process may use; ADJOINT_BLAS_THREADS likewise for
  // the BLAS limit, which defaults to the engine's count.
  static int defaultThreads();
  static int defaultBlasThreads();
  // The CPUs this process may run on: sched_getaffinity's count, capped by the cgroup v2 cpu.max or
  // v1 cfs quota (rounded up), at least 1.
  static int usableCpus();
  // Any thread, any time (setThreads is public): resizes are serialised, and a job running meanwhile
  // loses its workers as they finish their current work() and is completed by its submitter or the
  // new workers.
  void resize(int threads);

  // Publishes `job`, works on it on the calling thread until `done()` (a predicate the caller's
  // job defines), then unlinks it and waits for every worker to leave it.
  // Returns how long the calling thread worked on the job and how long it then waited for the
  // workers (Note [Oversubscription]).
  struct Times {
    int64_t ownNs, waitNs;
  };
  template <class Done>
  Times run(Job* job, Done done) {
    int64_t t0 = nowNs();
    submit(job);
    job->work();
    int64_t t1 = nowNs();
    waitUntil(job, done);
    retire(job);
    return {t1 - t0, nowNs() - t1};
  }

  // Note [Oversubscription]: whether jobs may use the workers now. A parallelFor's submitter works
  // on it itself and then waits for the workers to finish the chunks they took. On a machine where other
  // processes hold the cores, a worker that took a chunk can lose its core for a whole scheduler
  // time slice (milliseconds) while the submitter waits: a step that would take 0.2 ms alone takes
  // several. So every job measures the submitter's wait at the end against its own work; when
  // that wait exceeds half of the submitter's own work (and 50 us) in 3 of the last 8 of them (its
  // chunks are equal, so a long wait means a worker lost its core; a dependency graph's waits are
  // not measured, they can be legitimate), parallelFor and dependency-graph jobs run
  // on the calling thread alone for a while (0.1 s, doubling up to 3.2 s while it keeps happening,
  // back to 0.1 s after 64 good jobs), then the workers are tried again. Idle machines never
  // trigger it: a woken worker starts within tens of microseconds.
  static bool workersUseful();
  static int64_t nowNs();
  void notify();   // new work appeared in a published job

  // Calls fn(begin, end) over [0, n) in chunks of at least `grain` elements, on all threads.
  // The first exception thrown by fn is rethrown here after every chunk has finished.
  // A range of fewer than minGrains() grains runs inline on the calling thread.
  template <class Fn>
  void parallelFor(int64_t n, int64_t grain, const Fn& fn);

  // How many grains a parallelFor range needs before other threads are woken for it, on this
  // thread (Note [Threading policy] in executor.cpp). Waking a worker costs a few microseconds and
  // a cache miss on the job, so 2 grains (64K elements of an elementwise kernel) stay inline.
  static constexpr int kDefaultMinGrains = 3;
  static int& minGrains() {
    thread_local int v = kDefaultMinGrains;
    return v;
  }
  // Raises minGrains() on this thread for a scope.
  class MinGrainsScope {
   public:
    explicit MinGrainsScope(int g) : saved_(minGrains()) { minGrains() = std::max(saved_, g); }
    ~MinGrainsScope() { minGrains() = saved_; }
    MinGrainsScope(const MinGrainsScope&) = delete;
    MinGrainsScope& operator=(const MinGrainsScope&) = delete;

   private:
    int saved_;
  };

 private:
  ThreadPool();
  void submit(Job* job);
  void retire(Job* job);
  static void recordJob(int64_t ownNs, int64_t waitNs);
  template <class Done>
  void waitUntil(Job* job, Done done);
  void workerLoop();
  Job* findWork();

  std::mutex mu_;
  std::condition_variable cv_;        // workers wait for work
  std::condition_variable doneCv_;    // submitters wait for progress
  std::vector<Job*> jobs_;
  std::vector<std::thread> workers_;   // guarded by resizeMu_
  std::mutex resizeMu_;
  std::atomic<int> size_{1};
  bool stop_ = false;                  // guarded by mu_
};

template <class Done>
void ThreadPool::waitUntil(Job* job, Done done) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!done()) {
    if (job->hasWork()) {
      lk.unlock();
      job->work();
      lk.lock();
      continue;
    }
    doneCv_.wait(lk);
  }
}

template <class Fn>
void ThreadPool::parallelFor(int64_t n, int64_t grain, const Fn& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t grains = (n + grain - 1) / grain;
  int64_t chunks = std::min<int64_t>(grains, (int64_t)size() * 4);
  if (grains < minGrains() || chunks <= 1 || size() == 1 || !workersUseful()) {
    fn((int64_t)0, n);
    return;
  }
  struct ForJob : Job {
    const Fn* fn;
    int64_t n, chunks;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> finished{0};
    std::exception_ptr error;
    std::mutex m;   // guards error
    bool hasWork() override { return next.load() < chunks; }
    void work() override {
      for (int64_t c; (c = next.fetch_add(1)) < chunks;) {
        try {
          (*fn)(n * c / chunks, n * (c + 1) / chunks);
        } catch (...) {
          std::lock_guard<std::mutex> g(m);
          if (!error) error = std::current_exception();
        }
        finished.fetch_add(1);
      }
    }
  } job;
  job.fn = &fn;
  job.n = n;
  job.chunks = chunks;
  Times t = run(&job, [&] { return job.finished.load() == job.chunks; });
  recordJob(t.ownNs, t.waitNs);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace adjoint
