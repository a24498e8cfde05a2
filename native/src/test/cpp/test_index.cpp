// The indexing kernels (slice, sliceGrad, concat, gather, scatterAdd, oneHot, argmax) in both float
// dtypes and Int32 data, against loops written out here over the [outer, dim, inner] view; index
// errors (Note [Index errors]) and the shape rules' errors.
#include <cmath>
#include <cstring>
#include <memory>

#include "adjoint/backend_util.h"
#include "check.h"

using namespace adjoint;
using t::Shape;

namespace {

const int kDtypes[] = {kFloat32, kFloat64};

// A host tensor of any dtype, values kept as double (Int32 values are exact).
struct Val {
  int dtype;
  Shape shape;
  std::vector<double> v;
};

struct Free {
  void operator()(Buffer* b) const { freeBuffer(b); }
};
using Owned = std::unique_ptr<Buffer, Free>;

Owned upload(const Val& h) {
  Owned b(newBuffer(0, h.dtype, h.shape.data(), (int)h.shape.size()));
  if (h.dtype == kFloat64) {
    b->copyFromHost(h.v.data(), b->bytes());
  } else if (h.dtype == kFloat32) {
    std::vector<float> f(h.v.begin(), h.v.end());
    b->copyFromHost(f.data(), b->bytes());
  } else {
    std::vector<int32_t> f(h.v.begin(), h.v.end());
    b->copyFromHost(f.data(), b->bytes());
  }
  return b;
}

Val download(const Buffer* b) {
  Val h{b->dtype(), b->shape(), std::vector<double>(b->numel())};
  if (b->dtype() == kFloat64) {
    b->copyToHost(h.v.data(), b->bytes());
  } else if (b->dtype() == kFloat32) {
    std::vector<float> f(b->numel());
    b->copyToHost(f.data(), b->bytes());
    h.v.assign(f.begin(), f.end());
  } else {
    std::vector<int32_t> f(b->numel());
    b->copyToHost(f.data(), b->bytes());
    h.v.assign(f.begin(), f.end());
  }
  return h;
}

// One op over the inputs; returns its output (throws what the run throws).
Val run(int op, const std::vector<Val>& ins, const std::vector<int64_t>& attrs, int device = 0) {
  Graph g;
  std::vector<int> ids;
  for (auto& h : ins) ids.push_back(g.addInput(h.dtype, h.shape.data(), (int)h.shape.size()));
  g.addOutput(g.addNode(op, ids.data(), (int)ids.size(), attrs.data(), (int)attrs.size(), 0));
  Executable ex(g, device);
  std::vector<Owned> bufs;
  for (size_t i = 0; i < ins.size(); ++i) {
    bufs.push_back(upload(ins[i]));
    ex.setInput((int)i, bufs.back().get());
  }
  ex.run();
  Owned out(ex.takeOutput(0));
  return download(out.get());
}

Val iota(int dtype, const Shape& s, double scale = 0.5) {
  Val h{dtype, s, std::vector<double>(t::numel(s))};
  for (size_t i = 0; i < h.v.size(); ++i) h.v[i] = dtype == kInt32 ? (double)(int)(i * 7 % 23) - 5 : scale * (double)i - 1.25;
  return h;
}

Val ints(const Shape& s, std::vector<double> v) { return Val{kInt32, s, std::move(v)}; }

void expectEqual(const char* what, const Val& got, const Shape& shape, const std::vector<double>& want, double tol = 0) {
  CHECK_MSG(got.shape == shape, what << ": shape " << t::str(got.shape) << ", want " << t::str(shape));
  CHECK_MSG(got.v.size() == want.size(), what << ": " << got.v.size() << " elements, want " << want.size());
  for (size_t i = 0; i < want.size() && i < got.v.size(); ++i)
    if (!(got.v[i] == want[i] || std::fabs(got.v[i] - want[i]) <= tol * (1 + std::fabs(want[i])))) {
      CHECK_MSG(false, what << " element " << i << ": got " << got.v[i] << ", want " << want[i]);
      return;
    }
}

}  // namespace

TEST(slice_and_sliceGrad) {
  for (int dt : {kFloat32, kFloat64, kInt32}) {
    Val x = iota(dt, {3, 7, 2});
    struct C { int64_t axis, start, stop, step; };
    for (C c : {C{1, 0, 7, 1}, C{1, 2, 5, 1}, C{1, 1, 7, 3}, C{0, 1, 3, 1}, C{2, 1, 2, 1}, C{1, 3, 3, 1}, C{0, 0, 3, 2}}) {
      AxisView v = axisView(x.shape, c.axis);
      int64_t len = sliceLength(c.start, c.stop, c.step);
      Shape os = x.shape;
      os[c.axis] = len;
      std::vector<double> want;
      for (int64_t a = 0; a < v.outer; ++a)
        for (int64_t k = 0; k < len; ++k)
          for (int64_t i = 0; i < v.inner; ++i) want.push_back(x.v[(a * v.dim + c.start + k * c.step) * v.inner + i]);
      Val y = run(OP_slice, {x}, {c.axis, c.start, c.stop, c.step});
      expectEqual("slice", y, os, want);
      if (dt == kInt32) continue;
      // sliceGrad puts the slice back into zeros: exactly x where sliced, 0 elsewhere
      std::vector<double> back(x.v.size(), 0.0);
      for (int64_t a = 0; a < v.outer; ++a)
        for (int64_t k = 0; k < len; ++k)
          for (int64_t i = 0; i < v.inner; ++i) {
            int64_t at = (a * v.dim + c.start + k * c.step) * v.inner + i;
            back[at] = x.v[at];
          }
      expectEqual("sliceGrad", run(OP_sliceGrad, {y}, {c.axis, c.start, c.stop, c.step, x.shape[c.axis]}), x.shape, back);
    }
  }
}

TEST(concat) {
  for (int dt : {kFloat32, kFloat64, kInt32}) {
    Val a = iota(dt, {2, 3, 2}), b = iota(dt, {2, 1, 2}, 0.25), c = iota(dt, {2, 0, 2}), d = iota(dt, {2, 4, 2}, 2.0);
    std::vector<double> want;
    for (int64_t o = 0; o < 2; ++o)
      for (const Val* p : {&a, &b, &c, &d}) {
        int64_t n = p->shape[1] * 2;
        for (int64_t j = 0; j < n; ++j) want.push_back(p->v[o * n + j]);
      }
    expectEqual("concat axis 1", run(OP_concat, {a, b, c, d}, {1}), {2, 8, 2}, want);
    Val e = iota(dt, {1, 3, 2});
    want = a.v;
    want.insert(want.end(), e.v.begin(), e.v.end());
    expectEqual("concat axis 0", run(OP_concat, {a, e}, {0}), {3, 3, 2}, want);
  }
  CHECK_THROWS(run(OP_concat, {iota(kFloat32, {2, 3}), iota(kFloat32, {3, 3})}, {1}), "does not match input 0");
  CHECK_THROWS(run(OP_concat, {iota(kFloat32, {2, 3}), iota(kFloat64, {2, 3})}, {0}), "dtype");
  CHECK_THROWS(run(OP_concat, {iota(kFloat32, {2, 3})}, {2}), "axis 2 is out of range");
}

TEST(gather_any_index_shape) {
  for (int dt : {kFloat32, kFloat64, kInt32}) {
    Val x = iota(dt, {3, 5, 2});
    Val idx = ints({2, 3}, {4, 0, 4, 1, 2, 3});   // repeated indices too
    for (int64_t axis : {0, 1}) {
      AxisView v = axisView(x.shape, axis);
      if (axis == 0) idx = ints({2, 2}, {2, 0, 2, 1});
      else idx = ints({2, 3}, {4, 0, 4, 1, 2, 3});
      int64_t n = t::numel(idx.shape);
      std::vector<double> want;
      for (int64_t a = 0; a < v.outer; ++a)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t i = 0; i < v.inner; ++i) want.push_back(x.v[(a * v.dim + (int64_t)idx.v[j]) * v.inner + i]);
      Shape os(x.shape.begin(), x.shape.begin() + axis);
      os.insert(os.end(), idx.shape.begin(), idx.shape.end());
      os.insert(os.end(), x.shape.begin() + axis + 1, x.shape.end());
      expectEqual("gather", run(OP_gather, {x, idx}, {axis}), os, want);
    }
    // a rank-0 index drops the axis
    expectEqual("gather scalar index", run(OP_gather, {x, ints({}, {1})}, {2}), {3, 5}, [&] {
      std::vector<double> w;
      for (int64_t r = 0; r < 15; ++r) w.push_back(x.v[r * 2 + 1]);
      return w;
    }());
  }
}

TEST(gather_index_out_of_range_is_an_error) {
  Val x = iota(kFloat32, {4, 3});
  CHECK_THROWS(run(OP_gather, {x, ints({3}, {0, 4, 1})}, {0}), "index 4 at position 1 of the indices [3] is out of range [0, 4) for axis 0");
  CHECK_THROWS(run(OP_gather, {x, ints({2}, {-1, 0})}, {1}), "index -1 at position 0");
  CHECK_THROWS(run(OP_gather, {x, ints({1}, {2147483647})}, {0}), "out of range");
  CHECK_THROWS(run(OP_scatterAdd, {iota(kFloat64, {2, 3}), ints({2}, {0, 5})}, {0, 5}), "index 5 at position 1");
  CHECK_THROWS(run(OP_oneHot, {ints({2}, {3, 1})}, {3, kFloat32}), "index 3 at position 0 of the indices [2] is out of range [0, 3) (depth 3)");
  // The executable stays usable after the error: the same program runs with good indices.
  Graph g;
  Shape xs{4, 3}, is{2};
  int in[2] = {g.addInput(kFloat32, xs.data(), 2), g.addInput(kInt32, is.data(), 1)};
  int64_t axis = 0;
  g.addOutput(g.addNode(OP_gather, in, 2, &axis, 1, 0));
  Executable ex(g, 0);
  Owned bx = upload(x), bad = upload(ints({2}, {1, 9})), good = upload(ints({2}, {3, 0}));
  ex.setInput(0, bx.get());
  ex.setInput(1, bad.get());
  CHECK_THROWS(ex.run(), "index 9 at position 1");
  ex.setInput(1, good.get());
  ex.run();
  Owned out(ex.takeOutput(0));
  expectEqual("gather after an error", download(out.get()), {2, 3}, {x.v[9], x.v[10], x.v[11], x.v[0], x.v[1], x.v[2]});
}

TEST(scatterAdd_accumulates_duplicates) {
  for (int dt : kDtypes) {
    // g [2, 4, 3] scattered along axis 1 into dim 5 with indices [2, 2] = {1, 1, 1, 4}
    Val g = iota(dt, {2, 4, 3});
    Val idx = ints({2, 2}, {1, 1, 1, 4});
    Shape gs{2, 2, 2, 3};
    Val g4{dt, gs, g.v};
    std::vector<double> want(2 * 5 * 3, 0.0);
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 3; ++k) want[(a * 5 + (int64_t)idx.v[j]) * 3 + k] += g.v[(a * 4 + j) * 3 + k];
    expectEqual("scatterAdd", run(OP_scatterAdd, {g4, idx}, {1, 5}), {2, 5, 3}, want, dt == kFloat32 ? 1e-6 : 0);
    // many duplicates onto one row (the embedding gradient of a repeated token), big enough to run in parallel
    const int64_t n = 50000;
    Val many{dt, {n, 2}, std::vector<double>(2 * n, 0.5)};
    Val same = ints({n}, std::vector<double>(n, 3.0));
    std::vector<double> w(8, 0.0);
    w[6] = w[7] = 0.5 * (double)n;
    expectEqual("scatterAdd of one repeated index", run(OP_scatterAdd, {many, same}, {0, 4}), {4, 2}, w);
  }
}

TEST(oneHot_and_argmax) {
  for (int dt : kDtypes) {
    Val y = run(OP_oneHot, {ints({2, 2}, {0, 2, 1, 2})}, {3, dt});
    CHECK(y.dtype == dt);
    expectEqual("oneHot", y, {2, 2, 3}, {1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1});
    Val x{dt, {2, 4}, {0.5, 3, 3, -1, NAN, 2, NAN, 7}};
    Val am = run(OP_argmax, {x}, {1, 0});
    CHECK(am.dtype == kInt32);
    expectEqual("argmax: first maximum, NaN is the maximum", am, {2}, {1, 0});
    Val x3 = iota(dt, {2, 3, 2});
    x3.v[2] = 100;   // [0, 1, 0]
    expectEqual("argmax axis 1 keepdims", run(OP_argmax, {x3}, {1, 1}), {2, 1, 2}, {1, 2, 2, 2});
    expectEqual("argmax axis 0", run(OP_argmax, {x3}, {0, 0}), {3, 2}, {1, 1, 0, 1, 1, 1});
  }
}

TEST(indexing_shape_errors) {
  Val x = iota(kFloat32, {4, 3});
  CHECK_THROWS(run(OP_slice, {x}, {0, 2, 5, 1}), "0 <= start <= stop <= 4");
  CHECK_THROWS(run(OP_slice, {x}, {0, 0, 2, 0}), "step 0 must be >= 1");
  CHECK_THROWS(run(OP_slice, {x}, {2, 0, 1, 1}), "axis 2 is out of range");
  CHECK_THROWS(run(OP_sliceGrad, {x}, {0, 0, 4, 2, 8}), "select 2");
  CHECK_THROWS(run(OP_gather, {x, iota(kFloat32, {2})}, {0}), "indices are Int32");
  CHECK_THROWS(run(OP_gather, {x, ints({2}, {0, 1})}, {-1}), "axis -1 is out of range");
  CHECK_THROWS(run(OP_scatterAdd, {x, ints({3}, {0, 1, 2})}, {0, 3}), "must have the indices' shape");
  CHECK_THROWS(run(OP_scatterAdd, {ints({4}, {0, 1, 2, 3}), ints({4}, {0, 1, 2, 3})}, {0, 4}), "Int32");
  CHECK_THROWS(run(OP_oneHot, {ints({2}, {0, 1})}, {0, kFloat32}), "depth 0 must be >= 1");
  CHECK_THROWS(run(OP_oneHot, {ints({2}, {0, 1})}, {2, kInt32}), "is not Float32");
  CHECK_THROWS(run(OP_argmax, {iota(kFloat32, {2, 0})}, {1, 0}), "empty axis 1");
  CHECK_THROWS(run(OP_argmax, {ints({2}, {0, 1})}, {0, 0}), "only Float32 and Float64");
}
