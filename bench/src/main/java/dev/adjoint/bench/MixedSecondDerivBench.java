package dev.adjoint.bench;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
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
 * W5: f(x, y) = (sin x - cos y, cos x - sin y) at x = y = pi, shape [1]. The inner
 * GradOperation(getAll, sensParam) with sens (1, 0) gives the gradient of the first component,
 * (cos x, sin y); the outer one, again with sens (1, 0), differentiates its first entry:
 * (d2f0/dx2, d2f0/dxdy) = (-sin x, 0). A handful of scalar ops: this is per-call overhead, held
 * against the 2 us target and an empty JNI round trip.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MixedSecondDerivBench {
  @Param({"1"})
  public int threads;

  /** (df0/dx, df0/dy): the inner gradient with the sens (1, 0) fixed inside the graph. */
  public static final class FirstComponentGrad extends Cell {
    private final Cell inner = GradOperation.builder().getAll(true).sensParam(true).build().of(new Tutorial.MimoNet());
    private final Tuple select;

    FirstComponentGrad(Tuple select) {
      this.select = select;
    }

    @Override
    public Value construct(Tensor... in) {
      return inner.call(in[0], in[1], select);
    }
  }

  private Tensor x, y, one, zero;
  private Tuple select;
  private Cell mixed;

  @Setup
  public void setup() {
    Threads.use(threads);
    x = Tensor.of(new float[] {(float) Math.PI});
    y = Tensor.of(new float[] {(float) Math.PI});
    one = Tensor.of(new float[] {1f});
    zero = Tensor.of(new float[] {0f});
    select = Tuple.of(one, zero);
    mixed = GradOperation.builder().getAll(true).sensParam(true).build().of(new FirstComponentGrad(select));
    Tuple r = mixed.call(x, y, select).asTuple();
    float dxx = r.tensor(0).toFloatArray()[0], dxy = r.tensor(1).toFloatArray()[0];
    Values.close(r);
    if (Math.abs(dxx + Math.sin((float) Math.PI)) > 1e-6 || Math.abs(dxy) > 1e-6)
      throw new IllegalStateException("W5 second derivatives are wrong: " + dxx + ", " + dxy);
  }

  @TearDown
  public void tearDown() {
    for (Tensor t : new Tensor[] {x, y, one, zero}) t.close();
  }

  @Benchmark
  @Against(value = "jniRoundTrip", targetMicros = 1.5)
  public void mixedSecond() {
    Values.close(mixed.call(x, y, select));
  }

  /** The floor of any call into the engine: one JNI call that does nothing but read an int. */
  @Benchmark
  public int jniRoundTrip() {
    return Adjoint.threads();
  }
}
