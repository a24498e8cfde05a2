package dev.adjoint.examples;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code ./adjoint soak [firstOrderCalls] [secondOrderCalls]} (tests/soak.sh): long runs of first- and
 * second-order gradient calls, once closing every result and once leaving results to the GC, printing
 * resident memory (RSS) as it goes. A leak shows as RSS growing with the number of calls; the figures
 * are recorded in tests/RELIABILITY.md.
 */
public final class Soak {
  private Soak() {}

  static final class Net extends Cell {
    final Parameter w = parameter("w", Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f}, 4));

    @Override
    public Value construct(Tensor... in) {
      return Ops.sum(Ops.mul(Ops.sin(Ops.mul(in[0], w)), in[0]));
    }
  }

  public static void main(String[] args) throws Exception {
    long first = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000;
    long second = args.length > 2 ? Long.parseLong(args[2]) : 200_000;
    Net net = new Net();
    Cell grad = new GradOperation().of(net);
    Cell grad2 = new GradOperation().of(new GradOperation().of(net));
    Tensor x = Tensor.of(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 4);
    System.out.printf("soak: %,d first-order and %,d second-order calls; JVM %s, %d cores%n",
        first, second, System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
    boolean ok = true;
    ok &= phase("first order, results closed", grad, x, first, true);
    ok &= phase("first order, results left to the GC", grad, x, first, false);
    ok &= phase("second order, results closed", grad2, x, second, true);
    ok &= phase("second order, results left to the GC", grad2, x, second, false);
    System.out.printf("buffers freed by the GC: %,d; live executables: %d; native bytes now: %,d (peak %,d)%n",
        Adjoint.buffersFreedByGc(), Adjoint.liveExecutables(), Adjoint.nativeBytes(), Adjoint.peakNativeBytes());
    if (!ok) {
      System.out.println("soak: FAILED (RSS kept growing)");
      System.exit(1);
    }
    System.out.println("soak: OK");
  }

  /** Runs {@code calls} calls; RSS after the first tenth is the baseline, growth after it is reported. */
  static boolean phase(String name, Cell cell, Tensor x, long calls, boolean close) throws Exception {
    if (calls <= 0) return true;
    double expected = cell.apply(x).sum().item();
    long tenth = Math.max(1, calls / 10);
    long baseline = 0, maxRss = 0;
    long t0 = System.nanoTime();
    for (long i = 1; i <= calls; i++) {
      Tensor g = cell.apply(x);
      if (i % tenth == 0) {
        double v = g.sum().item();
        if (Math.abs(v - expected) > 1e-5 * Math.max(1, Math.abs(expected)))
          throw new IllegalStateException(name + ": call " + i + " returned " + v + ", expected " + expected);
        long rss = rssBytes();
        if (i == tenth) baseline = rss;
        maxRss = Math.max(maxRss, rss);
      }
      if (close) g.close();
    }
    double sec = (System.nanoTime() - t0) / 1e9;
    long end = rssBytes();
    long growth = end - baseline;
    System.out.printf("%-40s %,10d calls %6.1f s (%5.2f us/call)  RSS after 10%%: %6.1f MiB, max %6.1f MiB, end %6.1f MiB, growth %+6.1f MiB%n",
        name, calls, sec, sec * 1e6 / calls, baseline / 1048576.0, maxRss / 1048576.0, end / 1048576.0, growth / 1048576.0);
    // Bounded means: the last 90% of the calls grew RSS by less than 64 MiB (GC timing noise included).
    return growth < (64L << 20);
  }

  static long rssBytes() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status")))
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    return -1;
  }
}
