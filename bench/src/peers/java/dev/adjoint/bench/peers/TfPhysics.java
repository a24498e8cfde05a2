package dev.adjoint.bench.peers;

import dev.adjoint.bench.PhysicsReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gradients;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.math.TanhGrad;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * The W6 PINN and W7 force-field workloads on TensorFlow Java (graph mode: one {@link Graph}, one
 * {@link Session}, gradients added to the graph with {@code tf.gradients}, i.e. {@code TF_AddGradients}), as
 * a TF user writes them, built from Adjoint's own initial weights and data ({@link PhysicsReference}).
 *
 * <ul>
 *   <li>Δu as in Raissi's PINN code: the points enter as two columns x, y [N, 1], u = MLP(concat(x, y)),
 *       (u_x, u_y) = gradients(Σu, [x, y]), u_xx = gradients(Σu_x, x), u_yy = gradients(Σu_y, y): three
 *       reverse passes, nested, the same count as libtorch's double backward.
 *   <li>Every gradient gets an explicit seed (a constant 1): the default seed is OnesLike(y), which has no
 *       C++ gradient, so a gradient of a gradient would fail on it (TF Python marks it non-differentiable).
 *   <li>TF's C++ gradient registry has no gradient for TanhGrad (the gradient of tanh), which any second
 *       derivative through tanh needs; {@link #registerTanhGradGrad} registers it from Java
 *       ({@code TensorFlow.registerCustomGradient}), with TF Python's formula.
 *   <li>Adam written with raw ops, the formula of {@code dev.adjoint.optim.Adam}: m ← β₁m + (1 − β₁)g,
 *       v ← β₂v + (1 − β₂)g², p ← p − lr · (m / c₁) / (√(v / c₂) + ε), c = 1 − βᵗ, t a variable. Every
 *       assignment waits for every new value and the loss (control dependencies), so no read of a variable
 *       sees a half-applied step.
 * </ul>
 */
final class TfPhysics {
  private TfPhysics() {}

  private static boolean registered;

  /**
   * Registers the gradient of TanhGrad(y, dy) = dy (1 − y²) once per JVM: ∂/∂y = −2 g dy y, ∂/∂dy =
   * TanhGrad(y, g) (TF Python's _TanhGradGrad). Throws if TF refuses it other than because one exists.
   */
  @SuppressWarnings("unchecked")
  static synchronized void registerTanhGradGrad() {
    if (registered) return;
    boolean ok = TensorFlow.registerCustomGradient(TanhGrad.Inputs.class, (tf, op, grads) -> {
      Operand<TFloat32> g = (Operand<TFloat32>) grads.get(0);
      Operand<TFloat32> y = (Operand<TFloat32>) op.y, dy = (Operand<TFloat32>) op.dy;
      return Arrays.asList(tf.math.mul(tf.math.mul(g, tf.constant(-2f)), tf.math.mul(dy, y)), tf.math.tanhGrad(y, g));
    });
    if (!ok) System.err.println("# adjoint-bench peers: TF already has a TanhGrad gradient; using TF's");
    registered = true;
  }

  /** A session on {@code g} whose intra- and inter-op thread pools both have {@code threads} threads. */
  static Session session(Graph g, int threads) {
    ConfigProto config = ConfigProto.newBuilder()
        .setIntraOpParallelismThreads(threads)
        .setInterOpParallelismThreads(threads)
        .build();
    System.err.println("# adjoint-bench peers: TensorFlow " + TensorFlow.version() + ", intra-op threads "
        + config.getIntraOpParallelismThreads() + ", inter-op threads " + config.getInterOpParallelismThreads());
    return new Session(g, config);
  }

  /** The OS threads of this process now (Linux /proc), to show what a session's pools added. */
  static String processThreads() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status")))
        if (line.startsWith("Threads:")) return line.substring(8).trim();
    } catch (Exception e) {
      // not Linux: nothing to show
    }
    return "?";
  }

  /** A float32 constant of shape [rows, data.length / rows] (or a vector when rows is 0), row-major. */
  static Operand<TFloat32> constant(Ops tf, float[] data, int rows) {
    Shape shape = rows == 0 ? Shape.of(data.length) : Shape.of(rows, data.length / rows);
    return tf.constant(shape, DataBuffers.of(data, true, false));
  }

  /** Column {@code c} of a row-major [rows, cols] array, as a [rows, 1] constant. */
  static Operand<TFloat32> column(Ops tf, float[] data, int rows, int c) {
    int cols = data.length / rows;
    float[] out = new float[rows];
    for (int i = 0; i < rows; i++) out[i] = data[i * cols + c];
    return constant(tf, out, rows);
  }

  /** The sum of all elements of a rank-1 or rank-2 operand. */
  static Operand<TFloat32> sum(Ops tf, Operand<TFloat32> t) {
    return tf.reduceSum(t, tf.constant(t.shape().numDimensions() == 1 ? new int[] {0} : new int[] {0, 1}));
  }

  /** The mean of all elements of a rank-2 operand. */
  static Operand<TFloat32> mean(Ops tf, Operand<TFloat32> t) {
    return tf.math.mean(t, tf.constant(new int[] {0, 1}));
  }

  /** tf.gradients(y, xs) with seed 1 (y a scalar). */
  @SuppressWarnings("unchecked")
  static List<Operand<TFloat32>> grad(Ops tf, Operand<TFloat32> y, List<? extends Operand<TFloat32>> xs) {
    Gradients g = tf.gradients(y, xs, Gradients.dx(List.of(tf.constant(1f))));
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) out.add((Operand<TFloat32>) (Operand<?>) g.dy(i));
    return out;
  }

  /** A tanh MLP whose weights and biases are variables initialised with Adjoint's values. */
  static final class Mlp {
    final List<Variable<TFloat32>> params = new ArrayList<>(); // W0, b0, W1, b1, ...
    private final Ops tf;

    Mlp(Ops tf, PhysicsReference.Problem p) {
      this.tf = tf;
      for (int i = 0; i < p.weights.length; i++) {
        params.add(tf.variable(constant(tf, p.weights[i], p.sizes[i])));
        params.add(tf.variable(constant(tf, p.biases[i], 0)));
      }
    }

    Operand<TFloat32> apply(Operand<TFloat32> x) {
      Operand<TFloat32> h = x;
      int layers = params.size() / 2;
      for (int i = 0; i < layers; i++) {
        h = tf.math.add(tf.linalg.matMul(h, params.get(2 * i)), params.get(2 * i + 1));
        if (i < layers - 1) h = tf.math.tanh(h);
      }
      return h;
    }
  }

  /** W6's loss mean((u_xx + u_yy + f)²) + mean(u_b²) on x, y [N, 1], f [N, 1] and the boundary [B, 2]. */
  static Operand<TFloat32> pinnLoss(Ops tf, Mlp u, Operand<TFloat32> x, Operand<TFloat32> y, Operand<TFloat32> rhs,
      Operand<TFloat32> boundary) {
    Operand<TFloat32> out = u.apply(tf.concat(List.of(x, y), tf.constant(1)));
    List<Operand<TFloat32>> g = grad(tf, sum(tf, out), List.of(x, y));
    Operand<TFloat32> uxx = grad(tf, sum(tf, g.get(0)), List.of(x)).get(0);
    Operand<TFloat32> uyy = grad(tf, sum(tf, g.get(1)), List.of(y)).get(0);
    Operand<TFloat32> residual = mean(tf, tf.math.square(tf.math.add(tf.math.add(uxx, uyy), rhs)));
    return tf.math.add(residual, mean(tf, tf.math.square(u.apply(boundary))));
  }

  /** W6's graph on Adjoint's problem: the interior split into x and y columns, then {@link #pinnLoss}. */
  static Operand<TFloat32> pinnLoss(Ops tf, Mlp u, PhysicsReference.Problem p) {
    int n = p.rows[0];
    return pinnLoss(tf, u, column(tf, p.data[0], n, 0), column(tf, p.data[0], n, 1), constant(tf, p.data[1], p.rows[1]),
        constant(tf, p.data[2], p.rows[2]));
  }

  /** W7's loss mean((E − e)²) + mean((F − f)²) with F = −dE/dx, on Adjoint's problem. */
  static Operand<TFloat32> forceLoss(Ops tf, Mlp e, PhysicsReference.Problem p) {
    Operand<TFloat32> x = constant(tf, p.data[0], p.rows[0]);
    Operand<TFloat32> energy = constant(tf, p.data[1], p.rows[1]), force = constant(tf, p.data[2], p.rows[2]);
    Operand<TFloat32> out = e.apply(x);
    Operand<TFloat32> dEdx = grad(tf, sum(tf, out), List.of(x)).get(0);
    return tf.math.add(mean(tf, tf.math.square(tf.math.sub(out, energy))), mean(tf, tf.math.square(tf.math.add(dEdx, force))));
  }

  /** An Adam step in the graph: {@code update} runs it (one target), {@code grads} are the gradients it uses. */
  record AdamStep(Op update, List<Operand<TFloat32>> grads) {}

  /**
   * The ops of one Adam step (β 0.9, 0.999, ε 1e-8) of {@code params} on {@code loss}: a single target that
   * runs every assignment, each after all new values and the loss are computed.
   */
  static AdamStep adamStep(Ops tf, List<Variable<TFloat32>> params, Operand<TFloat32> loss, double lr) {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    List<Operand<TFloat32>> g = grad(tf, loss, params);
    Variable<TFloat32> t = tf.variable(tf.constant(0f));
    Operand<TFloat32> t1 = tf.math.add(t, tf.constant(1f));
    Operand<TFloat32> c1 = tf.math.sub(tf.constant(1f), tf.math.pow(tf.constant((float) beta1), t1));
    Operand<TFloat32> c2 = tf.math.sub(tf.constant(1f), tf.math.pow(tf.constant((float) beta2), t1));
    List<Op> values = new ArrayList<>(List.of(t1, loss));
    List<Variable<TFloat32>> targets = new ArrayList<>(List.of(t));
    List<Operand<TFloat32>> news = new ArrayList<>(List.of(t1));
    for (int i = 0; i < params.size(); i++) {
      Variable<TFloat32> p = params.get(i);
      Variable<TFloat32> m = tf.variable(tf.zeros(tf.constant(p.shape()), TFloat32.class));
      Variable<TFloat32> v = tf.variable(tf.zeros(tf.constant(p.shape()), TFloat32.class));
      Operand<TFloat32> gi = g.get(i);
      Operand<TFloat32> m1 = tf.math.add(tf.math.mul(m, tf.constant((float) beta1)), tf.math.mul(gi, tf.constant((float) (1 - beta1))));
      Operand<TFloat32> v1 = tf.math.add(tf.math.mul(v, tf.constant((float) beta2)),
          tf.math.mul(tf.math.square(gi), tf.constant((float) (1 - beta2))));
      Operand<TFloat32> step = tf.math.div(tf.math.div(m1, c1), tf.math.add(tf.math.sqrt(tf.math.div(v1, c2)), tf.constant((float) eps)));
      Operand<TFloat32> p1 = tf.math.sub(p, tf.math.mul(step, tf.constant((float) lr)));
      values.addAll(List.of(m1, v1, p1));
      targets.addAll(List.of(m, v, p));
      news.addAll(List.of(m1, v1, p1));
    }
    Ops after = tf.withControlDependencies(values);
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) assigns.add(after.assign(targets.get(i), news.get(i)));
    return new AdamStep(tf.withControlDependencies(assigns).noOp(), g);
  }

  /** The values of {@code outputs} in one run of {@code s}, each as a flat float array. */
  static float[][] fetch(Session s, List<? extends Operand<TFloat32>> outputs) {
    Session.Runner r = s.runner();
    for (Operand<TFloat32> o : outputs) r.fetch(o);
    try (Result res = r.run()) {
      float[][] out = new float[outputs.size()][];
      for (int i = 0; i < out.length; i++) {
        TFloat32 t = (TFloat32) res.get(i);
        out[i] = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(out[i], false, false));
      }
      return out;
    }
  }

  /** The scalar {@code loss} after running {@code target} in the same run. */
  static float run(Session s, Op target, Operand<TFloat32> loss) {
    try (Result res = s.runner().addTarget(target).fetch(loss).run()) {
      return ((TFloat32) res.get(0)).getFloat();
    }
  }

  /**
   * Relative tolerance of the loss: a mean over 4096 points summed in another order rounds to about
   * √4096 · 2⁻²⁴ ≈ 8e-6 (typical); a wrong loss is off by far more. Measured: 0 to 8e-8.
   */
  static final double LOSS_TOL = 1e-5;
  /** Relative tolerance (max-norm over all parameters) of gradients. Measured: 2e-7. */
  static final double GRAD_TOL = 1e-5;
  /** Relative tolerance of H v: Adjoint's is forward over reverse, TF's reverse over reverse. Measured: 3e-6. */
  static final double HV_TOL = 1e-4;

  /**
   * The setup check of a step benchmark, all at Adjoint's initial weights: the loss and the gradient (one run
   * without the update) against Adjoint's; then one step, whose loss must be the same, and the weights after
   * it against Adam's formula (in double, here) applied to TF's own gradient, to float32 rounding of the
   * weights; and against Adjoint's weights after its step, to 1 % of the learning rate: on the first step
   * Adam moves each weight by about lr · g / (|g| + ε), so a weight whose gradient is near ε (where the two
   * gradients' rounding differs relatively most) may differ by a fraction of lr even when both are right.
   */
  /**
   * The graph, session and Adam step of a step benchmark (W6, W7): the model from {@code ref}'s weights, its
   * loss, the update as raw ops, one session on {@code threads} intra- and inter-op threads, and the first
   * step checked against Adjoint's ({@link #checkFirstStep}).
   */
  static final class AdamTrainer implements AutoCloseable {
    private final Graph graph = new Graph();
    private final Session session;
    private final AdamStep step;
    private final Operand<TFloat32> loss;

    /** A loss of the model on the problem's data: {@link #pinnLoss} or {@link #forceLoss}. */
    interface Loss {
      Operand<TFloat32> of(Ops tf, Mlp model, PhysicsReference.Problem ref);
    }

    AdamTrainer(String workload, PhysicsReference.Problem ref, int threads, Loss lossOf) {
      registerTanhGradGrad();
      Ops tf = Ops.create(graph);
      Mlp model = new Mlp(tf, ref);
      loss = lossOf.of(tf, model, ref);
      step = adamStep(tf, model.params, loss, PhysicsReference.LR);
      String before = processThreads();
      session = session(graph, threads);
      checkFirstStep(workload, session, model, loss, step, ref);
      System.err.println("# adjoint-bench peers: process threads " + before + " before the session, " + processThreads()
          + " after its first runs");
    }

    /** One training step; returns the loss before it. */
    float step() {
      return run(session, step.update(), loss);
    }

    @Override
    public void close() {
      session.close();
      graph.close();
    }
  }

  static void checkFirstStep(String w, Session s, Mlp model, Operand<TFloat32> loss, AdamStep step, PhysicsReference.Problem ref) {
    List<Operand<TFloat32>> outs = new ArrayList<>(List.of(loss));
    outs.addAll(step.grads());
    float[][] got = fetch(s, outs);
    float[][] g = Arrays.copyOfRange(got, 1, got.length);
    checkScalar(w + " loss at Adjoint's initial weights", got[0][0], ref.loss, LOSS_TOL);
    checkArrays(w + " gradient at Adjoint's initial weights", g, ref.gradient, GRAD_TOL);
    float first = run(s, step.update(), loss);
    if (first != got[0][0]) throw new IllegalStateException(w + ": the step's loss " + first + " is not the loss " + got[0][0]);
    float[][] after = fetch(s, model.params);
    float[][] expected = new float[g.length][];
    for (int i = 0; i < g.length; i++) {
      float[] p0 = ref.initialParam(i);
      expected[i] = new float[p0.length];
      for (int j = 0; j < p0.length; j++) { // t = 1, m = v = 0 before
        double m = (1 - 0.9) * g[i][j], v = (1 - 0.999) * g[i][j] * g[i][j];
        expected[i][j] = (float) (p0[j] - PhysicsReference.LR * (m / (1 - 0.9)) / (Math.sqrt(v / (1 - 0.999)) + 1e-8));
      }
    }
    checkArrays(w + " weights after one step", after, expected, "Adam formula on TF's gradient", 1e-6);
    double err = 0;
    for (int i = 0; i < after.length; i++)
      for (int j = 0; j < after[i].length; j++) err = Math.max(err, Math.abs((double) after[i][j] - ref.afterStep[i][j]));
    System.err.printf("# adjoint-bench peers: %s weights after one step: max |TF - Adjoint| = %.2g lr (limit 0.01 lr)%n", w,
        err / PhysicsReference.LR);
    if (!(err <= 0.01 * PhysicsReference.LR))
      throw new IllegalStateException(w + ": weights after one Adam step differ from Adjoint's by " + err + " (> 0.01 lr)");
  }

  /** Throws unless |tf − adjoint| ≤ rel·|adjoint|. */
  static void checkScalar(String what, float tf, float adjoint, double rel) {
    double err = Math.abs((double) tf - adjoint);
    System.err.printf("# adjoint-bench peers: %s: TF %.9g, Adjoint %.9g, relative difference %.2g (limit %.1g)%n", what, tf,
        adjoint, err / Math.abs(adjoint), rel);
    if (!(err <= rel * Math.abs(adjoint)))
      throw new IllegalStateException(what + ": TF gives " + tf + ", Adjoint " + adjoint + " (relative difference "
          + err / Math.abs(adjoint) + " > " + rel + ")");
  }

  /** Throws unless max|tf − adjoint| ≤ rel·max|adjoint| over all arrays (one relative error for the whole set). */
  static void checkArrays(String what, float[][] tf, float[][] adjoint, double rel) {
    checkArrays(what, tf, adjoint, "Adjoint", rel);
  }

  /** As {@link #checkArrays(String, float[][], float[][], double)}, the reference named {@code refName}. */
  static void checkArrays(String what, float[][] tf, float[][] adjoint, String refName, double rel) {
    double err = 0, scale = 0;
    for (int i = 0; i < adjoint.length; i++) {
      if (tf[i].length != adjoint[i].length)
        throw new IllegalStateException(what + "[" + i + "]: TF has " + tf[i].length + " values, Adjoint " + adjoint[i].length);
      for (int j = 0; j < adjoint[i].length; j++) {
        err = Math.max(err, Math.abs((double) tf[i][j] - adjoint[i][j]));
        scale = Math.max(scale, Math.abs(adjoint[i][j]));
      }
    }
    System.err.printf("# adjoint-bench peers: %s: max |TF - %s| / max |%s| = %.2g (limit %.1g)%n", what, refName, refName,
        err / scale, rel);
    if (!(err <= rel * scale))
      throw new IllegalStateException(what + ": TF and " + refName + " differ by " + err + " (max |" + refName + "| " + scale
          + ", relative " + err / scale + " > " + rel + ")");
  }
}
