package dev.adjoint.engine;

/**
 * An optional engine backend packed in a jar of its own, found at run time with
 * {@link java.util.ServiceLoader} (as JDBC drivers are): the core never names it, so a CPU-only user pulls
 * no CUDA jar. {@code adjoint-cuda} registers one in
 * {@code META-INF/services/dev.adjoint.engine.BackendProvider}.
 *
 * <pre>{@code
 * for (BackendProvider p : ServiceLoader.load(BackendProvider.class))
 *   if (p.name().equals("cuda")) AdjointEngine.loadBackend(p.libraryPath());
 * }</pre>
 */
public interface BackendProvider {
  /** The kind of device it backs: {@code "cuda"}. */
  String name();

  /**
   * A file path of the backend library for this platform, for {@link AdjointEngine#loadBackend} (unpacked
   * from the jar into JavaCPP's cache when needed). Throws {@link IllegalStateException} saying why when
   * this build of the jar has no library (say, nvcc was not found when it was built).
   */
  String libraryPath();

  /** One line on what the installed runtime reports (devices, driver), or why it reports nothing; never throws. */
  String probe();

  /**
   * A file path of this jar's collective backend library {@code name} (adjoint-cuda: "nccl", the NCCL backend of
   * the engine's collective seam). Throws {@link IllegalStateException} saying why when there is none.
   */
  default String collectiveLibraryPath(String name) {
    throw new IllegalStateException(name() + " has no collective backend '" + name + "'");
  }
}
