// Smoke test of libadjoint_cuda.so, loaded the way the engine loads it (dlopen + dlsym).
//
// Everywhere: the four entry points exist, the ABI matches, device_count answers without crashing
// (0, or -1 with a message, on a machine without driver or GPU) and create() fails cleanly there.
// With a GPU: every op is run as a one-step Program and compared with a host reference (float32 and
// float64), every elementwise op on special values (NaN, +-0, +-inf, huge, subnormal) plain and fused
// against op_math.h, plus a fused step, a two-lane program with a cross-lane dependency and a host
// callback.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adjoint/backend.h"
#include "adjoint/backend_util.h"
#include "adjoint/op_math.h"
#include "adjoint/random.h"
#include "special_values.h"

using namespace adjoint;
using Shape = std::vector<int64_t>;

typedef int (*AbiFn)();
typedef int (*CountFn)(char*, size_t);
typedef Backend* (*CreateFn)(int, char*, size_t);
typedef void (*NameFn)(int, char*, size_t);

static int failures = 0;
static void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what.c_str());
    ++failures;
  }
}

static int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

struct HostTensor {
  Shape shape;
  std::vector<double> v;
};

static HostTensor iota(const Shape& s, double scale = 0.37, double shift = -0.5) {
  HostTensor t{s, std::vector<double>(numel(s))};
  // Values exactly representable in float32, so one reference serves both dtypes.
  for (size_t i = 0; i < t.v.size(); ++i) t.v[i] = (double)(float)(std::sin(i * scale + 1.0) * 2.0 + shift * (i % 3 == 0));
  return t;
}

// Multi-index helpers (row-major).
static Shape unravel(int64_t i, const Shape& s) {
  Shape idx(s.size());
  for (int d = (int)s.size() - 1; d >= 0; --d) {
    idx[d] = s[d] ? i % s[d] : 0;
    i = s[d] ? i / s[d] : 0;
  }
  return idx;
}
static int64_t ravelBroadcast(const Shape& outIdx, const Shape& in) {
  int64_t off = 0;
  const size_t lead = outIdx.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) off = off * in[d] + (in[d] == 1 ? 0 : outIdx[lead + d]);
  return off;
}

struct Runner {
  Backend* be;
  int dtype;
  HostCallback callback = nullptr;

  std::vector<char> toBytes(const std::vector<double>& v) const {
    std::vector<char> b(v.size() * (dtype == kFloat32 ? 4 : 8) + 1);
    for (size_t i = 0; i < v.size(); ++i) {
      if (dtype == kFloat32) {
        float f = (float)v[i];
        std::memcpy(b.data() + 4 * i, &f, 4);
      } else {
        std::memcpy(b.data() + 8 * i, &v[i], 8);
      }
    }
    return b;
  }
  std::vector<double> fromBytes(const std::vector<char>& b, int64_t n) const {
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) {
      if (dtype == kFloat32) {
        float f;
        std::memcpy(&f, b.data() + 4 * i, 4);
        v[i] = f;
      } else {
        std::memcpy(&v[i], b.data() + 8 * i, 8);
      }
    }
    return v;
  }

  // One step over fresh input/output slots (temps live in an arena, unused here).
  std::vector<double> run(Step step, const std::vector<HostTensor>& ins, const Shape& outShape) {
    Program p;
    const int es = dtype == kFloat32 ? 4 : 8;
    std::vector<void*> ptrs;
    step.in.clear();
    for (size_t i = 0; i < ins.size(); ++i) {
      Slot s;
      s.desc.dtype = dtype;
      s.desc.shape = ins[i].shape;
      s.kind = SLOT_INPUT;
      s.index = (int)i;
      p.slots.push_back(s);
      void* d = be->allocate((size_t)numel(ins[i].shape) * es);
      auto bytes = toBytes(ins[i].v);
      be->upload(d, bytes.data(), (size_t)numel(ins[i].shape) * es);
      ptrs.push_back(d);
      step.in.push_back((int)i);
    }
    Slot o;
    o.desc.dtype = dtype;
    o.desc.shape = outShape;
    o.kind = SLOT_OUTPUT;
    o.index = 0;
    p.slots.push_back(o);
    const int64_t n = numel(outShape);
    ptrs.push_back(be->allocate((size_t)n * es));
    step.out = (int)ins.size();
    p.steps.push_back(step);
    ExecContext ctx;
    ctx.hostCallback = callback;
    std::vector<double> result;
    try {
      layoutStep(p, &p.steps.back(), be->capabilities().maxRank);   // as the compiler's last pass does
      be->execute(p, ptrs.data(), ctx);
      std::vector<char> out((size_t)n * es + 1);
      be->download(out.data(), ptrs.back(), (size_t)n * es);
      result = fromBytes(out, n);
    } catch (...) {
      for (void* d : ptrs) be->release(d);
      throw;
    }
    for (void* d : ptrs) be->release(d);
    return result;
  }

  void expect(const std::string& what, const std::vector<double>& got, const std::vector<double>& want) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-11;
    bool ok = got.size() == want.size();
    size_t bad = 0;
    for (size_t i = 0; ok && i < got.size(); ++i) {
      const double err = std::fabs(got[i] - want[i]), lim = tol * (1.0 + std::fabs(want[i]));
      if (!(err <= lim) && !(std::isnan(got[i]) && std::isnan(want[i]))) {
        ok = false;
        bad = i;
      }
    }
    std::string msg = what + (dtype == kFloat32 ? " [float32]" : " [float64]");
    if (!ok && got.size() == want.size())
      msg += " at " + std::to_string(bad) + ": got " + std::to_string(got[bad]) + ", want " + std::to_string(want[bad]);
    if (got.size() != want.size()) msg += ": size " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
    check(ok, msg);
  }
};

static Step makeStep(int op, Shape attrs = {}, double scalar = 0) {
  Step s;
  s.op = op;
  s.attrs = attrs;
  s.scalar = scalar;
  return s;
}

// The reference of an elementwise op is its scalar function (op_math.h) in the run's dtype, the same
// function the CUDA kernels, the CPU kernels and constant folding use.
static double unaryRef(int dtype, int op, double x) {
  return dtype == kFloat32 ? (double)math::unary(op, (float)x) : math::unary(op, x);
}
static double binaryRef(int dtype, int op, double a, double b) {
  return dtype == kFloat32 ? (double)math::binary(op, (float)a, (float)b) : math::binary(op, a, b);
}

// Reference reduction: sum or max of `x` over the dims where mask is true; output row-major over the rest.
static std::vector<double> reduceRef(const HostTensor& x, const std::vector<bool>& mask, bool max, bool mean) {
  Shape outShape;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (!mask[d]) outShape.push_back(x.shape[d]);
  std::vector<double> out(numel(outShape), max ? -INFINITY : 0.0);
  const int64_t count = numel(x.shape) / std::max<int64_t>(1, numel(outShape));
  for (int64_t i = 0; i < numel(x.shape); ++i) {
    Shape idx = unravel(i, x.shape);
    int64_t o = 0;
    for (size_t d = 0; d < x.shape.size(); ++d)
      if (!mask[d]) o = o * x.shape[d] + idx[d];
    out[o] = max ? std::max(out[o], x.v[i]) : out[o] + x.v[i];
  }
  if (mean)
    for (double& v : out) v /= (double)count;
  return out;
}

static int callbackRan = 0;
static int hostCallback(int id, int numInputs, void** inputs, void* output) {
  ++callbackRan;
  if (id == 99) return 1;   // the failing callback
  // id 7: out = in0 + in1 (float64 program)
  const double* a = static_cast<const double*>(inputs[0]);
  const double* b = static_cast<const double*>(inputs[1]);
  double* y = static_cast<double*>(output);
  for (int i = 0; i < 6; ++i) y[i] = a[i] + b[i];
  return numInputs == 2 ? 0 : 2;
}

static void gpuTests(Backend* be, int dtype) {
  Runner r{be, dtype};
  for (int n : {1, 1000, 1 << 20}) {
    HostTensor x = iota({n});
    for (int op = 0; op < OP_COUNT; ++op) {
      if (!isUnaryOp(op)) continue;
      HostTensor in = x;
      if (op == OP_log || op == OP_sqrt || op == OP_log1p)
        for (double& v : in.v) v = std::fabs(v) + 0.1;
      std::vector<double> want(n);
      for (int i = 0; i < n; ++i) want[i] = unaryRef(dtype, op, in.v[i]);
      r.expect(std::string(opTableName(op)) + " n=" + std::to_string(n), r.run(makeStep(op), {in}, {n}), want);
    }
  }
  // Binary with broadcasting.
  struct BinCase { Shape a, b, out; };
  const BinCase cases[] = {{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}, {{1}, {5, 7}, {5, 7}}, {{5, 7}, {}, {5, 7}},
                           {{2, 3, 4}, {3, 1}, {2, 3, 4}},    {{4}, {3, 1}, {3, 4}},  {{300, 257}, {257}, {300, 257}},
                           {{2, 1, 5, 1}, {3, 1, 6}, {2, 3, 5, 6}}};
  for (const BinCase& c : cases) {
    HostTensor a = iota(c.a, 0.21), b = iota(c.b, 0.53, 3.0);
    for (double& v : b.v) v = v + 5.0;   // keeps division tame
    for (int op = 0; op < OP_COUNT; ++op) {
      if (!isBinaryOp(op)) continue;
      std::vector<double> want(numel(c.out));
      for (int64_t i = 0; i < numel(c.out); ++i) {
        Shape idx = unravel(i, c.out);
        want[i] = binaryRef(dtype, op, a.v[ravelBroadcast(idx, c.a)], b.v[ravelBroadcast(idx, c.b)]);
      }
      r.expect(std::string(opTableName(op)) + " " + std::to_string(c.a.size()) + "x" + std::to_string(c.b.size()),
               r.run(makeStep(op), {a, b}, c.out), want);
    }
  }
  // randomUniform: the same Philox bits as the host function (Note [Philox]), for a few steps and sizes.
  for (int64_t n : {int64_t(1), int64_t(5), int64_t(1000003)})
    for (double step : {0.0, 7.0}) {
      const int64_t key = 12345;
      std::vector<double> want(n);
      for (int64_t i = 0; i < n; ++i)
        want[i] = dtype == kFloat32 ? (double)random::uniform32(key, (uint64_t)step, (uint64_t)i) : random::uniform64(key, (uint64_t)step, (uint64_t)i);
      HostTensor counter{{}, {step}};
      r.expect("randomUniform n=" + std::to_string(n), r.run(makeStep(OP_randomUniform, {dtype, key, n}), {counter}, {n}), want);
    }
  // Fill, onesLike, zerosLike, identity, reshape.
  r.expect("fill", r.run(makeStep(OP_fill, {dtype, 3, 5}, 2.5), {}, {3, 5}), std::vector<double>(15, 2.5));
  r.expect("fill negative", r.run(makeStep(OP_fill, {dtype, 4}, -1.0), {}, {4}), std::vector<double>(4, -1.0));
  HostTensor x = iota({6, 7});
  r.expect("onesLike", r.run(makeStep(OP_onesLike), {x}, {6, 7}), std::vector<double>(42, 1.0));
  r.expect("zerosLike", r.run(makeStep(OP_zerosLike), {x}, {6, 7}), std::vector<double>(42, 0.0));
  r.expect("identity", r.run(makeStep(OP_identity), {x}, {6, 7}), x.v);
  r.expect("reshape", r.run(makeStep(OP_reshape, {7, -1}), {x}, {7, 6}), x.v);
  // Fused: (sin(x0) * x1 + 2) with x2 a scalar: ((sin(x0)*x1 + 2) - x2)
  {
    HostTensor a = iota({1000}), b = iota({1000}, 0.11), s = iota({1});
    Step st = makeStep(OP_FUSED);
    st.code = {{OP_sin, 0, -1, 0}, {OP_mul, 3, 1, 0}, {OP_fill, -1, -1, 2.0}, {OP_add, 4, 5, 0}, {OP_sub, 6, 2, 0}};
    std::vector<double> want(1000);
    for (int i = 0; i < 1000; ++i)
      want[i] = binaryRef(dtype, OP_sub, binaryRef(dtype, OP_add, binaryRef(dtype, OP_mul, unaryRef(dtype, OP_sin, a.v[i]), b.v[i]), 2.0), s.v[0]);
    r.expect("fused", r.run(st, {a, b, s}, {1000}), want);
  }
  // Reductions: shapes x axes.
  struct RedCase { Shape in; Shape attrs; };
  const RedCase reds[] = {{{3000000}, {0}},     {{37, 1000}, {0, 1}},   {{37, 1000}, {0, 0}}, {{4, 5, 6}, {1, 0, 2}},
                          {{4, 5, 6}, {0, 1}},  {{2, 70000}, {0, -1}}, {{70000, 3}, {0, 0}}, {{3, 4, 5, 6}, {0, 1, 3}},
                          {{128, 20}, {0, 1}}};
  for (const RedCase& c : reds) {
    HostTensor in = iota(c.in, 0.013);
    std::vector<bool> mask(c.in.size(), c.attrs.size() <= 1);
    Shape outShape;
    for (size_t i = 1; i < c.attrs.size(); ++i) mask[(c.attrs[i] + c.in.size()) % c.in.size()] = true;
    for (size_t d = 0; d < c.in.size(); ++d)
      if (!mask[d]) outShape.push_back(c.in[d]);
    const std::string tag = " of " + std::to_string(numel(c.in)) + " axes " + std::to_string(c.attrs.size() - 1);
    r.expect("sum" + tag, r.run(makeStep(OP_sum, c.attrs), {in}, outShape), reduceRef(in, mask, false, false));
    r.expect("mean" + tag, r.run(makeStep(OP_mean, c.attrs), {in}, outShape), reduceRef(in, mask, false, true));
    r.expect("max" + tag, r.run(makeStep(OP_max, c.attrs), {in}, outShape), reduceRef(in, mask, true, false));
  }
  {
    HostTensor in = iota({5, 3, 4});
    r.expect("sumToShape", r.run(makeStep(OP_sumToShape, {3, 1}), {in}, {3, 1}),
             reduceRef(in, {true, false, true}, false, false));
    HostTensor g = iota({128, 512});
    r.expect("sumToShape bias", r.run(makeStep(OP_sumToShape, {512}), {g}, {512}),
             reduceRef(g, {true, false}, false, false));
  }
  // Transposes.
  struct TrCase { Shape in, perm; };
  const TrCase trs[] = {{{67, 45}, {}}, {{5, 33, 65}, {0, 2, 1}}, {{2, 3, 4}, {2, 0, 1}}, {{2, 3, 4}, {1, 0, 2}},
                        {{2, 3, 4, 5}, {}}, {{6, 1, 5}, {1, 2, 0}}};
  for (const TrCase& c : trs) {
    HostTensor in = iota(c.in);
    Shape perm = c.perm;
    if (perm.empty())
      for (int i = (int)c.in.size() - 1; i >= 0; --i) perm.push_back(i);
    Shape outShape;
    for (int64_t p : perm) outShape.push_back(c.in[p]);
    std::vector<double> want(numel(outShape));
    for (int64_t i = 0; i < numel(outShape); ++i) {
      Shape oi = unravel(i, outShape), ii(c.in.size());
      for (size_t d = 0; d < perm.size(); ++d) ii[perm[d]] = oi[d];
      int64_t off = 0;
      for (size_t d = 0; d < c.in.size(); ++d) off = off * c.in[d] + ii[d];
      want[i] = in.v[off];
    }
    r.expect("transpose rank " + std::to_string(c.in.size()), r.run(makeStep(OP_transpose, c.perm), {in}, outShape),
             want);
  }
  // broadcastTo.
  {
    HostTensor in = iota({3, 1});
    Shape out = {2, 3, 4};
    std::vector<double> want(24);
    for (int64_t i = 0; i < 24; ++i) want[i] = in.v[ravelBroadcast(unravel(i, out), in.shape)];
    r.expect("broadcastTo", r.run(makeStep(OP_broadcastTo, out), {in}, out), want);
  }
  // More dims than one launch indexes (Note [Step layout]): host loops over the leading ones.
  {
    Shape a, b, out;
    for (int i = 0; i < 6; ++i) {
      a.insert(a.end(), {2, 1});
      b.insert(b.end(), {1, 3});
      out.insert(out.end(), {2, 3});
    }
    HostTensor ha = iota(a, 0.21), hb = iota(b, 0.53, 3.0);
    std::vector<double> want(numel(out));
    for (int64_t i = 0; i < numel(out); ++i) {
      Shape idx = unravel(i, out);
      want[i] = binaryRef(dtype, OP_mul, ha.v[ravelBroadcast(idx, a)], hb.v[ravelBroadcast(idx, b)]);
    }
    r.expect("mul of rank 12 (host loop)", r.run(makeStep(OP_mul), {ha, hb}, out), want);
    Shape t;
    for (int i = 0; i < 5; ++i) t.insert(t.end(), {2, 3});
    HostTensor ht = iota(t);
    Shape rev, tout;
    for (int i = 9; i >= 0; --i) {
      rev.push_back(i);
      tout.push_back(t[i]);
    }
    std::vector<double> twant(numel(t));
    for (int64_t i = 0; i < numel(t); ++i) {
      Shape oi = unravel(i, tout), ii(10);
      for (int d = 0; d < 10; ++d) ii[rev[d]] = oi[d];
      int64_t off = 0;
      for (int d = 0; d < 10; ++d) off = off * t[d] + ii[d];
      twant[i] = ht.v[off];
    }
    r.expect("transpose of rank 10 (host loop)", r.run(makeStep(OP_transpose, rev), {ht}, tout), twant);
  }
  // Matmul (needs cuBLAS).
  struct MmCase { Shape a, b, out; bool ta, tb; };
  const MmCase mms[] = {{{2, 3}, {3, 4}, {2, 4}, false, false},         {{3, 2}, {3, 4}, {2, 4}, true, false},
                        {{2, 3}, {4, 3}, {2, 4}, false, true},          {{3, 2}, {4, 3}, {2, 4}, true, true},
                        {{5, 2, 3}, {5, 3, 4}, {5, 2, 4}, false, false}, {{5, 2, 3}, {3, 4}, {5, 2, 4}, false, false},
                        {{2, 3}, {5, 3, 4}, {5, 2, 4}, false, false},    {{2, 1, 2, 3}, {1, 3, 3, 4}, {2, 3, 2, 4}, false, false},
                        {{64, 130}, {130, 70}, {64, 70}, false, false}};
  for (const MmCase& c : mms) {
    HostTensor a = iota(c.a, 0.3), b = iota(c.b, 0.7);
    const size_t ra = c.a.size(), rb = c.b.size(), ro = c.out.size();
    const int64_t m = c.out[ro - 2], n = c.out[ro - 1], k = c.ta ? c.a[ra - 2] : c.a[ra - 1];
    const Shape ob(c.out.begin(), c.out.end() - 2), ab(c.a.begin(), c.a.end() - 2), bb(c.b.begin(), c.b.end() - 2);
    std::vector<double> want(numel(c.out));
    for (int64_t bi = 0; bi < numel(ob); ++bi) {
      const Shape idx = unravel(bi, ob);
      const int64_t ia = ravelBroadcast(idx, ab), ib = ravelBroadcast(idx, bb);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t q = 0; q < k; ++q) {
            const double av = a.v[ia * m * k + (c.ta ? q * m + i : i * k + q)];
            const double bv = b.v[ib * k * n + (c.tb ? j * k + q : q * n + j)];
            s += av * bv;
          }
          want[bi * m * n + i * n + j] = s;
        }
    }
    try {
      r.expect("matmul " + std::to_string(ra) + "x" + std::to_string(rb) + (c.ta ? " tA" : "") + (c.tb ? " tB" : ""),
               r.run(makeStep(OP_matmul, {c.ta, c.tb}), {a, b}, c.out), want);
    } catch (const Error& e) {
      if (std::strstr(e.what(), "cuBLAS could not be loaded") != nullptr) {
        std::printf("skipping matmul: %s\n", e.what());
        break;
      }
      throw;
    }
  }
}

// Note [Scalar semantics] on the GPU: every elementwise op on the special values of
// special_values.h (shared with the native harness), as a plain step (same-shape and broadcast
// operands) and inside a fused step, against op_math.h in the run's dtype.
template <class T>
static void specialValueTests(Backend* be, int dtype) {
  Runner r{be, dtype};
  const std::vector<T> vals = special::values<T>();
  const int64_t m = (int64_t)vals.size();
  auto verify = [&](const std::string& what, int op, const std::vector<T>& a, const std::vector<T>& b,
                    const std::vector<double>& got) {
    bool ok = got.size() == a.size();
    std::string why = ok ? "" : "wrong size";
    for (size_t i = 0; ok && i < a.size(); ++i) ok = special::agrees<T>(op, a[i], b.empty() ? T(0) : b[i], (T)got[i], &why);
    check(ok, what + (dtype == kFloat32 ? " [float32]: " : " [float64]: ") + why);
  };
  for (int op = 0; op < OP_COUNT; ++op) {
    if (!isElementwiseOp(op)) continue;
    const bool unary = isUnaryOp(op);
    std::vector<T> a, b;
    special::operands(unary, vals, &a, &b);
    const int64_t n = (int64_t)a.size();
    std::vector<HostTensor> ins{{{n}, std::vector<double>(a.begin(), a.end())}};
    if (!unary) ins.push_back({{n}, std::vector<double>(b.begin(), b.end())});
    const std::string name = opTableName(op);
    verify(name + " special values, plain", op, a, b, r.run(makeStep(op), ins, {n}));
    // Fused: op(in0[, in1]) * ones, the same chain the native test fuses.
    Step fused = makeStep(OP_FUSED);
    const int numIn = (int)ins.size() + 1;
    fused.code = {{op, 0, unary ? -1 : 1, 0}, {OP_mul, numIn, numIn - 1, 0}};
    std::vector<HostTensor> fin = ins;
    fin.push_back({{n}, std::vector<double>(n, 1.0)});
    verify(name + " special values, fused", op, a, b, r.run(fused, fin, {n}));
    if (!unary) {   // a column against a row: the strided broadcasting kernel
      HostTensor col{{m, 1}, std::vector<double>(vals.begin(), vals.end())}, row{{m}, col.v};
      verify(name + " special values, column op row", op, a, b, r.run(makeStep(op), {col, row}, {m, m}));
    }
  }
}

// Two lanes: b = sin(x) on lane 0, c = cos(x) on lane 1, d = b + c on lane 0 after both.
static void laneTest(Backend* be) {
  const int n = 1 << 20;
  Program p;
  for (int i = 0; i < 4; ++i) {
    Slot s;
    s.desc.dtype = kFloat64;
    s.desc.shape = {n};
    s.kind = i == 0 ? SLOT_INPUT : SLOT_TEMP;
    p.slots.push_back(s);
  }
  Step s1 = makeStep(OP_sin), s2 = makeStep(OP_cos), s3 = makeStep(OP_add);
  s1.in = {0}, s1.out = 1, s1.lane = 0;
  s2.in = {0}, s2.out = 2, s2.lane = 1;
  s3.in = {1, 2}, s3.out = 3, s3.lane = 0, s3.after = {0, 1};
  p.steps = {s1, s2, s3};
  for (Step& st : p.steps) layoutStep(p, &st, be->capabilities().maxRank);
  p.numLanes = 2;
  std::vector<void*> slots;
  for (int i = 0; i < 4; ++i) slots.push_back(be->allocate((size_t)n * 8));
  HostTensor x = iota({n});
  be->upload(slots[0], x.v.data(), (size_t)n * 8);
  for (int rep = 0; rep < 3; ++rep) be->execute(p, slots.data(), ExecContext());
  std::vector<double> y(n);
  be->download(y.data(), slots[3], (size_t)n * 8);
  bool ok = true;
  for (int i = 0; i < n; ++i) ok &= std::fabs(y[i] - (std::sin(x.v[i]) + std::cos(x.v[i]))) < 1e-12;
  check(ok, "two-lane program");
  for (void* s : slots) be->release(s);
}

static void callbackTest(Backend* be) {
  Runner r{be, kFloat64, hostCallback};
  HostTensor a = iota({2, 3}), b = iota({2, 3}, 0.9);
  std::vector<double> want(6);
  for (int i = 0; i < 6; ++i) want[i] = a.v[i] + b.v[i];
  r.expect("callback", r.run(makeStep(OP_callback, {7, kFloat64, 2, 3}), {a, b}, {2, 3}), want);
  bool threw = false;
  try {
    r.run(makeStep(OP_callback, {99, kFloat64, 2, 3}), {a, b}, {2, 3});
  } catch (const Error& e) {
    threw = std::string(e.what()).find("host callback 99 failed") != std::string::npos;
  }
  check(threw, "failing callback throws 'host callback 99 failed'");
}

// Indexing with Int32 indices (Note [Index errors]): gather of float64 rows, scatterAdd with repeated
// indices, and an index out of range, which must throw the CPU's message and leave the backend usable.
static void indexTest(Backend* be) {
  auto slot = [](int dtype, Shape shape, int kind, int index) {
    Slot s;
    s.desc.dtype = dtype;
    s.desc.shape = std::move(shape);
    s.kind = kind;
    s.index = index;
    return s;
  };
  const std::vector<double> table = {1, 2, 3, 4, 5, 6};   // [3, 2]
  auto runOne = [&](int op, std::vector<int64_t> attrs, const std::vector<double>& data, Shape dataShape, const std::vector<int32_t>& idx,
                    Shape outShape) {
    Program p;
    p.slots = {slot(kFloat64, dataShape, SLOT_INPUT, 0), slot(kInt32, {(int64_t)idx.size()}, SLOT_INPUT, 1), slot(kFloat64, outShape, SLOT_OUTPUT, 0)};
    Step st = makeStep(op, attrs);
    st.in = {0, 1};
    st.out = 2;
    p.steps = {st};
    void* d = be->allocate(data.size() * 8);
    void* i = be->allocate(idx.size() * 4);
    void* y = be->allocate((size_t)numel(outShape) * 8);
    std::vector<double> out((size_t)numel(outShape));
    try {
      be->upload(d, data.data(), data.size() * 8);
      be->upload(i, idx.data(), idx.size() * 4);
      void* slots[3] = {d, i, y};
      be->execute(p, slots, ExecContext());
      be->download(out.data(), y, out.size() * 8);
    } catch (...) {
      be->release(d), be->release(i), be->release(y);
      throw;
    }
    be->release(d), be->release(i), be->release(y);
    return out;
  };
  Runner r{be, kFloat64};
  r.expect("gather rows", runOne(OP_gather, {0}, table, {3, 2}, {2, 0, 2}, {3, 2}), {5, 6, 1, 2, 5, 6});
  r.expect("scatterAdd repeated indices", runOne(OP_scatterAdd, {0, 3}, table, {3, 2}, {1, 1, 0}, {3, 2}), {5, 6, 4, 6, 0, 0});
  bool threw = false;
  try {
    runOne(OP_gather, {0}, table, {3, 2}, {0, 3, 1}, {3, 2});
  } catch (const Error& e) {
    threw = std::string(e.what()).find("index 3 at position 1 of the indices [3] is out of range [0, 3) for axis 0") != std::string::npos;
    if (!threw) std::printf("gather error message: %s\n", e.what());
  }
  check(threw, "gather with an index out of range throws the CPU's message");
  r.expect("gather after an index error", runOne(OP_gather, {0}, table, {3, 2}, {1, 1, 1}, {3, 2}), {3, 4, 3, 4, 3, 4});
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::printf("usage: adjoint_cuda_smoke <path to libadjoint_cuda.so>\n");
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::printf("FAILED: dlopen: %s\n", dlerror());
    return 1;
  }
  auto abi = reinterpret_cast<AbiFn>(dlsym(lib, ADJOINT_BACKEND_ABI_SYMBOL));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, ADJOINT_BACKEND_COUNT_SYMBOL));
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, ADJOINT_BACKEND_CREATE_SYMBOL));
  auto name = reinterpret_cast<NameFn>(dlsym(lib, ADJOINT_BACKEND_NAME_SYMBOL));
  if (!abi || !count || !create || !name) {
    std::printf("FAILED: missing entry points\n");
    return 1;
  }
  check(abi() == ADJOINT_BACKEND_ABI, "ABI version");
  char err[512] = "unset";
  const int devices = count(err, sizeof err);
  std::printf("device_count = %d%s%s\n", devices, err[0] ? ": " : "", err);
  check(devices >= -1, "device_count >= -1");
  check(devices != -1 || err[0] != '\0', "device_count -1 comes with a message");
  char devName[256] = "";
  name(0, devName, sizeof devName);
  std::printf("device 0: %s\n", devName);
  if (devices <= 0) {
    err[0] = '\0';
    Backend* be = create(0, err, sizeof err);
    check(be == nullptr && err[0] != '\0', "create fails with a message when there is no device");
    std::printf("create(0): %s\n", err);
    delete be;
    std::printf("no CUDA device: GPU checks skipped\n");
  } else {
    std::unique_ptr<Backend> be(create(0, err, sizeof err));
    check(be != nullptr, std::string("create(0): ") + err);
    if (be) {
      std::printf("backend: %s\n", be->name().c_str());
      try {
        gpuTests(be.get(), kFloat32);
        gpuTests(be.get(), kFloat64);
        specialValueTests<float>(be.get(), kFloat32);
        specialValueTests<double>(be.get(), kFloat64);
        laneTest(be.get());
        callbackTest(be.get());
        indexTest(be.get());
        // Errors surface as exceptions, and the backend stays usable afterwards.
        bool threw = false;
        try {
          Runner r{be.get(), kFloat32};
          r.run(makeStep(OP_add), {iota({3}), iota({4})}, {3});
        } catch (const Error& e) {
          threw = true;
        }
        check(threw, "bad broadcast throws Error");
        Runner r{be.get(), kFloat32};
        r.expect("usable after an error", r.run(makeStep(OP_neg), {iota({3})}, {3}), {-iota({3}).v[0], -iota({3}).v[1], -iota({3}).v[2]});
      } catch (const std::exception& e) {
        check(false, std::string("exception: ") + e.what());
      }
    }
    std::printf("host callback ran %d time(s)\n", callbackRan);
  }
  if (failures == 0) std::printf("smoke: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
