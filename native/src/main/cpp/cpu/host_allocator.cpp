// Host memory with a cache of freed large blocks: Note [Host cache] in host_allocator.h.
#include "cpu/host_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#include "core/common.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ADJOINT_ASAN 1
#else
#define ADJOINT_ASAN 0
#endif

namespace adjoint {
namespace cpu {
namespace {

constexpr size_t kSmallStep = 64 << 10;
constexpr size_t kHugeMin = 4 << 20;
constexpr size_t kHugeStep = 2 << 20;

size_t roundUp(size_t v, size_t step) { return (v + step - 1) / step * step; }

size_t sizeClass(size_t bytes) { return bytes >= kHugeMin ? roundUp(bytes, kHugeStep) : roundUp(bytes, kSmallStep); }

int64_t defaultLimit() {
  if (const char* env = std::getenv("ADJOINT_HOST_CACHE_MB")) {
    char* end = nullptr;
    long long mb = std::strtoll(env, &end, 10);
    if (end != env && mb >= 0) return (int64_t)mb << 20;
  }
  int64_t limit = int64_t(1) << 30;
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0) limit = std::min<int64_t>(limit, (int64_t)pages * pageSize / 8);
  return limit;
}

class HostCache {
 public:
  void* allocate(size_t bytes) {
    // Note [Sizes] (core/common.h): no machine serves this, and the size-class rounding below (and
    // the 2 MiB of slack mapped for alignment) must not wrap around to a small block.
    if (bytes > (size_t)kMaxTensorBytes) fail("cpu: out of memory allocating ", bytes, " bytes (more than 2^62)");
    if (bytes < kCacheMinBytes) return smallAllocate(bytes);
    size_t size = sizeClass(bytes);
    {
      std::lock_guard<std::mutex> g(mu_);
      // Best fit among the cached blocks that are at most 1/8 bigger than needed.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 8) {
        void* p = it->second;
        size_t got = it->first;
        live_[p] = got;   // first: if this throws bad_alloc, the block simply stays cached
        free_.erase(it);
        cached_ -= (int64_t)got;
#if ADJOINT_ASAN
        __asan_unpoison_memory_region(p, got);
#endif
        return p;
      }
    }
    void* p = systemAllocate(size);
    if (!p) {
      emptyCache();
      p = systemAllocate(size);
    }
    if (!p) fail("cpu: out of memory allocating ", bytes, " bytes");
    try {
      std::lock_guard<std::mutex> g(mu_);
      live_[p] = size;
    } catch (const std::bad_alloc&) {   // the map's node: give the block back, report it as ours
      systemRelease(p, size);
      fail("cpu: out of memory allocating ", bytes, " bytes");
    }
    return p;
  }

  void release(void* p) {
    if (!p) return;
    size_t size = 0;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = live_.find(p);
      if (it != live_.end()) {
        size = it->second;
        live_.erase(it);
        if (cached_ + (int64_t)size <= limit_) {
          free_.emplace(size, p);
          cached_ += (int64_t)size;
#if ADJOINT_ASAN
          __asan_poison_memory_region(p, size);
#endif
          return;
        }
      }
    }
    if (size == 0) std::free(p);   // a small block
    else systemRelease(p, size);
  }

  void emptyCache() {
    std::multimap<size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> g(mu_);
      blocks.swap(free_);
      cached_ = 0;
    }
    for (auto& b : blocks) {
#if ADJOINT_ASAN
      __asan_unpoison_memory_region(b.second, b.first);
#endif
      systemRelease(b.second, b.first);
    }
  }

  int64_t cachedBytes() {
    std::lock_guard<std::mutex> g(mu_);
    return cached_;
  }
  int64_t limit() const { return limit_; }

 private:
  static void* smallAllocate(size_t bytes) {
    size_t rounded = (std::max<size_t>(bytes, 1) + 63) & ~size_t(63);
    void* p = std::aligned_alloc(64, rounded);
    if (!p) fail("cpu: out of memory allocating ", bytes, " bytes");
    return p;
  }

  // `size` is a size class; returns nullptr when the system has no memory.
  static void* systemAllocate(size_t size) {
    if (ADJOINT_ASAN || size < kHugeMin) return std::aligned_alloc(64, size);
    // Map 2 MiB more, then trim to a 2 MiB aligned range so the kernel can back it with huge pages.
    size_t span = size + kHugeStep;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    uintptr_t start = (uintptr_t)raw, aligned = roundUp(start, kHugeStep);
    if (aligned > start) munmap(raw, aligned - start);
    size_t tail = start + span - (aligned + size);
    if (tail > 0) munmap((void*)(aligned + size), tail);
#ifdef MADV_HUGEPAGE
    madvise((void*)aligned, size, MADV_HUGEPAGE);   // advice only: ignore failure
#endif
    return (void*)aligned;
  }

  static void systemRelease(void* p, size_t size) {
    if (ADJOINT_ASAN || size < kHugeMin) std::free(p);
    else munmap(p, size);
  }

  std::mutex mu_;
  std::unordered_map<void*, size_t> live_;   // handed-out big blocks and their size class
  std::multimap<size_t, void*> free_;         // cached blocks by size class
  int64_t cached_ = 0;
  const int64_t limit_ = defaultLimit();
};

HostCache& cache() {
  static HostCache* c = new HostCache;   // never destroyed: Buffers may outlive statics
  return *c;
}

}  // namespace

void* hostAllocate(size_t bytes) {
  try {
    return cache().allocate(bytes);
  } catch (const std::bad_alloc&) {   // bookkeeping that could not grow: never let bad_alloc out
    fail("cpu: out of memory allocating ", bytes, " bytes");
  }
}
void hostRelease(void* ptr) { cache().release(ptr); }
void hostReleaseSized(void* ptr, size_t bytes) {
  if (bytes < kCacheMinBytes) std::free(ptr);   // smallAllocate's aligned_alloc
  else cache().release(ptr);
}
void hostEmptyCache() { cache().emptyCache(); }
int64_t hostCachedBytes() { return cache().cachedBytes(); }
int64_t hostCacheLimit() { return cache().limit(); }

}  // namespace cpu
}  // namespace adjoint
