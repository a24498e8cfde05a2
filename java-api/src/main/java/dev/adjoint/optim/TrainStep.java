package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;

/**
 * The cell an optimizer's {@code step(loss)} returns, the same for every optimizer: traces the loss and
 * its gradients with respect to the parameters (one {@link Autodiff#valueAndGrad(Cell.Fn,
 * dev.adjoint.ParameterTuple)}), and lets the optimizer record its in-place updates ({@code Ops.assign})
 * into the same graph, so a call is one native run that returns the loss.
 */
final class TrainStep extends Cell {
  private final Optimizer optimizer;
  private final Cell loss;
  private final Cell.Fn lossAndGrads;

  TrainStep(Optimizer optimizer, Cell loss) {
    this.optimizer = optimizer;
    this.loss = loss;
    this.lossAndGrads = Autodiff.valueAndGrad(this::scalarLoss, optimizer.params());
  }

  private Tensor scalarLoss(Tensor... in) {
    Tensor out = loss.call(in).asTensor();
    if (out.numel() != 1)
      throw new AdjointException(optimizer.name() + ": the loss must be a scalar, got " + out.describe());
    return out;
  }

  /** The rate of this call into the runtime input (with a schedule), and the step counted. */
  @Override
  protected void beforeCall() {
    optimizer.beforeStep();
  }

  /** The loss's own cell decides what it reads (it is inlined here). */
  @Override
  protected boolean checksUnusedArguments() {
    return false;
  }

  @Override
  public Value construct(Tensor... in) {
    Tuple valueAndGrads = lossAndGrads.apply(in).asTuple();
    Tuple g = valueAndGrads.get(1).asTuple();
    Tensor[] grads = new Tensor[g.size()];
    for (int i = 0; i < grads.length; i++) grads[i] = g.tensor(i);
    optimizer.update(optimizer.clip(optimizer.hooked(grads)));
    return valueAndGrads.tensor(0);
  }

  @Override
  public String name() {
    return optimizer.name() + ".step(" + loss.name() + ")";
  }
}
