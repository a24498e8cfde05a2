package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.Device;
import dev.adjoint.engine.AdjointEngine;
import dev.adjoint.engine.BackendProvider;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Loader;

/** Loads the native engine once and turns its errors into AdjointExceptions. */
public final class Engine {
  private Engine() {}

  static {
    Loader.load(AdjointEngine.class);
    OneDnn.start();
  }

  /** Runs a native call; a C++ adjoint::Error arrives as RuntimeException and leaves as AdjointException. */
  static <T> T call(Supplier<T> body) {
    try {
      return body.get();
    } catch (AdjointException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new AdjointException(e.getMessage(), e);
    }
  }

  public static void run(Runnable body) {
    call(
        () -> {
          body.run();
          return null;
        });
  }

  public static void init() {
    // Touching the class runs the static initializer above.
  }

  private static volatile String cudaFailure;
  private static volatile boolean cudaTried;

  /** Without adjoint-cuda on the class path (or module path) there is no CUDA backend to open. */
  static final String NO_CUDA_JAR =
      "CUDA requested, but the CUDA backend is not on the class path: add the dependency"
          + " dev.adjoint:adjoint-cuda (or set ADJOINT_CUDA_LIBRARY to a built libadjoint_cuda.so)";

  private static BackendProvider cuda;
  private static String cudaProviderFailure;
  private static boolean cudaLookedUp;

  /**
   * The CUDA backend's provider, found once with ServiceLoader (adjoint-cuda registers it), or null when
   * adjoint-cuda is absent: the core never names the CUDA module.
   */
  static synchronized BackendProvider cudaProvider() {
    if (!cudaLookedUp) {
      cudaLookedUp = true;
      try {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class))
          if (p.name().equals("cuda")) {
            cuda = p;
            break;
          }
      } catch (ServiceConfigurationError e) {
        cudaProviderFailure = "CUDA requested, but the CUDA backend's provider cannot be loaded: " + e.getMessage();
      }
    }
    return cuda;
  }

  /** What the installed CUDA runtime reports, for Adjoint.info(); never throws. */
  public static String cudaProbe() {
    BackendProvider p = cudaProvider();
    if (p != null) return p.probe();
    return "CUDA runtime: not probed (" + (cudaProviderFailure != null ? cudaProviderFailure : "adjoint-cuda is not on the class path") + ")";
  }

  /** Opens the CUDA backend library on first use; throws naming the reason when that is impossible. */
  public static synchronized void ensureCuda() {
    if (AdjointEngine.cudaLoaded()) return;
    if (cudaTried && cudaFailure != null) throw new AdjointException(cudaFailure);
    cudaTried = true;
    String path = System.getenv("ADJOINT_CUDA_LIBRARY");
    try {
      if (path == null) {
        BackendProvider provider = cudaProvider();
        if (provider == null)
          throw new AdjointException(cudaProviderFailure != null ? cudaProviderFailure : NO_CUDA_JAR);
        try {
          path = provider.libraryPath();
        } catch (IllegalStateException e) {
          throw new AdjointException("CUDA requested, but " + e.getMessage(), e);
        }
      }
      final String p = path;
      run(() -> AdjointEngine.loadBackend(p));
    } catch (AdjointException e) {
      cudaFailure = e.getMessage();
      throw e;
    } catch (Exception e) {
      cudaFailure = "cannot open the CUDA backend: " + e;
      throw new AdjointException(cudaFailure, e);
    }
  }

  /** Checks that a device can be used, loading the CUDA backend for a CUDA device. */
  public static void requireDevice(Device d) {
    if (!d.isCuda()) return;
    ensureCuda();
    int count = AdjointEngine.cudaDeviceCount();
    if (Access.code(d) - 1 >= count)
      throw new AdjointException(
          d + " requested but " + count + " CUDA device(s) are usable (" + AdjointEngine.backendStatus() + ")");
  }
}
