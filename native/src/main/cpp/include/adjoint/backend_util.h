// Header-only helpers that the engine and every backend library compile, so both say and compute
// things the same way. A backend library may not call the engine's symbols (it is opened with dlopen
// and linked with --no-undefined), which is why these live in a header: error messages (fail, shape
// and dtype names, op labels), element counts and fused-step register allocation.
#pragma once

#include <algorithm>
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

// Note [Fused registers]: the results of a fused step's instructions are held in registers, assigned
// in code order, lowest free first; an operand read for the last time frees its register before the
// result takes one, and a result nobody reads (but the last) frees its register at once. Fusion
// keeps a group within Capabilities::maxFusedLive by this count and the CUDA backend allocates its
// registers by the same rule, so a fused step that compiles fits. Returns the number of registers;
// with `reg`, also each instruction's register. The code must be valid (operands earlier registers).
inline int fusedRegisters(const std::vector<FusedInstr>& code, int numInputs, std::vector<int>* reg = nullptr) {
  const int n = (int)code.size();
  std::vector<int> lastUse(numInputs + n, -1), phys(numInputs + n, -1);
  auto readsA = [&](const FusedInstr& f) { return f.op != OP_fill && f.a >= 0; };
  auto readsB = [&](const FusedInstr& f) { return isBinaryOp(f.op) && f.b >= 0; };
  for (int k = 0; k < n; ++k) {
    if (readsA(code[k])) lastUse[code[k].a] = k;
    if (readsB(code[k])) lastUse[code[k].b] = k;
  }
  std::vector<char> busy;
  int count = 0;
  for (int k = 0; k < n; ++k) {
    const FusedInstr& f = code[k];
    if (readsA(f) && f.a >= numInputs && lastUse[f.a] == k) busy[phys[f.a]] = 0;
    if (readsB(f) && f.b >= numInputs && lastUse[f.b] == k) busy[phys[f.b]] = 0;
    int r = 0;
    while (r < (int)busy.size() && busy[r]) ++r;
    if (r == (int)busy.size()) busy.push_back(0);
    phys[numInputs + k] = r;
    busy[r] = lastUse[numInputs + k] >= 0 || k == n - 1;
    count = std::max(count, r + 1);
  }
  if (reg) reg->assign(phys.begin() + numInputs, phys.end());
  return count;
}

}  // namespace adjoint
