package dev.adjoint;

import java.util.List;

/**
 * Forward mode as a graph-to-graph transform: pushes tangents through the trace with each op's JVP
 * rule (real forward rules, not two VJPs). A Cell with a custom bprop is differentiated through its
 * forward computation here, as JAX does for custom_vjp functions under jvp where allowed.
 */
final class Forward {
  private Forward() {}

  static Tensor[] jvp(Trace trace, List<Node> wrt, List<Tensor> tangents, List<Tensor> outs) {
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
      Node o = trace.nodeOf(outs.get(k));
      result[k] = tan[o.index] != null ? tan[o.index] : Ops.zerosLike(o.tensor());
    }
    return result;
  }
}
