package dev.adjoint.internal;

import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.Value;

/**
 * A Cell whose call arguments may be Tuples as well as Tensors: GradOperation's gradient cell, whose sens
 * mirrors a tuple output. A plain Cell refuses a Tuple argument ("construct takes tensors").
 */
public abstract class ValueCell extends Cell {
  /** The computation, on traced arguments as they were passed. */
  public abstract Value constructValues(Value[] args);

  @Override
  public final Value construct(Tensor... in) {
    return constructValues(in);
  }
}
