package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Forward mode as a graph-to-graph transform: pushes tangents through the trace with each op's JVP
 * rule (real forward rules, not two VJPs). A Cell with a custom bprop keeps its custom derivative here
 * too: its outputs' tangents come from the (linear) bprop, transposed, so forward and reverse mode
 * agree.
 *
 * <p>Note [forward mode visits only the dependent subgraph]: a JVP walks only the nodes that lie on a
 * path from a seeded input to a requested output: ancestors of the outputs that depend on a seed. So
 * nodes recorded after the outputs (the tangents and the accumulation of earlier JVPs of one forward
 * jacobian, say) are never visited, and the cost of each JVP is that of its own subgraph, not of the
 * whole trace. Without this, a forward jacobian re-pushed tangents through every earlier column, and
 * its trace grew exponentially with the number of columns.
 */
public final class Forward {
  private Forward() {}

  public static Tensor[] jvp(Trace trace, List<Node> wrt, List<Tensor> tangents, List<Tensor> outs) {
    // Resolve outputs first: an output may be a tensor captured only now (a constant or a parameter
    // returned as is); such a node is an input and gets a zero tangent.
    Node[] outNodes = new Node[outs.size()];
    for (int k = 0; k < outNodes.length; k++) outNodes[k] = trace.nodeOf(outs.get(k));
    Map<Node, Tensor> tan = new IdentityHashMap<>();
    int minSeed = Integer.MAX_VALUE;
    for (int k = 0; k < wrt.size(); k++) {
      Node w = wrt.get(k);
      Tensor t = tangents.get(k);
      if (!java.util.Arrays.equals(t.shape(), w.shape) || t.dtype() != w.dtype)
        throw new AdjointException(
            "jvp: tangent " + k + " is " + t.describe() + " but its primal is " + w.dtype + " "
                + Format.shape(w.shape));
      tan.put(w, t);
      minSeed = Math.min(minSeed, w.index);
    }
    Map<BpropCall, Tensor[]> calls = new IdentityHashMap<>();
    for (Node n : dependentSubgraph(outNodes, tan, minSeed)) {
      if (n.op == Op.CUSTOM_VJP) {
        // The bprop defines the derivative here too (see BpropCall.jvp): all of the call's output
        // tangents come from one transposed bprop, made when the first of its markers is met.
        BpropCall call = (BpropCall) n.payload;
        Tensor[] tm = calls.get(call);
        if (tm == null) {
          Node[] ins = call.inputNodes();
          Tensor[] tin = new Tensor[ins.length];
          boolean anyIn = false;
          for (int j = 0; j < ins.length; j++) {
            tin[j] = tan.get(ins[j]);
            anyIn |= tin[j] != null;
          }
          tm = anyIn ? call.jvp(trace, tin) : new Tensor[call.numMarkers()];
          calls.put(call, tm);
        }
        Tensor t = tm[call.markerIndex(n)];
        if (t != null) tan.put(n, t);
        continue;
      }
      Tensor[] in = new Tensor[n.inputs.length];
      boolean any = false;
      for (int j = 0; j < in.length; j++) {
        in[j] = tan.get(n.inputs[j]);
        any |= in[j] != null;
      }
      if (!any) continue;
      Tensor t = n.op.jvp.apply(new Rules.Ctx(n, null, in));
      if (t != null) tan.put(n, t);
    }
    Tensor[] result = new Tensor[outs.size()];
    for (int k = 0; k < result.length; k++) {
      Node o = outNodes[k];
      Tensor t = tan.get(o);
      result[k] = t != null ? t : Ops.zerosLike(o.tensor());
    }
    return result;
  }

  /**
   * The nodes a JVP must visit, in trace order: every ancestor of {@code outs} (a bprop marker's
   * ancestors being its call's inputs, whose tangents its bprop maps) that depends on a seed, seeds
   * excluded. Found by a depth-first search back from the outputs that never descends below the
   * lowest seed, through stopGradient, or into ops without a JVP rule, so its cost is that of the
   * outputs' ancestry above the seeds, not of the trace.
   */
  static List<Node> dependentSubgraph(Node[] outs, Map<Node, Tensor> seeds, int minSeed) {
    Map<Node, Boolean> dep = new IdentityHashMap<>();
    List<Node> order = new ArrayList<>();
    ArrayDeque<Frame> stack = new ArrayDeque<>();
    for (Node root : outs) {
      if (dep.containsKey(root)) continue;
      if (!isCandidate(root, seeds, minSeed)) {
        dep.put(root, seeds.containsKey(root));
        continue;
      }
      stack.push(new Frame(root));
      while (!stack.isEmpty()) {
        Frame f = stack.peek();
        if (f.next < f.deps.length) {
          Node in = f.deps[f.next++];
          Boolean d = dep.get(in);
          if (d == null) {
            if (isCandidate(in, seeds, minSeed)) {
              stack.push(new Frame(in));
              continue;
            }
            d = seeds.containsKey(in);
            dep.put(in, d);
          }
          f.any |= d;
        } else {
          stack.pop();
          dep.put(f.node, f.any);
          if (f.any) {
            order.add(f.node);
            if (!stack.isEmpty()) stack.peek().any = true;
          }
        }
      }
    }
    // Post-order is already topological; trace order keeps the tangents in the order of their primals.
    order.sort(Comparator.comparingInt(n -> n.index));
    return order;
  }

  /** Whether a tangent can flow into n from a seed, so that the search must look at its inputs. */
  private static boolean isCandidate(Node n, Map<Node, Tensor> seeds, int minSeed) {
    return n.index > minSeed
        && !seeds.containsKey(n)
        && n.op != Op.INPUT
        && n.op != Op.STOP_GRADIENT
        && n.op.jvp != null;
  }

  private static final class Frame {
    final Node node;
    final Node[] deps;
    int next;
    boolean any;

    Frame(Node node) {
      this.node = node;
      // A bprop marker's tangent comes from its call's inputs, not from the cell's inner computation.
      this.deps = node.op == Op.CUSTOM_VJP ? ((BpropCall) node.payload).inputNodes() : node.inputs;
    }
  }
}
