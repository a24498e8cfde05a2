package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.List;

/**
 * RMSprop as torch.optim.RMSprop defines it (not centred, no momentum):
 * {@code g += wd * p; v = alpha * v + (1 - alpha) * g^2; p -= lr * g / (sqrt(v) + eps)}. Parameter
 * groups ({@link ParamGroup}) may set lr, weightDecay, alpha and eps.
 *
 * <pre>{@code Cell step = new RMSprop(net.trainableParams(), 1e-2).step(loss);}</pre>
 */
public final class RMSprop extends Optimizer {
  private final double[] alpha, eps, weightDecay;
  private final Parameter[] sq;

  /** RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8, no weight decay. */
  public RMSprop(ParameterTuple params, double lr) {
    this(params, lr, 0.99, 1e-8, 0);
  }

  /**
   * RMSprop with smoothing {@code alpha} in [0, 1), {@code eps} &gt; 0 and L2 weight decay {@code weightDecay}
   * &gt;= 0; other values are an {@link AdjointException}.
   */
  public RMSprop(ParameterTuple params, double lr, double alpha, double eps, double weightDecay) {
    this(List.of(ParamGroup.of(params)), lr, alpha, eps, weightDecay);
  }

  /** RMSprop over parameter groups with the default alpha 0.99 and eps 1e-8 for groups that set none. */
  public RMSprop(List<ParamGroup> groups, double lr) {
    this(groups, lr, 0.99, 1e-8, 0);
  }

  /** RMSprop over parameter groups; the values given here are those of groups that set none. */
  public RMSprop(List<ParamGroup> groups, double lr, double alpha, double eps, double weightDecay) {
    super(groups, lr);
    acceptSettings("lr", "weightDecay", "alpha", "eps");
    int n = params().size();
    this.alpha = new double[n];
    this.eps = new double[n];
    this.weightDecay = new double[n];
    this.sq = new Parameter[n];
    for (int i = 0; i < n; i++) {
      ParamGroup g = groupOf(i);
      double a = g.alpha().orElse(alpha), e = g.eps().orElse(eps), wd = g.weightDecay().orElse(weightDecay);
      if (!(a >= 0 && a < 1)) throw new AdjointException("RMSprop: alpha must be in [0, 1), got " + a);
      if (!(e > 0)) throw new AdjointException("RMSprop: eps must be > 0, got " + e);
      if (!(wd >= 0)) throw new AdjointException("RMSprop: weight decay must be >= 0, got " + wd);
      this.alpha[i] = a;
      this.eps[i] = e;
      this.weightDecay[i] = wd;
      sq[i] = zerosLike("params." + i + ".square_avg", params().get(i));
    }
  }

  @Override
  protected void update(Tensor[] grads) {
    for (int i = 0; i < grads.length; i++) {
      Parameter p = params().get(i);
      Tensor g = weightDecay[i] > 0 ? Ops.add(grads[i], Ops.mul(p, weightDecay[i])) : grads[i];
      Tensor v = Ops.add(Ops.mul(sq[i], alpha[i]), Ops.mul(Ops.square(g), 1 - alpha[i]));
      Ops.assign(sq[i], v);
      Ops.assign(p, Ops.sub(p, Ops.mul(Ops.div(g, Ops.add(Ops.sqrt(v), eps[i])), lr(p))));
    }
  }
}
