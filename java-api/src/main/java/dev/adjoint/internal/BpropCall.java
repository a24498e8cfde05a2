package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One traced call of a Cell that overrides bprop. Its output leaves pass through CUSTOM_VJP markers;
 * when {@link Backward} reaches them it calls the cell's bprop (traced, so it stays differentiable)
 * instead of descending into the forward computation, and checks what bprop returns.
 *
 * <p>Note [bprop markers are consecutive]: the markers of one call are recorded one after another,
 * so walking the trace backwards meets them together, and the lowest one last: that is when every
 * output cotangent is known and bprop runs.
 */
public final class BpropCall {
  private final Cell cell;
  private final Tensor[] inputs;
  private final Node[] inputNodes;
  private final Value structure;
  private final Node[] markers;

  private BpropCall(Cell cell, Tensor[] inputs, Node[] inputNodes, Value structure, Node[] markers) {
    this.cell = cell;
    this.inputs = inputs;
    this.inputNodes = inputNodes;
    this.structure = structure;
    this.markers = markers;
  }

  public static Value wrap(Cell cell, Value[] args) {
    Trace trace = Trace.current();
    Tensor[] inputs = new Tensor[args.length];
    Node[] inputNodes = new Node[args.length];
    for (int i = 0; i < args.length; i++) {
      if (!(args[i] instanceof Tensor t))
        throw new AdjointException(cell.name() + ": a Cell with bprop takes tensors; argument " + i + " is a Tuple");
      inputNodes[i] = trace.nodeOf(t);
      inputs[i] = inputNodes[i].tensor();
    }
    Value out = Access.bridge().construct(cell, inputs);
    List<Tensor> leaves = out.leaves();
    Node[] leafNodes = new Node[leaves.size()];
    for (int k = 0; k < leafNodes.length; k++) leafNodes[k] = trace.nodeOf(leaves.get(k));
    Node[] markers = new Node[leafNodes.length];
    for (int k = 0; k < markers.length; k++)
      markers[k] = trace.record(Op.CUSTOM_VJP, new Node[] {leafNodes[k]}, new long[0], 0);
    BpropCall call = new BpropCall(cell, inputs, inputNodes, out, markers);
    List<Tensor> views = new ArrayList<>();
    for (Node m : markers) {
      m.payload = call;
      views.add(m.tensor());
    }
    return Structure.unflatten(out, views.iterator());
  }

  Node[] inputNodes() {
    return inputNodes;
  }

  int numMarkers() {
    return markers.length;
  }

  int markerIndex(Node marker) {
    for (int k = 0; k < markers.length; k++) if (markers[k] == marker) return k;
    throw new IllegalStateException("not a marker of this call: " + marker);
  }

  boolean isFirstAlias(Node marker) {
    return markers[0] == marker;
  }

  Node marker(int k) {
    return markers[k];
  }

  /**
   * Forward mode through the bprop, so that jvp and reverse mode agree on the custom derivative:
   * bprop(dout) = J^T dout is linear in dout, so J v = d&lt;bprop(u), v&gt;/du, taken at u = 0 by
   * reverse mode over the traced bprop. {@code inputTangents} has one entry per input (null = zero);
   * returns one tangent per output leaf.
   */
  Tensor[] jvp(Trace trace, Tensor[] inputTangents) {
    List<Node> us = new ArrayList<>();
    Tensor[] d = new Tensor[markers.length];
    for (int k = 0; k < markers.length; k++) {
      Tensor zero = Ops.zerosLike(markers[k].inputs[0].tensor());
      Node u = trace.record(Op.IDENTITY, new Node[] {trace.nodeOf(zero)}, new long[0], 0);
      us.add(u);
      d[k] = u.tensor();
    }
    Tensor[] gi = run(d, List.of());
    List<Tensor> outs = new ArrayList<>(), sens = new ArrayList<>();
    for (int j = 0; j < gi.length; j++)
      if (inputTangents[j] != null) {
        outs.add(gi[j]);
        sens.add(inputTangents[j]);
      }
    return Backward.grad(trace, outs, sens, us);
  }

  /**
   * Runs bprop into the current trace with the output cotangents of one backward pass (null = zero);
   * returns null when none reached this call.
   */
  Tensor[] run(Tensor[] douts, List<Node> wrt) {
    boolean any = false;
    for (Tensor d : douts) any |= d != null;
    if (!any) return null;
    List<String> owned = new ArrayList<>();
    for (Parameter p : cell.parameters())
      for (Node w : wrt)
        if (w.op == Op.INPUT && w.payload instanceof Feed.Capture c && c.tensor() == p) owned.add(p.name());
    if (!owned.isEmpty())
      throw new AdjointException(
          cell.name() + " defines bprop, which returns gradients of its inputs only; gradients of its"
              + " parameters " + owned + " cannot come from a bprop");
    List<Tensor> d = new ArrayList<>();
    for (int k = 0; k < douts.length; k++)
      d.add(douts[k] != null ? douts[k] : Ops.zerosLike(markers[k].inputs[0].tensor()));
    List<Tensor> outs = new ArrayList<>();
    for (Node m : markers) outs.add(m.inputs[0].tensor());
    Value out = Structure.unflatten(structure, outs.iterator());
    Value dout = Structure.unflatten(structure, d.iterator());
    Tuple r = cell.bprop(inputs.clone(), out, dout);
    return check(r);
  }

  private Tensor[] check(Tuple r) {
    String who = cell.name() + ".bprop";
    if (r == null) throw new AdjointException(who + " returned null; it must return a Tuple with one gradient per input");
    if (r.size() != inputs.length)
      throw new AdjointException(
          who + " returned " + r.size() + " gradient(s) for " + inputs.length + " input(s)");
    Tensor[] g = new Tensor[r.size()];
    for (int i = 0; i < g.length; i++) {
      if (!(r.get(i) instanceof Tensor t))
        throw new AdjointException(who + ": gradient " + i + " is a Tuple, expected a Tensor");
      if (!Arrays.equals(t.shape(), inputs[i].shape()) || t.dtype() != inputs[i].dtype())
        throw new AdjointException(
            who + ": gradient " + i + " is " + t.describe() + " but input " + i + " is " + inputs[i].describe());
      g[i] = t;
    }
    return g;
  }
}
