package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * RMSprop as torch.optim.RMSprop defines it (not centred, no momentum):
 * {@code g += wd * p; v = alpha * v + (1 - alpha) * g^2; p -= lr * g / (sqrt(v) + eps)}.
 *
 * <pre>{@code Cell step = new RMSprop(net.trainableParams(), 1e-2).step(loss);}</pre>
 */
public final class RMSprop extends Optimizer {
  private final double alpha, eps, weightDecay;
  private final List<Parameter> sq = new ArrayList<>();

  /** RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8, no weight decay. */
  public RMSprop(ParameterTuple params, double lr) {
    this(params, lr, 0.99, 1e-8, 0);
  }

  /**
   * RMSprop with smoothing {@code alpha} in [0, 1), {@code eps} &gt; 0 and L2 weight decay {@code weightDecay}
   * &gt;= 0; other values are an {@link AdjointException}.
   */
  public RMSprop(ParameterTuple params, double lr, double alpha, double eps, double weightDecay) {
    super(params, lr);
    if (!(alpha >= 0 && alpha < 1)) throw new AdjointException("RMSprop: alpha must be in [0, 1), got " + alpha);
    if (!(eps > 0)) throw new AdjointException("RMSprop: eps must be > 0, got " + eps);
    if (!(weightDecay >= 0)) throw new AdjointException("RMSprop: weight decay must be >= 0, got " + weightDecay);
    this.alpha = alpha;
    this.eps = eps;
    this.weightDecay = weightDecay;
    for (int i = 0; i < params.size(); i++) sq.add(zerosLike("params." + i + ".square_avg", params.get(i)));
  }

  @Override
  protected void update(Tensor[] grads) {
    for (int i = 0; i < grads.length; i++) {
      Parameter p = params().get(i);
      Tensor g = weightDecay > 0 ? Ops.add(grads[i], Ops.mul(p, weightDecay)) : grads[i];
      Tensor v = Ops.add(Ops.mul(sq.get(i), alpha), Ops.mul(Ops.square(g), 1 - alpha));
      Ops.assign(sq.get(i), v);
      Ops.assign(p, Ops.sub(p, Ops.mul(Ops.div(g, Ops.add(Ops.sqrt(v), eps)), lr(p))));
    }
  }
}
