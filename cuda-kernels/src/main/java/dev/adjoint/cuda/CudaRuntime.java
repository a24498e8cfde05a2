package dev.adjoint.cuda;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Device discovery and memory information through the JavaCPP Presets for CUDA, which use the CUDA
 * runtime a user has installed (the presets' own jars carry only the JNI glue). This is independent of
 * {@code libadjoint_cuda.so}, which links its runtime statically: the two agree on what a machine has,
 * and when they do not, both reasons are worth printing.
 *
 * <pre>{@code
 * CudaRuntime.Probe p = CudaRuntime.probe();
 * System.out.println(p);   // "2 device(s): NVIDIA H100 80GB HBM3 (79.1 GiB free of 79.6 GiB), ..." or the reason
 * }</pre>
 */
public final class CudaRuntime {
  private CudaRuntime() {}

  /** One device as the runtime reports it. */
  public record DeviceInfo(int ordinal, String name, int major, int minor, long freeBytes, long totalBytes) {
    @Override
    public String toString() {
      return String.format(
          "%s (sm_%d%d, %.1f GiB free of %.1f GiB)", name, major, minor, freeBytes / 1073741824.0, totalBytes / 1073741824.0);
    }
  }

  /** The devices found, or why none could be asked for. */
  public record Probe(List<DeviceInfo> devices, int driverVersion, String failure) {
    @Override
    public String toString() {
      if (failure != null) return "CUDA runtime (JavaCPP presets): " + failure;
      StringBuilder sb = new StringBuilder("CUDA runtime (JavaCPP presets): driver " + driverVersion + ", " + devices.size() + " device(s)");
      for (DeviceInfo d : devices) sb.append("; ").append(d.ordinal()).append(": ").append(d);
      return sb.toString();
    }
  }

  /** Asks the installed CUDA runtime; never throws. */
  public static Probe probe() {
    try {
      Loader.load(cudart.class);
    } catch (Throwable t) {
      return new Probe(
          List.of(),
          0,
          "not usable: the presets' JNI glue needs an installed CUDA driver (libcuda.so.1) and runtime"
              + " (libcudart.so.13) on the library path (" + t.getClass().getSimpleName() + ": " + t.getMessage() + ")");
    }
    try {
      int[] driver = {0};
      cudart.cudaDriverGetVersion(driver);
      int[] count = {0};
      int rc = cudart.cudaGetDeviceCount(count);
      if (rc != 0) return new Probe(List.of(), driver[0], "cudaGetDeviceCount: " + cudart.cudaGetErrorString(rc).getString());
      List<DeviceInfo> devices = new ArrayList<>();
      for (int i = 0; i < count[0]; i++) {
        try (cudaDeviceProp prop = new cudaDeviceProp(); SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
          cudart.cudaGetDeviceProperties(prop, i);
          cudart.cudaSetDevice(i);
          cudart.cudaMemGetInfo(free, total);
          devices.add(new DeviceInfo(i, prop.name().getString(), prop.major(), prop.minor(), free.get(), total.get()));
        }
      }
      return new Probe(devices, driver[0], null);
    } catch (Throwable t) {
      return new Probe(List.of(), 0, "CUDA runtime query failed: " + t);
    }
  }
}
