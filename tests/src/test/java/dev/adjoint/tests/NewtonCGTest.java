package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.optim.NewtonCG;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** NewtonCG on hvp: quadratic convergence on logistic regression, the analytic minimiser of Rosenbrock. */
class NewtonCGTest {
  /** mean softplus(−y x·w) + λ/2 |w|², labels from a noisy random teacher (fixed seed). */
  static Cell.Fn logistic(int n, int d, long seed) {
    Random r = new Random(seed);
    double[] xs = new double[n * d], ys = new double[n], teacher = new double[d];
    for (int j = 0; j < d; j++) teacher[j] = r.nextGaussian();
    for (int i = 0; i < n; i++) {
      double z = 0;
      for (int j = 0; j < d; j++) z += (xs[i * d + j] = r.nextGaussian()) * teacher[j];
      ys[i] = r.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1 : -1;
    }
    Tensor x = Tensor.of(xs, n, d), y = Tensor.of(ys, n, 1);
    return in -> Ops.add(Ops.mean(Ops.softplus(Ops.neg(Ops.mul(Ops.matmul(x, Ops.reshape(in[0], d, 1)), y)))),
        Ops.mul(Ops.sum(Ops.square(in[0])), 0.005));
  }

  @Test
  void quadraticOnLogisticRegression() {
    NewtonCG.Result r = NewtonCG.minimize(logistic(300, 10, 4), Tensor.of(new double[10], 10), 30, 1e-12);
    assertTrue(r.iterations() <= 10, r.gradNorms().toString());
    double q = NewtonCG.observedOrder(r.gradNorms(), 1e-13);
    assertTrue(q > 1.8, "observed order " + q + " in " + r.gradNorms());
    for (int k = 1; k < r.values().size(); k++) assertTrue(r.values().get(k) <= r.values().get(k - 1), "f must not increase");
  }

  /** 2-D Rosenbrock from (-1.2, 1): the minimiser (1, 1), where gradient descent is far from it after as many gradients. */
  @Test
  void rosenbrockMinimum() {
    Cell.Fn rosen = in -> {
      Tensor a = Ops.sum(Ops.mul(in[0], Tensor.of(new double[] {1, 0}, 2))), b = Ops.sum(Ops.mul(in[0], Tensor.of(new double[] {0, 1}, 2)));
      return Ops.add(Ops.mul(Ops.square(Ops.sub(b, Ops.square(a))), 100.0), Ops.square(Ops.sub(a, 1.0)));
    };
    NewtonCG.Result r = NewtonCG.minimize(rosen, Tensor.of(new double[] {-1.2, 1}, 2), 200, 1e-10);
    assertEquals(1, r.x()[0], 1e-8);
    assertEquals(1, r.x()[1], 1e-8);
    assertTrue(r.gradNorms().get(r.gradNorms().size() - 1) <= 1e-10);
  }

  @Test
  void badInput() {
    assertThrows(AdjointException.class, () -> NewtonCG.minimize(in -> Ops.sum(in[0]), Tensor.of(new float[] {1f}), 5, 0));
    assertThrows(AdjointException.class, () -> NewtonCG.observedOrder(java.util.List.of(1.0, 0.1), 0));
  }
}
