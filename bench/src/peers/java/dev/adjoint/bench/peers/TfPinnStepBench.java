package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
import dev.adjoint.bench.PhysicsReference;
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
 * W6 on TensorFlow Java, graph mode: the PINN step (2-64-64-64-1 tanh, 4096 + 512 points) from Adjoint's
 * initial weights and points, Δu by nested tf.gradients (per input column: u_xx = ∂(Σ∂u/∂x)/∂x, likewise
 * y), the Adam update as raw ops in the same graph; one Session.run per step (see {@link TfPhysics}).
 * {@code @Setup} checks the loss and the gradient at the initial weights and the weights after one step
 * against Adjoint's, and throws if they disagree beyond float32 rounding.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TfPinnStepBench {
  @Param({"1"})
  public int threads;

  private TfPhysics.AdamTrainer trainer;

  @Setup
  public void setup() {
    trainer = new TfPhysics.AdamTrainer("W6", PhysicsReference.pinnStep(), threads, TfPhysics::pinnLoss);
  }

  @TearDown
  public void tearDown() {
    trainer.close();
  }

  @Benchmark
  @Against("dev.adjoint.bench.PinnStepBench.step")
  public float step() {
    return trainer.step();
  }
}
