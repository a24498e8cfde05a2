package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;

/**
 * An optimizer compiled into the training step: {@link #step} returns a cell whose every call runs the
 * forward pass, the backward pass and the in-place update of the parameters as one native graph, and
 * returns the loss. Written against the public API only, so a new optimizer is written the same way:
 * implement {@link #update}, which is traced into the step, with {@link dev.adjoint.Ops#assign}.
 *
 * <pre>{@code
 * final class PlainSgd extends Optimizer {
 *   PlainSgd(ParameterTuple params) { super(params); }
 *   @Override protected void update(Tensor[] grads) {
 *     for (int i = 0; i < grads.length; i++) {
 *       Parameter p = params().get(i);
 *       Ops.assign(p, Ops.sub(p, Ops.mul(grads[i], 0.01)));
 *     }
 *   }
 * }
 * Cell step = new PlainSgd(net.trainableParams()).step(lossCell);
 * for (...) { Tensor loss = step.apply(x, t); }
 * }</pre>
 */
public abstract class Optimizer {
  private final ParameterTuple params;

  protected Optimizer(ParameterTuple params) {
    if (params == null) throw new AdjointException(getClass().getSimpleName() + ": params are null");
    this.params = params;
  }

  /** The parameters this optimizer updates, in the order of the gradients {@link #update} receives. */
  public final ParameterTuple params() {
    return params;
  }

  /**
   * A cell that returns the loss and updates the parameters in place: {@code loss.call(args)} must return
   * a scalar; the step is compiled once per argument signature, like any cell.
   */
  public final Cell step(Cell loss) {
    if (loss == null) throw new AdjointException(name() + ".step: loss is null");
    return new TrainStep(this, loss);
  }

  /**
   * Records one update while the step is being traced: {@code grads[i]} is the gradient of the loss with
   * respect to {@code params().get(i)}. Write each new value with {@link dev.adjoint.Ops#assign}; state
   * (moments, step counts) lives in non-trainable parameters updated the same way.
   */
  protected abstract void update(Tensor[] grads);

  /** The name errors and the step cell use: the class's simple name. */
  public String name() {
    return getClass().getSimpleName();
  }
}
