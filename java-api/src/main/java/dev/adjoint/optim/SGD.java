package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Stochastic gradient descent, compiled into the step: forward, backward and the in-place update of
 * every parameter run as one native graph per call (parameters are updated on their device). With
 * momentum, Nesterov momentum and weight decay as PyTorch's {@code torch.optim.SGD} defines them
 * (dampening 0): {@code g += wd * p; b = mu * b + g; g = nesterov ? g + mu * b : b; p -= lr * g}.
 *
 * <pre>{@code
 * SGD sgd = new SGD(net.trainableParams(), 0.01);                       // plain
 * SGD heavy = new SGD(net.trainableParams(), 0.01, 0.9, true, 1e-4);    // Nesterov, weight decay
 * Cell step = sgd.step(lossCell);                 // lossCell.call(x, t) returns a scalar loss
 * for (...) { Tensor loss = step.apply(x, t); }   // params updated in place
 * }</pre>
 */
public final class SGD extends Optimizer {
  private final double momentum, weightDecay;
  private final boolean nesterov;
  private final List<Parameter> buffers = new ArrayList<>();

  /** Plain SGD: {@code p -= lr * g}, no momentum, no weight decay. */
  public SGD(ParameterTuple params, double lr) {
    this(params, lr, 0, false, 0);
  }

  /**
   * SGD with {@code momentum} in [0, 1), Nesterov momentum if {@code nesterov} (needs momentum &gt; 0) and
   * L2 weight decay {@code weightDecay} &gt;= 0; other values are an {@link AdjointException}.
   */
  public SGD(ParameterTuple params, double lr, double momentum, boolean nesterov, double weightDecay) {
    super(params, lr);
    if (!(momentum >= 0 && momentum < 1)) throw new AdjointException("SGD: momentum must be in [0, 1), got " + momentum);
    if (!(weightDecay >= 0)) throw new AdjointException("SGD: weight decay must be >= 0, got " + weightDecay);
    if (nesterov && momentum == 0) throw new AdjointException("SGD: Nesterov momentum needs momentum > 0");
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    if (momentum > 0) for (int i = 0; i < params.size(); i++) buffers.add(zerosLike("params." + i + ".momentum", params.get(i)));
  }

  @Override
  protected void update(Tensor[] grads) {
    for (int i = 0; i < grads.length; i++) {
      Parameter p = params().get(i);
      Tensor g = grads[i];
      if (weightDecay > 0) g = Ops.add(g, Ops.mul(p, weightDecay));
      if (momentum > 0) {
        Tensor b = Ops.add(Ops.mul(buffers.get(i), momentum), g);
        Ops.assign(buffers.get(i), b);
        g = nesterov ? Ops.add(g, Ops.mul(b, momentum)) : b;
      }
      Ops.assign(p, Ops.sub(p, Ops.mul(g, lr(p))));
    }
  }
}
