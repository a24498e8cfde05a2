package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.Device;
import dev.adjoint.engine.AdjointEngine;
import java.io.File;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Loader;

/** Loads the native engine once and turns its errors into AdjointExceptions. */
public final class Engine {
  private Engine() {}

  static {
    Loader.load(AdjointEngine.class);
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

  /** Opens the CUDA backend library on first use; throws naming the reason when that is impossible. */
  public static synchronized void ensureCuda() {
    if (AdjointEngine.cudaLoaded()) return;
    if (cudaTried && cudaFailure != null) throw new AdjointException(cudaFailure);
    cudaTried = true;
    String path = System.getenv("ADJOINT_CUDA_LIBRARY");
    try {
      if (path == null) {
        String resource = "/dev/adjoint/cuda/" + Loader.getPlatform() + "/libadjoint_cuda.so";
        if (Engine.class.getResource(resource) == null) {
          cudaFailure =
              "CUDA requested, but this build has no CUDA backend (libadjoint_cuda.so was not built:"
                  + " nvcc was not found when adjoint-cuda was built)";
          throw new AdjointException(cudaFailure);
        }
        File f = Loader.cacheResource(Engine.class, resource);
        path = f.getAbsolutePath();
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
