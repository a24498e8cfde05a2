// Float32 sin through SLEEF on AVX-512 CPUs.
//
// Note [SLEEF]: W3 (d/dx and d2/dx2 of sum(sin x) over 16M floats) computes cos x and -sin x in one
// streamed pass each, and the vector sin/cos is most of that pass's compute. Measured on the bench
// machine (AVX-512, 16-float vectors in L1, minimum of 200 runs; bench/RESULTS.md, "Engine-internal
// measurements"): libmvec sinf 0.27-0.30 ns/element, SLEEF Sleef_sinf16_u35 0.24-0.29 (5-10 %
// faster); libmvec cosf 0.26-0.27, Sleef_cosf16_u35 0.29-0.33 (11-15 % slower); the u10 variants
// 2-3x slower than libmvec. So only float32 sin goes through SLEEF (u35); cos, the other
// transcendental ops and all of float64 stay on libmvec. Accuracy: the u35 functions are
// documented to 3.5 ulp over the whole float range, libmvec's to 4 ulp, so float32 sin loses
// nothing against the libmvec path; test_math.cpp checks the bound against double sin over about a
// million samples up to |x| = 1e38 (measured max 2.4 ulp) and the special values (+-0, +-inf ->
// NaN, NaN, denormals). SLEEF's vector gives the same bits at every position of a tile, where
// libmvec's scalar remainder (libm) may differ from its vector lanes by an ulp or two.
//
// Deployment: the build compiles this path only where CMake found SLEEF's header and library
// (Debian/Ubuntu: libsleef-dev, ADJOINT_HAVE_SLEEF), and the engine does not link libsleef: it is
// opened with dlopen on first use, so a jar built with SLEEF still runs on a machine without it
// (libmvec then, as `adjoint info` says). ADJOINT_SLEEF=0 in the environment turns the path off.
// Only Sleef_sinf16_u35avx512f is used, found with dlsym, and only on a CPU that has AVX-512F; any
// other CPU keeps libmvec's clones.
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
  Vec16 sin = nullptr;
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
  if (!sin) {
    s.status = "libmvec (" ADJOINT_SLEEF_SONAME " lacks Sleef_sinf16_u35avx512f)";
    return s;
  }
  s.sin = sin;
  s.status = "float32 sin: SLEEF " ADJOINT_SLEEF_STR(SLEEF_VERSION_MAJOR) "." ADJOINT_SLEEF_STR(SLEEF_VERSION_MINOR)
             " u35 AVX-512 (3.5 ulp, " ADJOINT_SLEEF_SONAME "); cos and everything else: libmvec";
  return s;
}
#else
Sleef load() {
  Sleef s;
  s.status = "libmvec (built without SLEEF: install libsleef-dev and rebuild for float32 sin through SLEEF)";
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
    int64_t i = c;
    for (; i + 16 <= e; i += 16) {
      if (pf) pf->issue(i * 4, 64);
      _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
    }
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
  if (op != OP_sin) return false;
  const Sleef& s = sleef();
  if (!s.sin || !gEnabled.load(std::memory_order_relaxed)) return false;
  run16(s.sin, x, y, n, pf);
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
