#include "cublas_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace adjoint {
namespace cuda {
namespace {

struct Loaded {
  CublasApi api;
  bool ok = false;
  std::string error;
};

std::vector<std::string> candidatePaths() {
  std::vector<std::string> paths;
  if (const char* p = std::getenv("ADJOINT_CUBLAS_PATH"); p != nullptr && *p != '\0') paths.emplace_back(p);
  if (const char* home = std::getenv("CUDA_HOME"); home != nullptr && *home != '\0')
    paths.push_back(std::string(home) + "/lib64/libcublas.so.13");
  paths.emplace_back("/usr/local/cuda/lib64/libcublas.so.13");
  paths.emplace_back("libcublas.so.13");   // the system library path (ld.so.conf, LD_LIBRARY_PATH)
  paths.emplace_back("libcublas.so.12");
  return paths;
}

template <typename F>
bool resolve(void* lib, const char* name, F* out, std::string* missing) {
  dlerror();
  void* sym = dlsym(lib, name);
  if (sym == nullptr) {
    if (!missing->empty()) *missing += ", ";
    *missing += name;
    return false;
  }
  *out = reinterpret_cast<F>(sym);
  return true;
}

Loaded load() {
  Loaded result;
  std::string tried;
  for (const std::string& path : candidatePaths()) {
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      tried += "\n  " + path + ": " + (why != nullptr ? why : "not found");
      continue;
    }
    CublasApi api;
    std::string missing;
    bool ok = resolve(lib, "cublasCreate_v2", &api.create, &missing);
    ok &= resolve(lib, "cublasDestroy_v2", &api.destroy, &missing);
    ok &= resolve(lib, "cublasSetStream_v2", &api.setStream, &missing);
    ok &= resolve(lib, "cublasSgemm_v2", &api.sgemm, &missing);
    ok &= resolve(lib, "cublasDgemm_v2", &api.dgemm, &missing);
    ok &= resolve(lib, "cublasSgemmStridedBatched", &api.sgemmStridedBatched, &missing);
    ok &= resolve(lib, "cublasDgemmStridedBatched", &api.dgemmStridedBatched, &missing);
    std::string optional;
    resolve(lib, "cublasSetMathMode", &api.setMathMode, &optional);
    if (!ok) {
      tried += "\n  " + path + ": opened, but lacks " + missing;
      dlclose(lib);
      continue;
    }
    // The library stays open for the life of the process: handles and kernels may outlive a Backend.
    api.path = path;
    result.api = api;
    result.ok = true;
    return result;
  }
  result.error = "cuBLAS could not be loaded (set ADJOINT_CUBLAS_PATH to libcublas.so); tried:" + tried;
  return result;
}

}  // namespace

const CublasApi* cublasApi(std::string* error) {
  static std::once_flag once;
  static Loaded* loaded = nullptr;
  std::call_once(once, [] { loaded = new Loaded(load()); });   // never freed: lives as long as the library
  if (!loaded->ok) {
    if (error != nullptr) *error = loaded->error;
    return nullptr;
  }
  return &loaded->api;
}

const char* cublasStatusName(CublasStatus status) {
  switch (status) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

}  // namespace cuda
}  // namespace adjoint
