// Float32 sin and cos through SLEEF on AVX-512 CPUs.
//
// Note [SLEEF]: libmvec's AVX-512 sinf/cosf bound a streamed 16M-float sin pass (bench W3) at about
// half the engine's copy bandwidth; SLEEF's Sleef_sinf16_u35 / Sleef_cosf16_u35 are about 15-20 %
// faster per vector on the bench machine, which with prefetching (Note [Prefetch] in kernels.h) puts
// the pass at the copy's speed at one thread (bench/RESULTS.md, "Engine-internal measurements").
// Accuracy: the u35 functions are documented to 3.5 ulp over the whole float range (SLEEF's
// reference), libmvec's to 4 ulp, so float32 loses nothing against today's path; the u10 variants
// measured 2.5x slower than libmvec and are not used. test_math.cpp checks the bound against double
// sin/cos over random samples up to |x| = 1e4 and beyond, and the special values (+-0, +-inf -> NaN,
// NaN, denormals). Float64 stays on libmvec (no change in accuracy or speed there).
//
// Deployment: the build compiles this path only where CMake found SLEEF's header and library
// (Debian/Ubuntu: libsleef-dev, ADJOINT_HAVE_SLEEF), and the engine does not link libsleef: it is
// opened with dlopen on first use, so a jar built with SLEEF still runs on a machine without it
// (libmvec then, as `adjoint info` says). ADJOINT_SLEEF=0 in the environment turns the path off.
// Only the entry points named in the AVX-512 table below are used (Sleef_*16_u35avx512f), found
// with dlsym, and only on a CPU that has AVX-512F; any other CPU keeps libmvec's clones.
#include <dlfcn.h>
#include <immintrin.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "adjoint/op_table.h"
#include "cpu/kernels.h"

#ifdef ADJOINT_HAVE_SLEEF
#include <sleef.h>
#define ADJOINT_SLEEF_STR2(x) #x
#define ADJOINT_SLEEF_STR(x) ADJOINT_SLEEF_STR2(x)
#define ADJOINT_SLEEF_SONAME "libsleef.so." ADJOINT_SLEEF_STR(SLEEF_VERSION_MAJOR)
#endif

namespace adjoint {
namespace cpu {
namespace {

using Vec16 = __m512 (*)(__m512);

struct Sleef {
  Vec16 sin = nullptr, cos = nullptr;
  std::string status;
};

#ifdef ADJOINT_HAVE_SLEEF
Sleef load() {
  Sleef s;
  const char* env = std::getenv("ADJOINT_SLEEF");
  if (env && std::strcmp(env, "0") == 0) {
    s.status = "libmvec (SLEEF off: ADJOINT_SLEEF=0)";
    return s;
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    s.status = "libmvec (SLEEF is used only with AVX-512, which this CPU lacks)";
    return s;
  }
  void* lib = dlopen(ADJOINT_SLEEF_SONAME, RTLD_NOW | RTLD_LOCAL);   // never closed: the pointers outlive every call
  if (!lib) {
    s.status = std::string("libmvec (" ADJOINT_SLEEF_SONAME " did not load: ") + dlerror() + ")";
    return s;
  }
  Vec16 sin = (Vec16)dlsym(lib, "Sleef_sinf16_u35avx512f");
  Vec16 cos = (Vec16)dlsym(lib, "Sleef_cosf16_u35avx512f");
  if (!sin || !cos) {
    s.status = "libmvec (" ADJOINT_SLEEF_SONAME " lacks Sleef_sinf16_u35avx512f / Sleef_cosf16_u35avx512f)";
    return s;
  }
  s.sin = sin;
  s.cos = cos;
  s.status = "float32 sin/cos: SLEEF " ADJOINT_SLEEF_STR(SLEEF_VERSION_MAJOR) "." ADJOINT_SLEEF_STR(SLEEF_VERSION_MINOR)
             " u35 AVX-512 (3.5 ulp, " ADJOINT_SLEEF_SONAME "); everything else: libmvec";
  return s;
}
#else
Sleef load() {
  Sleef s;
  s.status = "libmvec (built without SLEEF: install libsleef-dev and rebuild for float32 sin/cos through SLEEF)";
  return s;
}
#endif

const Sleef& sleef() {
  static const Sleef s = load();
  return s;
}

std::atomic<bool> gEnabled{true};

// y[0..n) = f(x[0..n)), x and y may be the same array (each vector is read before it is written);
// the last n % 16 elements go through a zero-padded register-sized buffer.
__attribute__((target("avx512f"))) void run16(Vec16 f, const float* x, float* y, int64_t n, const Prefetch* pf) {
  for (int64_t c = 0; c < n; c += kPrefetchChunk) {
    const int64_t e = n - c < kPrefetchChunk ? n : c + kPrefetchChunk;
    if (pf) pf->issue(c * 4, (e - c) * 4);
    int64_t i = c;
    for (; i + 16 <= e; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
    if (i < e) {
      alignas(64) float buf[16] = {0};
      std::memcpy(buf, x + i, (e - i) * sizeof(float));
      _mm512_store_ps(buf, f(_mm512_load_ps(buf)));
      std::memcpy(y + i, buf, (e - i) * sizeof(float));
    }
  }
}

}  // namespace

bool sleefTile(int op, const float* x, float* y, int64_t n, const Prefetch* pf) {
  if (op != OP_sin && op != OP_cos) return false;
  const Sleef& s = sleef();
  if (!s.sin || !gEnabled.load(std::memory_order_relaxed)) return false;
  run16(op == OP_sin ? s.sin : s.cos, x, y, n, pf);
  return true;
}

bool sleefActive() { return sleef().sin != nullptr && gEnabled.load(); }

std::string sleefStatus() {
  if (sleef().sin && !gEnabled.load()) return "libmvec (SLEEF loaded but turned off by a test)";
  return sleef().status;
}

void setSleefEnabled(bool enabled) { gEnabled.store(enabled); }

}  // namespace cpu
}  // namespace adjoint
