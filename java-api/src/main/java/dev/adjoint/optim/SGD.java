package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.List;

/**
 * Stochastic gradient descent, compiled into the step: forward, backward and the in-place update of
 * every parameter run as one native graph per call (parameters are updated on their device). With
 * momentum, Nesterov momentum and weight decay as PyTorch's {@code torch.optim.SGD} defines them
 * (dampening 0): {@code g += wd * p; b = mu * b + g; g = nesterov ? g + mu * b : b; p -= lr * g}.
 * Parameter groups ({@link ParamGroup}) may set lr, weightDecay, momentum and nesterov.
 *
 * <pre>{@code
 * SGD sgd = new SGD(net.trainableParams(), 0.01);                       // plain
 * SGD heavy = new SGD(net.trainableParams(), 0.01, 0.9, true, 1e-4);    // Nesterov, weight decay
 * Cell step = sgd.step(lossCell);                 // lossCell.call(x, t) returns a scalar loss
 * for (...) { Tensor loss = step.apply(x, t); }   // params updated in place
 * }</pre>
 */
public final class SGD extends Optimizer {
  private final double[] momentum, weightDecay;
  private final boolean[] nesterov;
  /** Momentum buffers by parameter index; null where that parameter's momentum is 0. */
  private final Parameter[] buffers;

  /** Plain SGD: {@code p -= lr * g}, no momentum, no weight decay. */
  public SGD(ParameterTuple params, double lr) {
    this(params, lr, 0, false, 0);
  }

  /**
   * SGD with {@code momentum} in [0, 1), Nesterov momentum if {@code nesterov} (needs momentum &gt; 0) and
   * L2 weight decay {@code weightDecay} &gt;= 0; other values are an {@link AdjointException}.
   */
  public SGD(ParameterTuple params, double lr, double momentum, boolean nesterov, double weightDecay) {
    this(List.of(ParamGroup.of(params)), lr, momentum, nesterov, weightDecay);
  }

  /** SGD over parameter groups; the values given here are those of groups that set none. */
  public SGD(List<ParamGroup> groups, double lr) {
    this(groups, lr, 0, false, 0);
  }

  /** SGD over parameter groups; the values given here are those of groups that set none. */
  public SGD(List<ParamGroup> groups, double lr, double momentum, boolean nesterov, double weightDecay) {
    super(groups, lr);
    acceptSettings("lr", "weightDecay", "momentum", "nesterov");
    int n = params().size();
    this.momentum = new double[n];
    this.weightDecay = new double[n];
    this.nesterov = new boolean[n];
    this.buffers = new Parameter[n];
    for (int i = 0; i < n; i++) {
      ParamGroup g = groupOf(i);
      double mu = g.momentum().orElse(momentum), wd = g.weightDecay().orElse(weightDecay);
      boolean nest = g.nesterov().orElse(nesterov);
      if (!(mu >= 0 && mu < 1)) throw new AdjointException("SGD: momentum must be in [0, 1), got " + mu);
      if (!(wd >= 0)) throw new AdjointException("SGD: weight decay must be >= 0, got " + wd);
      if (nest && mu == 0) throw new AdjointException("SGD: Nesterov momentum needs momentum > 0");
      this.momentum[i] = mu;
      this.weightDecay[i] = wd;
      this.nesterov[i] = nest;
      if (mu > 0) buffers[i] = zerosLike("params." + i + ".momentum", params().get(i));
    }
  }

  @Override
  protected void update(Tensor[] grads) {
    for (int i = 0; i < grads.length; i++) {
      Parameter p = params().get(i);
      Tensor g = grads[i];
      if (weightDecay[i] > 0) g = Ops.add(g, Ops.mul(p, weightDecay[i]));
      if (momentum[i] > 0) {
        Tensor b = Ops.add(Ops.mul(buffers[i], momentum[i]), g);
        Ops.assign(buffers[i], b);
        g = nesterov[i] ? Ops.add(g, Ops.mul(b, momentum[i])) : b;
      }
      Ops.assign(p, Ops.sub(p, Ops.mul(g, lr(p))));
    }
  }
}
