// The four C entry points the engine looks up with dlsym (see the end of adjoint/backend.h). They
// are the only symbols this library exports (exports.map); no exception leaves them.
#include <cuda_runtime.h>

#include <cstdio>
#include <exception>
#include <string>

#include "adjoint/backend.h"
#include "cuda_backend.h"

#define ADJ_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

void writeText(char* out, size_t len, const std::string& text) {
  if (out == nullptr || len == 0) return;
  std::snprintf(out, len, "%s", text.c_str());
}

// cudaGetDeviceCount's answers that mean "this machine has no usable CUDA", as opposed to a fault.
bool meansNoDevice(cudaError_t err) {
  return err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || err == cudaErrorStubLibrary;
}

}  // namespace

ADJ_EXPORT int adjoint_backend_abi() { return adjoint::ADJOINT_BACKEND_ABI; }

// Returns the number of CUDA devices. With no driver or no GPU it returns 0 and still writes the
// reason into err (for `adjoint info`); on any other failure -1 and the message.
ADJ_EXPORT int adjoint_backend_device_count(char* err, size_t errLen) {
  try {
    writeText(err, errLen, "");
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess) return count;
    cudaGetLastError();
    const std::string what = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    if (meansNoDevice(e)) {
      writeText(err, errLen, "no usable CUDA device (" + what + "); this library needs a driver for CUDA " +
                                 std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) +
                                 " or newer");
      return 0;
    }
    writeText(err, errLen, "cudaGetDeviceCount failed: " + what);
    return -1;
  } catch (const std::exception& ex) {
    writeText(err, errLen, ex.what());
    return -1;
  } catch (...) {
    writeText(err, errLen, "unknown error in adjoint_backend_device_count");
    return -1;
  }
}

ADJ_EXPORT adjoint::Backend* adjoint_backend_create(int ordinal, char* err, size_t errLen) {
  try {
    writeText(err, errLen, "");
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      writeText(err, errLen, std::string("no CUDA device: ") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
      return nullptr;
    }
    if (ordinal < 0 || ordinal >= count) {
      writeText(err, errLen, "CUDA device " + std::to_string(ordinal) + " does not exist (" + std::to_string(count) +
                                 " device(s))");
      return nullptr;
    }
    return new adjoint::cuda::CudaBackend(ordinal);
  } catch (const std::exception& ex) {
    writeText(err, errLen, ex.what());
    return nullptr;
  } catch (...) {
    writeText(err, errLen, "unknown error in adjoint_backend_create");
    return nullptr;
  }
}

ADJ_EXPORT void adjoint_backend_device_name(int ordinal, char* out, size_t outLen) {
  try {
    cudaDeviceProp prop;
    const cudaError_t e = cudaGetDeviceProperties(&prop, ordinal);
    if (e != cudaSuccess) {
      cudaGetLastError();
      writeText(out, outLen, std::string("unavailable (") + cudaGetErrorName(e) + ")");
      return;
    }
    writeText(out, outLen, prop.name);
  } catch (...) {
    writeText(out, outLen, "unavailable");
  }
}
