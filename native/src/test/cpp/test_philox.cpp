// randomUniform (Note [Philox] in adjoint/random.h): Random123's known-answer vectors, the kernel
// against the scalar function element by element in both dtypes, streams that differ by step and
// key, a counter fed at run time (one compiled graph, a new stream per step), and the moments.
#include <cmath>
#include <cstdint>

#include "adjoint/random.h"
#include "check.h"

using namespace adjoint;
using t::Host;
using t::Shape;

TEST(philox_known_answers) {
  // Random123 kat_vectors, philox4x32 10 rounds: counter (4 words), key (2 words) -> 4 words.
  struct Kat {
    uint32_t c[4], k[2], want[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}};
  for (const Kat& k : kats) {
    random::Block b = random::philox4x32(k.c[0], k.c[1], k.c[2], k.c[3], k.k[0], k.k[1]);
    for (int j = 0; j < 4; ++j) CHECK_MSG(b.w[j] == k.want[j], "philox word " << j << ": " << std::hex << b.w[j] << " want " << k.want[j]);
  }
  CHECK(random::stepOf(7.0) == 7 && random::stepOf(7.9) == 7 && random::stepOf(NAN) == 0);
  CHECK(random::stepOf(-1.0) == (uint64_t)-1 && random::stepOf(1e300) == (uint64_t)INT64_MAX);
}

namespace {

// randomUniform(counter) of `shape` with key `key`; the counter is a graph input of dtype `cdt`.
Graph uniformGraph(int dtype, int cdt, int64_t key, const Shape& shape) {
  Graph g;
  int c = g.addInput(cdt, nullptr, 0);
  std::vector<int64_t> attrs{dtype, key};
  attrs.insert(attrs.end(), shape.begin(), shape.end());
  g.addOutput(g.addNode(OP_randomUniform, &c, 1, attrs.data(), (int)attrs.size(), 0));
  return g;
}

}  // namespace

TEST(random_uniform_kernel) {
  for (int dt : {kFloat32, kFloat64})
    for (int cdt : {kFloat32, kFloat64})
      for (int64_t n : {int64_t(0), int64_t(1), int64_t(3), int64_t(5), int64_t(100003)}) {
        const int64_t key = (int64_t)0x9E3779B97F4A7C15ull;   // a key with the top bit set
        Graph g = uniformGraph(dt, cdt, key, {n});
        for (double step : {0.0, 1.0, 12345.0}) {
          Host got = t::runGraph(g, {Host({}, {step})}, {cdt})[0];
          CHECK(got.shape == Shape{n});
          int bad = 0;
          for (int64_t i = 0; i < n && bad < 3; ++i) {
            double want = dt == kFloat32 ? (double)random::uniform32((uint64_t)key, (uint64_t)step, (uint64_t)i)
                                         : random::uniform64((uint64_t)key, (uint64_t)step, (uint64_t)i);
            if (!t::sameBits(got.v[i], want)) {
              CHECK_MSG(false, dtypeName(dt) << " n=" << n << " step " << step << " element " << i << ": " << got.v[i] << " want " << want);
              ++bad;
            }
            if (!(got.v[i] >= 0 && got.v[i] < 1)) {
              CHECK_MSG(false, "element " << i << " = " << got.v[i] << " is outside [0, 1)");
              ++bad;
            }
          }
        }
      }
}

TEST(random_uniform_streams_and_moments) {
  for (int dt : {kFloat32, kFloat64}) {
    const int64_t n = 1 << 16;
    Graph g = uniformGraph(dt, kFloat64, 42, {256, 256});
    Executable ex(g, 0);   // one compiled graph, fed a new step on every run
    std::vector<Host> runs;
    for (double step : {0.0, 1.0, 2.0, 0.0}) {
      Buffer* c = t::upload(Host({}, {step}), kFloat64, 0);
      ex.setInput(0, c);
      ex.run();
      Buffer* o = ex.takeOutput(0);
      runs.push_back(t::download(o));
      freeBuffer(o);
      freeBuffer(c);
    }
    CHECK(runs[0].shape == (Shape{256, 256}));
    for (int64_t i = 0; i < n; ++i) CHECK_MSG(t::sameBits(runs[0].v[i], runs[3].v[i]), "step 0 is not reproducible at " << i);
    for (int a = 0; a < 3; ++a)
      for (int b = a + 1; b < 3; ++b) {
        int64_t same = 0;
        for (int64_t i = 0; i < n; ++i) same += runs[a].v[i] == runs[b].v[i];
        CHECK_MSG(same < 16, "steps " << a << " and " << b << " share " << same << " values");
      }
    Host other = t::runGraph(uniformGraph(dt, kFloat64, 43, {256, 256}), {Host({}, {0.0})}, {kFloat64})[0];
    int64_t same = 0;
    for (int64_t i = 0; i < n; ++i) same += other.v[i] == runs[0].v[i];
    CHECK_MSG(same < 16, "keys 42 and 43 share " << same << " values");
    // Uniform [0, 1): mean 1/2, variance 1/12; standard errors about 0.0011 and 0.0003 for 2^16 values.
    double sum = 0, sq = 0;
    for (double v : runs[1].v) sum += v;
    double mean = sum / n;
    for (double v : runs[1].v) sq += (v - mean) * (v - mean);
    double var = sq / (n - 1);
    CHECK_MSG(std::fabs(mean - 0.5) < 0.006, dtypeName(dt) << " mean " << mean);
    CHECK_MSG(std::fabs(var - 1.0 / 12) < 0.002, dtypeName(dt) << " variance " << var);
  }
}

TEST(random_uniform_errors) {
  Graph g;
  int c = g.addInput(kFloat64, Shape{2}.data(), 1);
  std::vector<int64_t> attrs{kFloat32, 1, 3};
  bool threw = false;
  try {
    g.addNode(OP_randomUniform, &c, 1, attrs.data(), 3, 0);
  } catch (const std::exception& e) {
    threw = std::string(e.what()).find("one element") != std::string::npos;
  }
  CHECK_MSG(threw, "a two-element counter was accepted");
  Graph h;
  int d = h.addInput(kFloat64, nullptr, 0);
  std::vector<int64_t> bad{kInt32, 1, 3};
  threw = false;
  try {
    h.addNode(OP_randomUniform, &d, 1, bad.data(), 3, 0);
  } catch (const std::exception& e) {
    threw = std::string(e.what()).find("dtype") != std::string::npos;
  }
  CHECK_MSG(threw, "an Int32 randomUniform was accepted");
}
