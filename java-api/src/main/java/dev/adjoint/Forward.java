package dev.adjoint;

import java.util.List;

/**
 * Forward mode as a graph-to-graph transform: pushes tangents through the trace with each op's JVP
 * rule (real forward rules, not two VJPs). A Cell with a custom bprop keeps its custom derivative here
 * too: its outputs' tangents come from the (linear) bprop, transposed, so forward and reverse mode
 * agree.
 */
final class Forward {
  private Forward() {}

  static Tensor[] jvp(Trace trace, List<Node> wrt, List<Tensor> tangents, List<Tensor> outs) {
    // Resolve outputs first: an output may be a tensor captured only now (a constant or a parameter
    // returned as is), whose node must lie inside the range walked below.
    Node[] outNodes = new Node[outs.size()];
    for (int k = 0; k < outNodes.length; k++) outNodes[k] = trace.nodeOf(outs.get(k));
    int limit = trace.nodes.size();
    Tensor[] tan = new Tensor[limit];
    boolean[] seeded = new boolean[limit];
    for (int k = 0; k < wrt.size(); k++) {
      Node w = wrt.get(k);
      Tensor t = tangents.get(k);
      if (!java.util.Arrays.equals(t.shape(), w.shape) || t.dtype() != w.dtype)
        throw new AdjointException(
            "jvp: tangent " + k + " is " + t.describe() + " but its primal is " + w.dtype + " "
                + Format.shape(w.shape));
      tan[w.index] = t;
      seeded[w.index] = true;
    }
    for (int i = 0; i < limit; i++) {
      Node n = trace.nodes.get(i);
      if (seeded[i] || n.op == Op.INPUT || n.op == Op.STOP_GRADIENT || n.op.jvp == null) continue;
      if (n.op == Op.CUSTOM_VJP) {
        // The bprop defines the derivative here too (see BpropCall.jvp). Its markers are consecutive
        // and the first comes first: all of the call's output tangents are set when it is met.
        BpropCall call = (BpropCall) n.payload;
        if (!call.isFirstAlias(n)) continue;
        Node[] ins = call.inputNodes();
        Tensor[] tin = new Tensor[ins.length];
        boolean anyIn = false;
        for (int j = 0; j < ins.length; j++) {
          tin[j] = ins[j].index < limit ? tan[ins[j].index] : null;
          anyIn |= tin[j] != null;
        }
        if (!anyIn) continue;
        Tensor[] tm = call.jvp(trace, tin);
        for (int k = 0; k < tm.length; k++) {
          Node m = call.marker(k);
          if (m.index < limit && !seeded[m.index]) tan[m.index] = tm[k];
        }
        continue;
      }
      Tensor[] in = new Tensor[n.inputs.length];
      boolean any = false;
      for (int j = 0; j < in.length; j++) {
        in[j] = n.inputs[j].index < limit ? tan[n.inputs[j].index] : null;
        any |= in[j] != null;
      }
      if (!any) continue;
      tan[i] = n.op.jvp.apply(new Rules.Ctx(n, null, in));
    }
    Tensor[] result = new Tensor[outs.size()];
    for (int k = 0; k < result.length; k++) {
      Node o = outNodes[k];
      result[k] = tan[o.index] != null ? tan[o.index] : Ops.zerosLike(o.tensor());
    }
    return result;
  }
}
