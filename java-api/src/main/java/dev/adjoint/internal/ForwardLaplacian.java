package dev.adjoint.internal;

import static dev.adjoint.Ops.add;
import static dev.adjoint.Ops.broadcastTo;
import static dev.adjoint.Ops.div;
import static dev.adjoint.Ops.matmul;
import static dev.adjoint.Ops.mul;
import static dev.adjoint.Ops.neg;
import static dev.adjoint.Ops.reshape;
import static dev.adjoint.Ops.square;
import static dev.adjoint.Ops.sub;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The forward Laplacian (Li et al., 2023; a second-order Taylor mode restricted to the diagonal): one
 * pass over the trace of a per-point scalar field u(x), x of shape [N, d], that carries, next to each
 * value v of shape S, its gradient with respect to the point, T of shape [d] ++ S (one tangent per
 * input coordinate, stacked on a leading axis so that a layer's d tangents are one GEMM), and either
 * its Laplacian L (shape S, the sum over the d directions) or its Hessian diagonal D ([d] ++ S). The
 * rules, each written in ordinary ops so the result is differentiable again (a PINN loss trains on it):
 *
 * <ul>
 *   <li>elementwise unary y = φ(z): T_y = φ′ T_z, L_y = φ′ L_z + φ″ Σ_i T_z,i² (D_y = φ′ D_z + φ″ T_z²),
 *       with φ′ the op's declared factor and φ″ the forward-mode derivative of that factor;
 *   <li>linear ops (add, sub, neg, identity, reshape, transpose, sum, mean, broadcastTo, sumToShape, and
 *       matmul by a matrix that does not depend on x): the op applied to T and to L, with the leading
 *       direction axis skipped;
 *   <li>mul: T = T_a b + a T_b, L = L_a b + a L_b + 2 Σ_i T_a,i T_b,i; div through a = y b;
 *       minimum/maximum select as they do forward; step and the comparisons have zero derivative.
 * </ul>
 *
 * <p>Note [Per-point fields]: a tangent seeded as e_i at every point gives each point its own
 * derivatives only if u's rows do not mix (u_n depends on x_n alone, as an MLP applied row by row). This
 * is checked, not assumed: every value that depends on x must keep the point axis first (shape [N, ...]),
 * and ops that would mix points there (a reduction or transpose over axis 0, a matmul that contracts
 * over it, a broadcast that moves it, a matmul by a matrix that depends on x) are errors naming the op.
 * An op with no rule here (host callbacks, cells with a custom bprop, max) is an error naming it too.
 */
public final class ForwardLaplacian {
  private ForwardLaplacian() {}

  /** What a node carries: T ([d] ++ shape) and the second-order part (L or D); null = zero. */
  private record Jet(Tensor t, Tensor s) {}

  /**
   * The gradient T ([d] ++ u.shape) and the Laplacian (u.shape) or, with {@code diagonal}, the Hessian
   * diagonal ([d] ++ u.shape) of the field {@code u} with respect to the points {@code x} ([N, d]),
   * recorded into {@code trace}. {@code what} names the caller in messages.
   */
  public static Tensor[] of(String what, Trace trace, Tensor x, Tensor u, boolean diagonal) {
    Node xn = trace.nodeOf(x);
    Node un = trace.nodeOf(u);
    if (xn.shape.length != 2)
      throw new AdjointException(what + ": the points must be a [N, d] tensor, got " + x.describe());
    long n = xn.shape[0], d = xn.shape[1];
    if (un.shape.length < 1 || un.shape[0] != n || u.numel() != n)
      throw new AdjointException(
          what + ": f must return one value per point ([" + n + "] or [" + n + ", 1]), got " + u.describe());
    Map<Node, Jet> jets = new IdentityHashMap<>();
    jets.put(xn, new Jet(seed(x.dtype(), n, d), null));
    Map<Node, Tensor> seeds = new IdentityHashMap<>();
    seeds.put(xn, x);
    List<Node> order = Forward.dependentSubgraph(new Node[] {un}, seeds, xn.index);
    Ctx ctx = new Ctx(what, n, d, diagonal);
    for (Node node : order) {
      Jet j = ctx.rule(node, jets);
      if (j != null) jets.put(node, j);
    }
    Jet out = jets.get(un);
    Tensor t = out == null || out.t == null ? Ops.fill(u.dtype(), 0, prepend(d, un.shape)) : out.t;
    long[] sShape = diagonal ? prepend(d, un.shape) : un.shape;
    Tensor s = out == null || out.s == null ? Ops.fill(u.dtype(), 0, sShape) : out.s;
    return new Tensor[] {t, s};
  }

  /** e_i at every point: [d, N, d] with T[i, n, j] = δ_ij. */
  private static Tensor seed(DType dtype, long n, long d) {
    int dd = Math.toIntExact(d);
    Tensor eye;
    if (dtype == DType.FLOAT64) {
      double[] v = new double[dd * dd];
      for (int i = 0; i < dd; i++) v[i * dd + i] = 1;
      eye = Tensor.of(v, d, 1, d);
    } else {
      float[] v = new float[dd * dd];
      for (int i = 0; i < dd; i++) v[i * dd + i] = 1;
      eye = Tensor.of(v, d, 1, d);
    }
    return broadcastTo(eye, d, n, d);
  }

  static long[] prepend(long d, long[] shape) {
    long[] s = new long[shape.length + 1];
    s[0] = d;
    System.arraycopy(shape, 0, s, 1, shape.length);
    return s;
  }

  private static final class Ctx {
    final String what;
    final long n, d;
    final boolean diagonal;

    Ctx(String what, long n, long d, boolean diagonal) {
      this.what = what;
      this.n = n;
      this.d = d;
      this.diagonal = diagonal;
    }

    AdjointException mixes(Node node, String why) {
      return new AdjointException(
          what + ": op '" + node.op.opName + "' " + why + " (Note [Per-point fields]: f must treat the " + n
              + " points, the rows of x, independently)");
    }

    /** T and S of a node from its inputs' jets; null when none of its inputs carries one. */
    Jet rule(Node node, Map<Node, Jet> jets) {
      Jet[] in = new Jet[node.inputs.length];
      boolean any = false;
      for (int i = 0; i < in.length; i++) {
        in[i] = jets.get(node.inputs[i]);
        any |= in[i] != null;
      }
      if (node.op == Op.CUSTOM_VJP)
        throw new AdjointException(
            what + ": a cell with a custom bprop has no second-order forward rule (op '" + node.op.opName
                + "'); call its construct without the bprop, or use hessian");
      if (!any) return null;
      if (node.shape.length < 1 || node.shape[0] != n)
        throw mixes(node, "makes a value of shape " + Format.shape(node.shape) + " from the points, not one row per point");
      Rules.Ctx c = new Rules.Ctx(node, null, null);
      if (node.op.factor != null) return unary(node, c, in[0]);
      switch (node.op) {
        case IDENTITY:
          return in[0];
        case NEG:
          return new Jet(neg(in[0].t), in[0].s == null ? null : neg(in[0].s));
        case ADD:
        case SUB:
          alignedBinary(node, in);
          return linear2(node, in, node.op == Op.SUB);
        case MUL:
          alignedBinary(node, in);
          return product(node, c, in);
        case DIV:
          alignedBinary(node, in);
          return quotient(node, c, in);
        case MINIMUM:
        case MAXIMUM:
          alignedBinary(node, in);
          return select(node, c, in);
        case STEP:
        case LT:
        case LE:
        case GT:
        case GE:
        case EQ:
          return null; // piecewise constant: zero derivative almost everywhere
        case MATMUL:
          return matmulRule(node, in);
        case SUM:
        case MEAN:
          return reduce(node, in[0]);
        case RESHAPE:
          return viewLike(node, in[0], t -> reshape(t, prepend(d, node.shape)));
        case TRANSPOSE:
          return transposeRule(node, in[0]);
        case BROADCAST_TO:
          if (node.inputs[0].shape.length != node.shape.length)
            throw mixes(node, "broadcasts " + Format.shape(node.inputs[0].shape) + " to " + Format.shape(node.shape)
                + ", which moves the point axis");
          return viewLike(node, in[0], t -> broadcastTo(t, prepend(d, node.shape)));
        case SUM_TO_SHAPE:
          if (node.inputs[0].shape.length != node.shape.length)
            throw mixes(node, "sums " + Format.shape(node.inputs[0].shape) + " to " + Format.shape(node.shape) + " across the point axis");
          return viewLike(node, in[0], t -> Ops.sumToShape(t, prepend(d, node.shape)));
        default:
          throw new AdjointException(
              what + ": op '" + node.op.opName + "' has no second-order forward rule (forward Laplacian); "
                  + "write f without it, or use hessian");
      }
    }

    /** Second-order part summed over directions (Laplacian) or kept per direction (diagonal). */
    Tensor pair(Tensor a, Tensor b) {
      Tensor p = a == b ? square(a) : mul(a, b);
      return diagonal ? p : Ops.sum(p, false, 0);
    }

    Tensor fitT(Tensor t, Node node) {
      long[] want = prepend(d, node.shape);
      return t == null || Arrays.equals(t.shape(), want) ? t : broadcastTo(t, want);
    }

    Tensor fitS(Tensor s, Node node) {
      long[] want = diagonal ? prepend(d, node.shape) : node.shape;
      return s == null || Arrays.equals(s.shape(), want) ? s : broadcastTo(s, want);
    }

    Jet jet(Node node, Tensor t, Tensor s) {
      return new Jet(fitT(t, node), fitS(s, node));
    }

    static Tensor plus(Tensor a, Tensor b) {
      return a == null ? b : b == null ? a : add(a, b);
    }

    /** y = φ(z): φ′ from the op table, φ″ its forward-mode derivative with respect to z. */
    Jet unary(Node node, Rules.Ctx c, Jet z) {
      Tensor f1 = node.op.factor.apply(c);
      Node zn = node.inputs[0];
      Tensor f2 =
          Forward.jvp(node.trace, List.of(zn), List.of(Ops.onesLike(zn.tensor())), List.of(f1))[0];
      Tensor t = mul(z.t, f1);
      Tensor s = plus(z.s == null ? null : mul(z.s, f1), mul(pair(z.t, z.t), f2));
      return jet(node, t, s);
    }

    void alignedBinary(Node node, Jet[] in) {
      for (int i = 0; i < in.length; i++)
        if (in[i] != null && node.inputs[i].shape.length != node.shape.length)
          throw mixes(node, "broadcasts its input " + i + " " + Format.shape(node.inputs[i].shape) + " to "
              + Format.shape(node.shape) + ", which moves the point axis");
    }

    Jet linear2(Node node, Jet[] in, boolean subtract) {
      Tensor t = null, s = null;
      for (int i = 0; i < 2; i++) {
        if (in[i] == null) continue;
        Tensor ti = in[i].t, si = in[i].s;
        if (subtract && i == 1) {
          ti = ti == null ? null : neg(ti);
          si = si == null ? null : neg(si);
        }
        t = plus(t == null ? null : fitT(t, node), ti == null ? null : fitT(ti, node));
        s = plus(s == null ? null : fitS(s, node), si == null ? null : fitS(si, node));
      }
      return jet(node, t, s);
    }

    Jet product(Node node, Rules.Ctx c, Jet[] in) {
      Tensor a = c.in(0), b = c.in(1);
      Jet ja = in[0], jb = in[1];
      Tensor t = plus(ja == null ? null : mul(ja.t, b), jb == null ? null : mul(a, jb.t));
      Tensor s = plus(ja == null || ja.s == null ? null : mul(ja.s, b), jb == null || jb.s == null ? null : mul(a, jb.s));
      if (ja != null && jb != null) s = plus(s, mul(pair(fitT(ja.t, node), fitT(jb.t, node)), c.two()));
      return jet(node, t, s);
    }

    /** y = a / b, from a = y b: T_y = (T_a − y T_b) / b, S_y = (S_a − y S_b − 2 pair(T_y, T_b)) / b. */
    Jet quotient(Node node, Rules.Ctx c, Jet[] in) {
      Tensor y = c.out(), b = c.in(1);
      Jet ja = in[0], jb = in[1];
      Tensor num = ja == null ? null : ja.t;
      if (jb != null) num = num == null ? neg(mul(y, jb.t)) : sub(num, mul(y, jb.t));
      Tensor t = fitT(div(num, b), node);
      Tensor snum = ja == null ? null : ja.s;
      if (jb != null) {
        Tensor r = jb.s == null ? null : mul(y, jb.s);
        r = plus(r, mul(pair(t, fitT(jb.t, node)), c.two()));
        snum = snum == null ? neg(r) : sub(snum, r);
      }
      return jet(node, t, snum == null ? null : div(snum, b));
    }

    Jet select(Node node, Rules.Ctx c, Jet[] in) {
      Tensor m = Rules.selectsA(c, node.op == Op.MAXIMUM), notM = sub(c.one(), m);
      Tensor t = plus(in[0] == null ? null : mul(in[0].t, m), in[1] == null ? null : mul(in[1].t, notM));
      Tensor s =
          plus(in[0] == null || in[0].s == null ? null : mul(in[0].s, m), in[1] == null || in[1].s == null ? null : mul(in[1].s, notM));
      return jet(node, t, s);
    }

    /** op(a) @ b with b free of x: the d tangents go through as one GEMM of d·N rows. */
    Jet matmulRule(Node node, Jet[] in) {
      if (in[1] != null)
        throw mixes(node, "multiplies by a matrix that depends on the points (only a @ W with W free of x has a per-point rule)");
      Node a = node.inputs[0], b = node.inputs[1];
      boolean ta = node.attrs[0] != 0, tb = node.attrs[1] != 0;
      if (a.shape.length == 2 && ta) throw mixes(node, "contracts over the point axis (transposeA of a [N, k] operand)");
      if (a.shape.length == 2 ? b.shape.length != 2 : node.shape.length != a.shape.length)
        throw mixes(node, "broadcasts " + Format.shape(a.shape) + " against " + Format.shape(b.shape) + ", which moves the point axis");
      Tensor w = b.tensor();
      if (a.shape.length > 2) { // batched per point: the direction axis is one more batch axis
        Tensor t = matmul(in[0].t, w, ta, tb);
        Tensor s = in[0].s == null ? null : matmul(in[0].s, w, ta, tb);
        return jet(node, t, s);
      }
      long[] rows = {Math.multiplyExact(d, a.shape[0]), a.shape[1]};
      Tensor t = reshape(matmul(reshape(in[0].t, rows), w, false, tb), prepend(d, node.shape));
      Tensor s = null;
      if (in[0].s != null)
        s = diagonal ? reshape(matmul(reshape(in[0].s, rows), w, false, tb), prepend(d, node.shape)) : matmul(in[0].s, w, false, tb);
      return jet(node, t, s);
    }

    /** sum / mean over axes other than the point axis: the same reduction, one axis later for T. */
    Jet reduce(Node node, Jet z) {
      int[] axes = Rules.reducedAxes(node);
      boolean keep = node.attrs.length > 0 && node.attrs[0] != 0;
      int[] shifted = new int[axes.length];
      for (int i = 0; i < axes.length; i++) {
        if (axes[i] == 0) throw mixes(node, "reduces over the point axis");
        shifted[i] = axes[i] + 1;
      }
      boolean mean = node.op == Op.MEAN;
      Tensor t = mean ? Ops.mean(z.t, keep, shifted) : Ops.sum(z.t, keep, shifted);
      Tensor s = null;
      if (z.s != null) {
        int[] ax = diagonal ? shifted : axes;
        s = mean ? Ops.mean(z.s, keep, ax) : Ops.sum(z.s, keep, ax);
      }
      return jet(node, t, s);
    }

    Jet transposeRule(Node node, Jet z) {
      int rank = node.inputs[0].shape.length;
      long[] p = node.attrs.length > 0 ? node.attrs : null;
      if (p == null) {
        p = new long[rank];
        for (int i = 0; i < rank; i++) p[i] = rank - 1 - i;
      }
      if (p[0] != 0) throw mixes(node, "moves the point axis (perm " + Arrays.toString(p) + ")");
      long[] q = new long[rank + 1];
      for (int i = 0; i < rank; i++) q[i + 1] = p[i] + 1;
      Tensor t = Ops.transpose(z.t, q);
      Tensor s = z.s == null ? null : diagonal ? Ops.transpose(z.s, q) : Ops.transpose(z.s, p);
      return jet(node, t, s);
    }

    /** A shape op applied to T (leading direction axis) and to S. */
    Jet viewLike(Node node, Jet z, java.util.function.UnaryOperator<Tensor> onT) {
      Tensor t = onT.apply(z.t);
      Tensor s = null;
      if (z.s != null) s = diagonal ? onT.apply(z.s) : node.op.apply(node.attrs, node.scalar, z.s);
      return jet(node, t, s);
    }
  }
}
