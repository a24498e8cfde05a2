package dev.adjoint.internal;

import static dev.adjoint.Ops.add;
import static dev.adjoint.Ops.broadcastTo;
import static dev.adjoint.Ops.div;
import static dev.adjoint.Ops.matmul;
import static dev.adjoint.Ops.mul;
import static dev.adjoint.Ops.reshape;
import static dev.adjoint.Ops.sub;

import dev.adjoint.AdjointException;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.Arrays;

/**
 * The shared pieces of the op table's derivatives: the forms an entry declares them with (a derivative
 * factor, a transpose of a linear or bilinear op), what a rule sees, and the longer rules.
 */
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

  // ------------------------------------------------------------------ declarations

  /**
   * How an op is differentiated: its VJP and its JVP. An entry of the op table declares one with the
   * forms below, which write each derivative once; the other mode follows from it. {@code factor} is
   * the derivative factor f′ an elementwise unary op declares ({@code times}, {@code over}), null for
   * every other op: the second-order forward rules (ForwardLaplacian) use it and get f″ as its
   * derivative, so no op declares a second rule.
   */
  record Derivative(Vjp vjp, Jvp jvp, Of factor) {
    Derivative(Vjp vjp, Jvp jvp) {
      this(vjp, jvp, null);
    }
  }

  /** Part of a declaration: a tensor computed from the node (a derivative factor, a divisor). */
  @FunctionalInterface
  interface Of {
    Tensor apply(Ctx c);
  }

  /** A linear map of a tensor onto one of its own shape (a part of an elementwise linear op). */
  @FunctionalInterface
  interface Part {
    Tensor apply(Tensor v);
  }

  /**
   * An elementwise unary op with derivative factor {@code f′} (cos x for sin): VJP = g·f′, JVP = t·f′.
   * The Jacobian is diagonal, so one factor serves both modes.
   */
  static Derivative times(Of factor) {
    return new Derivative(c -> of(mul(c.g(), factor.apply(c))), c -> mul(c.t(0), factor.apply(c)), factor);
  }

  /**
   * An elementwise unary op whose factor is {@code f′ = 1 / d} (1/x for log): VJP = g/d, JVP = t/d, as
   * one division (one rounding), not a multiplication by a reciprocal.
   */
  static Derivative over(Of divisor) {
    return new Derivative(
        c -> of(div(c.g(), divisor.apply(c))), c -> div(c.t(0), divisor.apply(c)), c -> div(c.one(), divisor.apply(c)));
  }

  /** A derivative that is zero (step, almost everywhere) or blocked (stopGradient): f′ = 0. */
  static final Derivative ZERO = new Derivative(c -> of((Tensor) null), c -> null);

  /** ZERO for a binary op (the comparisons): no cotangent to either input, no tangent. */
  static final Derivative ZERO2 = new Derivative(c -> of(null, null), c -> null);

  /** A node that depends on no differentiable input (fill, onesLike, zerosLike, graph inputs). */
  static final Derivative CONSTANT = new Derivative(null, null);

  /** Has no derivative; an error naming the op when one is asked for (max, under stopGradient). */
  static final Derivative NOT_DIFFERENTIABLE = new Derivative(Rules::notDifferentiable, Rules::notDifferentiableJvp);

  /**
   * An elementwise op linear in its arguments, {@code f(x, y) = a(x) + b(y)} with {@code a, b} scalings
   * (identity, neg, add, sub): each part is its own transpose, so VJP = (a(g), b(g)), and the JVP is the
   * op applied to the tangents, f(tx, ty), where the part of a symbolic-zero tangent is dropped.
   */
  static Derivative elementwiseLinear(Part... parts) {
    return new Derivative(
        c -> {
          Tensor[] ct = new Tensor[parts.length];
          for (int i = 0; i < parts.length; i++) ct[i] = parts[i].apply(c.g());
          return ct;
        },
        c -> {
          int present = 0;
          for (int i = 0; i < parts.length; i++) if (c.t(i) != null) present++;
          if (present == 0) return null;
          if (present == parts.length && parts.length > 1) return sameShape(c, reapply(c, tangents(c)));
          Tensor sum = null;
          for (int i = 0; i < parts.length; i++) {
            if (c.t(i) == null) continue;
            Tensor p = parts[i].apply(c.t(i));
            sum = sum == null ? p : add(sum, p);
          }
          return sameShape(c, sum);
        });
  }

  /**
   * A linear op (sum, mean, reshape, transpose, broadcastTo, sumToShape): only its transpose, the VJP, is
   * written; its JVP is the op itself applied to the tangent (JAX's deflinear).
   */
  static Derivative linear(Vjp transpose) {
    return new Derivative(transpose, c -> c.t(0) == null ? null : reapply(c, c.t(0)));
  }

  /**
   * A bilinear op (mul, matmul): only its two transposes, the VJP, are written; its JVP is
   * {@code f(ta, b) + f(a, tb)}, a term dropped when its tangent is a symbolic zero (JAX's defbilinear).
   */
  static Derivative bilinear(Vjp transposes) {
    return new Derivative(
        transposes,
        c ->
            sumTangents(
                c.t(0) == null ? null : reapply(c, c.t(0), c.in(1)),
                c.t(1) == null ? null : reapply(c, c.in(0), c.t(1)),
                false,
                c));
  }

  /** Both rules written out (div, which is neither; host callbacks; the bprop marker). */
  static Derivative rules(Vjp vjp, Jvp jvp) {
    return new Derivative(vjp, jvp);
  }

  /** The node's own op, with its attributes, on other arguments. */
  private static Tensor reapply(Ctx c, Tensor... args) {
    return c.node().op.apply(c.node().attrs, c.node().scalar, args);
  }

  private static Tensor[] tangents(Ctx c) {
    Tensor[] t = new Tensor[c.node().inputs.length];
    for (int i = 0; i < t.length; i++) t[i] = c.t(i);
    return t;
  }

  private static Tensor sameShape(Ctx c, Tensor t) {
    return Arrays.equals(t.shape(), c.node().shape) ? t : broadcastTo(t, c.node().shape);
  }

  static Tensor[] of(Tensor... cotangents) {
    return cotangents;
  }

  // ------------------------------------------------------------------ the longer rules

  // matmul(a, b, tA, tB) = op(a) @ op(b). With g the cotangent:
  //   tA=0 tB=0: da = g b^T      db = a^T g
  //   tA=1 tB=0: da = b g^T      db = a g
  //   tA=0 tB=1: da = g b        db = g^T a
  //   tA=1 tB=1: da = b^T g^T    db = g^T a^T
  // Every case is one matmul with flags: a transpose is never materialised.
  static Tensor[] matmulTransposes(Ctx c) {
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

  /** left ± right where either may be a symbolic zero (null), broadcast to the node's shape. */
  /**
   * For minimum (max false) and maximum (true): 1 where the op selects a, else 0, as op_math.h does
   * (b strictly smaller, resp. larger, selects b; a tie selects a). Built from step, whose derivative
   * is zero, so the rules differentiate again.
   */
  static Tensor selectsA(Ctx c, boolean max) {
    Tensor bWins = max ? Ops.step(sub(c.in(1), c.in(0))) : Ops.step(sub(c.in(0), c.in(1)));
    return sub(c.one(), bWins);
  }

  static Tensor[] selectVjp(Ctx c, boolean max) {
    Tensor m = selectsA(c, max);
    return of(Ops.mul(c.g(), m), Ops.mul(c.g(), sub(c.one(), m)));
  }

  static Tensor selectJvp(Ctx c, boolean max) {
    Tensor m = selectsA(c, max);
    return sumTangents(
        c.t(0) == null ? null : Ops.mul(c.t(0), m), c.t(1) == null ? null : Ops.mul(c.t(1), sub(c.one(), m)), false, c);
  }

  static Tensor sumTangents(Tensor left, Tensor right, boolean subtract, Ctx c) {
    Tensor r;
    if (left == null && right == null) return null;
    if (right == null) r = left;
    else if (left == null) r = subtract ? Ops.neg(right) : right;
    else r = subtract ? sub(left, right) : add(left, right);
    return Arrays.equals(r.shape(), c.node().shape) ? r : broadcastTo(r, c.node().shape);
  }

  // pow(a, b) = a^b (C's pow). Note [pow derivatives]:
  //   d/da = b a^(b-1), computed as b pow(a, b - 1 + eq(b, 0)): where b = 0 the exponent becomes 0, so
  //     the factor is 0 * 1 = 0 (the derivative of the constant a^0 = 1) even at a = 0, where
  //     b pow(a, -1) would be 0 * inf. A negative base with an integral exponent gives the finite, exact
  //     b a^(b-1) (pow(-2, 2) = 4); with a non-integral one the function itself is NaN, and so is this.
  //   d/db = a^b log a where a > 0, and 0 where a <= 0 (TensorFlow's choice): for a < 0, a^b is real
  //     only at integral b, so it has no derivative in b on the reals; at a = 0 it is constant in b > 0.
  //     Both factors are computed on the safe base s = a where a > 0, else 1 (relu(a) + (1 - step(a)),
  //     exact for a > 0): pow(s, b) log(s) is exactly 0 there, never inf * 0.
  // The masks (eq, step) have zero derivative and relu's is step, so both rules differentiate again to
  // the true second derivatives where a > 0 (and where b is integral, for d/da twice).
  static Tensor powFactorA(Ctx c) {
    Tensor a = c.in(0), b = c.in(1);
    return mul(b, Ops.pow(a, add(sub(b, c.one()), Ops.eq(b, Ops.scalarLike(0, b.dtype())))));
  }

  static Tensor powFactorB(Ctx c) {
    Tensor a = c.in(0), b = c.in(1);
    Tensor safe = add(Ops.relu(a), sub(c.one(), Ops.step(a)));
    return mul(Ops.pow(safe, b), Ops.log(safe));
  }

  /** A constant exponent (pow(x, 2.0)) gets no cotangent: its rule is not traced at all. */
  private static boolean isConstant(Node n) {
    return n.op == Op.FILL;
  }

  static Tensor[] powVjp(Ctx c) {
    Tensor da = mul(c.g(), powFactorA(c));
    Tensor db = isConstant(c.node().inputs[1]) ? null : mul(c.g(), powFactorB(c));
    return of(da, db);
  }

  static Tensor powJvp(Ctx c) {
    return sumTangents(
        c.t(0) == null ? null : mul(c.t(0), powFactorA(c)),
        c.t(1) == null ? null : mul(c.t(1), powFactorB(c)),
        false,
        c);
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

  // ------------------------------------------------------------------ indexing

  /** slice's transpose: g written into zeros of x's shape at the sliced positions. */
  static Tensor[] sliceVjp(Ctx c) {
    long[] a = c.node().attrs;
    long dim = c.in(0).shape()[(int) a[0]];
    return of(Op.SLICE_GRAD.apply(new long[] {a[0], a[1], a[2], a[3], dim}, 0, c.g()));
  }

  /** sliceGrad's transpose: the slice of g. */
  static Tensor[] sliceGradVjp(Ctx c) {
    return of(Op.SLICE.apply(Arrays.copyOf(c.node().attrs, 4), 0, c.g()));
  }

  /** concat's transpose: g cut back into the inputs' lengths along the axis. */
  static Tensor[] concatVjp(Ctx c) {
    long axis = c.attr(0);
    Tensor[] parts = new Tensor[c.node().inputs.length];
    long at = 0;
    for (int i = 0; i < parts.length; i++) {
      long len = c.in(i).shape()[(int) axis];
      parts[i] = Op.SLICE.apply(new long[] {axis, at, at + len, 1}, 0, c.g());
      at += len;
    }
    return parts;
  }

  /** concat is linear: the concat of the tangents, zeros standing in for symbolic-zero ones. */
  static Tensor concatJvp(Ctx c) {
    Tensor[] t = new Tensor[c.node().inputs.length];
    for (int i = 0; i < t.length; i++) t[i] = c.t(i) != null ? c.t(i) : Ops.zerosLike(c.in(i));
    return Op.CONCAT.apply(c.node().attrs, 0, t);
  }

  /** gather's transpose in x: g added into zeros of x's shape at the indices (duplicates accumulate). */
  static Tensor[] gatherVjp(Ctx c) {
    long axis = c.attr(0);
    long dim = c.in(0).shape()[(int) axis];
    return of(Op.SCATTER_ADD.apply(new long[] {axis, dim}, 0, c.g(), c.in(1)), null);
  }

  /** scatterAdd's transpose in g: the gather of the cotangent at the same indices. */
  static Tensor[] scatterAddVjp(Ctx c) {
    return of(Op.GATHER.apply(new long[] {c.attr(0)}, 0, c.g(), c.in(1)), null);
  }

  /** gather and scatterAdd are linear in their first input: the op applied to its tangent. */
  static Tensor indexedJvp(Ctx c) {
    return c.t(0) == null ? null : reapply(c, c.t(0), c.in(1));
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
