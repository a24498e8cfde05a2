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
 * W7 on TensorFlow Java, graph mode: the force-field step (96-128-128-1 tanh, batch 256) from Adjoint's
 * initial weights and data, F = −dE/dx by tf.gradients inside the loss (so the weight gradient is a second
 * derivative), the Adam update as raw ops in the same graph; one Session.run per step (see {@link TfPhysics}).
 * {@code @Setup} checks the loss and the gradient at the initial weights and the weights after one step
 * against Adjoint's, and throws if they disagree beyond float32 rounding.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TfForceFieldStepBench {
  @Param({"1"})
  public int threads;

  private TfPhysics.AdamTrainer trainer;

  @Setup
  public void setup() {
    trainer = new TfPhysics.AdamTrainer("W7", PhysicsReference.forceFieldStep(), threads, TfPhysics::forceLoss);
  }

  @TearDown
  public void tearDown() {
    trainer.close();
  }

  @Benchmark
  @Against("dev.adjoint.bench.ForceFieldStepBench.step")
  public float step() {
    return trainer.step();
  }
}
