#include <algorithm>

#include "core/common.h"

namespace adjoint {

int64_t checkElementCount(const std::string& what, const std::vector<int64_t>& shape) {
  int64_t nonzero = 1;   // the product with zeros counted as 1 (Note [Sizes])
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) fail(what, ": negative dimension in shape ", shapeStr(shape));
    if (d == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero, d, &nonzero)) {
      if (empty || std::find(shape.begin(), shape.end(), 0) != shape.end())
        fail(what, ": shape ", shapeStr(shape), " has dimensions whose product overflows int64 (too large to index, even though it is empty)");
      fail(what, ": shape ", shapeStr(shape), " has more elements than int64 can count");
    }
  }
  return empty ? 0 : nonzero;
}

int64_t checkShape(const std::string& what, const std::vector<int64_t>& shape, int dtype) {
  int64_t n = checkElementCount(what, shape);
  int64_t size = dtypeSize(dtype);
  if (n > kMaxTensorBytes / size)
    fail(what, ": shape ", shapeStr(shape), " of ", dtypeName(dtype), " has ", n, " elements of ", size,
         " bytes, more than the 2^62 bytes one tensor may take");
  return n;
}

bool validDtype(int dtype) { return dtype == kFloat32 || dtype == kFloat64 || dtype == kInt32; }

bool broadcastShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> r(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) r[i] = da;
    else if (da == 1) r[i] = db;
    else return false;
  }
  *out = std::move(r);
  return true;
}

}  // namespace adjoint
