// Float32 sin and cos on the CPU, through whichever vector library the engine uses (Note [SLEEF] in
// cpu/kernels_sleef.cpp: sin through SLEEF u35 on AVX-512 where it loads, libmvec otherwise), against double
// precision: within the active library's documented ulp bound over random samples, exact on the
// special values, and the same bits whichever way a kernel reaches the tile (prefetching, fused,
// a plain unary step, odd lengths, in place). Each test runs the SLEEF path (where active) and the
// libmvec fallback.
#include <cfloat>
#include <cstdlib>

#include "check.h"
#include "cpu/kernels.h"

using namespace adjoint;

namespace {

// Error of `got` in units of the last place of the exact value (float32 ulp of the binade holding
// `want`; denormal ulp below FLT_MIN).
double ulpError(float got, double want) {
  if (want == 0) return got == 0 ? 0 : std::fabs((double)got) / std::ldexp(1.0, -149);
  int e = std::ilogb(want);
  double ulp = std::ldexp(1.0, std::max(e - 23, -149));
  return std::fabs((double)got - want) / ulp;
}

// Whether op's float32 tile goes through SLEEF now (only sin does, Note [SLEEF]).
bool viaSleef(int op) { return op == OP_sin && cpu::sleefActive(); }

// The documented bound of the library op's tile uses now: SLEEF's u35 functions 3.5 ulp, glibc's
// libmvec 4 ulp (glibc manual, "Errors in Math Functions", vector variants).
double documentedUlps(int op) { return viaSleef(op) ? 3.5 : 4.0; }

std::vector<float> samples(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x;
  auto uniform = [&](double lo, double hi, int n) {
    std::uniform_real_distribution<double> d(lo, hi);
    for (int i = 0; i < n; ++i) x.push_back((float)d(rng));
  };
  uniform(-M_PI, M_PI, 1 << 18);
  uniform(-100, 100, 1 << 18);
  uniform(-1e4, 1e4, 1 << 18);
  std::uniform_real_distribution<double> mag(-40, 38), sign(0, 1);   // log-uniform over the float range
  for (int i = 0; i < 1 << 18; ++i) x.push_back((float)((sign(rng) < 0.5 ? -1 : 1) * std::pow(10.0, mag(rng))));
  // near multiples of pi/2, where sin or cos is small and the argument reduction matters most
  for (int k = -20000; k <= 20000; k += 7) {
    float c = (float)(k * M_PI / 2);
    x.push_back(c);
    x.push_back(std::nextafter(c, INFINITY));
    x.push_back(std::nextafter(c, -INFINITY));
  }
  return x;
}

// Runs `body` on the SLEEF path (if the engine has it) and on libmvec, naming the path it checks.
template <class F>
void eachPath(F body) {
  bool had = cpu::sleefActive();
  if (had) body("SLEEF sin, libmvec cos");
  cpu::setSleefEnabled(false);
  body("libmvec");
  cpu::setSleefEnabled(true);
  CHECK(cpu::sleefActive() == had);
}

// Whether `got` (for x) agrees with `want`, the tile's value at another position: SLEEF's vectors
// give the same bits wherever an element sits; libmvec's scalar remainder is libm, which may differ
// from the vector value by a few ulp, so there only each value's own bound is checked.
bool agrees(int op, float x, float got, float want) {
  if (got == want || (std::isnan(got) && std::isnan(want))) return true;
  return !viaSleef(op) && ulpError(got, op == OP_sin ? std::sin((double)x) : std::cos((double)x)) <= documentedUlps(op);
}

void mathTile(int op, const std::vector<float>& x, std::vector<float>& y, const cpu::Prefetch* pf = nullptr) {
  y.assign(x.size(), -7.0f);
  CHECK(cpu::mathTile(op, x.data(), y.data(), (int64_t)x.size(), pf));
}

}  // namespace

// Built with SLEEF on an AVX-512 machine, the engine must use it, not fall back without a word.
TEST(math_sleef_is_used_where_built_and_supported) {
  std::string status = mathInfo();
  std::cout << "  math: " << status << "\n";
#ifdef ADJOINT_HAVE_SLEEF
  __builtin_cpu_init();
  const char* env = std::getenv("ADJOINT_SLEEF");
  if (__builtin_cpu_supports("avx512f") && !(env && std::string(env) == "0")) {
    CHECK_MSG(cpu::sleefActive(), status);
    CHECK(status.find("float32 sin: SLEEF") == 0 && status.find("u35") != std::string::npos);
  }
#else
  CHECK(!cpu::sleefActive());
  CHECK(status.find("built without SLEEF") != std::string::npos);
#endif
  cpu::setSleefEnabled(false);
  CHECK(!cpu::sleefActive());
  CHECK(mathInfo().find("libmvec") == 0);
  cpu::setSleefEnabled(true);
}

TEST(math_sinf_cosf_within_documented_ulps) {
  const std::vector<float> x = samples(11);
  eachPath([&](const char* path) {
    for (int op : {OP_sin, OP_cos}) {
      std::vector<float> y;
      mathTile(op, x, y);
      double worst = 0;
      float worstX = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        double want = op == OP_sin ? std::sin((double)x[i]) : std::cos((double)x[i]);
        double e = ulpError(y[i], want);
        if (!(e <= worst)) worst = e, worstX = x[i];   // NaN counts as worst
      }
      std::cout << "  " << path << " " << opName(op) << ": max " << worst << " ulp (at x = " << worstX << ") over " << x.size()
                << " samples, bound " << documentedUlps(op) << "\n";
      CHECK_MSG(worst <= documentedUlps(op), path << " " << opName(op) << " " << worst << " ulp at x = " << worstX);
    }
  });
}

TEST(math_sinf_cosf_special_values) {
  const float inf = INFINITY, den = std::ldexp(1.0f, -140), minDen = std::ldexp(1.0f, -149);
  const std::vector<float> x = {0.0f, -0.0f, inf, -inf, NAN, -NAN, den, -den, minDen, -minDen, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 1e-20f};
  eachPath([&](const char* path) {
    std::vector<float> s, c;
    mathTile(OP_sin, x, s);
    mathTile(OP_cos, x, c);
    CHECK_MSG(s[0] == 0 && !std::signbit(s[0]) && s[1] == 0 && std::signbit(s[1]), path);   // sin(+-0) = +-0
    CHECK_MSG(c[0] == 1 && c[1] == 1, path);
    for (int i = 2; i < 6; ++i) CHECK_MSG(std::isnan(s[i]) && std::isnan(c[i]), path << " x = " << x[i]);   // +-inf, NaN -> NaN
    for (int i = 6; i < 12; ++i) {   // denormals and FLT_MIN: sin x = x, cos x = 1
      CHECK_MSG(s[i] == x[i], path << " sin(" << x[i] << ") = " << s[i]);
      CHECK_MSG(c[i] == 1, path << " cos(" << x[i] << ") = " << c[i]);
    }
    for (int i = 12; i < 14; ++i) {
      CHECK_MSG(ulpError(s[i], std::sin((double)x[i])) <= documentedUlps(OP_sin), path << " sin(" << x[i] << ") = " << s[i]);
      CHECK_MSG(ulpError(c[i], std::cos((double)x[i])) <= documentedUlps(OP_cos), path << " cos(" << x[i] << ") = " << c[i]);
    }
    CHECK_MSG(s[14] == 1e-20f && c[14] == 1, path);
  });
}

// Odd lengths, unaligned starts and in-place calls: the tail and every element are computed, nothing
// past the end is written, and a value does not depend on its position or neighbours.
TEST(math_sinf_lengths_offsets_and_in_place) {
  std::vector<float> x(300);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (float)i * 0.37f - 50;
  eachPath([&](const char* path) {
    for (int op : {OP_sin, OP_cos}) {
      std::vector<float> whole;
      mathTile(op, x, whole);
      for (int64_t off : {0, 1, 3, 17}) {
        for (int64_t n : {0, 1, 15, 16, 17, 63, 64, 65, 130, 283}) {
          std::vector<float> y(n + 2, 42.0f);
          CHECK(cpu::mathTile(op, x.data() + off, y.data() + 1, n));
          bool same = y[0] == 42.0f && y[n + 1] == 42.0f;
          for (int64_t i = 0; i < n; ++i) same = same && agrees(op, x[off + i], y[1 + i], whole[off + i]);
          CHECK_MSG(same, path << " " << opName(op) << " offset " << off << " n " << n);
          std::vector<float> z(x.begin() + off, x.begin() + off + n);
          CHECK(cpu::mathTile(op, z.data(), z.data(), n));
          bool inPlace = true;
          for (int64_t i = 0; i < n; ++i) inPlace = inPlace && agrees(op, x[off + i], z[i], whole[off + i]);
          CHECK_MSG(inPlace, path << " in place, offset " << off << " n " << n);
        }
      }
    }
  });
}

// Prefetching (Note [Prefetch]) changes no value, in the tile, in a big fused step and in a big plain
// unary step (both streamed, so the tile prefetches), for float32 and float64.
TEST(math_prefetch_and_streamed_steps_keep_the_values) {
  const int64_t n = (cpu::streamingThresholdBytes() / 4) + 1000;   // float32 output at the streaming size
  if (n <= 0 || n > (int64_t)1 << 26) return;                        // ADJOINT_STREAM_MB=0 or huge: nothing streams
  std::vector<float> x(n);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1e3f, 1e3f);
  for (auto& v : x) v = d(rng);
  eachPath([&](const char* path) {
    std::vector<float> want;
    mathTile(OP_sin, x, want);
    std::vector<float> ahead(x.begin(), x.end());
    cpu::Prefetch pf;
    pf.at[pf.count++] = (const char*)(ahead.data() + 2048);
    std::vector<float> got;
    std::vector<float> head(x.begin(), x.begin() + 5000);
    mathTile(OP_sin, head, got, &pf);
    bool same = true;
    for (size_t i = 0; i < head.size(); ++i) same = same && got[i] == want[i];   // same positions: same bits
    CHECK_MSG(same, path << " prefetching tile");

    std::vector<float> y(n, 0.0f);   // fused [sin neg], as W3's second order compiles
    StepLayout layout;
    layout.shape = {n};
    layout.strides = {{1}};
    cpu::fused({FusedInstr{OP_sin, 0, -1, 0.0}, FusedInstr{OP_neg, 1, -1, 0.0}}, layout, {x.data()}, kFloat32, n, y.data());
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += !agrees(OP_sin, x[i], -y[i], want[i]);
    CHECK_MSG(bad == 0, path << " fused[sin neg]: " << bad << " of " << n << " differ");

    std::vector<float> c(n, 0.0f), wantCos;   // a plain cos step (W3's first order)
    mathTile(OP_cos, x, wantCos);
    cpu::unary(OP_cos, kFloat32, x.data(), c.data(), n);
    bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += !agrees(OP_cos, x[i], c[i], wantCos[i]);
    CHECK_MSG(bad == 0, path << " unary cos: " << bad << " of " << n << " differ");
  });
  // float64 never takes the SLEEF path; its streamed steps prefetch too (libmvec: 4 ulp)
  const int64_t m = cpu::streamingThresholdBytes() / 8 + 100;
  std::vector<double> xd(m), yd(m, 0.0);
  for (int64_t i = 0; i < m; ++i) xd[i] = (double)x[i % n] * 1.0000001;
  cpu::unary(OP_sin, kFloat64, xd.data(), yd.data(), m);
  int64_t bad = 0;
  for (int64_t i = 0; i < m; ++i) {
    double want = (double)std::sin((long double)xd[i]);
    double ulp = std::ldexp(1.0, std::ilogb(want) - 52);
    bad += !(std::fabs(yd[i] - want) <= 4 * ulp);
  }
  CHECK_MSG(bad == 0, "float64 unary sin: " << bad << " of " << m << " beyond 4 ulp of long double sin");
}
