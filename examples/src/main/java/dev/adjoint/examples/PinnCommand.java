package dev.adjoint.examples;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.LrSchedule;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./adjoint pinn}: a physics-informed network for the 2-D Poisson problem −Δu = 2π² sin(πx) sin(πy)
 * on the unit square with u = 0 on the boundary, whose solution is u = sin(πx) sin(πy). The loss uses
 * Δu from {@link Autodiff#laplacian} (one forward pass carrying value, gradient and Laplacian), so each
 * Adam step is one compiled graph of the forward Laplacian and its weight gradient. Prints the max error
 * against the exact solution on a grid and exits non-zero when it is above {@code --tol}.
 */
@Command(name = "pinn", mixinStandardHelpOptions = true, description = "2-D Poisson PINN (Laplacian in the loss); checks max error vs sin(pi x) sin(pi y).")
final class PinnCommand implements Callable<Integer> {
  @Option(names = "--steps", defaultValue = "2500", description = "Adam steps (default ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--points", defaultValue = "512", description = "interior collocation points (default ${DEFAULT-VALUE})")
  int points;

  @Option(names = "--width", defaultValue = "32", description = "hidden width of the 2-W-W-1 tanh MLP (default ${DEFAULT-VALUE})")
  int width;

  @Option(names = "--seed", defaultValue = "1", description = "seed of points and weights (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--tol", defaultValue = "0.05", description = "largest accepted max error (default ${DEFAULT-VALUE})")
  double tol;

  @Override
  public Integer call() {
    double err = run(steps, points, width, seed, true);
    System.out.printf("max |u - sin(pi x) sin(pi y)| on a 51 x 51 grid: %.3e (tolerance %.1e)%n", err, tol);
    return err <= tol ? 0 : 1;
  }

  /** Trains and returns the max error on a 51 × 51 grid of the unit square. */
  static double run(int steps, int points, int width, long seed, boolean progress) {
    if (steps < 1 || points < 1 || width < 1) throw new AdjointException("pinn: --steps, --points and --width must be >= 1");
    Random rnd = new Random(seed);
    float[] xi = new float[2 * points], rhs = new float[points];
    for (int i = 0; i < points; i++) {
      double x = rnd.nextDouble(), y = rnd.nextDouble();
      xi[2 * i] = (float) x;
      xi[2 * i + 1] = (float) y;
      rhs[i] = (float) (2 * Math.PI * Math.PI * Math.sin(Math.PI * x) * Math.sin(Math.PI * y));
    }
    int nb = Math.max(4, points / 4);
    float[] xb = new float[2 * nb];
    for (int i = 0; i < nb; i++) {
      double t = rnd.nextDouble();
      int side = i % 4;
      xb[2 * i] = (float) (side == 0 ? 0 : side == 1 ? 1 : t);
      xb[2 * i + 1] = (float) (side == 2 ? 0 : side == 3 ? 1 : t);
    }
    Tensor interior = Tensor.of(xi, points, 2), f = Tensor.of(rhs, points, 1), boundary = Tensor.of(xb, nb, 2);
    Sequential u = Mlp.builder(2).hidden(width, width).out(1).activation("tanh").seed(seed).build();
    Cell.Fn lap = Autodiff.laplacian(in -> u.call(in[0]));
    // residual of -Δu = f, and the boundary condition u = 0
    Cell loss = Cell.of(in -> Ops.add(
        Ops.mean(Ops.square(Ops.add(lap.apply(in[0]).asTensor(), in[1]))),
        Ops.mul(Ops.mean(Ops.square(u.call(in[2]).asTensor())), 100.0)));
    Adam adam = new Adam(u.trainableParams(), 1e-2);
    adam.schedule(LrSchedule.exponential(1e-2, Math.pow(0.01, 1.0 / steps)));
    Cell step = adam.step(loss);
    TrainCommand.Progress bar = progress ? new TrainCommand.Progress(steps) : null;
    long t0 = System.nanoTime();
    double last = Double.NaN;
    for (int i = 0; i < steps; i++) {
      try (Tensor l = step.apply(interior, f, boundary)) {
        last = l.item();
        if (bar != null) bar.update(i + 1, last);
      }
    }
    if (bar != null) {
      bar.done();
      System.out.printf("%d steps in %.1f s, final loss %.3e%n", steps, (System.nanoTime() - t0) / 1e9, last);
    }
    int g = 51;
    float[] grid = new float[2 * g * g];
    for (int i = 0; i < g; i++)
      for (int j = 0; j < g; j++) {
        grid[2 * (i * g + j)] = (float) i / (g - 1);
        grid[2 * (i * g + j) + 1] = (float) j / (g - 1);
      }
    float[] pred = u.apply(Tensor.of(grid, g * g, 2)).toFloatArray();
    double err = 0;
    for (int k = 0; k < g * g; k++) {
      double exact = Math.sin(Math.PI * grid[2 * k]) * Math.sin(Math.PI * grid[2 * k + 1]);
      err = Math.max(err, Math.abs(pred[k] - exact));
    }
    return err;
  }
}
