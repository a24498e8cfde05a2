// Host memory for the CPU backend: 64-byte aligned blocks, with a cache of freed large blocks.
//
// Note [Host cache]: a compiled graph that returns a fresh 64 MiB output per call would otherwise pay
// an mmap, a page fault (and the kernel zeroing a page) for every 4 KiB of it, and an munmap, on every
// call: several times the cost of the pass itself. Blocks of at least kCacheMinBytes are kept when
// freed, in size classes, and handed out again to the next request of a size they fit (at most 1/8
// bigger), so a buffer freed by Java and the next call's output of the same size share warm memory.
//  * Size classes: 64 KiB steps below 4 MiB, 2 MiB steps above. Blocks of 4 MiB and more are mapped
//    2 MiB aligned and advised as transparent huge pages (fewer faults and TLB misses when fresh).
//  * The cache holds at most a limit of bytes (default min(1 GiB, physical RAM / 8); the environment
//    variable ADJOINT_HOST_CACHE_MB overrides it, 0 disables caching); a block that does not fit is
//    returned to the system. An allocation that fails empties the cache and tries once more.
//  * emptyCache() returns every cached block to the system; the cache is never freed otherwise (the
//    process exit does it).
//  * Under AddressSanitizer big blocks come from aligned_alloc (so LeakSanitizer sees them) and a
//    cached block is poisoned until it is handed out again, so a use after free still reports.
// Small blocks go straight to aligned_alloc/free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace adjoint {
namespace cpu {

constexpr size_t kCacheMinBytes = 256 << 10;

void* hostAllocate(size_t bytes);   // throws Error when out of memory
void hostRelease(void* ptr);
// hostRelease for a block whose requested size is known (a Buffer's): a small block (below
// kCacheMinBytes, so never in the cache's map) goes straight to free, without the cache's lock and
// lookup that hostRelease needs to tell the two kinds apart. Only for blocks from hostAllocate(bytes).
void hostReleaseSized(void* ptr, size_t bytes);
void hostEmptyCache();
int64_t hostCachedBytes();
int64_t hostCacheLimit();

}  // namespace cpu
}  // namespace adjoint
