// Device memory for one Backend: a caching allocator with size-bucketed free lists.
//
// Sizes are rounded up to one of four buckets per power of two (at most 25% slack), and a released
// block goes back on its bucket's free list instead of to cudaFree; after a warm-up run every
// allocation is a free-list hit, so the hot path never calls cudaMalloc (which synchronises the
// device). When cudaMalloc fails, the cached blocks are freed and the allocation retried once.
//
// Blocks are handed back only when no queued work still uses them: Backend::execute synchronises
// before it returns, and the per-lane scratch of a running execute is not freed until its stream is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace adjoint {
namespace cuda {

class DeviceAllocator {
 public:
  explicit DeviceAllocator(int device) : device_(device) {}
  ~DeviceAllocator();   // frees every block, cached or still in use; never throws
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  void* allocate(size_t bytes);      // throws adjoint::Error on out-of-memory
  void release(void* ptr) noexcept;  // unknown pointers are ignored (counted in stats)
  void trim() noexcept;              // returns cached blocks to the driver

  static size_t bucketSize(size_t bytes);   // throws adjoint::Error above 2^62 bytes

  struct Stats {
    int64_t mallocCalls = 0;
    int64_t cacheHits = 0;
    int64_t bytesInUse = 0;
    int64_t bytesCached = 0;
    int64_t unknownReleases = 0;
  };
  Stats stats() const;

 private:
  void trimLocked() noexcept;

  const int device_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;   // bucket size -> cached blocks
  std::unordered_map<void*, size_t> used_;                // live block -> bucket size
  Stats stats_;
};

// Pinned host memory for staging transfers: two chunks used alternately, so filling one overlaps
// the DMA of the other. Owned by a Backend; callers hold the Backend's transfer lock.
class PinnedStaging {
 public:
  static constexpr size_t kChunkBytes = size_t(8) << 20;
  PinnedStaging() = default;
  ~PinnedStaging();   // never throws
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // Lazily allocates both chunks and their events; throws adjoint::Error.
  void ensure();
  void* chunk(int i) const { return chunks_[i]; }
  void* event(int i) const { return events_[i]; }   // cudaEvent_t marking the chunk's last use

 private:
  void* chunks_[2] = {nullptr, nullptr};
  void* events_[2] = {nullptr, nullptr};
};

}  // namespace cuda
}  // namespace adjoint
