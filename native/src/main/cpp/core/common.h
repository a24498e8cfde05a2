// Small helpers shared by every part of the engine: error formatting, shapes, op families.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/engine.h"

namespace adjoint {

// Builds an Error message from pieces: fail("matmul: input ", 1, " has shape ", shapeStr(s)).
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

std::string shapeStr(const std::vector<int64_t>& shape);   // "[2, 3]", "[]" for rank 0
std::string descStr(const TensorDesc& desc);               // "Float32 [2, 3]"
int64_t numelOf(const std::vector<int64_t>& shape);
bool validDtype(int dtype);
// NumPy broadcasting; false when the shapes are incompatible.
bool broadcastShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out);
// Row-major strides of `shape` as seen from a broadcast result of rank `outRank`: 0 on broadcast dims.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& shape, const std::vector<int64_t>& outShape);

inline bool isUnaryOp(int op) { return op >= OP_neg && op <= OP_sqrt; }
inline bool isBinaryOp(int op) { return op >= OP_add && op <= OP_div; }
inline bool isReduceOp(int op) { return op == OP_sum || op == OP_mean || op == OP_max || op == OP_sumToShape; }
inline bool isElementwiseOp(int op) { return isUnaryOp(op) || isBinaryOp(op); }

HostCallback currentHostCallback();

}  // namespace adjoint
