package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.optim.Adam;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * W6's first-call latency (issue 12: below libtorch's first step): in a fresh JVM, with the model and
 * points already built and the engine loaded, the first Adam step of the PINN — tracing the loss, its
 * forward Laplacian, the gradient and the update, compiling the graph, and running it once. One shot
 * per fork, five forks; the libtorch peer ({@code TorchPinnFirstStepBench}) times its own first step
 * the same way (eager, so no compile, but its first autograd and kernel dispatch).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 5, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 0)
@Measurement(iterations = 1)
public class PinnFirstStepBench {
  @Param({"1"})
  public int threads;

  private Physics.Pinn pinn;

  @Setup(Level.Iteration)
  public void setup() {
    Threads.use(threads);
    pinn = new Physics.Pinn();
  }

  @TearDown(Level.Iteration)
  public void tearDown() {
    pinn.close();
  }

  @Benchmark
  public double firstStep() {
    Cell step = new Adam(pinn.u.trainableParams(), 1e-3).step(pinn.loss);
    double l = step.apply(pinn.interior, pinn.rhs, pinn.boundary).item();
    if (!Double.isFinite(l)) throw new IllegalStateException("W6 loss is " + l);
    return l;
  }
}
