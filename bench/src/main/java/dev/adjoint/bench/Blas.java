package dev.adjoint.bench;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The raw ideals: row-major sgemm on native buffers allocated once, outside the timed code, on either
 * library the engine uses (Note [GEMM library]): OpenBLAS's cblas_sgemm or oneDNN's dnnl_sgemm.
 */
final class Blas {
  private Blas() {}

  /** One of the two libraries' sgemm, as {@link #sgemm}'s arguments. */
  @FunctionalInterface
  interface Sgemm {
    void run(boolean transA, boolean transB, int m, int n, int k, FloatPointer a, FloatPointer b, FloatPointer c);
  }

  static final Sgemm OPENBLAS = Blas::sgemm;
  static final Sgemm ONEDNN = Blas::sgemmOneDnn;

  /**
   * c[m x n] = op(a) @ op(b), op(a) m x k, op(b) k x n, all row-major and dense: a is stored k x m when
   * transposed, b is stored n x k when transposed.
   */
  static void sgemm(
      boolean transA, boolean transB, int m, int n, int k, FloatPointer a, FloatPointer b, FloatPointer c) {
    // The engine sets OpenBLAS's process-wide thread count gemm by gemm (Note [BLAS threads]), so the raw
    // ideal sets the benchmark's count before every call (a few ns) instead of trusting the last one.
    if (org.bytedeco.openblas.global.openblas_full.openblas_get_num_threads() != Threads.blas)
      org.bytedeco.openblas.global.openblas_full.openblas_set_num_threads(Threads.blas);
    cblas_sgemm(
        CblasRowMajor,
        transA ? CblasTrans : CblasNoTrans,
        transB ? CblasTrans : CblasNoTrans,
        m, n, k,
        1f, a, transA ? m : k,
        b, transB ? k : n,
        0f, c, n);
  }

  /**
   * As {@link #sgemm} on oneDNN's dnnl_sgemm (the library the engine loaded, Note [GEMM library]), on
   * {@link Threads#blas} OpenMP threads: the ideal of the float32 products the engine sends to oneDNN.
   */
  static void sgemmOneDnn(
      boolean transA, boolean transB, int m, int n, int k, FloatPointer a, FloatPointer b, FloatPointer c) {
    dev.adjoint.engine.AdjointEngine.rawSgemm(1, transA, transB, m, n, k, a, b, c, Threads.blas);
  }

  /** A native buffer of {@code count} floats, uniform in [-1, 1). */
  static FloatPointer uniform(Random rnd, long count) {
    FloatPointer p = new FloatPointer(count);
    float[] chunk = new float[1 << 16];
    for (long off = 0; off < count; off += chunk.length) {
      int len = (int) Math.min(chunk.length, count - off);
      for (int i = 0; i < len; i++) chunk[i] = rnd.nextFloat() * 2 - 1;
      p.position(off).put(chunk, 0, len);
    }
    return p.position(0);
  }

  static FloatPointer zeros(long count) {
    FloatPointer p = new FloatPointer(count);
    p.zero();
    return p;
  }

  static void free(FloatPointer... ps) {
    for (FloatPointer p : ps) if (p != null) p.close();
  }
}
