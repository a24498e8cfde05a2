package dev.adjoint.internal;

import dev.adjoint.DType;
import dev.adjoint.Tensor;

/**
 * One node of a traced graph. Its id is its node id in the trace's native graph, which inferred its
 * shape and dtype. Ids grow in creation order, which is a topological order.
 */
public final class Node {
  public final Trace trace;
  /** Position in the trace's node list. */
  final int index;
  final int id;
  final Op op;
  public final Node[] inputs;
  final long[] attrs;
  final double scalar;
  public final DType dtype;
  public final long[] shape;
  /** INPUT: its Feed; CUSTOM_VJP: its BpropCall; CALLBACK: its HostFunction. */
  public Object payload;
  private Tensor view;

  Node(Trace trace, int index, int id, Op op, Node[] inputs, long[] attrs, double scalar, DType dtype, long[] shape) {
    this.trace = trace;
    this.index = index;
    this.id = id;
    this.op = op;
    this.inputs = inputs;
    this.attrs = attrs;
    this.scalar = scalar;
    this.dtype = dtype;
    this.shape = shape;
  }

  /** The symbolic tensor that stands for this node while its trace is open. */
  public Tensor tensor() {
    if (view == null) view = Access.symbolic(this);
    return view;
  }

  @Override
  public String toString() {
    return "%" + id + " = " + op.opName + " " + dtype + " " + java.util.Arrays.toString(shape);
  }
}
