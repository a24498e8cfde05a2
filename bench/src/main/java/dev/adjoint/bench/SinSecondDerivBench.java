package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
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
 * W3: 16M floats, d/dx and d2/dx2 of sum(sin x) by nested GradOperation. Both results are one
 * elementwise pass (cos x, -sin x) once the graph is simplified, so the ideal is one memory pass: read
 * 64 MiB, write 64 MiB. Two ideals are measured: {@code idealMemcpy} (JavaCPP Pointer.memcpy between two
 * native buffers, the hardware's bound; the ratios use it) and {@code copyEngine} (a compiled Adjoint
 * identity graph: the same pass plus the engine's per-call costs, e.g. allocating the result).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SinSecondDerivBench {
  static final int N = 16 << 20;
  static final long BYTES = (long) N * Float.BYTES;
  /** Read x once, write the result once. */
  static final long PASS = 2 * BYTES;

  @Param({"1"})
  public int threads;

  /** sum(sin x). */
  public static final class SinSum extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.sum(Ops.sin(in[0]));
    }
  }

  private Tensor x;
  private Cell first, second, identity;
  private BytePointer src, dst;

  @Setup
  public void setup() {
    Threads.use(threads);
    x = Tensor.uniform(new Random(3), DType.FLOAT32, -Math.PI, Math.PI, N);
    first = new GradOperation().of(new SinSum());
    second = new GradOperation().of(new GradOperation().of(new SinSum()));
    identity = Cell.of(in -> in[0]);
    float x0 = x.toFloatArray()[0];
    try (Tensor d1 = first.call(x).asTensor(); Tensor d2 = second.call(x).asTensor()) {
      float[] v1 = d1.toFloatArray(), v2 = d2.toFloatArray();
      if (Math.abs(v1[0] - Math.cos(x0)) > 1e-5 || Math.abs(v2[0] + Math.sin(x0)) > 1e-5)
        throw new IllegalStateException(
            "W3 derivatives are wrong at x = " + x0 + ": " + v1[0] + ", " + v2[0]);
    }
    Values.close(identity.call(x));

    src = new BytePointer(BYTES);
    dst = new BytePointer(BYTES);
    src.fill(1);
    dst.zero();
  }

  @TearDown
  public void tearDown() {
    x.close();
    src.close();
    dst.close();
  }

  @Benchmark
  @Against("idealMemcpy")
  @Traffic(bytes = PASS)
  public void secondOrder() {
    Values.close(second.call(x));
  }

  @Benchmark
  @Against("idealMemcpy")
  @Traffic(bytes = PASS)
  public void firstOrder() {
    Values.close(first.call(x));
  }

  /** A compiled identity: the engine copies its input into a fresh output. */
  @Benchmark
  @Against("idealMemcpy")
  @Traffic(bytes = PASS)
  public void copyEngine() {
    Values.close(identity.call(x));
  }

  @Benchmark
  @Traffic(bytes = PASS)
  public Pointer idealMemcpy() {
    return Pointer.memcpy(dst, src, BYTES);
  }
}
