package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.Optimizer;
import dev.adjoint.optim.SGD;
import org.junit.jupiter.api.Test;

/** Optimizer steps compiled into one graph: values against hand-computed updates, and convergence. */
class OptimizerTest {
  /** loss = sum((w - target)^2) with w = [1, -2], target = [3, 0.5]. */
  static final class Quadratic extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {1, -2}, 2));

    @Override
    public Value construct(Tensor... in) {
      return Ops.sum(Ops.square(Ops.sub(w, in[0])));
    }
  }

  static final Tensor TARGET = Tensor.of(new double[] {3, 0.5}, 2);

  @Test
  void sgdStepMatchesHandComputedUpdate() {
    Quadratic q = new Quadratic();
    Cell step = new SGD(q.trainableParams(), 0.1).step(q);
    assertEquals(4 + 6.25, step.apply(TARGET).item(), 1e-12);
    // g = 2 (w - target) = [-4, -5]; w - 0.1 g = [1.4, -1.5]
    Check.close(q.w, 1e-12, 1.4, -1.5);
    long compilations = Adjoint.compilations();
    for (int i = 0; i < 200; i++) step.apply(TARGET).close();
    assertEquals(compilations, Adjoint.compilations());
    Check.close(q.w, 1e-9, 3, 0.5);
  }

  @Test
  void adamFirstStepsMatchTheFormulaAndConverge() {
    Quadratic q = new Quadratic();
    Adam adam = new Adam(q.trainableParams(), 0.1);
    Cell step = adam.step(q);
    step.apply(TARGET).close();
    // First Adam step moves each coordinate by lr * sign(g) (mhat / sqrt(vhat) = g / |g|).
    Check.close(q.w, 1e-7, 1.1, -1.9);
    assertEquals(1, adam.steps());
    // second step by hand
    double[] w = {1.1, -1.9}, tg = {3, 0.5}, m = new double[2], v = new double[2];
    double[] g1 = {2 * (1 - 3), 2 * (-2 - 0.5)};
    for (int i = 0; i < 2; i++) {
      m[i] = 0.1 * g1[i];
      v[i] = 0.001 * g1[i] * g1[i];
      double g2 = 2 * (w[i] - tg[i]);
      m[i] = 0.9 * m[i] + 0.1 * g2;
      v[i] = 0.999 * v[i] + 0.001 * g2 * g2;
      double mhat = m[i] / (1 - 0.81), vhat = v[i] / (1 - 0.999 * 0.999);
      w[i] -= 0.1 * mhat / (Math.sqrt(vhat) + 1e-8);
    }
    step.apply(TARGET).close();
    Check.close(q.w, 1e-9, w);
    for (int i = 0; i < 500; i++) step.apply(TARGET).close();
    double loss = step.apply(TARGET).item();
    assertTrue(loss < 1e-3, "Adam did not converge: loss " + loss);
  }

  /** An optimizer written as a user would write one, on the public API: SGD with lr 0.1. */
  static final class PlainSgd extends Optimizer {
    PlainSgd(ParameterTuple params) {
      super(params);
    }

    @Override
    protected void update(Tensor[] grads) {
      for (int i = 0; i < grads.length; i++) {
        Parameter p = params().get(i);
        Ops.assign(p, Ops.sub(p, Ops.mul(grads[i], 0.1)));
      }
    }
  }

  @Test
  void optimizerOnThePublicApiMatchesSgd() {
    Quadratic q = new Quadratic();
    Cell step = new PlainSgd(q.trainableParams()).step(q);
    assertEquals("PlainSgd.step(Quadratic)", step.name());
    assertEquals(4 + 6.25, step.apply(TARGET).item(), 1e-12);
    Check.close(q.w, 1e-12, 1.4, -1.5);
    AdjointException e =
        assertThrows(AdjointException.class, () -> new SGD(q.trainableParams(), 0.1).step(Cell.of(in -> Ops.square(Ops.mul(q.w, in[0])))).apply(TARGET));
    assertTrue(e.getMessage().contains("SGD: the loss must be a scalar"), e.getMessage());
  }

  @Test
  void assignOutsideATraceWritesAtOnce() {
    Parameter p = new Parameter("p", Tensor.of(new double[] {1, 2}, 2));
    Ops.assign(p, Tensor.of(new double[] {3, 4}, 2));
    Check.close(p, 1e-12, 3, 4);
    assertThrows(AdjointException.class, () -> Ops.assign(p, Tensor.of(new double[] {1}, 1)));
  }
}
