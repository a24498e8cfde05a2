// Adjoint engine: the one public C++ header. JavaCPP maps it (native/src/main/java/dev/adjoint/engine).
//
// A Graph is built node by node (shape and dtype are inferred, and checked, as each node is added),
// compiled once into an Executable for one device, and run many times: "single-use in terms of
// allocation, multi-use in terms of computation".
//
// Note [Errors]: every entry point reports failure by throwing adjoint::Error (a std::runtime_error).
// JavaCPP turns that into a Java RuntimeException carrying what(); the Java API rethrows it as an
// AdjointException. Nothing in the engine calls abort() or exit(); a bad input never kills the JVM.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace adjoint {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

enum DType { kFloat32 = 0, kFloat64 = 1, kInt32 = 2 };

// Inline, so that backend libraries (which may not call engine symbols) name and size dtypes the
// same way: "Float32", "Float64", "Int32" in every message.
inline int dtypeSize(int dtype) {
  switch (dtype) {
    case kFloat32: return 4;
    case kFloat64: return 8;
    case kInt32: return 4;
  }
  throw Error("unknown dtype " + std::to_string(dtype));
}

inline const char* dtypeName(int dtype) {
  switch (dtype) {
    case kFloat32: return "Float32";
    case kFloat64: return "Float64";
    case kInt32: return "Int32";
  }
  return "InvalidDtype";
}

// Devices: 0 is the CPU; 1 + k is CUDA device k (available once a CUDA backend is loaded).
enum { kCpu = 0 };

// The kernel table, generated from adjoint/ops.def (which documents every op's inputs, attributes and
// scalar). Kernel ids are positions in that list; Java looks them up by name through
// opName()/opCount().
enum Op {
#define ADJOINT_OP(name, family, arity, attrs) OP_##name,
#include "adjoint/ops.def"
  OP_COUNT
};

int opCount();
const char* opName(int op);

// Host callback: called on the engine's thread with host copies of the inputs; writes the output.
// Returns 0 on success; non-zero makes the run throw Error("host callback <id> failed") (the Java
// side keeps the real exception and rethrows it).
typedef int (*HostCallback)(int callbackId, int numInputs, void** inputs, void* output);
void setHostCallback(HostCallback callback);

// Engine-wide information and settings.
std::string version();
std::string blasInfo();          // OpenBLAS config string, core name, thread count
std::string mathInfo();          // which vector math library the CPU's transcendental kernels use (Note [SLEEF])
int blasThreads();
void setBlasThreads(int n);      // at most n per gemm, chosen per shape by measurement
void pinBlasThreads(int n);      // exactly n for every gemm OpenBLAS would thread (no per-shape choice)
bool blasThreadsPinned();
// The gemm library (Note [GEMM library] in cpu/gemm_library.cpp): OpenBLAS, or oneDNN's sgemm for
// float32 gemms once its library (libdnnl.so.3, from the org.bytedeco:dnnl jar) has been offered.
void oneDnnExpect();                               // a load will follow: gemms that want it wait
void oneDnnLoad(const std::string& path);          // opens it; a failure is recorded (gemmInfo), not thrown
void oneDnnUnavailable(const std::string& why);
std::string gemmInfo();
int gemmMode();                                    // 0 auto, 1 OpenBLAS only, 2 oneDNN for every float32 gemm
void setGemmMode(int mode);
// Which library the current rule sends this gemm to: 0 OpenBLAS, 1 oneDNN (waits for a pending load).
int gemmLibraryFor(int64_t m, int64_t n, int64_t k, int dtype);
// One row-major float32 gemm c = op(a) op(b) straight into a library (0 OpenBLAS, 1 oneDNN) on `threads`
// threads, no graph and no per-shape choice: the benchmarks' raw ideals. a is m x k (k x m when ta), b is
// k x n (n x k when tb), c is m x n; the caller keeps the buffers alive and sized.
void rawSgemm(int library, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
              int threads);
int threads();                   // worker threads for elementwise kernels and independent branches
void setThreads(int n);
// Loads a backend library (cuda-kernels) with dlopen. Throws Error naming the path and dlerror().
void loadBackend(const std::string& path);
bool cudaLoaded();
int cudaDeviceCount();           // 0 when no backend is loaded, no driver, or no GPU
std::string deviceName(int device);
std::string backendStatus();     // one line for `adjoint info`
// The CPU backend keeps freed blocks of 256 KiB and more for reuse (bounded; see host_allocator.h).
void emptyCache();               // returns every cached host block to the system
int64_t cachedBytes();           // bytes held in that cache now
// The compile passes that rewrite a graph (CSE, algebraic simplification, constant folding, fusion) are
// on by default; off, a graph compiles node for node (dead code is still dropped). Tests compare both.
// Collectives (Note [Collective seam] in adjoint/collective.h): open a process group through the backend
// library at `library` (its rendezvous happens here, bounded by timeoutMs), then run blocking in-place
// operations on host memory of Float32/Float64. dtype is a DType, op a ReduceOp (0 sum, 1 mean).
int64_t collectiveOpen(const std::string& library, int rank, int size, int64_t timeoutMs, const std::string& store,
                       const std::string& prefix, const std::string& host);
void collectiveAllReduce(int64_t group, void* data, int64_t count, int dtype, int op, int64_t tag);
void collectiveBroadcast(int64_t group, void* data, int64_t count, int dtype, int root, int64_t tag);
void collectiveAllGather(int64_t group, const void* in, void* out, int64_t count, int dtype, int64_t tag);
void collectiveBarrier(int64_t group, int64_t tag);
std::string collectiveDescribe(int64_t group);
void collectiveClose(int64_t group);
void setOptimize(bool on);
bool optimize();

// A dense, row-major tensor in engine-owned memory on one device.
class Buffer {
 public:
  Buffer(int device, int dtype, const int64_t* shape, int rank);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  int device() const { return device_; }
  int dtype() const { return dtype_; }
  int rank() const { return (int)shape_.size(); }
  int64_t dim(int i) const;
  int64_t numel() const { return numel_; }
  int64_t bytes() const;
  void* data() { return data_; }
  const void* data() const { return data_; }

  void copyFromHost(const void* src, int64_t bytes);   // bytes must equal bytes()
  void copyToHost(void* dst, int64_t bytes) const;
  void copyFrom(const Buffer& other);                  // same dtype and numel, any devices

  const std::vector<int64_t>& shape() const { return shape_; }

 private:
  int device_, dtype_;
  std::vector<int64_t> shape_;
  int64_t numel_;
  void* data_;
};

// Explicit ownership for the binding: Java frees what it creates or takes.
Buffer* newBuffer(int device, int dtype, const int64_t* shape, int rank);
void freeBuffer(Buffer* buffer);

class Graph {
 public:
  Graph();
  ~Graph();
  int addInput(int dtype, const int64_t* shape, int rank);
  // Infers shape and dtype; throws Error naming the op, the input index and both shapes on mismatch.
  int addNode(int op, const int* inputs, int numInputs, const int64_t* attrs, int numAttrs, double scalar);
  void addOutput(int node);
  // After each run, the value of `node` is written into the buffer bound to input `inputIndex`
  // (in place parameter updates for optimizers). Shapes and dtypes must match.
  void addUpdate(int inputIndex, int node);

  int numNodes() const;
  int numInputs() const;
  int numOutputs() const;
  int nodeDtype(int node) const;
  int nodeRank(int node) const;
  int64_t nodeDim(int node, int axis) const;

  struct Impl;
  Impl* impl() const { return impl_; }

 private:
  Impl* impl_;
};

class Executable {
 public:
  // Compiles `graph` for `device`: validation, DCE, CSE, simplification, fusion, memory plan, schedule.
  Executable(const Graph& graph, int device);
  // Another instance of `prototype`'s compiled program with its own run state (Note [Instances] in
  // executable.cpp): one instance runs one call at a time; concurrent or re-entrant calls use several.
  Executable(const Executable& prototype);
  Executable& operator=(const Executable&) = delete;
  ~Executable();

  int numInputs() const;
  int numOutputs() const;
  int outputDtype(int i) const;
  int outputRank(int i) const;
  int64_t outputDim(int i, int axis) const;

  // Bound buffers are borrowed, not owned: the caller keeps them alive while a run() that uses them runs.
  void setInput(int i, Buffer* buffer);     // checked at run: device, dtype and shape must match
  void setOutput(int i, Buffer* buffer);    // optional: run writes there instead of allocating; must not alias an input
  void run();                               // throws Error; the executable stays usable afterwards
  Buffer* takeOutput(int i);                // ownership passes to the caller (freeBuffer)
  // A whole call in one: io[0 .. numInputs()) are the inputs (as setInput); io[numInputs() + k] is
  // either a buffer to write output k into (as setOutput, for this call only) or null. Then run();
  // afterwards every null output entry holds takeOutput(k) (the caller owns it), and the given ones
  // are unchanged. Nothing may be bound with setOutput. On an error nothing is taken, and no input
  // or output stays bound. The binding's per-call path crosses into the engine once this way.
  void runWith(Buffer** io);

  // Introspection for tests and benchmarks.
  int numSteps() const;                     // kernels launched per run after all passes
  int64_t arenaBytes() const;               // planned scratch memory
  int64_t runAllocations() const;           // scratch allocations made by the most recent run (0 after the first)
  std::string describe() const;             // one line per step

  struct Impl;

 private:
  Impl* impl_;
};

}  // namespace adjoint
