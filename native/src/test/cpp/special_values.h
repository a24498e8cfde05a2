// Special values for the elementwise semantics tests (Note [Scalar semantics] in op_math.h), shared
// by the native harness (test_kernels.cpp) and the CUDA smoke test (cuda-kernels/test/smoke.cpp), so
// every backend is held to the same inputs and the same rule:
//  * Unary and Binary ops (exact): the result has the bits of op_math.h's function in that dtype
//    (any NaN matches any NaN);
//  * Transcendental and BinaryTranscendental ops: exactly that too where an input is NaN, +-0 or +-inf
//    or the expected result
//    is NaN or +-inf; elsewhere within kTranscendentalUlps units in the last place (vector math
//    libraries and CUDA's differ from libm by a few ulp).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "adjoint/op_math.h"

namespace special {

constexpr int64_t kTranscendentalUlps = 16;

// NaN, +-0, +-inf, the largest and large finite values, the smallest normal and subnormal ones, and a
// few ordinary values (so that every op also sees its usual domain).
template <class T>
std::vector<T> values() {
  using L = std::numeric_limits<T>;
  const T large = sizeof(T) == 4 ? T(1e30) : T(1e300);
  return {L::quiet_NaN(), T(0), -T(0), L::infinity(), -L::infinity(), L::max(), -L::max(), large, -large,
          L::min(), -L::min(), L::denorm_min(), -L::denorm_min(), T(1), T(-1), T(0.5), T(-2.5), T(3), T(20), T(-20), T(1e-5)};
}

template <class T>
bool isSpecial(T v) {
  return std::isnan(v) || std::isinf(v) || v == T(0);
}

// Distance in units in the last place between two finite values of the same type.
template <class T>
int64_t ulpDistance(T a, T b) {
  using I = typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type;
  I ia, ib;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  // Map the sign-magnitude bit patterns onto a monotone integer line (+0 and -0 both to 0).
  const I top = (I)((typename std::make_unsigned<I>::type)1 << (8 * sizeof(I) - 1));
  int64_t la = ia < 0 ? (int64_t)(top - ia) : (int64_t)ia;
  int64_t lb = ib < 0 ? (int64_t)(top - ib) : (int64_t)ib;
  return la > lb ? la - lb : lb - la;
}

template <class T>
bool sameBits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

inline std::string show(double v) {
  if (std::isnan(v)) return "nan";
  if (v == 0) return std::signbit(v) ? "-0" : "+0";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// True when `got` is what op_math.h says for op(a, b) (b ignored for unary ops); else writes why.
template <class T>
bool agrees(int op, T a, T b, T got, std::string* why) {
  const bool unary = adjoint::isUnaryOp(op);
  const T want = unary ? adjoint::math::unary(op, a) : adjoint::math::binary(op, a, b);
  bool ok;
  if (std::isnan(want)) {
    ok = std::isnan(got);
  } else if (!adjoint::isTranscendentalOp(op) || isSpecial(a) || (!unary && isSpecial(b)) || std::isinf(want)) {
    ok = sameBits(got, want);
  } else {
    ok = !std::isnan(got) && !std::isinf(got) && std::signbit(got) == std::signbit(want) &&
         ulpDistance(got, want) <= kTranscendentalUlps;
  }
  if (!ok && why) {
    *why = std::string(adjoint::opTableName(op)) + "(" + show(a) + (unary ? "" : ", " + show(b)) + ") = " + show(got) +
           ", op_math.h gives " + show(want);
  }
  return ok;
}

// The operands every elementwise op is checked on, by both harnesses: a unary op sees every value at
// many vector-lane positions (n = 1031 is prime, so loop tails see them too), a binary op every ordered
// pair (b is left empty for a unary op).
template <class T>
void operands(bool unary, const std::vector<T>& vals, std::vector<T>* a, std::vector<T>* b) {
  const int64_t m = (int64_t)vals.size();
  const int64_t n = unary ? 1031 : m * m;
  a->clear();
  b->clear();
  for (int64_t i = 0; i < n; ++i) {
    a->push_back(unary ? vals[i % m] : vals[i / m]);
    if (!unary) b->push_back(vals[i % m]);
  }
}

}  // namespace special
