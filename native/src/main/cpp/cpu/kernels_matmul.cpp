// matmul through OpenBLAS or oneDNN (Note [GEMM library] in gemm_library.cpp). Transposes are passed to gemm as CblasTrans (never materialised); batch
// dims broadcast, and are either folded into one tall gemm or looped. An accumulating matmul (a
// parameter update folded into its gradient's gemm, Note [GEMM updates] in passes.cpp) passes
// beta = 1 and its alpha to gemm, so C is read and written by the one pass gemm makes over it.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/common.h"
#include "cpu/blas_threads.h"
#include "cpu/gemm_library.h"
#include "cpu/kernels.h"

namespace adjoint {
namespace cpu {
namespace {

struct Gemm {
  bool ta, tb;
  int64_t m, n, k, lda, ldb;
  double alpha, beta;
};

// OpenBLAS takes every size as blasint (a 32-bit int in the bundled build): a larger m, n, k or
// leading dimension would be truncated, not refused, so it is an Error here.
constexpr int64_t kBlasMax = sizeof(blasint) >= 8 ? INT64_MAX : (int64_t)INT_MAX;

bool fitsBlas(const Gemm& g) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb})
    if (v > kBlasMax) return false;
  return true;
}

void checkBlas(const Gemm& g, const TensorDesc& da, const TensorDesc& db, const TensorDesc& dout) {
  if (fitsBlas(g)) return;
  const char* what = g.m > kBlasMax ? "m" : g.n > kBlasMax ? "n" : g.k > kBlasMax ? "k" : "a row length";
  int64_t v = g.m > kBlasMax ? g.m : g.n > kBlasMax ? g.n : g.k > kBlasMax ? g.k : std::max(g.lda, g.ldb);
  fail("matmul: ", descStr(da), " x ", descStr(db), " -> ", shapeStr(dout.shape), ": ", what, " = ", v, " is above ", kBlasMax,
       ", the largest size OpenBLAS accepts (its int arguments are 32-bit) on the CPU");
}

// Note [Tiny gemm]: a gemm of a few hundred multiply-adds (the tutorial's 2x3 @ 3x3, per-call
// workloads W1 in bench/) costs OpenBLAS several hundred nanoseconds of dispatch, argument checks,
// packing and its buffer pool's lock, some twenty times the arithmetic. Up to kTinyGemm
// multiply-adds the product is computed here, directly from the strided operands, accumulating in
// double (rounded to T once); C is read only when beta is not 0, as in BLAS. Larger products go to OpenBLAS.
constexpr int64_t kTinyGemm = 512;

template <class T>
void tinyGemm(const Gemm& g, const T* a, const T* b, T* c) {
  const int64_t ldc = std::max<int64_t>(1, g.n);
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < g.k; ++p) {
        double x = g.ta ? a[p * g.lda + i] : a[i * g.lda + p];
        double y = g.tb ? b[j * g.ldb + p] : b[p * g.ldb + j];
        acc += x * y;
      }
      // Rounded as the unfolded graph rounds: the product to T, then times alpha in T, then plus C,
      // so that a folded update (Note [GEMM updates]) equals the unfolded one, as with OpenBLAS.
      T v = (T)acc;
      if (g.alpha != 1) v = (T)((T)g.alpha * v);
      T& out = c[i * ldc + j];
      out = g.beta == 0 ? v : (T)(v + (T)g.beta * out);
    }
}

template <class T>
void gemm(const Gemm& g, const T* a, const T* b, T* c) {
  if ((double)g.m * (double)g.n * (double)g.k <= (double)kTinyGemm) return tinyGemm(g, a, b, c);   // Note [Tiny gemm]
  GemmLibrary lib = gemmLibraryFor(g.m, g.n, g.k, (int)sizeof(T));        // Note [GEMM library]
  BlasThreadChoice threads(g.m, g.n, g.k, g.ta, g.tb, (int)sizeof(T), lib);   // Note [BLAS threads]
  if constexpr (sizeof(T) == 4) {
    if (lib == GemmLibrary::kOneDnn) {
      oneDnnSgemm(g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, a, g.lda, b, g.ldb, (float)g.beta, c, std::max<int64_t>(1, g.n),
                  threads.threads());
      return;
    }
  }
  CBLAS_TRANSPOSE ta = g.ta ? CblasTrans : CblasNoTrans, tb = g.tb ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(T) == 4)
    cblas_sgemm(CblasRowMajor, ta, tb, (blasint)g.m, (blasint)g.n, (blasint)g.k, (float)g.alpha, a, (blasint)g.lda, b, (blasint)g.ldb, (float)g.beta, c, (blasint)std::max<int64_t>(1, g.n));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, (blasint)g.m, (blasint)g.n, (blasint)g.k, g.alpha, a, (blasint)g.lda, b, (blasint)g.ldb, g.beta, c, (blasint)std::max<int64_t>(1, g.n));
}

template <class T>
void matmulT(bool ta, bool tb, const TensorDesc& da, const T* a, const TensorDesc& db, const T* b, const TensorDesc& dout, T* c, bool accumulate,
             double alpha) {
  size_t ra = da.shape.size(), rb = db.shape.size(), ro = dout.shape.size();
  Gemm g;
  g.ta = ta;
  g.tb = tb;
  g.alpha = accumulate ? alpha : 1.0;
  g.beta = accumulate ? 1.0 : 0.0;
  g.m = dout.shape[ro - 2];
  g.n = dout.shape[ro - 1];
  g.k = da.shape[ra - (ta ? 2 : 1)];
  // Leading dimensions are the stored row lengths; BLAS wants them >= 1 even for empty matrices.
  g.lda = std::max<int64_t>(1, da.shape[ra - 1]);
  g.ldb = std::max<int64_t>(1, db.shape[rb - 1]);
  int64_t outN = dout.numel();
  if (outN == 0) return;
  if (g.k == 0) {   // an empty sum: 0, or nothing added when accumulating
    if (accumulate) return;
    std::memset(c, 0, outN * sizeof(T));
    return;
  }
  checkBlas(g, da, db, dout);
  int64_t matA = da.shape[ra - 2] * da.shape[ra - 1], matB = db.shape[rb - 2] * db.shape[rb - 1], matC = g.m * g.n;
  int64_t batch = outN / matC, batchB = db.numel() / std::max<int64_t>(1, matB);
  if (batch == 1) {
    gemm(g, a, b, c);
    return;
  }
  Gemm tall = g;
  tall.m = g.m * batch;
  if (batchB == 1 && !ta && fitsBlas(tall)) {   // [batch..., m, k] x [k, n]: one tall gemm (else looped)
    gemm(tall, a, b, c);
    return;
  }
  // One gemm per output matrix. (cblas_sgemm_batch_strided of OpenBLAS 0.3.31 crashed in its
  // threaded path in our tests, so batches are looped here.)
  std::vector<int64_t> outBatch(dout.shape.begin(), dout.shape.end() - 2);
  std::vector<int64_t> shA(da.shape.begin(), da.shape.end() - 2), shB(db.shape.begin(), db.shape.end() - 2);
  std::vector<int64_t> stA = broadcastStrides(shA, outBatch), stB = broadcastStrides(shB, outBatch);
  std::vector<int64_t> idx(outBatch.size(), 0);
  for (int64_t bi = 0; bi < batch; ++bi) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      oa += idx[d] * stA[d];
      ob += idx[d] * stB[d];
    }
    gemm(g, a + oa * matA, b + ob * matB, c + bi * matC);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < outBatch[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

void matmul(bool ta, bool tb, const TensorDesc& a, const void* pa, const TensorDesc& b, const void* pb, const TensorDesc& out, void* y,
            bool accumulate, double alpha) {
  if (out.dtype == kFloat32) matmulT(ta, tb, a, (const float*)pa, b, (const float*)pb, out, (float*)y, accumulate, alpha);
  else matmulT(ta, tb, a, (const double*)pa, b, (const double*)pb, out, (double*)y, accumulate, alpha);
}

}  // namespace cpu
}  // namespace adjoint
