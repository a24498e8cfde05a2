// Which library runs a gemm: OpenBLAS (always there, linked) or oneDNN (opened at run time).
// Note [GEMM library] in gemm_library.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace adjoint {
namespace cpu {

enum class GemmLibrary { kOpenBlas = 0, kOneDnn = 1 };

// The policy: 0 auto (the rule of Note [GEMM library]), 1 OpenBLAS for every gemm, 2 oneDNN for every
// float32 gemm it can run. Default from ADJOINT_GEMM (auto | openblas | onednn), read once.
int gemmMode();
void setGemmMode(int mode);

// The oneDNN library's life: Java says at start whether one will come (expect), then loads it on a
// background thread (load, or unavailable with the reason). A gemm that wants oneDNN while it is
// still loading waits for it, so the choice never depends on timing.
void oneDnnExpect();
void oneDnnLoad(const std::string& path);          // dlopen + dlsym; a failure is recorded, not thrown
void oneDnnUnavailable(const std::string& why);
bool oneDnnReady();                                // waits while a load is pending
std::string gemmLibraryInfo();                     // one line for `adjoint info`

// The library the rule picks for this gemm; waits for a pending oneDNN load when it matters.
GemmLibrary gemmLibraryFor(int64_t m, int64_t n, int64_t k, int elemBytes);

// Runs C = alpha op(A) op(B) + beta C, row-major, through oneDNN's dnnl_sgemm on `threads` OpenMP
// threads (set on the calling thread). Requires oneDnnReady().
void oneDnnSgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);

}  // namespace cpu
}  // namespace adjoint
