package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.internal.Backward;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.Trace;
import java.util.ArrayList;
import java.util.List;

/**
 * The cell an optimizer's {@code step(loss)} returns: traces the loss, differentiates it with respect to
 * the parameters, and lets the optimizer record its in-place updates into the same graph, so a call
 * is one native run that returns the loss.
 */
final class TrainStep extends Cell {
  @Override
  protected boolean checksUnusedArguments() {
    return false;
  }

  /** Records the updates of one step, given the parameters' gradients, into the current trace. */
  @FunctionalInterface
  interface Rule {
    void update(Trace trace, Tensor[] grads);
  }

  private final String optimizer;
  private final Cell loss;
  private final ParameterTuple params;
  private final Rule rule;

  TrainStep(String optimizer, Cell loss, ParameterTuple params, Rule rule) {
    this.optimizer = optimizer;
    this.loss = loss;
    this.params = params;
    this.rule = rule;
  }

  @Override
  public Value construct(Tensor... in) {
    Trace trace = Trace.current();
    List<Node> wrt = new ArrayList<>();
    for (Parameter p : params) wrt.add(trace.nodeOf(p));
    Tensor out = loss.call(in).asTensor();
    if (out.numel() != 1) throw new AdjointException(optimizer + ": the loss must be a scalar, got " + out.describe());
    rule.update(trace, Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt));
    return out;
  }

  @Override
  public String name() {
    return optimizer + ".step(" + loss.name() + ")";
  }
}
