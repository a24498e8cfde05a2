#include "allocator.h"

#include <cuda_runtime.h>

#include <string>

#include "cuda_common.h"

namespace adjoint {
namespace cuda {

size_t DeviceAllocator::bucketSize(size_t bytes) {
  constexpr size_t kMin = 512;
  // Above 2^62 the doubling below would overflow (and, from 2^63 on, never end); no device has
  // that much memory, and the engine never asks for more (Note [Sizes] in native core/common.h).
  constexpr size_t kMax = size_t(1) << 62;
  if (bytes > kMax)
    fail("CUDA out of memory: cannot allocate " + std::to_string(bytes) + " bytes (more than 2^62)");
  if (bytes <= kMin) return kMin;
  size_t p = kMin;
  while (p * 2 <= bytes) p *= 2;   // p: the largest power of two <= bytes
  const size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

void* DeviceAllocator::allocate(size_t bytes) {
  const size_t size = bucketSize(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    used_.emplace(p, size);
    stats_.cacheHits++;
    stats_.bytesCached -= (int64_t)size;
    stats_.bytesInUse += (int64_t)size;
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();   // not sticky; clear it before retrying
    trimLocked();
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    fail("CUDA out of memory on device " + std::to_string(device_) + ": cudaMalloc(" + std::to_string(size) +
         " bytes) failed with " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + "); " +
         std::to_string(stats_.bytesInUse) + " bytes in use by Adjoint");
  }
  stats_.mallocCalls++;
  stats_.bytesInUse += (int64_t)size;
  used_.emplace(p, size);
  return p;
}

void DeviceAllocator::release(void* ptr) noexcept {
  if (ptr == nullptr) return;
  try {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = used_.find(ptr);
    if (it == used_.end()) {
      stats_.unknownReleases++;
      return;
    }
    const size_t size = it->second;
    used_.erase(it);
    free_[size].push_back(ptr);
    stats_.bytesInUse -= (int64_t)size;
    stats_.bytesCached += (int64_t)size;
  } catch (...) {
    // Only a failed push_back can get here; the block is then simply not cached.
  }
}

void DeviceAllocator::trim() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  trimLocked();
}

void DeviceAllocator::trimLocked() noexcept {
  for (auto& entry : free_)
    for (void* p : entry.second) cudaFree(p);
  free_.clear();
  stats_.bytesCached = 0;
}

DeviceAllocator::Stats DeviceAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

DeviceAllocator::~DeviceAllocator() {
  trimLocked();
  for (auto& entry : used_) cudaFree(entry.first);
  used_.clear();
}

void PinnedStaging::ensure() {
  for (int i = 0; i < 2; ++i) {
    if (chunks_[i] == nullptr) ADJ_CUDA_CHECK(cudaMallocHost(&chunks_[i], kChunkBytes));
    if (events_[i] == nullptr) {
      cudaEvent_t ev = nullptr;
      ADJ_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
      events_[i] = ev;
    }
  }
}

PinnedStaging::~PinnedStaging() {
  for (int i = 0; i < 2; ++i) {
    if (events_[i] != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(events_[i]));
    if (chunks_[i] != nullptr) cudaFreeHost(chunks_[i]);
  }
}

}  // namespace cuda
}  // namespace adjoint
