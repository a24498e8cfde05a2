package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * W9: the k-th derivative with respect to the input of a 3-layer tanh MLP (1-64-64-1, 256 points,
 * u^(k)(x) by k nested grads of the sum), k = 1..6: {@code compile} measures tracing and compiling a
 * fresh cell (single shot: first-call latency), {@code run} one call of the compiled graph. Setup prints
 * the number of engine steps of the compiled graph, so the growth per order (polynomial, not
 * exponential, is the target) can be read next to the times.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss16m")
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class DerivativeOrderBench {
  @Param({"1", "2", "3", "4", "5", "6"})
  public int k;

  @Param({"1"})
  public int threads;

  private Sequential mlp;
  private Tensor x;
  private Cell compiled;

  @Setup
  public void setup() {
    Threads.use(threads);
    mlp = Mlp.builder(1).hidden(64, 64).out(1).activation("tanh").seed(42).build();
    x = Tensor.uniform(new java.util.Random(1), DType.FLOAT32, -1, 1, 256, 1);
    compiled = derivative();
    compiled.apply(x).close();
    String plan = compiled.explain(x);
    System.out.println("\n[W9] k=" + k + ": " + plan.lines().count() + " lines in the compiled plan");
  }

  /** u^(k): k nested gradients of the summed output with respect to the input. */
  Cell derivative() {
    Cell.Fn f = in -> mlp.call(in[0]);
    for (int i = 0; i < k; i++) {
      Cell.Fn prev = f;
      f = Autodiff.grad(in -> Ops.sum(prev.apply(in).asTensor()));
    }
    Cell.Fn g = f;
    return Cell.of(1, g);
  }

  @Benchmark
  public void compile() {
    Cell c = derivative();
    c.apply(x).close();
    c.close();
  }

  @Benchmark
  public void run() {
    compiled.apply(x).close();
  }
}
