package dev.adjoint.internal;

import static dev.adjoint.Ops.add;
import static dev.adjoint.Ops.broadcastTo;
import static dev.adjoint.Ops.matmul;
import static dev.adjoint.Ops.reshape;
import static dev.adjoint.Ops.sub;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.Arrays;

/** The shared pieces of the op table's derivative rules: their contexts and the longer rules. */
final class Rules {
  private Rules() {}

  /** A reverse-mode rule: input cotangents (null = zero) from the output cotangent {@code c.g()}. */
  @FunctionalInterface
  interface Vjp {
    Tensor[] apply(Ctx c);
  }

  /** A forward-mode rule: the output tangent (null = zero) from the inputs' tangents {@code c.t(i)}. */
  @FunctionalInterface
  interface Jvp {
    Tensor apply(Ctx c);
  }

  /** What a rule sees: the node, its inputs and output as traced tensors, and g or the tangents. */
  static final class Ctx {
    private final Node node;
    private final Tensor g;
    private final Tensor[] tangents;

    Ctx(Node node, Tensor g, Tensor[] tangents) {
      this.node = node;
      this.g = g;
      this.tangents = tangents;
    }

    Node node() {
      return node;
    }

    Tensor g() {
      return g;
    }

    Tensor t(int i) {
      return tangents[i];
    }

    Tensor in(int i) {
      return node.inputs[i].tensor();
    }

    Tensor out() {
      return node.tensor();
    }

    long attr(int i) {
      return node.attrs[i];
    }

    Tensor scalar(double v) {
      return Ops.scalarLike(v, node.dtype);
    }

    Tensor one() {
      return scalar(1);
    }

    Tensor two() {
      return scalar(2);
    }
  }

  // matmul(a, b, tA, tB) = op(a) @ op(b). With g the cotangent:
  //   tA=0 tB=0: da = g b^T      db = a^T g
  //   tA=1 tB=0: da = b g^T      db = a g
  //   tA=0 tB=1: da = g b        db = g^T a
  //   tA=1 tB=1: da = b^T g^T    db = g^T a^T
  // Every case is one matmul with flags: a transpose is never materialised.
  static Tensor[] matmulVjp(Ctx c) {
    boolean ta = c.attr(0) != 0, tb = c.attr(1) != 0;
    Tensor a = c.in(0), b = c.in(1), g = c.g();
    Tensor da, db;
    if (!ta && !tb) {
      da = matmul(g, b, false, true);
      db = matmul(a, g, true, false);
    } else if (ta && !tb) {
      da = matmul(b, g, false, true);
      db = matmul(a, g, false, false);
    } else if (!ta) {
      da = matmul(g, b, false, false);
      db = matmul(g, a, true, false);
    } else {
      da = matmul(b, g, true, true);
      db = matmul(g, a, true, true);
    }
    return new Tensor[] {da, db};
  }

  static Tensor matmulJvp(Ctx c) {
    boolean ta = c.attr(0) != 0, tb = c.attr(1) != 0;
    Tensor left = c.t(0) == null ? null : matmul(c.t(0), c.in(1), ta, tb);
    Tensor right = c.t(1) == null ? null : matmul(c.in(0), c.t(1), ta, tb);
    return sumTangents(left, right, false, c);
  }

  /** left ± right where either may be a symbolic zero (null), broadcast to the node's shape. */
  static Tensor sumTangents(Tensor left, Tensor right, boolean subtract, Ctx c) {
    Tensor r;
    if (left == null && right == null) return null;
    if (right == null) r = left;
    else if (left == null) r = subtract ? Ops.neg(right) : right;
    else r = subtract ? sub(left, right) : add(left, right);
    return Arrays.equals(r.shape(), c.node().shape) ? r : broadcastTo(r, c.node().shape);
  }

  /** Reduced axes of a sum/mean node (attrs [keepdims, axis...]), normalised; empty = all. */
  static int[] reducedAxes(Node n) {
    int rank = n.inputs[0].shape.length;
    if (n.attrs.length <= 1) {
      int[] all = new int[rank];
      for (int i = 0; i < rank; i++) all[i] = i;
      return all;
    }
    int[] axes = new int[n.attrs.length - 1];
    for (int i = 0; i < axes.length; i++) {
      long a = n.attrs[i + 1];
      axes[i] = (int) (a < 0 ? a + rank : a);
    }
    return axes;
  }

  static double reducedCount(Ctx c) {
    double count = 1;
    for (int a : reducedAxes(c.node())) count *= c.node().inputs[0].shape[a];
    return count;
  }

  /** The cotangent of a reduction, spread back over the reduced axes. */
  static Tensor unreduce(Ctx c, Tensor g) {
    long[] inShape = c.in(0).shape();
    long[] kept = inShape.clone();
    for (int a : reducedAxes(c.node())) kept[a] = 1;
    Tensor r = Arrays.equals(g.shape(), kept) ? g : reshape(g, kept);
    return broadcastTo(r, inShape);
  }

  static Tensor reduceLike(Ctx c, Tensor t) {
    if (t == null) return null;
    return c.node().op.apply(c.node().attrs, 0, t);
  }

  static long[] perm(Ctx c) {
    int rank = c.in(0).shape().length;
    long[] p = c.node().attrs;
    if (p.length > 0) return p;
    long[] rev = new long[rank];
    for (int i = 0; i < rank; i++) rev[i] = rank - 1 - i;
    return rev;
  }

  static long[] inversePerm(Ctx c) {
    long[] p = perm(c);
    long[] inv = new long[p.length];
    for (int i = 0; i < p.length; i++) inv[(int) p[i]] = i;
    return inv;
  }

  static Tensor[] notDifferentiable(Ctx c) {
    throw new AdjointException(
        c.node().op.opName
            + " has no derivative; wrap its use in Ops.stopGradient (e.g. the shift of a stable"
            + " log-sum-exp)");
  }

  static Tensor notDifferentiableJvp(Ctx c) {
    notDifferentiable(c);
    return null;
  }

  static Tensor[] callbackVjp(Ctx c) {
    throw new AdjointException(
        "host callback '"
            + HostFunctions.name(c.node())
            + "' has no derivative of its own: wrap it in a Cell that overrides bprop");
  }

  static Tensor callbackJvp(Ctx c) {
    callbackVjp(c);
    return null;
  }
}
