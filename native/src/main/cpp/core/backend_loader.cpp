// Loading the CUDA backend library at run time (the CPU build never links CUDA).
#include <dlfcn.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "core/common.h"
#include "core/devices.h"

namespace adjoint {
namespace {

typedef int (*AbiFn)();
typedef int (*CountFn)(char*, size_t);
typedef Backend* (*CreateFn)(int, char*, size_t);
typedef void (*NameFn)(int, char*, size_t);

// The loaded library and its backends are never unloaded or destroyed: Buffers may outlive any
// owner we could tie them to, and tearing CUDA down from a static destructor at process exit is
// unsafe. The state is heap-allocated and reachable from a global, so leak checkers stay quiet.
struct Loaded {
  std::mutex mu;
  std::string path;
  void* handle = nullptr;
  CountFn count = nullptr;
  CreateFn create = nullptr;
  NameFn name = nullptr;
  int devices = 0;
  std::string countError;
  std::vector<Backend*> backends;   // per ordinal, created on first use
};

Loaded& loaded() {
  static Loaded* state = new Loaded;
  return *state;
}

template <class Fn>
Fn resolve(void* handle, const char* symbol, const std::string& path) {
  dlerror();
  void* p = dlsym(handle, symbol);
  if (!p) {
    const char* e = dlerror();
    std::string why = e ? std::string(" (") + e + ")" : "";   // copied: dlclose frees dlerror's string
    dlclose(handle);
    fail("cannot load CUDA backend ", path, ": missing symbol ", symbol, why);
  }
  return reinterpret_cast<Fn>(p);
}

}  // namespace

void loadBackend(const std::string& path) {
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  if (L.handle) {
    if (L.path == path) return;
    fail("cannot load CUDA backend ", path, ": ", L.path, " is already loaded");
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    fail("cannot load CUDA backend ", path, ": ", e ? e : "dlopen failed");
  }
  AbiFn abi = resolve<AbiFn>(handle, ADJOINT_BACKEND_ABI_SYMBOL, path);
  int got = abi();
  if (got != ADJOINT_BACKEND_ABI) {
    dlclose(handle);
    fail("cannot load CUDA backend ", path, ": backend ABI ", got, " does not match the engine's ABI ",
         (int)ADJOINT_BACKEND_ABI, " (rebuild cuda-kernels against this engine)");
  }
  CountFn count = resolve<CountFn>(handle, ADJOINT_BACKEND_COUNT_SYMBOL, path);
  CreateFn create = resolve<CreateFn>(handle, ADJOINT_BACKEND_CREATE_SYMBOL, path);
  NameFn name = resolve<NameFn>(handle, ADJOINT_BACKEND_NAME_SYMBOL, path);
  char err[512] = {0};
  int n = count(err, sizeof err);
  L.handle = handle;
  L.path = path;
  L.count = count;
  L.create = create;
  L.name = name;
  L.devices = n < 0 ? 0 : n;
  // A backend may explain a count of 0 too (no driver, no GPU): keep the reason for messages.
  L.countError = std::string(err);
  L.backends.assign(L.devices, nullptr);
}

bool cudaLoaded() {
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  return L.handle != nullptr;
}

int cudaDeviceCount() {
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  return L.devices;
}

std::string deviceLabel(int device) {
  if (device == kTestDevice) return "test";
  return device == kCpu ? "cpu" : "cuda:" + std::to_string(device - 1);
}

static std::atomic<Backend*> gTestBackend{nullptr};

void setTestBackend(Backend* backend) { gTestBackend.store(backend); }

Backend* backendFor(int device) {
  if (device == kCpu) return cpuBackend();
  if (device == kTestDevice && gTestBackend.load()) return gTestBackend.load();
  if (device < 0) fail("invalid device ", device, " (0 is the CPU, 1 + k is CUDA device k)");
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  int ordinal = device - 1;
  if (!L.handle)
    fail("CUDA device ", ordinal, " requested but no CUDA backend is loaded (call loadBackend with the path of "
         "libadjoint_cuda.so; the CPU is device 0)");
  if (ordinal >= L.devices)
    fail("CUDA device ", ordinal, " requested but the CUDA backend reports ", L.devices, " device(s)",
         L.countError.empty() ? "" : ": " + L.countError);
  if (!L.backends[ordinal]) {
    char err[512] = {0};
    Backend* b = L.create(ordinal, err, sizeof err);
    if (!b) fail("cannot create CUDA backend for device ", ordinal, ": ", err[0] ? err : "unknown error");
    L.backends[ordinal] = b;
  }
  return L.backends[ordinal];
}

std::string deviceName(int device) {
  if (device == kCpu) return "cpu";
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  if (device < 0 || !L.handle || device - 1 >= L.devices)
    fail("deviceName: no device ", device, " (", L.handle ? std::to_string(L.devices) : std::string("no"),
         " CUDA device(s) available)");
  char out[256] = {0};
  L.name(device - 1, out, sizeof out);
  return out;
}

std::string backendStatus() {
  Loaded& L = loaded();
  std::lock_guard<std::mutex> lk(L.mu);
  std::string s = "cpu: " + cpuBackend()->name() + "; cuda: ";
  if (!L.handle) return s + "not loaded";
  s += L.path + ", " + std::to_string(L.devices) + " device(s)";
  if (!L.countError.empty()) s += " (" + L.countError + ")";
  return s;
}

}  // namespace adjoint
