package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * W6's first step on libtorch, as {@code PinnFirstStepBench} times Adjoint's: in a fresh JVM with the
 * model and points built, one PINN step (loss with Δu by double backward, gradient, Adam). One shot per
 * fork, five forks.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(5)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
public class TorchPinnFirstStepBench {
  @Param({"1"})
  public int threads;

  /** The steady-state benchmark's state (model, Adam, points, step); only its first step is timed here. */
  private TorchPinnStepBench w6;

  @Setup(Level.Iteration)
  public void setup() {
    w6 = new TorchPinnStepBench();
    w6.threads = threads;
    w6.setup();
  }

  @Benchmark
  @Against("dev.adjoint.bench.PinnFirstStepBench.firstStep")
  public float firstStep() {
    return w6.step();
  }
}
