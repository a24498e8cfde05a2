package dev.adjoint;

import dev.adjoint.engine.AdjointEngine;
import dev.adjoint.internal.Compiled;
import dev.adjoint.internal.Engine;
import dev.adjoint.internal.NativeMemory;
import dev.adjoint.internal.Storage;
import dev.adjoint.internal.Trace;

/**
 * Engine-wide information and settings.
 *
 * <pre>{@code
 * System.out.println(Adjoint.info());   // engine version, OpenBLAS and oneDNN, threads, CUDA
 * Adjoint.setThreads(1);
 * }</pre>
 */
public final class Adjoint {
  private Adjoint() {}

  static {
    Engine.init();
  }

  /** The native engine's version string, as {@code ./adjoint info} prints it. */
  public static String version() {
    return AdjointEngine.version();
  }

  /** A few lines for {@code ./adjoint info}. */
  public static String info() {
    String cuda;
    try {
      Engine.ensureCuda();
      cuda = AdjointEngine.backendStatus();
    } catch (AdjointException e) {
      cuda = "unavailable: " + e.getMessage();
    }
    return "Adjoint engine " + AdjointEngine.version() + "\n"
        + "BLAS:    " + AdjointEngine.blasInfo() + "\n"
        + "GEMM:    " + AdjointEngine.gemmInfo() + "\n"
        + "math:    " + AdjointEngine.mathInfo() + "\n"
        + "threads: " + AdjointEngine.threads() + " engine, " + AdjointEngine.blasThreads() + " BLAS\n"
        + "CUDA:    " + cuda + "\n"
        + "         " + Engine.cudaProbe() + "\n"
        + "JVM:     " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version");
  }

  /**
   * Chooses the library of the CPU's matrix products from now on (default {@link Gemm#AUTO}, or
   * {@code ADJOINT_GEMM} at start). Where oneDNN is unavailable (its jar missing), every product runs on
   * OpenBLAS whatever is set here, and {@link #info()} says why.
   */
  public static void setGemm(Gemm library) {
    if (library == null) throw new AdjointException("setGemm: library must not be null");
    Engine.run(() -> AdjointEngine.setGemmMode(library.ordinal()));
  }

  /** The library setting of {@link #setGemm(Gemm)}. */
  public static Gemm gemm() {
    int[] mode = new int[1];
    Engine.run(() -> mode[0] = AdjointEngine.gemmMode()); // an unknown ADJOINT_GEMM throws, naming it
    return Gemm.values()[mode[0]];
  }

  /**
   * The engine's worker threads, the calling thread included: {@code ADJOINT_THREADS} at start, else the CPUs
   * this process may use (its affinity mask, capped by a container's CPU quota).
   */
  public static int threads() {
    return AdjointEngine.threads();
  }

  /** Worker threads for elementwise kernels and independent branches. */
  public static void setThreads(int n) {
    if (n < 1) throw new AdjointException("threads must be >= 1, got " + n);
    Engine.run(() -> AdjointEngine.setThreads(n));
  }

  /**
   * The most OpenBLAS threads one matmul may use (default: {@code ADJOINT_BLAS_THREADS}, else the engine's
   * thread count). Whether a matmul of a given shape runs on one thread or on {@code n} is measured while the
   * program runs and the faster is taken, so a machine another process loads does not make multi-threaded
   * GEMMs crawl (README, "Threads").
   */
  public static void setBlasThreads(int n) {
    if (n < 1) throw new AdjointException("BLAS threads must be >= 1, got " + n);
    Engine.run(() -> AdjointEngine.setBlasThreads(n));
  }

  /**
   * Every matmul large enough for OpenBLAS to thread uses exactly {@code n} threads, without the per-shape
   * measurement of {@link #setBlasThreads(int)} (the fixed setting; also {@code ADJOINT_BLAS_ADAPTIVE=0}).
   */
  public static void pinBlasThreads(int n) {
    if (n < 1) throw new AdjointException("BLAS threads must be >= 1, got " + n);
    Engine.run(() -> AdjointEngine.pinBlasThreads(n));
  }

  /** The BLAS thread limit set by {@link #setBlasThreads(int)} or {@link #pinBlasThreads(int)}. */
  public static int blasThreads() {
    return AdjointEngine.blasThreads();
  }

  /** Number of CUDA devices usable now (0 without a backend, driver or GPU). */
  public static int cudaDeviceCount() {
    try {
      Engine.ensureCuda();
    } catch (AdjointException e) {
      return 0;
    }
    return AdjointEngine.cudaDeviceCount();
  }

  /** Why CUDA is unusable, or null when it is usable. */
  public static String cudaUnavailableReason() {
    try {
      Engine.ensureCuda();
      if (AdjointEngine.cudaDeviceCount() > 0) return null;
      return "no CUDA device: " + AdjointEngine.backendStatus();
    } catch (AdjointException e) {
      return e.getMessage();
    }
  }

  /**
   * Turns the engine's rewriting passes (CSE, algebraic simplification, constant folding, fusion) on
   * (the default) or off for graphs compiled from now on; for debugging and for tests that compare both.
   */
  public static void setOptimize(boolean on) {
    AdjointEngine.setOptimize(on);
  }

  /** Whether the engine's rewriting passes run on newly compiled graphs (see {@link #setOptimize}). */
  public static boolean optimize() {
    return AdjointEngine.optimize();
  }

  /** Host memory the engine keeps cached for reuse (freed large buffers), in bytes. */
  public static long cachedBytes() {
    return AdjointEngine.cachedBytes();
  }

  /** Returns the engine's cached host memory to the system. */
  public static void emptyCache() {
    Engine.run(AdjointEngine::emptyCache);
  }

  /** Engine buffers currently held by tensors. */
  public static long liveBuffers() {
    return Storage.LIVE.get();
  }

  /** Buffers freed by the garbage collector rather than close(): leaks caught by the safety net. */
  public static long buffersFreedByGc() {
    return Storage.FREED_BY_GC.get();
  }

  private static volatile int cellCacheCapacity = Integer.getInteger("adjoint.cellCacheSize", 64);
  private static volatile int eagerCacheCapacity = Integer.getInteger("adjoint.eagerCacheSize", 256);

  /** Compiled signatures kept per Cell (least recently used evicted and freed); default 64. */
  public static int cellCacheCapacity() {
    return cellCacheCapacity;
  }

  /**
   * Sets how many compiled signatures each Cell keeps (least recently used ones are evicted and freed);
   * applies to later compilations; {@code n < 1} is an {@link AdjointException}.
   */
  public static void setCellCacheCapacity(int n) {
    if (n < 1) throw new AdjointException("cell cache capacity must be >= 1, got " + n);
    cellCacheCapacity = n;
  }

  /** Compiled one-op graphs kept for eager ops; default 256. */
  public static int eagerCacheCapacity() {
    return eagerCacheCapacity;
  }

  /**
   * Sets how many compiled one-op graphs eager ops keep (least recently used evicted); {@code n < 1} is an
   * {@link AdjointException}.
   */
  public static void setEagerCacheCapacity(int n) {
    if (n < 1) throw new AdjointException("eager cache capacity must be >= 1, got " + n);
    eagerCacheCapacity = n;
  }

  /** Native bytes held by live tensors now (Note [Native memory budget]). */
  public static long nativeBytes() {
    return NativeMemory.used();
  }

  /** The most native bytes live tensors ever held at once in this JVM. */
  public static long peakNativeBytes() {
    return NativeMemory.peak();
  }

  /** The native memory budget in bytes: past it, allocation collects garbage, then fails. */
  public static long nativeMemoryLimit() {
    return NativeMemory.limit();
  }

  /**
   * Sets the native memory budget in bytes (see {@link #nativeMemoryLimit()}); a non-positive value is an
   * {@link AdjointException}.
   */
  public static void setNativeMemoryLimit(long bytes) {
    NativeMemory.setLimit(bytes);
  }

  /** Engine instances of compiled graphs alive now (bounded by the caches). */
  public static long liveExecutables() {
    return Compiled.INSTANCES.get();
  }

  /** Graphs compiled so far in this JVM (cells, gradients and one-op eager graphs). */
  public static long compilations() {
    return Compiled.COMPILATIONS.get();
  }

  /**
   * Graph nodes (inputs included) recorded into traces by the calling thread so far: the size of what
   * tracing built, before the engine's passes. Tests take differences of it to check how the graph of a
   * transform grows (a forward jacobian's with its number of columns, say).
   */
  public static long tracedNodes() {
    return Trace.recordedOnThisThread();
  }
}
