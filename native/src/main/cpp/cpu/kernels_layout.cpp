// Data movement: transpose and broadcastTo as one strided gather, for any element size.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace adjoint {
namespace cpu {
namespace {

template <class E>
void gather(const StridedLoop& loop, const E* x, E* y) {
  int64_t s = loop.innerStride(0);
  ThreadPool::instance().parallelFor(loop.rows(), std::max<int64_t>(1, kParallelGrain / loop.rowLength()), [&](int64_t lo, int64_t hi) {
    loop.forRows(lo, hi, [&](int64_t row, const int64_t* off, int64_t len) {
      E* out = y + row * len;
      const E* in = x + off[0];
      if (s == 1) {
        std::memcpy(out, in, len * sizeof(E));
      } else if (s == 0) {
        std::fill(out, out + len, in[0]);
      } else {
        for (int64_t i = 0; i < len; ++i) out[i] = in[i * s];
      }
    });
  });
}

// Streaming copies of 64-byte lines: dst is aligned, src may not be.
__attribute__((target("avx512f"))) void streamLinesAvx512(char* dst, const char* src, int64_t lines) {
  for (int64_t i = 0; i < lines; ++i) _mm512_stream_si512((__m512i*)(dst + 64 * i), _mm512_loadu_si512(src + 64 * i));
}
__attribute__((target("avx"))) void streamLinesAvx(char* dst, const char* src, int64_t lines) {
  for (int64_t i = 0; i < lines; ++i) {
    _mm256_stream_si256((__m256i*)(dst + 64 * i), _mm256_loadu_si256((const __m256i*)(src + 64 * i)));
    _mm256_stream_si256((__m256i*)(dst + 64 * i + 32), _mm256_loadu_si256((const __m256i*)(src + 64 * i + 32)));
  }
}
void streamLinesSse2(char* dst, const char* src, int64_t lines) {
  for (int64_t i = 0; i < 4 * lines; ++i) _mm_stream_si128((__m128i*)(dst + 16 * i), _mm_loadu_si128((const __m128i*)(src + 16 * i)));
}

using StreamLines = void (*)(char*, const char*, int64_t);
StreamLines pickStreamLines() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return streamLinesAvx512;
  if (__builtin_cpu_supports("avx")) return streamLinesAvx;
  return streamLinesSse2;
}

}  // namespace

int64_t streamingThresholdBytes() {
  static const int64_t bytes = [] {
    int64_t mb = 16;
    if (const char* env = std::getenv("ADJOINT_STREAM_MB")) {
      char* end = nullptr;
      long long v = std::strtoll(env, &end, 10);
      if (end != env && v >= 0) mb = v;
    }
    return mb == 0 ? INT64_MAX : mb << 20;
  }();
  return bytes;
}

void streamStore(void* y, const void* x, int64_t bytes) {
  static const StreamLines lines = pickStreamLines();
  char* d = (char*)y;
  const char* s = (const char*)x;
  int64_t head = std::min<int64_t>(bytes, (64 - ((uintptr_t)d & 63)) & 63);
  std::memcpy(d, s, head);
  d += head;
  s += head;
  bytes -= head;
  lines(d, s, bytes / 64);
  int64_t done = bytes / 64 * 64;
  std::memcpy(d + done, s + done, bytes - done);
}

void streamFence() { _mm_sfence(); }

void stridedCopy(int elemSize, const StepLayout& layout, const void* x, void* y) {
  int64_t n = 1;
  for (int64_t d : layout.shape) n *= d;
  if (n == 0) return;
  StridedLoop loop(layout);
  if (elemSize == 8) gather(loop, (const uint64_t*)x, (uint64_t*)y);
  else gather(loop, (const uint32_t*)x, (uint32_t*)y);
}

}  // namespace cpu
}  // namespace adjoint
