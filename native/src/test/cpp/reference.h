// Naive float64 reference implementations of every op, written for clarity, not speed.
#pragma once

#include <algorithm>
#include <cmath>

#include "adjoint/op_math.h"
#include "check.h"

namespace ref {

using t::Host;
using t::Shape;

inline std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = s[d] ? i % s[d] : 0;
    if (s[d]) i /= s[d];
  }
  return idx;
}

inline int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + idx[d];
  return i;
}

// Index into a tensor of shape `s` broadcast to the index space `idx` (right-aligned).
inline int64_t bcastIndex(const std::vector<int64_t>& idx, const Shape& s) {
  size_t lead = idx.size() - s.size();
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + (s[d] == 1 ? 0 : idx[lead + d]);
  return i;
}

inline Shape bshape(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape o(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    o[i] = da == 1 ? db : da;
  }
  return o;
}

// Elementwise ops: their scalar functions (op_math.h) in float64, which define every backend's values.
inline double unary(int op, double x) { return adjoint::math::unary(op, x); }
inline double binary(int op, double a, double b) { return adjoint::math::binary(op, a, b); }

inline Host map1(int op, const Host& x) {
  Host r = x;
  for (auto& v : r.v) v = unary(op, v);
  return r;
}

inline Host map2(int op, const Host& a, const Host& b) {
  Host r;
  r.shape = bshape(a.shape, b.shape);
  r.v.resize(r.numel());
  for (int64_t i = 0; i < r.numel(); ++i) {
    auto idx = unravel(i, r.shape);
    r.v[i] = binary(op, a.v[bcastIndex(idx, a.shape)], b.v[bcastIndex(idx, b.shape)]);
  }
  return r;
}

inline Host matmul(const Host& a, const Host& b, bool ta, bool tb) {
  size_t ra = a.shape.size(), rb = b.shape.size();
  int64_t m = a.shape[ra - (ta ? 1 : 2)], k = a.shape[ra - (ta ? 2 : 1)], n = b.shape[rb - (tb ? 2 : 1)];
  Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Shape batch = bshape(ba, bb);
  Host r;
  r.shape = batch;
  r.shape.push_back(m);
  r.shape.push_back(n);
  r.v.assign(r.numel(), 0);
  int64_t nb = t::numel(batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    auto idx = unravel(bi, batch);
    int64_t oa = bcastIndex(idx, ba) * a.shape[ra - 2] * a.shape[ra - 1];
    int64_t ob = bcastIndex(idx, bb) * b.shape[rb - 2] * b.shape[rb - 1];
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          double x = ta ? a.v[oa + p * m + i] : a.v[oa + i * k + p];
          double y = tb ? b.v[ob + j * k + p] : b.v[ob + p * n + j];
          s += x * y;
        }
        r.v[bi * m * n + i * n + j] = s;
      }
  }
  return r;
}

// kind: 0 sum, 1 mean, 2 max; mask over x's axes; result keeps dims (size 1) when keep.
inline Host reduce(const Host& x, const std::vector<char>& mask, int kind, bool keep) {
  Shape kept;
  for (size_t d = 0; d < x.shape.size(); ++d) kept.push_back(mask[d] ? 1 : x.shape[d]);
  Host r;
  r.shape = kept;
  r.v.assign(t::numel(kept), kind == 2 ? -INFINITY : 0);
  std::vector<int64_t> count(r.v.size(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto idx = unravel(i, x.shape);
    for (size_t d = 0; d < idx.size(); ++d)
      if (mask[d]) idx[d] = 0;
    int64_t o = ravel(idx, kept);
    double v = x.v[i];
    if (kind == 2) r.v[o] = (std::isnan(v) || v > r.v[o]) && !std::isnan(r.v[o]) ? v : r.v[o];
    else r.v[o] += v;
    count[o]++;
  }
  if (kind == 1)
    for (size_t o = 0; o < r.v.size(); ++o) r.v[o] /= (double)count[o];
  if (!keep) {
    Shape s;
    for (size_t d = 0; d < x.shape.size(); ++d)
      if (!mask[d]) s.push_back(x.shape[d]);
    r.shape = s;
  }
  return r;
}

inline Host transpose(const Host& x, const std::vector<int64_t>& perm) {
  Host r;
  for (auto p : perm) r.shape.push_back(x.shape[p]);
  r.v.resize(x.numel());
  for (int64_t i = 0; i < r.numel(); ++i) {
    auto idx = unravel(i, r.shape);
    std::vector<int64_t> src(idx.size());
    for (size_t d = 0; d < perm.size(); ++d) src[perm[d]] = idx[d];
    r.v[i] = x.v[ravel(src, x.shape)];
  }
  return r;
}

inline Host broadcastTo(const Host& x, const Shape& s) {
  Host r;
  r.shape = s;
  r.v.resize(r.numel());
  for (int64_t i = 0; i < r.numel(); ++i) r.v[i] = x.v[bcastIndex(unravel(i, s), x.shape)];
  return r;
}

}  // namespace ref
