// Iteration over a dense row-major output whose operands are read through strides (broadcasting,
// transposes), as the step's layout gives them (Note [Step layout]: size-1 dims dropped and
// contiguous neighbours merged by the compiler), so the common cases are one or two dims and the
// innermost loop is a plain run.
#pragma once

#include <cstdint>
#include <vector>

#include "adjoint/backend.h"

namespace adjoint {
namespace cpu {

class StridedLoop {
 public:
  explicit StridedLoop(const StepLayout& l) : l_(l), operands_((int)l.strides.size()) {
    const int rank = (int)l.shape.size();
    rowLength_ = rank ? l.shape.back() : 1;
    rows_ = 1;
    for (int d = 0; d + 1 < rank; ++d) rows_ *= l.shape[d];
  }

  int64_t rows() const { return rows_; }
  int64_t rowLength() const { return rowLength_; }
  int64_t innerStride(int k) const { return l_.shape.empty() ? 0 : l_.strides[k].back(); }

  // f(row, offsets, rowLength) for rows [lo, hi); offsets[k] is operand k's element offset of the row.
  template <class F>
  void forRows(int64_t lo, int64_t hi, F f) const {
    const int outer = (int)l_.shape.size() - 1;
    int64_t idx[16] = {0};
    std::vector<int64_t> bigIdx;
    int64_t* index = idx;
    if (outer > 16) {
      bigIdx.assign(outer, 0);
      index = bigIdx.data();
    }
    int64_t off[kMaxOperands] = {0};
    int64_t rem = lo;
    for (int d = outer - 1; d >= 0; --d) {
      index[d] = rem % l_.shape[d];
      rem /= l_.shape[d];
      for (int k = 0; k < operands_; ++k) off[k] += index[d] * l_.strides[k][d];
    }
    for (int64_t row = lo; row < hi; ++row) {
      f(row, off, rowLength_);
      for (int d = outer - 1; d >= 0; --d) {   // odometer step
        for (int k = 0; k < operands_; ++k) off[k] += l_.strides[k][d];
        if (++index[d] < l_.shape[d]) break;
        for (int k = 0; k < operands_; ++k) off[k] -= l_.strides[k][d] * l_.shape[d];
        index[d] = 0;
      }
    }
  }

  static constexpr int kMaxOperands = 2;

 private:
  const StepLayout& l_;
  int operands_;
  int64_t rows_ = 1, rowLength_ = 1;
};

}  // namespace cpu
}  // namespace adjoint
