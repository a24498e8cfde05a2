package dev.adjoint.cuda;

import dev.adjoint.engine.BackendProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.bytedeco.javacpp.Loader;

/**
 * The CUDA backend as the engine finds it (through {@link java.util.ServiceLoader}, registered in
 * {@code META-INF/services/dev.adjoint.engine.BackendProvider}): where this jar keeps
 * {@code libadjoint_cuda.so}, and what the installed CUDA runtime reports ({@link CudaRuntime}).
 */
public final class CudaBackend implements BackendProvider {
  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public String libraryPath() {
    String resource = "/dev/adjoint/cuda/" + Loader.getPlatform() + "/libadjoint_cuda.so";
    if (CudaBackend.class.getResource(resource) == null)
      throw new IllegalStateException(
          "this build has no CUDA backend (libadjoint_cuda.so was not built: nvcc was not found when"
              + " adjoint-cuda was built)");
    try {
      return Loader.cacheResource(CudaBackend.class, resource).getAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + resource + " from adjoint-cuda: " + e.getMessage(), e);
    }
  }

  @Override
  public String collectiveLibraryPath(String name) {
    if (!name.equals("nccl")) throw new IllegalStateException("adjoint-cuda has no collective backend '" + name + "' (it has nccl)");
    String resource = "/dev/adjoint/cuda/" + Loader.getPlatform() + "/libadjoint_nccl.so";
    if (CudaBackend.class.getResource(resource) == null)
      throw new IllegalStateException("this build of adjoint-cuda has no NCCL backend (libadjoint_nccl.so was not built:"
          + " nvcc was not found when adjoint-cuda was built)");
    try {
      return Loader.cacheResource(CudaBackend.class, resource).getAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + resource + " from adjoint-cuda: " + e.getMessage(), e);
    }
  }

  @Override
  public String probe() {
    return CudaRuntime.probe().toString();
  }
}
