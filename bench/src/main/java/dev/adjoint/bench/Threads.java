package dev.adjoint.bench;

import dev.adjoint.Adjoint;
import org.bytedeco.openblas.global.openblas_full;

/**
 * One knob for every benchmark: the engine's worker threads, its BLAS threads, and the threads of the
 * raw OpenBLAS ideal. The engine and the ideal load the same libopenblas.so.0 from the openblas preset
 * jar, so the BLAS setting is shared; it is still set through both doors so neither depends on the other.
 */
final class Threads {
  private Threads() {}

  /** The OpenBLAS thread count raw ideals run with ({@link Blas#sgemm}). */
  static volatile int blas = 1;

  static void use(int n) {
    blas = n;
    Adjoint.setThreads(n);
    Adjoint.setBlasThreads(n);
    openblas_full.openblas_set_num_threads(n);
    System.err.println(
        "# adjoint-bench: engine threads " + Adjoint.threads() + ", OpenBLAS threads "
            + openblas_full.openblas_get_num_threads() + " (" + openblas_full.openblas_get_corename().getString()
            + ")");
  }
}
