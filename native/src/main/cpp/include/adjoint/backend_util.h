// Header-only helpers that the engine and every backend library compile, so both say and compute
// things the same way. A backend library may not call the engine's symbols (it is opened with dlopen
// and linked with --no-undefined), which is why these live in a header: error messages (fail, shape
// and dtype names, op labels) and element counts.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/op_table.h"

namespace adjoint {

// Builds an Error message from pieces: fail("matmul: input ", 1, " has shape ", shapeStr(s)).
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

// "[2, 3]", "[]" for rank 0.
inline std::string shapeStr(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// "Float32 [2, 3]"
inline std::string descStr(const TensorDesc& desc) { return std::string(dtypeName(desc.dtype)) + " " + shapeStr(desc.shape); }

// Element count of a shape already checked where it entered the engine (Note [Sizes]).
inline int64_t numelOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The op's name for a message: "sin", "fused", or "op 42 (not in ops.def)". Never throws.
inline std::string opLabel(int op) {
  if (op == OP_FUSED) return "fused";
  const char* name = opTableName(op);
  return name ? std::string(name) : "op " + std::to_string(op) + " (not in ops.def)";
}

}  // namespace adjoint
