package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;

/**
 * Stochastic gradient descent, compiled into the step: forward, backward and the in-place update of
 * every parameter run as one native graph per call (parameters are updated on their device).
 *
 * <pre>{@code
 * SGD sgd = new SGD(net.trainableParams(), 0.01);
 * Cell step = sgd.step(lossCell);                 // lossCell.call(x, t) returns a scalar loss
 * for (...) { Tensor loss = step.apply(x, t); }   // params updated in place
 * }</pre>
 */
public final class SGD extends Optimizer {
  private final double lr;

  public SGD(ParameterTuple params, double lr) {
    super(params);
    if (!(lr > 0)) throw new AdjointException("learning rate must be > 0, got " + lr);
    this.lr = lr;
  }

  /** {@code p -= lr * dloss/dp} for every parameter. */
  @Override
  protected void update(Tensor[] grads) {
    for (int i = 0; i < grads.length; i++) {
      Parameter p = params().get(i);
      Ops.assign(p, Ops.sub(p, Ops.mul(grads[i], lr)));
    }
  }
}
