package dev.adjoint;

/**
 * Which library runs the CPU's matrix products ({@link Adjoint#setGemm(Gemm)}; at start {@code ADJOINT_GEMM}
 * = {@code auto}, {@code openblas} or {@code onednn}). Both compute the same products; they round differently
 * in the last bits, so the choice is a fixed rule per shape, never a timing (README, "GEMM library").
 *
 * <pre>{@code
 * Adjoint.setGemm(Gemm.OPENBLAS);   // e.g. to compare with another OpenBLAS-based program bit for bit
 * System.out.println(Adjoint.info());
 * Adjoint.setGemm(Gemm.AUTO);
 * }</pre>
 */
public enum Gemm {
  /** The default: oneDNN for float32 products of at least 32x32x32 (where it was faster), OpenBLAS otherwise. */
  AUTO,
  /** OpenBLAS for every product. */
  OPENBLAS,
  /**
   * oneDNN for every float32 product but the tiniest (at most 512 multiply-adds, which the engine computes
   * itself whatever the setting); float64 stays on OpenBLAS (oneDNN has no dgemm).
   */
  ONEDNN
}
