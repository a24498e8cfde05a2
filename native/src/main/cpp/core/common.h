// Small helpers shared by every part of the engine: error formatting, shapes (op families: op_table.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/backend_util.h"
#include "adjoint/engine.h"
#include "adjoint/op_table.h"

namespace adjoint {

// fail(), shapeStr(), descStr(), numelOf(), opLabel(), broadcastStrides(), reduceMask() and the step
// layouts are in adjoint/backend_util.h (shared with the backend libraries).

// Note [Sizes]: every shape that enters the engine is checked once, where it enters: graph inputs
// (Graph::addInput), each node's inferred result (Graph::addNode; reshape also checks its target
// while inferring -1), and Buffers. A shape passes when
//  * no dimension is negative;
//  * the product of its dimensions, zeros counted as 1, fits in int64: the element count, and every
//    row-major stride a kernel computes from the shape (also for an empty tensor), cannot overflow;
//  * its bytes (elements * dtype size) are at most kMaxTensorBytes (2^62), so bytes(), rounding a
//    size up to an alignment, and the sum of two sizes cannot overflow int64 or size_t either.
// Past that point TensorDesc::numel()/bytes() are plain products. The memory planner adds sizes
// with a check (arena offsets; compiler/lowering.cpp), and the host allocator refuses a request above
// kMaxTensorBytes as out of memory before any size-class rounding, so a size never wraps around
// into a small allocation. Errors name the entry point or op and the shape.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 62;
// Throws Error "<what>: ..." naming the shape; returns the element count.
int64_t checkShape(const std::string& what, const std::vector<int64_t>& shape, int dtype);
// Element count of `shape` with the same checks except the byte limit (no dtype yet).
int64_t checkElementCount(const std::string& what, const std::vector<int64_t>& shape);
bool validDtype(int dtype);
// NumPy broadcasting; false when the shapes are incompatible.
bool broadcastShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out);

HostCallback currentHostCallback();

}  // namespace adjoint
