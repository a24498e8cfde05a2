package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.optim.Adam;
import java.util.Random;

/**
 * W6–W8 exactly as Adjoint's benchmarks build them ({@link Physics}): the initial weights, the points and
 * Adjoint's own results, as plain float arrays, so that a peer builds the same problem from the same
 * numbers and checks, before it is timed, that it computes what Adjoint computes. Only in the peers
 * profile (package-private {@link Physics} is reached from here, not made public).
 *
 * <pre>{@code
 * PhysicsReference.Problem w6 = PhysicsReference.pinnStep();
 * // build the peer's model from w6.weights / w6.biases and its data from w6.interior ..., then
 * // compare its first loss with w6.loss and its weights after one Adam step with w6.afterStep
 * }</pre>
 */
public final class PhysicsReference {
  private PhysicsReference() {}

  /** The Adam learning rate of the W6 and W7 steps (PinnStepBench, ForceFieldStepBench). */
  public static final double LR = 1e-3;

  /**
   * One workload's problem and Adjoint's results. Weights are row-major {@code [in, out]} (Adjoint's
   * Linear computes {@code x @ W + b}); parameter lists are in {@code trainableParams()} order: W0, b0, W1,
   * b1, ...
   */
  public static final class Problem {
    /** Layer sizes, input first (2-64-64-64-1 for W6, 96-128-128-1 for W7). */
    public int[] sizes;
    /** Initial weights, layer i {@code [sizes[i], sizes[i + 1]]} row-major. */
    public float[][] weights;
    /** Initial biases, layer i {@code [sizes[i + 1]]}. */
    public float[][] biases;
    /** The data, row-major, in the order of Adjoint's loss arguments (W6: interior, rhs, boundary; W7: x, energy, force). */
    public float[][] data;
    /** The row count of each {@link #data} array (its columns are length / rows). */
    public int[] rows;
    /** Adjoint's loss at the initial weights. */
    public float loss;
    /** The parameters after one Adam step (lr {@link #LR}) from the initial weights, or null if not computed. */
    public float[][] afterStep;
    /** Adjoint's gradient of the loss at the initial weights, per parameter, or null if not computed. */
    public float[][] gradient;
    /** The HVP direction per parameter (HvpBench's: uniform ±1 from Random(3)), or null if not computed. */
    public float[][] v;
    /** Adjoint's H v at the initial weights, per parameter, or null if not computed. */
    public float[][] hv;

    /** Parameter i of {@code trainableParams()} order as a layer's weight (even i) or bias (odd i). */
    public float[] initialParam(int i) {
      return i % 2 == 0 ? weights[i / 2] : biases[i / 2];
    }
  }

  /** W6 (PinnStepBench): the problem, Adjoint's initial loss and gradient, and its weights after one Adam step. */
  public static Problem pinnStep() {
    Physics.Pinn pinn = new Physics.Pinn();
    try {
      Problem p = problem(pinn.u.trainableParams(), new int[] {2, Physics.PINN_WIDTH, Physics.PINN_WIDTH, Physics.PINN_WIDTH, 1},
          new Tensor[] {pinn.interior, pinn.rhs, pinn.boundary});
      p.loss = value(pinn.loss, pinn.interior, pinn.rhs, pinn.boundary);
      p.gradient = gradient(pinn.lossFn, pinn.u.trainableParams(), pinn.interior, pinn.rhs, pinn.boundary);
      p.afterStep = adamStep(pinn.u.trainableParams(), pinn.loss, p, pinn.interior, pinn.rhs, pinn.boundary);
      return p;
    } finally {
      pinn.close();
    }
  }

  /** W8 (HvpBench): the W6 problem, Adjoint's initial loss, its gradient, the direction v and H v. */
  public static Problem pinnHvp() {
    Physics.Pinn pinn = new Physics.Pinn();
    try {
      ParameterTuple params = pinn.u.trainableParams();
      Problem p = problem(params, new int[] {2, Physics.PINN_WIDTH, Physics.PINN_WIDTH, Physics.PINN_WIDTH, 1},
          new Tensor[] {pinn.interior, pinn.rhs, pinn.boundary});
      p.loss = value(pinn.loss, pinn.interior, pinn.rhs, pinn.boundary);
      p.gradient = gradient(pinn.lossFn, params, pinn.interior, pinn.rhs, pinn.boundary);
      Random rnd = new Random(3); // as HvpBench
      Tensor[] v = new Tensor[params.size()];
      for (int i = 0; i < v.length; i++) v[i] = Tensor.uniform(rnd, params.get(i).dtype(), -1, 1, params.get(i).shape());
      p.v = new float[v.length][];
      for (int i = 0; i < v.length; i++) p.v[i] = v[i].toFloatArray();
      Tuple hv = Autodiff.hvp(pinn.lossFn, params, v, pinn.interior, pinn.rhs, pinn.boundary);
      p.hv = arrays(hv);
      close(hv);
      for (Tensor t : v) t.close();
      return p;
    } finally {
      pinn.close();
    }
  }

  /** W7 (ForceFieldStepBench): the problem, Adjoint's initial loss and gradient, and its weights after one Adam step. */
  public static Problem forceFieldStep() {
    Physics.ForceField ff = new Physics.ForceField();
    try {
      Problem p = problem(ff.e.trainableParams(), new int[] {Physics.FF_IN, Physics.FF_WIDTH, Physics.FF_WIDTH, 1},
          new Tensor[] {ff.x, ff.energy, ff.force});
      p.loss = value(ff.loss, ff.x, ff.energy, ff.force);
      Cell loss = ff.loss;
      p.gradient = gradient(in -> loss.call(in), ff.e.trainableParams(), ff.x, ff.energy, ff.force);
      p.afterStep = adamStep(ff.e.trainableParams(), ff.loss, p, ff.x, ff.energy, ff.force);
      return p;
    } finally {
      ff.close();
    }
  }

  private static Problem problem(ParameterTuple params, int[] sizes, Tensor[] data) {
    int layers = sizes.length - 1;
    if (params.size() != 2 * layers)
      throw new IllegalStateException("expected " + 2 * layers + " parameters (W, b per layer), got " + params);
    Problem p = new Problem();
    p.sizes = sizes;
    p.weights = new float[layers][];
    p.biases = new float[layers][];
    for (int i = 0; i < layers; i++) {
      Parameter w = params.get(2 * i), b = params.get(2 * i + 1);
      if (w.rank() != 2 || w.shape()[0] != sizes[i] || w.shape()[1] != sizes[i + 1] || b.rank() != 1 || b.shape()[0] != sizes[i + 1])
        throw new IllegalStateException("layer " + i + ": expected W [" + sizes[i] + ", " + sizes[i + 1] + "] and b ["
            + sizes[i + 1] + "], got " + w.describe() + " and " + b.describe());
      p.weights[i] = w.toFloatArray();
      p.biases[i] = b.toFloatArray();
    }
    p.data = new float[data.length][];
    p.rows = new int[data.length];
    for (int i = 0; i < data.length; i++) {
      p.data[i] = data[i].toFloatArray();
      p.rows[i] = (int) data[i].shape()[0];
    }
    return p;
  }

  private static float[][] gradient(Cell.Fn loss, ParameterTuple params, Tensor... args) {
    Tuple vg = Autodiff.valueAndGrad(loss, params).apply(args).asTuple();
    float[][] g = arrays(vg.get(1).asTuple());
    close(vg);
    return g;
  }

  private static float value(Cell loss, Tensor... args) {
    try (Tensor l = loss.apply(args)) {
      return (float) l.item();
    }
  }

  /**
   * One Adam step as PinnStepBench and ForceFieldStepBench compile it; checks that it returned the initial
   * loss (to 1e-5 relative: the step is another compiled graph, so its sums may round differently).
   */
  private static float[][] adamStep(ParameterTuple params, Cell loss, Problem p, Tensor... args) {
    Adam adam = new Adam(params, LR);
    try (Tensor l = adam.step(loss).apply(args)) {
      if (!(Math.abs(l.item() - p.loss) <= 1e-5 * Math.abs(p.loss)))
        throw new IllegalStateException("Adjoint's Adam step returned loss " + l.item() + ", its loss cell " + p.loss);
    }
    float[][] out = new float[params.size()][];
    for (int i = 0; i < out.length; i++) out[i] = params.get(i).toFloatArray();
    adam.close();
    return out;
  }

  private static float[][] arrays(Tuple t) {
    float[][] out = new float[t.size()][];
    for (int i = 0; i < out.length; i++) out[i] = t.tensor(i).toFloatArray();
    return out;
  }

  private static void close(Tuple t) {
    for (Tensor leaf : t.leaves()) leaf.close();
  }
}
