package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import java.util.Random;

/** The W6 PINN and W7 force-field workloads (DESIGN.md), shared by their step, HVP and gradient benchmarks. */
final class Physics {
  private Physics() {}

  static final int PINN_INTERIOR = 4096, PINN_BOUNDARY = 512, PINN_WIDTH = 64;
  static final int FF_IN = 96, FF_WIDTH = 128, FF_BATCH = 256;

  /** W6: the 2-64-64-64-1 tanh MLP, its points and the loss mean((Δu + f)²) + mean(u_b²). */
  static final class Pinn {
    final Sequential u = Mlp.builder(2).hidden(PINN_WIDTH, PINN_WIDTH, PINN_WIDTH).out(1).activation("tanh").seed(42).build();
    final Tensor interior, rhs, boundary;
    final Cell.Fn lossFn;
    final Cell loss;

    Pinn() {
      Random rnd = new Random(42);
      interior = Tensor.uniform(rnd, DType.FLOAT32, 0, 1, PINN_INTERIOR, 2);
      float[] xy = interior.toFloatArray(), f = new float[PINN_INTERIOR];
      for (int i = 0; i < PINN_INTERIOR; i++)
        f[i] = (float) (2 * Math.PI * Math.PI * Math.sin(Math.PI * xy[2 * i]) * Math.sin(Math.PI * xy[2 * i + 1]));
      rhs = Tensor.of(f, PINN_INTERIOR, 1);
      float[] b = new float[2 * PINN_BOUNDARY];
      for (int i = 0; i < PINN_BOUNDARY; i++) {
        float t = rnd.nextFloat();
        int side = i % 4;
        b[2 * i] = side == 0 ? 0 : side == 1 ? 1 : t;
        b[2 * i + 1] = side == 2 ? 0 : side == 3 ? 1 : t;
      }
      boundary = Tensor.of(b, PINN_BOUNDARY, 2);
      Sequential model = u; // captured as a local, so the loss cell finds its parameters (not through this)
      Cell.Fn lap = Autodiff.laplacian(in -> model.call(in[0]));
      lossFn = in -> Ops.add(
          Ops.mean(Ops.square(Ops.add(lap.apply(in[0]).asTensor(), in[1]))),
          Ops.mean(Ops.square(model.call(in[2]).asTensor())));
      loss = Cell.of(lossFn);
    }

    void close() {
      interior.close();
      rhs.close();
      boundary.close();
    }
  }

  /** W7: E = MLP(x), 96-128-128-1 tanh, F = −dE/dx; loss mean((E − e)²) + mean((F − f)²). */
  static final class ForceField {
    final Sequential e = Mlp.builder(FF_IN).hidden(FF_WIDTH, FF_WIDTH).out(1).activation("tanh").seed(42).build();
    final Tensor x, energy, force;
    final Cell loss;

    ForceField() {
      Random rnd = new Random(42);
      x = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, FF_BATCH, FF_IN);
      energy = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, FF_BATCH, 1);
      force = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, FF_BATCH, FF_IN);
      Sequential model = e;
      Cell.Fn dE = Autodiff.grad(in -> Ops.sum(model.call(in[0]).asTensor()));
      loss = Cell.of(in -> Ops.add(
          Ops.mean(Ops.square(Ops.sub(model.call(in[0]).asTensor(), in[1]))),
          Ops.mean(Ops.square(Ops.add(dE.apply(in[0]).asTensor(), in[2]))))); // F = -dE/dx
    }

    void close() {
      x.close();
      energy.close();
      force.close();
    }
  }
}
