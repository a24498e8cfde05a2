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
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

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

  private Graph graph;
  private Session session;
  private TfPhysics.AdamStep step;
  private Operand<TFloat32> loss;

  @Setup
  public void setup() {
    TfPhysics.registerTanhGradGrad();
    PhysicsReference.Problem ref = PhysicsReference.forceFieldStep();
    graph = new Graph();
    Ops tf = Ops.create(graph);
    TfPhysics.Mlp e = new TfPhysics.Mlp(tf, ref);
    loss = TfPhysics.forceLoss(tf, e, ref);
    step = TfPhysics.adamStep(tf, e.params, loss, PhysicsReference.LR);
    String before = TfPhysics.processThreads();
    session = TfPhysics.session(graph, threads);
    TfPhysics.checkFirstStep("W7", session, e, loss, step, ref);
    System.err.println("# adjoint-bench peers: process threads " + before + " before the session, " + TfPhysics.processThreads()
        + " after its first runs");
  }

  @TearDown
  public void tearDown() {
    session.close();
    graph.close();
  }

  @Benchmark
  @Against("dev.adjoint.bench.ForceFieldStepBench.step")
  public float step() {
    return TfPhysics.run(session, step.update(), loss);
  }
}
