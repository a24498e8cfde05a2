package dev.adjoint.bench;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.Ops;
import dev.adjoint.optim.SGD;
import dev.adjoint.Tensor;
import dev.adjoint.examples.Train;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The GPU check kit's short benchmark (cuda-kernels/gpu-check): W1/W5 per-call latency, W2 matmul
 * gradient, W3 fused second derivative, W4 train step, the large-index check and the likely cliffs, on
 * CUDA device 0. Not JMH: the kit has minutes, and each figure is a best-of-k mean of timed loops that
 * end with a copy to the host (so every launched kernel has finished). Ideals measured in the same run
 * by the kit's native {@code adjoint_gpu_reference} (raw cuBLAS sgemm, device-to-device copy) are read
 * from the file named by {@code ADJOINT_GPU_REFERENCE} and printed as ratios.
 *
 * <p>Order: most value per second first, so a cut-off run still reports.
 */
public final class GpuBench {
  private GpuBench() {}

  static final Map<String, Double> REF = new HashMap<>();

  public static void main(String[] args) throws Exception {
    String reason = Adjoint.cudaUnavailableReason();
    if (reason != null) {
      System.out.println("gpu-bench: SKIPPED: " + reason);
      return;
    }
    String refFile = System.getenv("ADJOINT_GPU_REFERENCE");
    if (refFile != null && Files.exists(Path.of(refFile)))
      for (String line : Files.readAllLines(Path.of(refFile))) {
        String[] kv = line.trim().split("=");
        if (kv.length == 2) REF.put(kv[0].trim(), Double.parseDouble(kv[1].trim()));
      }
    System.out.println(Adjoint.info());
    Device gpu = Device.cuda(0);
    largeIndex(gpu);
    latency(gpu);
    for (int n : new int[] {1024, 4096, 8192}) matmulGrad(gpu, n);
    for (long n : new long[] {16L << 20, 256L << 20}) sinSecond(gpu, n);
    trainStep(gpu);
    cliffs(gpu);
    System.out.println("gpu-bench: done");
  }

  /** Mean ms per call of {@code body}, best of 3 loops of {@code iters} calls, each ending in a host copy. */
  static double time(int iters, java.util.function.Supplier<Tensor> body) {
    body.get().close(); // warm-up (compiles)
    double best = Double.MAX_VALUE;
    for (int rep = 0; rep < 3; rep++) {
      long t0 = System.nanoTime();
      Tensor last = null;
      for (int i = 0; i < iters; i++) {
        if (last != null) last.close();
        last = body.get();
      }
      last.sum().item(); // waits for the device
      last.close();
      best = Math.min(best, (System.nanoTime() - t0) / 1e6 / iters);
    }
    return best;
  }

  /** A device copy of {@code host}; the host tensor is closed. */
  static Tensor onDevice(Tensor host, Device gpu) {
    try (host) {
      return host.to(gpu);
    }
  }

  static void report(String line) {
    System.out.println(line);
    System.out.flush();
  }

  static void largeIndex(Device gpu) {
    long n = (1L << 31) + 5;
    try (Tensor host = Ops.fill(DType.FLOAT64, 1, n); Tensor ones = host.to(gpu)) {
      double s = Ops.sum(ones).item();
      report("large-index: sum of 2^31+5 float64 ones = " + (long) s + (s == 2147483653.0 ? " OK" : " WRONG (expected 2147483653)"));
    } catch (RuntimeException e) {
      report("large-index: FAILED: " + e.getMessage());
    }
  }

  static void latency(Device gpu) {
    Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}}).to(gpu);
    Tensor y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}}).to(gpu);
    Cell w1 = new GradOperation().of(Cell.of(in -> Ops.matmul(in[0], in[1])));
    double ms = time(2000, () -> w1.apply(x, y));
    report(String.format("W1 tutorial grad per call: %.1f us (target < 20 us)", ms * 1e3));
    Tensor p = Tensor.of(new double[] {Math.PI}, 1).to(gpu);
    Cell f = Cell.of(in -> Ops.sum(Ops.sub(Ops.sin(in[0]), Ops.cos(in[1]))));
    Cell dxy = new GradOperation().of(Cell.of(in -> new GradOperation().of(f).call(in).asTensor()));
    double ms5 = time(2000, () -> dxy.apply(p, p));
    report(String.format("W5 mixed second partial per call: %.1f us", ms5 * 1e3));
  }

  static void matmulGrad(Device gpu, int n) {
    Random r = new Random(n);
    Tensor a = Tensor.uniform(r, DType.FLOAT32, -1, 1, n, n).to(gpu);
    Tensor b = Tensor.uniform(r, DType.FLOAT32, -1, 1, n, n).to(gpu);
    Cell g = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.matmul(in[0], in[1])));
    int iters = n >= 8192 ? 5 : n >= 4096 ? 20 : 100;
    double ms = time(iters, () -> {
      var t = g.call(a, b).asTuple();
      t.tensor(1).close();
      return t.tensor(0);
    });
    double gflops = 2.0 * 2 * n * (double) n * n / (ms * 1e6); // two n^3 GEMMs (dA, dB); ones-sens fill is free
    Double ref = REF.get("sgemm_gflops_" + n);
    report(String.format("W2 matmul gradient n=%d: %.3f ms, %.0f GFLOP/s%s", n, ms, gflops,
        ref == null ? "" : String.format(", %.0f%% of raw cuBLAS sgemm (%.0f GFLOP/s; target >= 85%% at n >= 4096)", 100 * gflops / ref, ref)));
    a.close();
    b.close();
  }

  static void sinSecond(Device gpu, long n) {
    Tensor x = onDevice(Ops.fill(DType.FLOAT32, 0.5, n), gpu);
    Cell d2 = new GradOperation().of(new GradOperation().of(Cell.of(in -> Ops.sin(in[0]))));
    double ms = time(n > (64L << 20) ? 5 : 20, () -> d2.apply(x));
    double gbs = 2.0 * 4 * n / (ms * 1e6); // read x, write y
    Double ref = REF.get("copy_gbs_" + n);
    report(String.format("W3 fused second derivative, %dM floats: %.3f ms, %.0f GB/s%s", n >> 20, ms, gbs,
        ref == null ? "" : String.format(", %.0f%% of device-to-device copy (%.0f GB/s; target >= 80%%)", 100 * gbs / ref, ref)));
    x.close();
  }

  static void trainStep(Device gpu) {
    Random rnd = new Random(42);
    Train.Mlp net = new Train.Mlp(rnd);
    net.to(gpu);
    Cell step = new SGD(net.trainableParams(), 0.01).step(new Train.SquaredLoss(net));
    Tensor x = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, 128, 784).to(gpu);
    Tensor t = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, 128, 10).to(gpu);
    double ms = time(200, () -> step.apply(x, t));
    report(String.format("W4 train step (784-512-512-10, batch 128, SGD): %.3f ms", ms));
  }

  static void cliffs(Device gpu) {
    long n = 16L << 20;
    Tensor x = onDevice(Ops.fill(DType.FLOAT32, 0.25, n), gpu);
    Cell chain = Cell.of(in -> Ops.tanh(Ops.mul(Ops.exp(Ops.sin(Ops.cos(in[0]))), Ops.sqrt(Ops.square(in[0])))));
    double ms = time(20, () -> chain.apply(x));
    report(String.format("cliff: 6-instruction fused chain, 16M floats: %.3f ms, %.0f GB/s", ms, 8.0 * n / (ms * 1e6)));
    Tensor rows3 = onDevice(Ops.fill(DType.FLOAT32, 1, n, 3), gpu);
    double ms3 = time(20, () -> Ops.sum(rows3, false, -1));
    report(String.format("cliff: sum(axis=-1) of [16M, 3]: %.3f ms, %.0f GB/s", ms3, 16.0 * n / (ms3 * 1e6)));
    Tensor rows2 = onDevice(Ops.fill(DType.FLOAT32, 1, n, 2), gpu);
    double ms2 = time(20, () -> Ops.sum(rows2, false, 0));
    report(String.format("cliff: sum(axis=0) of [16M, 2]: %.3f ms, %.0f GB/s", ms2, 8.0 * n / (ms2 * 1e6)));
    x.close();
    rows3.close();
    rows2.close();
  }
}
