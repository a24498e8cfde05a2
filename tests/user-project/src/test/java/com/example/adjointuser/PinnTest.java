package com.example.adjointuser;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.LrSchedule;
import org.junit.jupiter.api.Test;

/**
 * A physics-informed network for u'' = -pi^2 sin(pi x) on [0, 1] with u(0) = u(1) = 0 (solution sin(pi x)),
 * as a new user writes it: an Mlp, u'' from Autodiff.grad twice inside the loss, Adam with a schedule.
 */
class PinnTest {
  @Test
  void solvesThePoissonProblemToMaxErrorBelow1e3() {
    int m = 64;
    double[] xc = new double[m], f = new double[m];
    for (int i = 0; i < m; i++) {
      xc[i] = (i + 0.5) / m;
      f[i] = -Math.PI * Math.PI * Math.sin(Math.PI * xc[i]);
    }
    Tensor x = Tensor.of(xc, m, 1), rhs = Tensor.of(f, m, 1), boundary = Tensor.of(new double[] {0, 1}, 2, 1);

    Sequential u = Mlp.builder(1).hidden(32, 32).out(1).activation("tanh").seed(5).dtype(DType.FLOAT64).build();
    // The collocation points are independent, so the gradient of sum(u) is u' at every point, and again u''.
    Cell.Fn du = Autodiff.grad(in -> Ops.sum(u.call(in[0]).asTensor()));
    Cell.Fn d2u = Autodiff.grad(in -> Ops.sum(du.apply(in).asTensor()));
    Cell loss = Cell.of(in -> Ops.add(
        Losses.mse(d2u.apply(in[0]).asTensor(), in[1]),                  // the equation inside
        Ops.mul(Ops.mean(Ops.square(u.call(in[2]).asTensor())), 10)));   // the boundary values

    int steps = 3000;
    try (Adam adam = new Adam(u.trainableParams(), 1e-2)) {
      adam.schedule(LrSchedule.exponential(1e-2, Math.pow(0.05, 1.0 / steps))); // 1e-2 down to 5e-4
      Cell step = adam.step(loss);
      for (int i = 0; i < steps; i++) step.apply(x, rhs, boundary).close();
    }

    double[] grid = new double[101];
    for (int i = 0; i <= 100; i++) grid[i] = i / 100.0;
    double[] pred;
    try (Tensor g = Tensor.of(grid, 101, 1); Tensor p = u.apply(g)) {
      pred = p.toDoubleArray();
    }
    double err = 0;
    for (int i = 0; i <= 100; i++) err = Math.max(err, Math.abs(pred[i] - Math.sin(Math.PI * grid[i])));
    System.out.println("PINN: max error on [0, 1] " + err);
    assertTrue(err < 1e-3, "PINN max error on [0, 1] " + err);
  }
}
