// Runs a Program on the CPU.
//
// Note [CPU parallelism policy]: there are two levels of parallelism and one pool of threads.
//  * Within a step: big elementwise, fused, reduction and layout kernels split their range across
//    the pool (ThreadPool::parallelFor); gemms use OpenBLAS's own threads.
//  * Across steps: when the schedule has independent branches (Program::numLanes > 1) the steps run
//    as a dependency graph (Step::after) on the same pool, so idle threads pick up ready steps while
//    the kernels inside them can still split (Note [Thread pool] explains why nesting is safe).
// OpenBLAS: gemms never run concurrently with each other; each one gets all of OpenBLAS's threads,
// and a gemm that becomes ready while another runs is deferred until that one finishes (the worker
// moves on to other ready steps instead of blocking). Measured on this 2-core AVX-512 machine for the
// two gemms of a 1024x1024 matmul gradient: concurrent with one OpenBLAS thread each (through
// openblas_set_num_threads_local) 14.2 ms; one after the other with 2 OpenBLAS threads 13.3 ms, the
// same as two raw cblas_sgemm calls (13.2 ms). Non-gemm steps still overlap with a gemm.
// Programs with host callbacks run sequentially on the calling thread, because the Java callback
// must run on the thread that called run() (it is attached to the JVM).
#include <atomic>
#include <mutex>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"

namespace adjoint {
namespace cpu {
namespace {

// Successor lists and counters, reused across runs so the hot path does not allocate.
struct DagScratch {
  std::vector<int> pending, succStart, succ, ready, deferredGemms;
};

class DagJob : public ThreadPool::Job {
 public:
  DagJob(const Program& p, void* const* slots, const ExecContext& ctx, DagScratch& s)
      : p_(p), slots_(slots), ctx_(ctx), s_(s) {
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
          s_.deferredGemms.push_back(step);   // see Note [CPU parallelism policy]
        }
        skip = error_ != nullptr;   // after a failure the rest is drained, not run
      }
      if (!skip) {
        try {
          runStep(p_, p_.steps[step], slots_, ctx_);
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

}  // namespace

void executeProgram(const Program& p, void* const* slots, const ExecContext& ctx) {
  ThreadPool& pool = ThreadPool::instance();
  if (p.numLanes <= 1 || pool.size() <= 1 || p.steps.size() < 2 || hasCallback(p)) {
    for (const Step& s : p.steps) runStep(p, s, slots, ctx);
    return;
  }
  thread_local DagScratch scratch;
  DagJob job(p, slots, ctx, scratch);
  pool.run(&job, [&] { return job.finished(); });
  if (job.error()) std::rethrow_exception(job.error());
}

}  // namespace cpu
}  // namespace adjoint
