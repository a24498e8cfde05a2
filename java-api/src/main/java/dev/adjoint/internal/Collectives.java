package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.engine.AdjointEngine;
import java.io.IOException;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;

/**
 * Engine glue of dev.adjoint.Communicator: finds the Gloo backend library (packed in adjoint-native next to
 * the engine where libgloo-dev was installed at build time, or ADJOINT_GLOO_LIBRARY) and runs the engine's
 * collective entry points (Note [Collective seam] in adjoint/collective.h) on host copies of Java arrays.
 */
public final class Collectives {
  private Collectives() {}

  static {
    Engine.init();
  }

  private static final String RESOURCE = "/dev/adjoint/engine/" + Loader.getPlatform() + "/libadjoint_gloo.so";

  /** Why the Gloo backend cannot be used here, or null when its library is present. */
  public static String glooUnavailable() {
    String env = System.getenv("ADJOINT_GLOO_LIBRARY");
    if (env != null) return new java.io.File(env).isFile() ? null : "ADJOINT_GLOO_LIBRARY=" + env + " is not a file";
    if (AdjointEngine.class.getResource(RESOURCE) == null)
      return "this build of adjoint-native has no Gloo backend (libadjoint_gloo.so was not built: CMake did not find"
          + " Gloo; install libgloo-dev, e.g. apt-get install libgloo-dev, and rebuild)";
    return null;
  }

  private static synchronized String glooLibrary() {
    String why = glooUnavailable();
    if (why != null) throw new AdjointException("Gloo backend requested, but " + why);
    String env = System.getenv("ADJOINT_GLOO_LIBRARY");
    if (env != null) return env;
    try {
      return Loader.cacheResource(AdjointEngine.class, RESOURCE).getAbsolutePath();
    } catch (IOException e) {
      throw new AdjointException("cannot unpack " + RESOURCE + " from adjoint-native: " + e.getMessage(), e);
    }
  }

  public static long openGloo(int rank, int size, long timeoutMs, String store, String prefix, String host) {
    String lib = glooLibrary();
    try {
      return Engine.call(() -> AdjointEngine.collectiveOpen(lib, rank, size, timeoutMs, store, prefix, host));
    } catch (AdjointException e) {
      if (e.getMessage() != null && e.getMessage().contains("cannot load collective backend"))
        throw new AdjointException(
            e.getMessage() + " (the Gloo runtime library libgloo.so.0 comes with libgloo0 / libgloo-dev)", e);
      throw e;
    }
  }

  /** Opens an NCCL group: libadjoint_nccl.so from adjoint-cuda (or ADJOINT_NCCL_LIBRARY), NCCL itself at run time. */
  public static long openNccl(int rank, int size, long timeoutMs, String store, String prefix) {
    String lib = System.getenv("ADJOINT_NCCL_LIBRARY");
    if (lib == null) {
      dev.adjoint.engine.BackendProvider p = Engine.cudaProvider();
      if (p == null)
        throw new AdjointException("NCCL backend requested, but adjoint-cuda is not on the class path: add the dependency"
            + " dev.adjoint:adjoint-cuda (or set ADJOINT_NCCL_LIBRARY to a built libadjoint_nccl.so)");
      try {
        lib = p.collectiveLibraryPath("nccl");
      } catch (IllegalStateException e) {
        throw new AdjointException("NCCL backend requested, but " + e.getMessage(), e);
      }
    }
    String path = lib;
    return Engine.call(() -> AdjointEngine.collectiveOpen(path, rank, size, timeoutMs, store, prefix, ""));
  }

  public static void allReduce(long group, float[] data, int op, long tag) {
    try (FloatPointer p = new FloatPointer(data)) {
      Engine.run(() -> AdjointEngine.collectiveAllReduce(group, p, data.length, 0, op, tag));
      p.get(data);
    }
  }

  public static void allReduce(long group, double[] data, int op, long tag) {
    try (DoublePointer p = new DoublePointer(data)) {
      Engine.run(() -> AdjointEngine.collectiveAllReduce(group, p, data.length, 1, op, tag));
      p.get(data);
    }
  }

  /** All-reduce of {@code count} elements (dtype 0 Float32, 1 Float64) at {@code data}, in place. */
  public static void allReduce(long group, org.bytedeco.javacpp.Pointer data, long count, int dtype, int op, long tag) {
    Engine.run(() -> AdjointEngine.collectiveAllReduce(group, data, count, dtype, op, tag));
  }

  public static void broadcast(long group, float[] data, int root, long tag) {
    try (FloatPointer p = new FloatPointer(data)) {
      Engine.run(() -> AdjointEngine.collectiveBroadcast(group, p, data.length, 0, root, tag));
      p.get(data);
    }
  }

  public static void broadcast(long group, double[] data, int root, long tag) {
    try (DoublePointer p = new DoublePointer(data)) {
      Engine.run(() -> AdjointEngine.collectiveBroadcast(group, p, data.length, 1, root, tag));
      p.get(data);
    }
  }

  public static void allGather(long group, float[] in, float[] out, long tag) {
    try (FloatPointer a = new FloatPointer(in); FloatPointer b = new FloatPointer(out.length)) {
      Engine.run(() -> AdjointEngine.collectiveAllGather(group, a, b, in.length, 0, tag));
      b.get(out);
    }
  }

  public static void allGather(long group, double[] in, double[] out, long tag) {
    try (DoublePointer a = new DoublePointer(in); DoublePointer b = new DoublePointer(out.length)) {
      Engine.run(() -> AdjointEngine.collectiveAllGather(group, a, b, in.length, 1, tag));
      b.get(out);
    }
  }

  public static void barrier(long group, long tag) {
    Engine.run(() -> AdjointEngine.collectiveBarrier(group, tag));
  }

  public static String describe(long group) {
    return Engine.call(() -> AdjointEngine.collectiveDescribe(group));
  }

  public static void close(long group) {
    Engine.run(() -> AdjointEngine.collectiveClose(group));
  }

}
