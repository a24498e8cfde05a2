package dev.adjoint.bench;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.examples.Tutorial;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * W1: the tutorial net (x * z) @ y, x 2x3, y 3x3, gradient w.r.t. x per call. The work is a few dozen
 * flops, so this measures the cost of a call: the Java side, one native run, the result's allocation
 * and close. Ideal: the absolute target of 2 us, and an empty JNI round trip measured alongside.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TutorialGradBench {
  @Param({"1"})
  public int threads;

  private Tensor x, y;
  private Cell grad;

  @Setup
  public void setup() {
    Threads.use(threads);
    x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
    y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});
    // Built once: a GradOperation cell compiles on its first call and caches the graph per signature.
    grad = new GradOperation().of(new Tutorial.Net());
    float[] g;
    try (Tensor dx = grad.call(x, y).asTensor()) {
      g = dx.toFloatArray();
    }
    // The tutorial's printed gradient, row 0: [4.5099998, 2.7, 3.6000001].
    if (Math.abs(g[0] - 4.51f) > 1e-4 || Math.abs(g[1] - 2.7f) > 1e-4)
      throw new IllegalStateException("W1 gradient is wrong: " + java.util.Arrays.toString(g));
  }

  @TearDown
  public void tearDown() {
    x.close();
    y.close();
  }

  @Benchmark
  @Against(value = "jniRoundTrip", targetMicros = 0.7)
  public void grad() {
    Values.close(grad.call(x, y));
  }

  /** The floor of any call into the engine: one JNI call that does nothing but read an int. */
  @Benchmark
  public int jniRoundTrip() {
    return Adjoint.threads();
  }
}
