// Which Backend serves a device number (0 = CPU, 1 + k = CUDA device k).
#pragma once

#include <string>

#include "adjoint/backend.h"

namespace adjoint {

Backend* cpuBackend();                   // cpu/cpu_backend.cpp; lives for the whole process
Backend* backendFor(int device);         // throws Error when the device is unavailable
std::string deviceLabel(int device);     // "cpu", "cuda:0", "test"

// For tests: device kTestDevice is served by `backend` (nullptr: no such device), e.g. one that runs
// on host memory with another backend's Capabilities, so the compiler's answers to those can be
// checked (and run) without that backend's hardware. The backend must outlive its use.
constexpr int kTestDevice = 1 << 20;
void setTestBackend(Backend* backend);

}  // namespace adjoint
