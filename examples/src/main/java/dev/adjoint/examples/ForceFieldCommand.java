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
 * {@code ./adjoint forcefield}: a machine-learned potential. Lennard-Jones clusters (ε = σ = 1) of
 * {@code --atoms} atoms are generated on the fly around a compact configuration, with their energies and
 * analytic forces. The model is E(x) = MLP(1/r_ij over all pairs), the pair distances computed in the
 * graph from the coordinates, so F = −∂E/∂x is {@link Autodiff#grad} of the model with respect to its
 * input, and the loss on E and F is differentiated again with respect to the weights (the input–weight
 * cross derivative) inside each compiled Adam step. Prints the force MAE on held-out configurations
 * against the mean force magnitude and exits non-zero when their ratio is above {@code --tol}.
 */
@Command(name = "forcefield", mixinStandardHelpOptions = true, description = "MLP potential trained on Lennard-Jones energies and forces; checks held-out force MAE.")
final class ForceFieldCommand implements Callable<Integer> {
  @Option(names = "--atoms", defaultValue = "4", description = "atoms per cluster (default ${DEFAULT-VALUE})")
  int atoms;

  @Option(names = "--steps", defaultValue = "1500", description = "Adam steps (default ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--batch", defaultValue = "128", description = "configurations per step, fresh every step (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--seed", defaultValue = "1", description = "seed of data and weights (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--tol", defaultValue = "0.1", description = "largest accepted force MAE / mean |F| (default ${DEFAULT-VALUE})")
  double tol;

  @Override
  public Integer call() {
    double[] r = run(atoms, steps, batch, seed, true);
    System.out.printf("held-out force MAE %.4f, mean |F| %.4f, ratio %.3f (tolerance %.2f); energy MAE %.4f%n", r[0], r[1], r[0] / r[1], tol, r[2]);
    return r[0] / r[1] <= tol ? 0 : 1;
  }

  /** Lennard-Jones clusters: coordinates [B, 3M], energies [B, 1], forces [B, 3M], float64. */
  record Clusters(double[] x, double[] e, double[] f, int count, int atoms) {
    Tensor xs() {
      return Tensor.of(x, count, 3L * atoms);
    }

    Tensor es() {
      return Tensor.of(e, count, 1);
    }

    Tensor fs() {
      return Tensor.of(f, count, 3L * atoms);
    }
  }

  /**
   * {@code count} configurations: the atoms of a compact reference cluster (on a cubic lattice of
   * spacing 2^(1/6), the pair minimum) displaced by Gaussian noise of 0.04, with exact LJ energy and forces.
   */
  static Clusters generate(int atoms, int count, Random rnd) {
    double a = Math.pow(2, 1.0 / 6);
    double[] ref = new double[3 * atoms];
    for (int i = 0; i < atoms; i++) {
      ref[3 * i] = a * (i & 1);
      ref[3 * i + 1] = a * ((i >> 1) & 1);
      ref[3 * i + 2] = a * ((i >> 2) & 1) + a * (i >> 3);
    }
    double[] x = new double[count * 3 * atoms], e = new double[count], f = new double[count * 3 * atoms];
    for (int b = 0; b < count; b++) {
      int o = b * 3 * atoms;
      for (int k = 0; k < 3 * atoms; k++) x[o + k] = ref[k] + 0.04 * rnd.nextGaussian();
      for (int i = 0; i < atoms; i++)
        for (int j = i + 1; j < atoms; j++) {
          double dx = x[o + 3 * i] - x[o + 3 * j], dy = x[o + 3 * i + 1] - x[o + 3 * j + 1], dz = x[o + 3 * i + 2] - x[o + 3 * j + 2];
          double r2 = dx * dx + dy * dy + dz * dz, s6 = 1 / (r2 * r2 * r2), s12 = s6 * s6;
          e[b] += 4 * (s12 - s6);
          double c = 24 * (2 * s12 - s6) / r2; // F_i = c (x_i - x_j)
          f[o + 3 * i] += c * dx;
          f[o + 3 * i + 1] += c * dy;
          f[o + 3 * i + 2] += c * dz;
          f[o + 3 * j] -= c * dx;
          f[o + 3 * j + 1] -= c * dy;
          f[o + 3 * j + 2] -= c * dz;
        }
    }
    return new Clusters(x, e, f, count, atoms);
  }

  /**
   * The pair differences as one GEMM: x [B, 3M] @ P [3M, 3·pairs] gives x_i − x_j for every pair (i, j),
   * coordinate by coordinate (P = kron(pair incidence, I₃)).
   */
  static Tensor pairDifferences(int atoms) {
    int p = atoms * (atoms - 1) / 2, k = 0;
    double[] m = new double[3 * atoms * 3 * p];
    for (int i = 0; i < atoms; i++)
      for (int j = i + 1; j < atoms; j++, k++)
        for (int a = 0; a < 3; a++) {
          m[(3 * i + a) * 3 * p + 3 * k + a] = 1;
          m[(3 * j + a) * 3 * p + 3 * k + a] = -1;
        }
    return Tensor.of(m, 3L * atoms, 3L * p);
  }

  /**
   * The model: E = MLP((1/r_ij − c) / s), x [B, 3M] to E [B, 1]; c and s standardise the inverse
   * distances (they vary by a few percent around the reference, too little for tanh units unscaled).
   */
  static Cell.Fn energy(Sequential mlp, int atoms, double c, double s) {
    Tensor p = pairDifferences(atoms);
    int pairs = atoms * (atoms - 1) / 2;
    return in -> {
      Tensor diff = Ops.reshape(Ops.matmul(in[0], p), -1, pairs, 3);
      Tensor inv = Ops.div(Ops.fill(DType.FLOAT64, 1, 1), Ops.sqrt(Ops.sum(Ops.square(diff), false, 2)));
      return mlp.call(Ops.mul(Ops.sub(inv, c), 1 / s));
    };
  }

  /** Mean and standard deviation of the inverse pair distances of {@code c}. */
  static double[] inverseDistanceStats(Clusters c) {
    double sum = 0, sq = 0;
    long n = 0;
    int m = c.atoms();
    for (int b = 0; b < c.count(); b++)
      for (int i = 0; i < m; i++)
        for (int j = i + 1; j < m; j++) {
          double r2 = 0;
          for (int a = 0; a < 3; a++) {
            double d = c.x()[b * 3 * m + 3 * i + a] - c.x()[b * 3 * m + 3 * j + a];
            r2 += d * d;
          }
          double v = 1 / Math.sqrt(r2);
          sum += v;
          sq += v * v;
          n++;
        }
    double mean = sum / n;
    return new double[] {mean, Math.sqrt(Math.max(sq / n - mean * mean, 1e-12))};
  }

  /** Trains; returns {held-out force MAE, mean |F| there, energy MAE}. */
  static double[] run(int atoms, int steps, int batch, long seed, boolean progress) {
    if (atoms < 2 || atoms > 16) throw new AdjointException("forcefield: --atoms must be in [2, 16], got " + atoms);
    if (steps < 1 || batch < 1) throw new AdjointException("forcefield: --steps and --batch must be >= 1");
    Random rnd = new Random(seed);
    int pairs = atoms * (atoms - 1) / 2;
    Sequential mlp = Mlp.builder(pairs).hidden(64, 64).out(1).activation("tanh").seed(seed).dtype(DType.FLOAT64).build();
    // Features are standardised and energies shifted by their mean on a probe set, so the network learns the fluctuation.
    Clusters probe = generate(atoms, 512, new Random(seed + 1));
    double[] stats = inverseDistanceStats(probe);
    Cell.Fn e = energy(mlp, atoms, stats[0], stats[1]);
    Cell.Fn dE = Autodiff.grad(in -> Ops.sum(e.apply(in).asTensor()));
    double shift = 0;
    for (double v : probe.e()) shift += v / probe.count();
    Tensor mean = Tensor.of(new double[] {shift}, 1, 1);
    Cell loss = Cell.of(in -> {
      Tensor ePred = Ops.add(e.apply(in[0]).asTensor(), mean);
      Tensor fPred = Ops.neg(dE.apply(in[0]).asTensor());
      return Ops.add(Ops.mean(Ops.square(Ops.sub(ePred, in[1]))), Ops.mean(Ops.square(Ops.sub(fPred, in[2]))));
    });
    double lr = 3e-3;
    Adam adam = new Adam(mlp.trainableParams(), lr);
    adam.schedule(LrSchedule.exponential(lr, Math.pow(0.03, 1.0 / steps)));
    Cell step = adam.step(loss);
    TrainCommand.Progress bar = progress ? new TrainCommand.Progress(steps) : null;
    long t0 = System.nanoTime();
    double last = Double.NaN;
    for (int i = 0; i < steps; i++) {
      Clusters c = generate(atoms, batch, rnd);
      try (Tensor x = c.xs(); Tensor en = c.es(); Tensor fo = c.fs(); Tensor l = step.apply(x, en, fo)) {
        last = l.item();
        if (bar != null) bar.update(i + 1, last);
      }
    }
    if (bar != null) {
      bar.done();
      System.out.printf("%d steps of %d fresh configurations in %.1f s, final loss %.3e%n", steps, batch, (System.nanoTime() - t0) / 1e9, last);
    }
    Clusters test = generate(atoms, 1000, new Random(seed + 2));
    double[] fPred = dE.apply(test.xs()).asTensor().toDoubleArray(), ePred = e.apply(test.xs()).asTensor().toDoubleArray();
    double mae = 0, mag = 0, emae = 0;
    for (int k = 0; k < fPred.length; k++) {
      mae += Math.abs(-fPred[k] - test.f()[k]) / fPred.length;
      mag += Math.abs(test.f()[k]) / fPred.length;
    }
    for (int b = 0; b < test.count(); b++) emae += Math.abs(ePred[b] + shift - test.e()[b]) / test.count();
    return new double[] {mae, mag, emae};
  }
}
