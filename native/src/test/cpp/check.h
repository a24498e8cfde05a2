// A tiny test harness: TEST(name) registers a test, CHECK* record failures without aborting.
#pragma once

#include <cmath>
#include <cstring>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "adjoint/engine.h"

namespace t {

struct Registry {
  std::vector<std::pair<std::string, std::function<void()>>> tests;
  int failures = 0;
  static Registry& get() {
    static Registry r;
    return r;
  }
};

struct Register {
  Register(const char* name, std::function<void()> fn) { Registry::get().tests.emplace_back(name, std::move(fn)); }
};

inline void failAt(const char* file, int line, const std::string& msg) {
  ++Registry::get().failures;
  std::cerr << file << ":" << line << ": FAILED: " << msg << "\n";
}

}  // namespace t

#define TEST(name)                                      \
  static void test_##name();                            \
  static t::Register reg_##name(#name, test_##name);    \
  static void test_##name()

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) t::failAt(__FILE__, __LINE__, "CHECK(" #cond ")");     \
  } while (0)

#define CHECK_MSG(cond, msg)                                            \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::ostringstream os_;                                           \
      os_ << "CHECK(" #cond ") " << msg;                                \
      t::failAt(__FILE__, __LINE__, os_.str());                         \
    }                                                                   \
  } while (0)

// Expects `stmt` to throw adjoint::Error whose message contains `needle`.
#define CHECK_THROWS(stmt, needle)                                                              \
  do {                                                                                          \
    bool thrown_ = false;                                                                       \
    try {                                                                                       \
      stmt;                                                                                     \
    } catch (const adjoint::Error& e_) {                                                        \
      thrown_ = true;                                                                           \
      if (std::string(e_.what()).find(needle) == std::string::npos)                             \
        t::failAt(__FILE__, __LINE__, std::string("message \"") + e_.what() + "\" lacks \"" + needle + "\""); \
    }                                                                                           \
    if (!thrown_) t::failAt(__FILE__, __LINE__, "expected an Error from: " #stmt);              \
  } while (0)

namespace t {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

// A host tensor in float64 (the reference) that can be uploaded as either dtype.
struct Host {
  Shape shape;
  std::vector<double> v;
  Host() = default;
  Host(Shape s, std::vector<double> values) : shape(std::move(s)), v(std::move(values)) {}
  int64_t numel() const { return t::numel(shape); }
};

inline Host random(const Shape& s, std::mt19937& rng, double lo = -2, double hi = 2) {
  std::uniform_real_distribution<double> d(lo, hi);
  Host h;
  h.shape = s;
  h.v.resize(t::numel(s));
  for (auto& x : h.v) x = d(rng);
  return h;
}

inline adjoint::Buffer* upload(const Host& h, int dtype, int device = 0) {
  auto* b = adjoint::newBuffer(device, dtype, h.shape.data(), (int)h.shape.size());
  if (dtype == adjoint::kFloat64) {
    b->copyFromHost(h.v.data(), b->bytes());
  } else {
    std::vector<float> f(h.v.begin(), h.v.end());
    b->copyFromHost(f.data(), b->bytes());
  }
  return b;
}

inline Host download(const adjoint::Buffer* b) {
  Host h;
  h.shape = b->shape();
  h.v.resize(b->numel());
  if (b->dtype() == adjoint::kFloat64) {
    b->copyToHost(h.v.data(), b->bytes());
  } else {
    std::vector<float> f(b->numel());
    b->copyToHost(f.data(), b->bytes());
    h.v.assign(f.begin(), f.end());
  }
  return h;
}

inline std::string str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Compares with a relative+absolute tolerance; NaNs must match NaNs.
inline bool close(const Host& got, const Host& want, double tol, std::string* why) {
  if (got.shape != want.shape) {
    *why = "shape " + str(got.shape) + " vs " + str(want.shape);
    return false;
  }
  for (size_t i = 0; i < want.v.size(); ++i) {
    double a = got.v[i], b = want.v[i];
    if (std::isnan(b) ? !std::isnan(a) : !(a == b || std::fabs(a - b) <= tol * (1 + std::fabs(b)))) {
      *why = "element " + std::to_string(i) + ": got " + std::to_string(a) + ", want " + std::to_string(b);
      return false;
    }
  }
  return true;
}

// Engine settings changed for one test and restored when the scope ends.
struct OptimizeScope {
  bool saved = adjoint::optimize();
  explicit OptimizeScope(bool on) { adjoint::setOptimize(on); }
  ~OptimizeScope() { adjoint::setOptimize(saved); }
};

struct ThreadsScope {
  int saved = adjoint::threads();
  explicit ThreadsScope(int n) { adjoint::setThreads(n); }
  ~ThreadsScope() { adjoint::setThreads(saved); }
};

struct BlasThreadsScope {
  int saved = adjoint::blasThreads();
  explicit BlasThreadsScope(int n) { adjoint::setBlasThreads(n); }
  ~BlasThreadsScope() { adjoint::setBlasThreads(saved); }
};

// The raw bits of two doubles are equal (0.0 and -0.0 differ; a NaN equals the same NaN).
inline bool sameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline double tolFor(int dtype) { return dtype == adjoint::kFloat32 ? 2e-4 : 1e-10; }

// Runs a compiled graph on the given host inputs and returns every output.
inline std::vector<Host> runGraph(const adjoint::Graph& g, const std::vector<Host>& ins, const std::vector<int>& dtypes, int times = 1,
                                  int device = 0) {
  struct Free {
    void operator()(adjoint::Buffer* b) const { adjoint::freeBuffer(b); }
  };
  adjoint::Executable ex(g, device);
  std::vector<std::unique_ptr<adjoint::Buffer, Free>> bufs;   // freed even when run() throws
  for (size_t i = 0; i < ins.size(); ++i) {
    bufs.emplace_back(upload(ins[i], dtypes[i], device));
    ex.setInput((int)i, bufs.back().get());
  }
  for (int r = 0; r < times; ++r) ex.run();
  std::vector<Host> outs;
  for (int k = 0; k < ex.numOutputs(); ++k) {
    std::unique_ptr<adjoint::Buffer, Free> o(ex.takeOutput(k));
    outs.push_back(download(o.get()));
  }
  return outs;
}

}  // namespace t
