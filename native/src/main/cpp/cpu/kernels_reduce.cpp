// sum / mean / max / sumToShape over any set of axes.
//
// The step's layout gives the input's alternating runs of kept and reduced dims ([R], [K, R], [R, K],
// [K, R, K], ...; Note [Step layout]). The innermost run decides the loop: a reduced innermost run is a contiguous
// segment folded into one accumulator (float32 sums accumulate in double); a kept innermost run is a
// vectorised row update of the output. Work splits across threads over the outermost kept run, or
// over columns for [R, K] (in L1-sized column blocks), or into fixed-size chunks for a full reduction (fixed so the result does
// not depend on the thread count).
#include <cmath>
#include <limits>

#include "core/common.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

template <class T> struct Acc { typedef T type; };
template <> struct Acc<float> { typedef double type; };

template <class T>
inline __attribute__((always_inline)) typename Acc<T>::type segSumBody(const T* x, int64_t n) {
  typename Acc<T>::type s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <class T>
inline __attribute__((always_inline)) T segMaxBody(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
  for (int64_t i = 0; i < n; ++i) {
    m = x[i] > m ? x[i] : m;
    nan |= x[i] != x[i];
  }
  return nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

template <class T>
inline __attribute__((always_inline)) void rowSumBody(T* y, const T* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

template <class T>
inline __attribute__((always_inline)) void rowMaxBody(T* y, const T* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] > y[i] || x[i] != x[i]) ? x[i] : y[i];
}

ADJOINT_CLONES double segSum(const float* x, int64_t n) { return segSumBody(x, n); }
ADJOINT_CLONES double segSum(const double* x, int64_t n) { return segSumBody(x, n); }
ADJOINT_CLONES float segMax(const float* x, int64_t n) { return segMaxBody(x, n); }
ADJOINT_CLONES double segMax(const double* x, int64_t n) { return segMaxBody(x, n); }
ADJOINT_CLONES void rowSum(float* y, const float* x, int64_t n) { rowSumBody(y, x, n); }
ADJOINT_CLONES void rowSum(double* y, const double* x, int64_t n) { rowSumBody(y, x, n); }
ADJOINT_CLONES void rowMax(float* y, const float* x, int64_t n) { rowMaxBody(y, x, n); }
ADJOINT_CLONES void rowMax(double* y, const double* x, int64_t n) { rowMaxBody(y, x, n); }

struct Run {
  int64_t n, xStride, yStride;
  bool reduced;
};

template <class T>
struct Reducer {
  bool isMax;
  std::vector<Run> runs;

  // Folds the block starting at run `d` into y (which already holds the identity or a partial).
  void accumulate(size_t d, const T* x, T* y, int64_t colLo, int64_t colHi) const {
    const Run& r = runs[d];
    if (d + 1 == runs.size()) {
      if (r.reduced) {
        T v = isMax ? segMax(x, r.n) : (T)segSum(x, r.n);
        if (isMax) *y = (v > *y || v != v) ? v : *y;
        else *y += v;
      } else if (isMax) {
        rowMax(y + colLo, x + colLo, colHi - colLo);
      } else {
        rowSum(y + colLo, x + colLo, colHi - colLo);
      }
      return;
    }
    for (int64_t i = 0; i < r.n; ++i) accumulate(d + 1, x + i * r.xStride, y + i * r.yStride, colLo, colHi);
  }
};

template <class T>
void reduceT(int op, const StepLayout& l, const T* x, T* y) {
  bool isMax = op == OP_max;
  std::vector<Run> runs;   // the layout's runs (Note [Step layout]), with their strides
  int64_t outN = 1, count = 1;
  for (size_t d = 0; d < l.shape.size(); ++d) {
    bool red = l.reduced[d];
    (red ? count : outN) *= l.shape[d];
    runs.push_back({l.shape[d], 0, 0, red});
  }
  if (outN == 0) return;
  const T identity = isMax ? -std::numeric_limits<T>::infinity() : T(0);
  ThreadPool& pool = ThreadPool::instance();
  if (count == 0 || count == 1) {
    if (count == 1) copy(y, x, outN * (int64_t)sizeof(T));
    else for (int64_t i = 0; i < outN; ++i) y[i] = identity;
    if (op == OP_mean && count == 0) for (int64_t i = 0; i < outN; ++i) y[i] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  int64_t xs = 1, ys = 1;
  for (size_t d = runs.size(); d-- > 0;) {
    runs[d].xStride = xs;
    runs[d].yStride = runs[d].reduced ? 0 : ys;
    xs *= runs[d].n;
    if (!runs[d].reduced) ys *= runs[d].n;
  }
  Reducer<T> red{isMax, runs};
  if (runs.size() == 1) {   // full reduction: fixed chunks, combined in order
    constexpr int kMaxChunks = 256;
    int64_t chunk = std::max<int64_t>(1 << 16, (count + kMaxChunks - 1) / kMaxChunks);
    int64_t chunks = (count + chunk - 1) / chunk;
    typename Acc<T>::type part[kMaxChunks];
    pool.parallelFor(chunks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        int64_t b = c * chunk, e = std::min(count, b + chunk);
        part[c] = isMax ? segMax(x + b, e - b) : segSum(x + b, e - b);
      }
    });
    typename Acc<T>::type total = part[0];
    for (int64_t c = 1; c < chunks; ++c) total = isMax ? ((part[c] > total || part[c] != part[c]) ? part[c] : total) : total + part[c];
    y[0] = (T)total;
  } else if (runs.size() == 2 && runs[0].reduced) {
    // [R, K]: column blocks that stay in L1 while the R rows are added into them, so y is written
    // once (not filled, then read and written again per row). Rows are added in order from the
    // identity, as the general path does: the same bits.
    const int64_t R = runs[0].n, K = runs[1].n;
    constexpr int64_t kBlock = 2048;
    pool.parallelFor(K, std::max<int64_t>(256, kParallelGrain / R), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; b += kBlock) {
        const int64_t e = std::min(hi, b + kBlock);
        for (int64_t i = b; i < e; ++i) y[i] = identity;
        for (int64_t r = 0; r < R; ++r) {
          if (isMax) rowMax(y + b, x + r * K + b, e - b);
          else rowSum(y + b, x + r * K + b, e - b);
        }
      }
    });
  } else {
    for (int64_t i = 0; i < outN; ++i) y[i] = identity;
    const Run& first = runs[0];
    const Run& last = runs.back();
    int64_t inner = last.reduced ? 1 : last.n;
    if (!first.reduced) {
      pool.parallelFor(first.n, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, first.xStride)), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) red.accumulate(1, x + i * first.xStride, y + i * first.yStride, 0, inner);
      });
    } else {   // [R, K, ...] with three or more runs
      red.accumulate(0, x, y, 0, inner);
    }
  }
  if (op == OP_mean) {
    for (int64_t i = 0; i < outN; ++i) y[i] = y[i] / (T)count;
  }
}

}  // namespace

void reduce(int op, int dtype, const StepLayout& layout, const void* x, void* y) {
  if (dtype == kFloat32) reduceT(op, layout, (const float*)x, (float*)y);
  else reduceT(op, layout, (const double*)x, (double*)y);
}

}  // namespace cpu
}  // namespace adjoint
