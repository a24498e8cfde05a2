package dev.adjoint.bench.peers;

import java.lang.reflect.Method;
import java.util.Arrays;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The independent harness (issue 12's cross-check of the JMH figures): times W6-W8 on Adjoint, libtorch and
 * TensorFlow Java without JMH. It builds a workload class's state as the benchmark does (its {@code threads}
 * field, its {@code @Setup} methods, which also check the result against Adjoint's), runs the method for a
 * warm-up period, then times single calls with {@link System#nanoTime} and prints the median, the minimum and
 * the 90th percentile. One workload per JVM: {@code bench/harness.sh} runs each library's in turn, in one
 * window, and writes the table.
 *
 * <pre>java -cp benchmarks.jar dev.adjoint.bench.peers.Harness CLASS METHOD THREADS [WARMUP_S] [SAMPLES]</pre>
 *
 * CLASS is a simple name ({@code PinnStepBench}, {@code TorchHvpBench}, ...) from dev.adjoint.bench or its
 * peers package. Output: one line {@code harness CLASS.METHOD threads=T median=... min=... p90=... n=...} (ms).
 */
public final class Harness {
  private Harness() {}

  public static void main(String[] args) throws Throwable {
    if (args.length < 3) {
      System.err.println("usage: Harness CLASS METHOD THREADS [WARMUP_S] [SAMPLES]");
      System.exit(2);
    }
    String name = args[0], method = args[1];
    int threads = Integer.parseInt(args[2]);
    double warmupS = args.length > 3 ? Double.parseDouble(args[3]) : 3;
    int samples = args.length > 4 ? Integer.parseInt(args[4]) : 40;
    Class<?> cls;
    try {
      cls = Class.forName("dev.adjoint.bench." + name);
    } catch (ClassNotFoundException e) {
      cls = Class.forName("dev.adjoint.bench.peers." + name);
    }
    Object state = cls.getDeclaredConstructor().newInstance();
    cls.getField("threads").setInt(state, threads);
    for (Method m : cls.getMethods()) if (m.isAnnotationPresent(Setup.class)) m.invoke(state);
    Method run = cls.getMethod(method);
    try {
      long end = System.nanoTime() + (long) (warmupS * 1e9);
      int warm = 0;
      while (System.nanoTime() < end || warm < 3) {
        run.invoke(state);
        warm++;
      }
      double[] t = new double[samples];
      for (int i = 0; i < samples; i++) {
        long t0 = System.nanoTime();
        run.invoke(state);
        t[i] = (System.nanoTime() - t0) / 1e6;
      }
      Arrays.sort(t);
      System.out.printf(
          "harness %s.%s threads=%d median=%.4f min=%.4f p90=%.4f n=%d warmup=%d%n",
          name, method, threads, t[samples / 2], t[0], t[(int) Math.min(samples - 1, Math.round(samples * 0.9))], samples, warm);
    } finally {
      for (Method m : cls.getMethods()) if (m.isAnnotationPresent(TearDown.class)) m.invoke(state);
    }
  }
}
