package dev.adjoint.bench.peers;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The W6 PINN and W7 force-field workloads on libtorch, eager autograd with create_graph (double
 * backward), as their users write them: Δu as u_xx + u_yy from two more backward passes, F = −dE/dx from
 * one, and a hand-written Adam update under no_grad. Shapes, initialisation bounds and losses as in
 * dev.adjoint.bench.Physics.
 */
final class TorchPhysics {
  private TorchPhysics() {}

  /** A tanh MLP: weights w[i] [in, out] and biases b[i] [out], uniform ±1/√fan_in, leaves. */
  static final class Mlp {
    final Tensor[] w, b;

    Mlp(int... sizes) {
      w = new Tensor[sizes.length - 1];
      b = new Tensor[sizes.length - 1];
      for (int i = 0; i < w.length; i++) {
        double bound = 1 / Math.sqrt(sizes[i]);
        w[i] = Torch.leaf(Torch.uniform(-bound, bound, sizes[i], sizes[i + 1]));
        b[i] = Torch.leaf(Torch.uniform(-bound, bound, sizes[i + 1]));
      }
    }

    Tensor apply(Tensor x) {
      Tensor h = x;
      for (int i = 0; i < w.length; i++) {
        h = h.matmul(w[i]).add(b[i]);
        if (i < w.length - 1) h = h.tanh();
      }
      return h;
    }

    TensorVector params() {
      Tensor[] all = new Tensor[2 * w.length];
      for (int i = 0; i < w.length; i++) {
        all[2 * i] = w[i];
        all[2 * i + 1] = b[i];
      }
      return Torch.vec(all);
    }
  }

  /** Adam (β 0.9, 0.999, ε 1e-8) on the parameters, in place under no_grad. */
  static final class Adam {
    final TensorVector params;
    final Tensor[] m, v;
    final double lr;
    long t;

    Adam(TensorVector params, double lr) {
      this.params = params;
      this.lr = lr;
      m = new Tensor[(int) params.size()];
      v = new Tensor[m.length];
      for (int i = 0; i < m.length; i++) {
        m[i] = params.get(i).detach().mul(new Scalar(0.0));
        v[i] = params.get(i).detach().mul(new Scalar(0.0));
      }
    }

    void step(TensorVector g) {
      t++;
      double c1 = 1 - Math.pow(0.9, t), c2 = 1 - Math.pow(0.999, t);
      try (NoGradGuard guard = new NoGradGuard()) {
        for (int i = 0; i < m.length; i++) {
          Tensor gi = g.get(i);
          m[i].mul_(new Scalar(0.9)).add_(gi.mul(new Scalar(0.1)));
          v[i].mul_(new Scalar(0.999)).add_(gi.square().mul(new Scalar(0.001)));
          Tensor denom = v[i].mul(new Scalar(1 / c2)).sqrt().add(new Scalar(1e-8));
          params.get(i).sub_(m[i].mul(new Scalar(lr / c1)).div(denom));
        }
      }
    }
  }

  /** W6's points: interior [4096, 2] (a leaf, so Δu can be taken), right-hand side [4096, 1], boundary [512, 2]. */
  static final class PinnPoints {
    final Tensor interior = Torch.leaf(Torch.uniform(0, 1, 4096, 2));
    final Tensor rhs = Torch.uniform(0, 20, 4096, 1);
    final Tensor boundary = Torch.uniform(0, 1, 512, 2);
  }

  /** W6's loss: mean((u_xx + u_yy + f)²) + mean(u_b²), Δu by double backward with create_graph. */
  static Tensor pinnLoss(Mlp u, Tensor interior, Tensor rhs, Tensor boundary) {
    Tensor out = u.apply(interior);
    Tensor g = Torch.grad(Torch.vec(out.sum()), Torch.vec(interior), new TensorVector(), true).get(0); // [N, 2]
    Tensor uxx = Torch.grad(Torch.vec(g.select(1, 0).sum()), Torch.vec(interior), new TensorVector(), true).get(0).select(1, 0);
    Tensor uyy = Torch.grad(Torch.vec(g.select(1, 1).sum()), Torch.vec(interior), new TensorVector(), true).get(0).select(1, 1);
    Tensor lap = uxx.add(uyy).unsqueeze(1);
    Tensor residual = lap.add(rhs).square().mean();
    return residual.add(u.apply(boundary).square().mean());
  }

  /** W7's loss: mean((E − e)²) + mean((F − f)²) with F = −dE/dx (create_graph, so weights see through it). */
  static Tensor forceLoss(Mlp e, Tensor x, Tensor energy, Tensor force) {
    Tensor out = e.apply(x);
    Tensor dEdx = Torch.grad(Torch.vec(out.sum()), Torch.vec(x), new TensorVector(), true).get(0);
    return out.sub(energy).square().mean().add(dEdx.add(force).square().mean());
  }
}
