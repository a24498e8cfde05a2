package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
import dev.adjoint.bench.PhysicsReference;
import java.util.ArrayList;
import java.util.List;
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
 * W8 on TensorFlow Java, graph mode: H v of the W6 PINN loss over all 8,577 weights, reverse over reverse
 * as TF users write it (g = tf.gradients(loss, W), then tf.gradients(Σᵢ⟨gᵢ, vᵢ⟩, W)), against the plain
 * gradient of the same loss; Adjoint's initial weights, points and direction v. Each call is one
 * Session.run fetching every entry (fetching fewer would let TF prune the rest). {@code @Setup} checks the
 * loss, the gradient and H v against Adjoint's (forward over reverse) and throws if they disagree beyond
 * float32 rounding.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TfHvpBench {
  @Param({"1"})
  public int threads;

  private Graph graph;
  private Session session;
  private List<Operand<TFloat32>> grad, hv;

  @Setup
  public void setup() {
    TfPhysics.registerTanhGradGrad();
    PhysicsReference.Problem ref = PhysicsReference.pinnHvp();
    graph = new Graph();
    Ops tf = Ops.create(graph);
    TfPhysics.Mlp u = new TfPhysics.Mlp(tf, ref);
    Operand<TFloat32> loss = TfPhysics.pinnLoss(tf, u, ref);
    grad = TfPhysics.grad(tf, loss, u.params);
    List<Operand<TFloat32>> terms = new ArrayList<>();
    for (int i = 0; i < grad.size(); i++) {
      Operand<TFloat32> v = TfPhysics.constant(tf, ref.v[i], i % 2 == 0 ? ref.sizes[i / 2] : 0);
      terms.add(TfPhysics.sum(tf, tf.math.mul(grad.get(i), v)));
    }
    hv = TfPhysics.grad(tf, tf.math.addN(terms), u.params);
    String before = TfPhysics.processThreads();
    session = TfPhysics.session(graph, threads);
    int n = 0;
    for (float[] p : TfPhysics.fetch(session, u.params)) n += p.length;
    if (n != 8577) throw new IllegalStateException("W8 expects 8577 weights, got " + n);
    TfPhysics.checkScalar("W8 loss at Adjoint's initial weights", TfPhysics.fetch(session, List.of(loss))[0][0], ref.loss,
        TfPhysics.LOSS_TOL);
    TfPhysics.checkArrays("W8 gradient", TfPhysics.fetch(session, grad), ref.gradient, TfPhysics.GRAD_TOL);
    TfPhysics.checkArrays("W8 H v", TfPhysics.fetch(session, hv), ref.hv, TfPhysics.HV_TOL);
    System.err.println("# adjoint-bench peers: process threads " + before + " before the session, "
        + TfPhysics.processThreads() + " after its first runs");
  }

  @TearDown
  public void tearDown() {
    session.close();
    graph.close();
  }

  @Benchmark
  @Against("dev.adjoint.bench.HvpBench.hvpOfLoss")
  public float hvpOfLoss() {
    return TfPhysics.fetch(session, hv)[0][0];
  }

  @Benchmark
  @Against("dev.adjoint.bench.HvpBench.gradient")
  public float gradient() {
    return TfPhysics.fetch(session, grad)[0][0];
  }
}
