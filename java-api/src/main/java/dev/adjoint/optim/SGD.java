package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;

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
public final class SGD {
  private final ParameterTuple params;
  private final double lr;

  public SGD(ParameterTuple params, double lr) {
    if (!(lr > 0)) throw new AdjointException("learning rate must be > 0, got " + lr);
    this.params = params;
    this.lr = lr;
  }

  /** A cell that returns the loss and updates the parameters by {@code p -= lr * dloss/dp}. */
  public Cell step(Cell loss) {
    return new TrainStep(
        "SGD",
        loss,
        params,
        (trace, g) -> {
          for (int i = 0; i < g.length; i++) {
            Parameter p = params.get(i);
            trace.update(p, Ops.sub(p, Ops.mul(g[i], lr)));
          }
        });
  }
}
