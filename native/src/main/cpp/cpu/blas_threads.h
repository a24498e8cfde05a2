// How many OpenBLAS threads each gemm gets (Note [BLAS threads] in blas_threads.cpp).
#pragma once

#include <cstdint>

#include "cpu/gemm_library.h"

namespace adjoint {
namespace cpu {

// The most OpenBLAS threads any gemm may use (setBlasThreads, ADJOINT_BLAS_THREADS, default: the
// engine's thread count). 1 turns the adaptive choice off.
int blasThreadLimit();
void setBlasThreadLimit(int n);
// Whether the per-shape choice is on (default; ADJOINT_BLAS_ADAPTIVE=0 turns it off at start).
// Off, every gemm above OpenBLAS's threshold uses the limit: the fixed setting W10 compares with.
bool blasThreadsAdaptive();
void setBlasThreadsAdaptive(bool on);

// The per-shape statistics and the choice between arm 0 (one thread) and arm 1 (the limit); plain
// data, not synchronised (the table's lock guards it). Public for the native tests.
class GemmArms {
 public:
  // The arm this run takes. `window` is the id of the probe window open now, or -1 (Note [BLAS
  // threads]): the arm not chosen runs twice per window, a warm-up (not recorded) and the probe.
  // Each pick is followed by the record of its run; a concurrent gemm of the same shape (two
  // programs on two threads) may misfile one sample, which the means absorb.
  int pick(int64_t window);
  // Records a run's time; true when that flipped the choice.
  bool record(int arm, double seconds);
  int best() const { return best_; }   // the arm a run takes when it is not probing
  bool measured() const { return samples_[0] >= 2 && samples_[1] >= 2; }
  double mean(int arm) const { return mean_[arm]; }

 private:
  double mean_[2] = {0, 0};
  int samples_[2] = {0, 0};
  enum Call { kNormal, kWarmUp, kProbe };
  int probing_ = -1, best_ = 1, probeWins_ = 0;
  Call call_ = kNormal;   // what the last pick was, for its record
  int64_t lastWindow_ = -1;
};

// The probe windows: one opens `interval` seconds after the previous one (0.1 s, doubling up to
// 2 s; back to 0.1 s when a choice flips) and stays open 20 ms. Public for the native tests.
class ProbeWindows {
 public:
  int64_t current(double now);         // the open window's id, or -1
  void flipped(double now);

 private:
  double nextOpen_ = -1, closeAt_ = -1, interval_ = 0.1;
  int64_t id_ = -1;
};

// Chooses the thread count for one gemm of this shape on `lib` (and sets it in OpenBLAS when that is
// the library; oneDNN takes threads() per call); the destructor records how long the gemm took so
// the next choice for the shape can learn from it. Statistics are per shape and library.
class BlasThreadChoice {
 public:
  BlasThreadChoice(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int elemBytes,
                   GemmLibrary lib = GemmLibrary::kOpenBlas);
  ~BlasThreadChoice();
  BlasThreadChoice(const BlasThreadChoice&) = delete;
  BlasThreadChoice& operator=(const BlasThreadChoice&) = delete;
  int threads() const { return threads_; }

 private:
  int slot_ = -1;      // statistics entry, -1 when the choice is not adaptive for this shape
  int arm_ = 0;        // 0: one thread, 1: the limit
  int threads_ = 1;
  double start_ = 0;
};

// For tests and `adjoint info`: the current choice for a shape (1 or the limit), and how many
// shapes have statistics.
int blasThreadsChosenFor(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int elemBytes,
                         GemmLibrary lib = GemmLibrary::kOpenBlas);
int blasAdaptiveShapes();
void blasThreadStatsReset();

}  // namespace cpu
}  // namespace adjoint
