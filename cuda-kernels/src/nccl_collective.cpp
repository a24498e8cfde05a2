// The NCCL collective backend (libadjoint_nccl.so): Note [Collective seam] in adjoint/collective.h over
// NCCL, for ranks that each own one GPU. Built with the CUDA backend (nvcc and the CUDA runtime headers);
// NCCL itself is opened with dlopen at run time (libnccl.so.2 from the system's CUDA install, like
// cuBLAS), so the build needs no NCCL and a machine without it gets an error saying so. The few NCCL
// entry points used are declared below from NCCL's stable C API (nccl.h is not installed here).
//
// Data: the seam's operations take host memory, so each one copies to a device buffer, runs the NCCL
// collective on the rank's stream and copies back. Timeouts: NCCL operations never give up by themselves;
// the stream is polled until the deadline, then the communicator is aborted and the operation fails
// (NCCL does not say which peer is missing, so the error cannot name it).
//
// Rendezvous: rank 0 creates the NCCL unique id and writes it, with its world size, to
// "<store>/<prefix>.nccl-id" (write to a temporary file, then rename); the others poll for it until the
// timeout. A world size that differs from rank 0's is an error naming both.
//
// NOT RUN: no GPU and no NCCL library were available where this was written; it compiles and its
// "no NCCL here" path is tested (ProcessGroupAndSamplerTest), nothing else.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "adjoint/collective.h"

namespace {

// ---- NCCL's C API (nccl.h, stable since NCCL 2.0; values from the header) ----
typedef struct ncclComm* ncclComm_t;
struct ncclUniqueId {
  char internal[128];
};
typedef int ncclResult_t;       // ncclSuccess = 0, ncclInProgress = 7
typedef int ncclDataType_t;     // ncclFloat32 = 7, ncclFloat64 = 8
typedef int ncclRedOp_t;        // ncclSum = 0
constexpr ncclResult_t kNcclSuccess = 0, kNcclInProgress = 7;
constexpr ncclDataType_t kNcclFloat32 = 7, kNcclFloat64 = 8;
constexpr ncclRedOp_t kNcclSum = 0;

struct Nccl {
  ncclResult_t (*getUniqueId)(ncclUniqueId*);
  ncclResult_t (*commInitRank)(ncclComm_t*, int, ncclUniqueId, int);
  ncclResult_t (*commDestroy)(ncclComm_t);
  ncclResult_t (*commAbort)(ncclComm_t);
  ncclResult_t (*commGetAsyncError)(ncclComm_t, ncclResult_t*);
  const char* (*getErrorString)(ncclResult_t);
  ncclResult_t (*allReduce)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*broadcast)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*allGather)(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
};

template <class... A>
std::string str(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  return s.str();
}

[[noreturn]] void raise(const std::string& what) { throw std::runtime_error(what); }

template <class F>
void sym(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) *missing += std::string(missing->empty() ? "" : ", ") + name;
}

const Nccl& nccl() {
  static std::once_flag once;
  static Nccl api;
  static std::string error;
  std::call_once(once, [] {
    std::vector<std::string> paths;
    if (const char* p = std::getenv("ADJOINT_NCCL_PATH"); p && *p) paths.emplace_back(p);
    if (const char* home = std::getenv("CUDA_HOME"); home && *home) paths.push_back(std::string(home) + "/lib64/libnccl.so.2");
    paths.emplace_back("/usr/local/cuda/lib64/libnccl.so.2");
    paths.emplace_back("libnccl.so.2");
    std::string tried;
    for (const std::string& path : paths) {
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        const char* why = dlerror();
        tried += "\n  " + path + ": " + (why ? why : "not found");
        continue;
      }
      std::string missing;
      sym(lib, "ncclGetUniqueId", &api.getUniqueId, &missing);
      sym(lib, "ncclCommInitRank", &api.commInitRank, &missing);
      sym(lib, "ncclCommDestroy", &api.commDestroy, &missing);
      sym(lib, "ncclCommAbort", &api.commAbort, &missing);
      sym(lib, "ncclCommGetAsyncError", &api.commGetAsyncError, &missing);
      sym(lib, "ncclGetErrorString", &api.getErrorString, &missing);
      sym(lib, "ncclAllReduce", &api.allReduce, &missing);
      sym(lib, "ncclBroadcast", &api.broadcast, &missing);
      sym(lib, "ncclAllGather", &api.allGather, &missing);
      if (missing.empty()) return;
      tried += "\n  " + path + ": missing " + missing;
      dlclose(lib);
    }
    error = "cannot open NCCL (libnccl.so.2; set ADJOINT_NCCL_PATH, or install NCCL with the CUDA toolkit). Tried:" + tried;
  });
  if (!error.empty()) raise(error);
  return api;
}

void cudaCheck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) raise(str(what, ": ", cudaGetErrorString(e)));
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class NcclCollective final : public adjoint::Collective {
 public:
  explicit NcclCollective(const adjoint::CollectiveConfig& c)
      : rank_(c.rank), size_(c.size), timeout_(c.timeoutMs), api_(nccl()) {
    int devices = 0;
    cudaCheck(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (devices < 1) raise("no CUDA device for NCCL");
    int local = rank_ % devices;
    if (const char* lr = std::getenv("ADJOINT_LOCAL_RANK"); lr && *lr) local = std::atoi(lr);
    if (local < 0 || local >= devices) raise(str("ADJOINT_LOCAL_RANK=", local, " but ", devices, " CUDA device(s)"));
    device_ = local;
    cudaCheck(cudaSetDevice(device_), "cudaSetDevice");
    cudaCheck(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId id = rendezvous(c);
    check(api_.commInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }

  ~NcclCollective() override {
    if (comm_) (broken_.empty() ? api_.commDestroy : api_.commAbort)(comm_);
    if (scratch_) cudaFree(scratch_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    return str("nccl rank ", rank_, " of ", size_, " on cuda:", device_, ", timeout ", timeout_.count(), " ms");
  }

  void allReduce(void* data, int64_t count, int dtype, int op, uint32_t) override {
    size_t bytes = (size_t)count * width(dtype);
    run("allReduce", bytes, [&](char* dev) {
      cudaCheck(cudaMemcpyAsync(dev, data, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
      check(api_.allReduce(dev, dev, (size_t)count, type(dtype), kNcclSum, comm_, stream_), "ncclAllReduce");
      cudaCheck(cudaMemcpyAsync(data, dev, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
    });
    if (op == adjoint::kReduceMean && size_ > 1) {
      if (dtype == adjoint::kFloat64)
        for (int64_t i = 0; i < count; i++) static_cast<double*>(data)[i] /= size_;
      else
        for (int64_t i = 0; i < count; i++) static_cast<float*>(data)[i] /= (float)size_;
    }
  }

  void broadcast(void* data, int64_t count, int dtype, int root, uint32_t) override {
    size_t bytes = (size_t)count * width(dtype);
    run("broadcast", bytes, [&](char* dev) {
      cudaCheck(cudaMemcpyAsync(dev, data, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
      check(api_.broadcast(dev, dev, (size_t)count, type(dtype), root, comm_, stream_), "ncclBroadcast");
      cudaCheck(cudaMemcpyAsync(data, dev, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
    });
  }

  void allGather(const void* in, void* out, int64_t count, int dtype, uint32_t) override {
    size_t bytes = (size_t)count * width(dtype), all = bytes * size_;
    run("allGather", all, [&](char* dev) {
      char* mine = dev + bytes * rank_;   // in place: NCCL reads this rank's slot of the output
      cudaCheck(cudaMemcpyAsync(mine, in, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
      check(api_.allGather(mine, dev, (size_t)count, type(dtype), comm_, stream_), "ncclAllGather");
      cudaCheck(cudaMemcpyAsync(out, dev, all, cudaMemcpyDeviceToHost, stream_), "copy to host");
    });
  }

  void barrier(uint32_t tag) override {
    float one = 1;
    allReduce(&one, 1, adjoint::kFloat32, adjoint::kReduceSum, tag);
  }

 private:
  static size_t width(int dtype) { return dtype == adjoint::kFloat64 ? 8 : 4; }
  static ncclDataType_t type(int dtype) { return dtype == adjoint::kFloat64 ? kNcclFloat64 : kNcclFloat32; }

  void check(ncclResult_t r, const char* what) {
    if (r != kNcclSuccess && r != kNcclInProgress) raise(str(what, ": ", api_.getErrorString(r)));
  }

  ncclUniqueId rendezvous(const adjoint::CollectiveConfig& c) {
    if (c.store.empty()) raise("no rendezvous directory given (ADJOINT_RENDEZVOUS_DIR)");
    mkdir(c.store.c_str(), 0777);
    std::string file = c.store + "/" + (c.prefix.empty() ? "adjoint" : c.prefix) + ".nccl-id";
    ncclUniqueId id;
    if (rank_ == 0) {
      check(api_.getUniqueId(&id), "ncclGetUniqueId");
      std::string tmp = file + ".tmp" + std::to_string(getpid());
      {
        std::ofstream o(tmp, std::ios::binary);
        o << size_ << "\n";
        o.write(id.internal, sizeof id.internal);
        if (!o) raise("cannot write " + tmp);
      }
      if (std::rename(tmp.c_str(), file.c_str()) != 0) raise("cannot rename " + tmp + " to " + file);
      return id;
    }
    auto deadline = Clock::now() + timeout_;
    while (true) {
      std::ifstream in(file, std::ios::binary);
      int theirs = 0;
      if (in >> theirs && in.get() == '\n' && in.read(id.internal, sizeof id.internal)) {
        if (theirs != size_)
          raise(str("rank 0 was started with world size ", theirs, ", rank ", rank_, " with ", size_));
        return id;
      }
      if (Clock::now() >= deadline)
        raise(str("rank 0 did not publish the NCCL id in ", file, " within ", timeout_.count(), " ms"));
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  template <class F>
  void run(const char* what, size_t bytes, F&& enqueue) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!broken_.empty()) raise(str(what, " on rank ", rank_, ": the process group failed earlier: ", broken_));
    try {
      cudaCheck(cudaSetDevice(device_), "cudaSetDevice");
      if (bytes > scratchBytes_) {
        if (scratch_) cudaFree(scratch_);
        scratch_ = nullptr;
        scratchBytes_ = 0;
        cudaCheck(cudaMalloc(&scratch_, bytes), "cudaMalloc");
        scratchBytes_ = bytes;
      }
      if (bytes == 0) return;
      enqueue(static_cast<char*>(scratch_));
      auto deadline = Clock::now() + timeout_;
      while (true) {
        cudaError_t q = cudaStreamQuery(stream_);
        if (q == cudaSuccess) break;
        if (q != cudaErrorNotReady) cudaCheck(q, what);
        ncclResult_t async = kNcclSuccess;
        api_.commGetAsyncError(comm_, &async);
        if (async != kNcclSuccess && async != kNcclInProgress) raise(str("NCCL: ", api_.getErrorString(async)));
        if (Clock::now() >= deadline)
          raise(str("timed out after ", timeout_.count(), " ms (a peer is dead or hung; NCCL does not say which)"));
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    } catch (const std::exception& e) {
      broken_ = e.what();
      raise(str(what, " on rank ", rank_, " of ", size_, " failed: ", e.what()));
    }
  }

  const int rank_, size_;
  const milliseconds timeout_;
  const Nccl& api_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  void* scratch_ = nullptr;
  size_t scratchBytes_ = 0;
  std::mutex mu_;
  std::string broken_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) int adjoint_collective_abi() { return adjoint::ADJOINT_COLLECTIVE_ABI; }

extern "C" __attribute__((visibility("default"))) adjoint::Collective* adjoint_collective_create(
    const adjoint::CollectiveConfig* config, char* err, size_t errLen) {
  try {
    return new NcclCollective(*config);
  } catch (const std::exception& e) {
    if (err && errLen) {
      std::strncpy(err, e.what(), errLen - 1);
      err[errLen - 1] = 0;
    }
    return nullptr;
  }
}
