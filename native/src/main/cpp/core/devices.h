// Which Backend serves a device number (0 = CPU, 1 + k = CUDA device k).
#pragma once

#include <string>

#include "adjoint/backend.h"

namespace adjoint {

Backend* cpuBackend();                   // cpu/cpu_backend.cpp; lives for the whole process
Backend* backendFor(int device);         // throws Error when the device is unavailable
std::string deviceLabel(int device);     // "cpu", "cuda:0"

}  // namespace adjoint
