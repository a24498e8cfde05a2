// cuBLAS, opened at run time with dlopen so that neither the build machine nor a user without
// cuBLAS needs it: only matmul steps fail (with the list of paths tried) when it is missing.
//
// The few types and prototypes used are declared here from cuBLAS's documented C API (v2); the
// values of the enums are part of that stable ABI.
#pragma once

#include <cuda_runtime.h>

#include <string>

namespace adjoint {
namespace cuda {

struct CublasContext;                   // opaque cublasContext
typedef CublasContext* CublasHandle;    // cublasHandle_t
typedef int CublasStatus;               // cublasStatus_t; 0 = CUBLAS_STATUS_SUCCESS
enum { kCublasOpN = 0, kCublasOpT = 1 };                    // cublasOperation_t
enum { kCublasDefaultMath = 0, kCublasTf32TensorOpMath = 3 };  // cublasMath_t

struct CublasApi {
  CublasStatus (*create)(CublasHandle* handle) = nullptr;                      // cublasCreate_v2
  CublasStatus (*destroy)(CublasHandle handle) = nullptr;                      // cublasDestroy_v2
  CublasStatus (*setStream)(CublasHandle handle, cudaStream_t stream) = nullptr;  // cublasSetStream_v2
  CublasStatus (*setMathMode)(CublasHandle handle, int mode) = nullptr;        // cublasSetMathMode (optional)
  CublasStatus (*sgemm)(CublasHandle, int transa, int transb, int m, int n, int k, const float* alpha,
                        const float* A, int lda, const float* B, int ldb, const float* beta, float* C,
                        int ldc) = nullptr;                                    // cublasSgemm_v2
  CublasStatus (*dgemm)(CublasHandle, int transa, int transb, int m, int n, int k, const double* alpha,
                        const double* A, int lda, const double* B, int ldb, const double* beta, double* C,
                        int ldc) = nullptr;                                    // cublasDgemm_v2
  CublasStatus (*sgemmStridedBatched)(CublasHandle, int transa, int transb, int m, int n, int k,
                                      const float* alpha, const float* A, int lda, long long strideA,
                                      const float* B, int ldb, long long strideB, const float* beta, float* C,
                                      int ldc, long long strideC, int batchCount) = nullptr;
  CublasStatus (*dgemmStridedBatched)(CublasHandle, int transa, int transb, int m, int n, int k,
                                      const double* alpha, const double* A, int lda, long long strideA,
                                      const double* B, int ldb, long long strideB, const double* beta,
                                      double* C, int ldc, long long strideC, int batchCount) = nullptr;
  std::string path;   // the library that was opened
};

// Loads cuBLAS once per process (thread-safe). Returns nullptr when it cannot be found and sets
// `error` to a message naming every path tried (with dlerror() of each); later calls return the
// same answer without retrying.
const CublasApi* cublasApi(std::string* error);

// "CUBLAS_STATUS_..." for a status code.
const char* cublasStatusName(CublasStatus status);

}  // namespace cuda
}  // namespace adjoint
