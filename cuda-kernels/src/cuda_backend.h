// The CUDA implementation of adjoint::Backend for one device.
//
// Note [Lanes and streams]: the engine's scheduler gives every Step a lane and an `after` list. Each
// lane runs on its own non-blocking stream (at most kMaxLanes; lane numbers are taken modulo that).
// A dependency on a step of another lane becomes cudaEventRecord after that step and
// cudaStreamWaitEvent before this one; dependencies within a lane are implied by stream order.
// execute() synchronises every lane before it returns, so asynchronous faults are thrown from
// execute() and no queued work outlives the call (the engine may free or reuse any buffer after).
// The scheduler's `after` lists must therefore cover every hazard between lanes, including reuse of
// arena memory (write-after-read), not only data flow.
#pragma once

#include <cuda_runtime.h>

#include <mutex>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "allocator.h"
#include "cublas_loader.h"
#include "kernels.h"
#include "launch_plan.h"

namespace adjoint {
namespace cuda {

class CudaBackend final : public Backend {
 public:
  enum { kMaxLanes = 4 };

  explicit CudaBackend(int device);
  ~CudaBackend() override;

  std::string name() const override { return name_; }
  Capabilities capabilities() const override { return cudaCapabilities(); }
  void* allocate(size_t bytes) override;
  void release(void* ptr) override;
  void upload(void* dst, const void* host, size_t bytes) override;
  void download(void* host, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void execute(const Program& program, void* const* slots, const ExecContext& ctx) override;
  void synchronize() override;

 private:
  struct Lane {
    cudaStream_t stream = nullptr;
    CublasHandle blas = nullptr;
    void* scratch = nullptr;
    size_t scratchBytes = 0;
  };

  void setDevice() const;
  void ensureLanes(int n);
  cudaStream_t transferStream();
  void* laneScratch(Lane& lane, size_t bytes);
  void drainLanes() noexcept;

  void runStep(const Program& program, size_t index, void* const* slots, const ExecContext& ctx, Lane& lane);
  void runReduce(const Step& step, const TensorDesc& in, const TensorDesc& out, const void* x, void* y, bool mean,
                 int kind, Lane& lane);
  void runMatmul(const Step& step, const TensorDesc& a, const TensorDesc& b, const TensorDesc& out, const void* pa,
                 const void* pb, void* y, Lane& lane);
  void runCallback(const Program& program, const Step& step, void* const* slots, const ExecContext& ctx, Lane& lane);
  void deviceCopy(void* dst, const void* src, size_t bytes, cudaStream_t stream);
  void runIndexStep(const Program& program, size_t index, void* const* slots, const Launch& l);
  // Note [Index errors]: syncs every lane, reads the IndexError word and throws the step's message if set.
  void checkIndexErrors(const Program& program);

  const int device_;
  std::string name_;
  int smCount_ = 1;
  bool syncEachStep_ = false;   // ADJOINT_CUDA_SYNC=1: synchronise after every step to name a faulting one
  bool tf32_ = false;           // ADJOINT_CUDA_TF32=1: allow TF32 tensor cores in float32 matmul

  DeviceAllocator alloc_;
  PinnedStaging staging_;
  // Recursive: a host callback may run another program on this device from the same thread.
  std::recursive_mutex execMu_;
  std::mutex transferMu_;
  Lane lanes_[kMaxLanes];
  int numLanes_ = 0;
  cudaStream_t transfer_ = nullptr;
  std::vector<cudaEvent_t> freeEvents_;
  IndexError* indexError_ = nullptr;      // device word of Note [Index errors], allocated on first use   // pool; an execute takes what it needs and gives it back
};

}  // namespace cuda
}  // namespace adjoint
