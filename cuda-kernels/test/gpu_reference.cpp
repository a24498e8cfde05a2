// The GPU check kit's same-run ideals (cuda-kernels/gpu-check): raw cuBLAS sgemm GFLOP/s at the W2
// sizes and device-to-device copy bandwidth at the W3 sizes, written as key=value lines that the
// Java GpuBench reads (ADJOINT_GPU_REFERENCE) to print each figure as a ratio to its ideal.
//   adjoint_gpu_reference [out-file]
// cuBLAS is opened the way the backend opens it (cublas_loader: ADJOINT_CUBLAS_PATH, CUDA_HOME, ...).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cublas_loader.h"

using adjoint::cuda::CublasApi;
using adjoint::cuda::CublasHandle;

static bool ok(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  std::fprintf(stderr, "gpu-reference: %s: %s\n", what, cudaGetErrorString(e));
  return false;
}

// Best mean ms per repetition over 3 timed loops of `reps`, by CUDA events.
template <class F>
static float bestMs(int reps, F body) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  body();
  cudaDeviceSynchronize();
  float best = 1e30f;
  for (int k = 0; k < 3; ++k) {
    cudaEventRecord(a);
    for (int i = 0; i < reps; ++i) body();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    best = std::min(best, ms / reps);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return best;
}

int main(int argc, char** argv) {
  FILE* out = argc > 1 ? std::fopen(argv[1], "w") : stdout;
  if (!out) return 2;
  int count = 0;
  if (!ok(cudaGetDeviceCount(&count), "cudaGetDeviceCount") || count == 0) {
    std::printf("gpu-reference: SKIPPED: no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::printf("gpu-reference: %s, %d SMs, %.0f GiB, driver %d, runtime %d\n", prop.name, prop.multiProcessorCount,
              prop.totalGlobalMem / 1073741824.0, driver, runtime);
  for (long long n : {16LL << 20, 256LL << 20}) {
    float *x = nullptr, *y = nullptr;
    if (!ok(cudaMalloc(&x, n * 4), "cudaMalloc") || !ok(cudaMalloc(&y, n * 4), "cudaMalloc")) return 1;
    cudaMemset(x, 0, n * 4);
    float ms = bestMs(20, [&] { cudaMemcpyAsync(y, x, n * 4, cudaMemcpyDeviceToDevice); });
    double gbs = 2.0 * 4 * n / (ms * 1e6);
    std::printf("device-to-device copy %lldM floats: %.3f ms, %.0f GB/s\n", n >> 20, ms, gbs);
    std::fprintf(out, "copy_gbs_%lld=%.1f\n", n, gbs);
    cudaFree(x);
    cudaFree(y);
  }
  std::string error;
  const CublasApi* api = adjoint::cuda::cublasApi(&error);
  if (!api) {
    std::printf("gpu-reference: FAILED: cuBLAS not found: %s\n", error.c_str());
    if (out != stdout) std::fclose(out);
    return 1;
  }
  std::printf("cuBLAS: %s\n", api->path.c_str());
  CublasHandle h = nullptr;
  if (api->create(&h) != 0) {
    std::printf("gpu-reference: FAILED: cublasCreate\n");
    return 1;
  }
  for (int n : {1024, 4096, 8192}) {
    float *a = nullptr, *b = nullptr, *c = nullptr;
    size_t bytes = (size_t)n * n * 4;
    if (!ok(cudaMalloc(&a, bytes), "cudaMalloc") || !ok(cudaMalloc(&b, bytes), "cudaMalloc") ||
        !ok(cudaMalloc(&c, bytes), "cudaMalloc"))
      return 1;
    cudaMemset(a, 0, bytes);
    cudaMemset(b, 0, bytes);
    const float one = 1, zero = 0;
    float ms = bestMs(n >= 8192 ? 5 : 20, [&] {
      api->sgemm(h, adjoint::cuda::kCublasOpN, adjoint::cuda::kCublasOpN, n, n, n, &one, a, n, b, n, &zero, c, n);
    });
    double gflops = 2.0 * n * (double)n * n / (ms * 1e6);
    std::printf("raw cuBLAS sgemm n=%d: %.3f ms, %.0f GFLOP/s\n", n, ms, gflops);
    std::fprintf(out, "sgemm_gflops_%d=%.1f\n", n, gflops);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
  }
  api->destroy(h);
  if (out != stdout) std::fclose(out);
  return 0;
}
