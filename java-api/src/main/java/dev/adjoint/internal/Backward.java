package dev.adjoint.internal;

import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse mode as a graph-to-graph transform: walks the trace backwards from the outputs and records
 * each op's VJP (written in ops, see {@link Op}) into the same trace, so the result can be
 * differentiated again. The cross-cutting cases live here, once:
 *
 * <ul>
 *   <li>zero cotangents are symbolic (null) and cost nothing; only nodes that depend on a requested
 *       input and reach an output are visited;
 *   <li>a cotangent shaped like a broadcast result is summed back to its input's shape;
 *   <li>cotangents of a value used several times are accumulated;
 *   <li>stopGradient blocks; a Cell with a custom bprop is handled by {@link BpropCall};
 *   <li>a requested input that the outputs do not depend on gets zeros of its shape, never null.
 * </ul>
 */
public final class Backward {
  private Backward() {}

  public static Tensor[] grad(Trace trace, List<Tensor> outs, List<Tensor> sens, List<Node> wrt) {
    // Resolve outputs first: an output may be a tensor captured only now (a parameter returned as is).
    Node[] outNodes = new Node[outs.size()];
    for (int k = 0; k < outNodes.length; k++) outNodes[k] = trace.nodeOf(outs.get(k));
    int limit = trace.nodes.size();
    boolean[] dep = new boolean[limit];
    for (Node w : wrt) dep[w.index] = true;
    for (int i = 0; i < limit; i++) {
      Node n = trace.nodes.get(i);
      if (dep[i] || n.op == Op.INPUT || n.op == Op.STOP_GRADIENT) continue;
      for (Node in : n.inputs) if (in.index < limit && dep[in.index]) dep[i] = true;
      // A bprop marker also depends on its call's inputs (the bprop's results flow to them).
      if (n.op == Op.CUSTOM_VJP)
        for (Node in : ((BpropCall) n.payload).inputNodes()) if (in.index < limit && dep[in.index]) dep[i] = true;
    }

    Tensor[] ct = new Tensor[limit];
    Map<BpropCall, Tensor[]> douts = new IdentityHashMap<>();
    for (int k = 0; k < outNodes.length; k++) accumulate(ct, dep, outNodes[k], sens.get(k));
    for (int i = limit - 1; i >= 0; i--) {
      Node n = trace.nodes.get(i);
      if (!dep[i]) continue;
      if (n.op == Op.CUSTOM_VJP) {
        BpropCall call = (BpropCall) n.payload;
        Tensor[] d = douts.computeIfAbsent(call, c -> new Tensor[c.numMarkers()]);
        d[call.markerIndex(n)] = ct[i];
        if (call.isFirstAlias(n)) {
          Tensor[] gi = call.run(d, wrt);
          if (gi != null)
            for (int j = 0; j < gi.length; j++) accumulate(ct, dep, call.inputNodes()[j], gi[j]);
        }
        continue;
      }
      Tensor g = ct[i];
      if (g == null || n.op == Op.INPUT || n.op == Op.STOP_GRADIENT || n.op.vjp == null) continue;
      Tensor[] gi = n.op.vjp.apply(new Rules.Ctx(n, g, null));
      for (int j = 0; j < n.inputs.length && j < gi.length; j++) accumulate(ct, dep, n.inputs[j], gi[j]);
    }

    Tensor[] result = new Tensor[wrt.size()];
    for (int k = 0; k < result.length; k++) {
      Node w = wrt.get(k);
      result[k] = ct[w.index] != null ? ct[w.index] : Ops.zerosLike(w.tensor());
    }
    return result;
  }

  private static void accumulate(Tensor[] ct, boolean[] dep, Node target, Tensor g) {
    if (g == null || target.index >= dep.length || !dep[target.index]) return;
    if (!Arrays.equals(g.shape(), target.shape)) g = Ops.sumToShape(g, target.shape);
    Tensor prev = ct[target.index];
    ct[target.index] = prev == null ? g : Ops.add(prev, g);
  }
}
