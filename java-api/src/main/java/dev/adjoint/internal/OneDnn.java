package dev.adjoint.internal;

import dev.adjoint.engine.AdjointEngine;
import java.io.File;
import java.net.URL;
import org.bytedeco.javacpp.Loader;

/**
 * Offers oneDNN's library to the engine (Note [GEMM library] in native/src/main/cpp/cpu/gemm_library.cpp):
 * libdnnl.so.3 and its libgomp.so.1 come from the org.bytedeco:dnnl platform jar, which JavaCPP unpacks into
 * its cache (both into one folder: libdnnl finds libgomp through its $ORIGIN run path). Opening the 90 MB
 * library takes tens of milliseconds, so it happens on a daemon thread started when the engine loads; the
 * engine's first float32 GEMM that wants oneDNN waits for it, so no choice depends on timing.
 *
 * <p>{@code ADJOINT_GEMM=openblas} skips the load; {@code ADJOINT_ONEDNN_LIBRARY} names another libdnnl.so.3.
 */
final class OneDnn {
  private OneDnn() {}

  private static final String DIR = "org/bytedeco/dnnl/" + Loader.getPlatform() + "/";

  static void start() {
    if ("openblas".equals(System.getenv("ADJOINT_GEMM"))) {
      AdjointEngine.oneDnnUnavailable("not loaded: ADJOINT_GEMM=openblas");
      return;
    }
    String override = System.getenv("ADJOINT_ONEDNN_LIBRARY");
    ClassLoader cl = OneDnn.class.getClassLoader();
    URL dnnl = override != null ? null : cl.getResource(DIR + "libdnnl.so.3");
    URL gomp = override != null ? null : cl.getResource(DIR + "libgomp.so.1");
    if (override == null && (dnnl == null || gomp == null)) {
      AdjointEngine.oneDnnUnavailable(
          "the org.bytedeco:dnnl:" + Loader.getPlatform() + " jar (libdnnl.so.3, libgomp.so.1) is not on the class path");
      return;
    }
    AdjointEngine.oneDnnExpect();
    Thread t =
        new Thread(
            () -> {
              try {
                String path;
                if (override != null) {
                  path = override;
                } else {
                  Loader.cacheResource(gomp); // first: libdnnl's $ORIGIN run path must find it there
                  File lib = Loader.cacheResource(dnnl);
                  path = lib.getAbsolutePath();
                }
                AdjointEngine.oneDnnLoad(path);
              } catch (Throwable e) {
                AdjointEngine.oneDnnUnavailable("cannot unpack it from the org.bytedeco:dnnl jar: " + e);
              }
            },
            "adjoint-onednn-load");
    t.setDaemon(true);
    t.start();
  }
}
