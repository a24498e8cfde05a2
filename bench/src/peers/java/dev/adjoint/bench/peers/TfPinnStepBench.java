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

  private Graph graph;
  private Session session;
  private TfPhysics.AdamStep step;
  private Operand<TFloat32> loss;

  @Setup
  public void setup() {
    TfPhysics.registerTanhGradGrad();
    PhysicsReference.Problem ref = PhysicsReference.pinnStep();
    graph = new Graph();
    Ops tf = Ops.create(graph);
    TfPhysics.Mlp u = new TfPhysics.Mlp(tf, ref);
    loss = TfPhysics.pinnLoss(tf, u, ref);
    step = TfPhysics.adamStep(tf, u.params, loss, PhysicsReference.LR);
    String before = TfPhysics.processThreads();
    session = TfPhysics.session(graph, threads);
    TfPhysics.checkFirstStep("W6", session, u, loss, step, ref);
    System.err.println("# adjoint-bench peers: process threads " + before + " before the session, " + TfPhysics.processThreads()
        + " after its first runs");
  }

  @TearDown
  public void tearDown() {
    session.close();
    graph.close();
  }

  @Benchmark
  @Against("dev.adjoint.bench.PinnStepBench.step")
  public float step() {
    return TfPhysics.run(session, step.update(), loss);
  }
}
