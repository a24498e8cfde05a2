package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;

/** How one input of a compiled graph is fed at run time. */
public sealed interface Feed {
  /** The buffer to bind for a call with these flattened arguments. */
  Storage storage(Tensor[] args);

  /** The k-th flattened call argument. */
  record Arg(int index) implements Feed {
    @Override
    public Storage storage(Tensor[] args) {
      return Access.storage(args[index]);
    }
  }

  /**
   * A tensor the trace met that was not an argument: a Parameter (its current value is read at every
   * run, so optimizers may replace it) or a constant made or captured while tracing.
   */
  record Capture(Tensor tensor) implements Feed {
    @Override
    public Storage storage(Tensor[] args) {
      if (tensor.isClosed())
        throw new AdjointException(
            (tensor instanceof Parameter p ? "parameter '" + p.name() + "' " : "captured tensor ")
                + tensor.describe() + " was closed but a compiled graph reads it");
      return Access.storage(tensor);
    }
  }
}
