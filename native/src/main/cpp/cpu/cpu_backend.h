#pragma once

#include "adjoint/backend.h"

namespace adjoint {
namespace cpu {

void runStep(const Program& program, const Step& step, void* const* slots, const ExecContext& ctx);   // cpu_backend.cpp
void executeProgram(const Program& program, void* const* slots, const ExecContext& ctx);              // executor.cpp

}  // namespace cpu
}  // namespace adjoint
