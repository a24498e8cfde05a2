package dev.adjoint.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@code ./adjoint pinn}, {@code forcefield} and {@code newton} at small sizes with fixed seeds: each
 * reaches its analytic answer (max error against sin(πx) sin(πy), held-out Lennard-Jones force MAE,
 * Newton's convergence order). They live here, beside the main job, so the tests module does not
 * depend on examples; the tests module checks the library parts (hvp, laplacian, NewtonCG).
 */
class PhysicsExamplesTest {
  @Test
  void pinnSolvesPoisson() {
    double err = PinnCommand.run(2500, 512, 32, 1, false); // the defaults of ./adjoint pinn
    assertTrue(err < 0.05, "max error " + err);
  }

  @Test
  void forceFieldLearnsLennardJonesForces() {
    double[] r = ForceFieldCommand.run(3, 800, 64, 1, false);
    assertTrue(r[0] / r[1] < 0.2, "force MAE " + r[0] + " against mean |F| " + r[1]);
  }

  /** The generator's forces are −dE/dx of its energies (central differences). */
  @Test
  void lennardJonesForcesAreMinusTheEnergyGradient() {
    ForceFieldCommand.Clusters c = ForceFieldCommand.generate(4, 1, new java.util.Random(3));
    double h = 1e-6;
    for (int k = 0; k < 12; k++) {
      double[] p = c.x().clone(), m = c.x().clone();
      p[k] += h;
      m[k] -= h;
      double ep = energyOf(p), em = energyOf(m);
      assertEquals(-(ep - em) / (2 * h), c.f()[k], 1e-5 * Math.max(1, Math.abs(c.f()[k])));
    }
  }

  static double energyOf(double[] x) {
    double e = 0;
    int atoms = x.length / 3;
    for (int i = 0; i < atoms; i++)
      for (int j = i + 1; j < atoms; j++) {
        double r2 = 0;
        for (int a = 0; a < 3; a++) r2 += (x[3 * i + a] - x[3 * j + a]) * (x[3 * i + a] - x[3 * j + a]);
        double s6 = 1 / (r2 * r2 * r2);
        e += 4 * (s6 * s6 - s6);
      }
    return e;
  }

  @Test
  void newtonConvergesQuadratically() {
    NewtonCommand cmd = new NewtonCommand();
    cmd.dim = 4;
    cmd.samples = 200;
    cmd.features = 8;
    cmd.seed = 2;
    cmd.minOrder = 1.8;
    assertEquals(0, cmd.call());
  }
}
