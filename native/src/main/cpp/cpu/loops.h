// Iteration over a dense row-major output whose operands are read through strides (broadcasting,
// transposes). Dims of size 1 are dropped and adjacent dims that stay contiguous for every operand
// are merged, so the common cases collapse to one or two dims and the innermost loop is a plain run.
#pragma once

#include <cstdint>
#include <vector>

namespace adjoint {
namespace cpu {

class StridedLoop {
 public:
  static constexpr int kMaxOperands = 3;

  StridedLoop(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides)
      : operands_((int)strides.size()) {
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      bool merge = !shape_.empty();
      for (int k = 0; k < operands_ && merge; ++k) merge = strides_[k].back() == strides[k][d] * shape[d];
      if (merge) {
        shape_.back() *= shape[d];
        for (int k = 0; k < operands_; ++k) strides_[k].back() = strides[k][d];
      } else {
        shape_.push_back(shape[d]);
        for (int k = 0; k < operands_; ++k) strides_[k].push_back(strides[k][d]);
      }
    }
    if (shape_.empty()) {
      shape_.push_back(1);
      for (int k = 0; k < operands_; ++k) strides_[k].push_back(0);
    }
    rowLength_ = shape_.back();
    rows_ = 1;
    for (size_t d = 0; d + 1 < shape_.size(); ++d) rows_ *= shape_[d];
  }

  int64_t rows() const { return rows_; }
  int64_t rowLength() const { return rowLength_; }
  int64_t innerStride(int k) const { return strides_[k].back(); }
  int outerRank() const { return (int)shape_.size() - 1; }
  int64_t outerDim(int d) const { return shape_[d]; }
  int64_t outerStride(int k, int d) const { return strides_[k][d]; }

  // f(row, offsets, rowLength) for rows [lo, hi); offsets[k] is operand k's element offset of the row.
  template <class F>
  void forRows(int64_t lo, int64_t hi, F f) const {
    int outer = outerRank();
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
      index[d] = rem % shape_[d];
      rem /= shape_[d];
      for (int k = 0; k < operands_; ++k) off[k] += index[d] * strides_[k][d];
    }
    for (int64_t row = lo; row < hi; ++row) {
      f(row, off, rowLength_);
      for (int d = outer - 1; d >= 0; --d) {   // odometer step
        for (int k = 0; k < operands_; ++k) off[k] += strides_[k][d];
        if (++index[d] < shape_[d]) break;
        for (int k = 0; k < operands_; ++k) off[k] -= strides_[k][d] * shape_[d];
        index[d] = 0;
      }
    }
  }

 private:
  int operands_;
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_[kMaxOperands];
  int64_t rows_ = 1, rowLength_ = 1;
};

}  // namespace cpu
}  // namespace adjoint
