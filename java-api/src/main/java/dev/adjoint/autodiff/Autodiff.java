package dev.adjoint.autodiff;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.internal.Backward;
import dev.adjoint.internal.Forward;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.Op;
import dev.adjoint.internal.Shapes;
import dev.adjoint.internal.Structure;
import dev.adjoint.internal.Trace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The functional forms JAX users expect. Every function returned is traceable: it can be called on
 * concrete tensors (compiled once per signature) or inside another trace, and differentiated again.
 *
 * <pre>{@code
 * Cell.Fn f = in -> Ops.sum(Ops.sin(in[0]));
 * Cell.Fn df = Autodiff.grad(f);                  // cos(x)
 * Cell.Fn d2f = Autodiff.grad(in -> Ops.sum(df.apply(in).asTensor()));   // -sin(x)
 * Tuple vg = Autodiff.valueAndGrad(f).apply(x).asTuple();              // (f(x), cos(x))
 * Tuple jv = Autodiff.jvp(f, new Tensor[] {x}, new Tensor[] {v});     // (f(x), <cos(x), v>)
 * Tensor h = Autodiff.hessian(f).apply(x).asTensor();                  // diag(-sin(x))
 * }</pre>
 */
public final class Autodiff {
  private Autodiff() {}

  /** Gradient of a scalar-valued f with respect to argument 0. */
  public static Cell.Fn grad(Cell.Fn f) {
    return grad(f, false, 0);
  }

  /**
   * Gradient of a scalar-valued f with respect to the arguments {@code argnums}: a Tensor for one
   * argnum, a Tuple for several. With {@code hasAux}, f returns {@code Tuple(value, aux)} and the
   * result is {@code Tuple(grads, aux)}.
   */
  public static Cell.Fn grad(Cell.Fn f, boolean hasAux, int... argnums) {
    Cell c = new GradFn(f, hasAux, false, argnums);
    return c::call;
  }

  /** {@code Tuple(f(x), df/dx)} of a scalar-valued f with respect to argument 0, from one trace. */
  public static Cell.Fn valueAndGrad(Cell.Fn f) {
    return valueAndGrad(f, false, 0);
  }

  /** {@code Tuple(value, grads)}; with hasAux, {@code Tuple(Tuple(value, aux), grads)}. */
  public static Cell.Fn valueAndGrad(Cell.Fn f, boolean hasAux, int... argnums) {
    Cell c = new GradFn(f, hasAux, true, argnums);
    return c::call;
  }

  /**
   * Value and gradients of a scalar-valued f with respect to parameters it reads (not arguments):
   * {@code Tuple(value, Tuple(dp...))}, one gradient per parameter in the order of {@code params}; a
   * parameter f does not use gets zeros. This is the loss-and-gradients part of every optimizer's step.
   *
   * <pre>{@code
   * Tuple vg = Autodiff.valueAndGrad(in -> net.call(in[0], in[1]), net.trainableParams()).apply(x, t).asTuple();
   * }</pre>
   */
  public static Cell.Fn valueAndGrad(Cell.Fn f, ParameterTuple params) {
    Cell c = new ParamsGradFn(f, params);
    return c::call;
  }

  /**
   * The output of f at primals and its pullback: cotangent (shaped like the output) to input cotangents.
   *
   * <pre>{@code
   * Autodiff.Vjp r = Autodiff.vjp(in -> Ops.mul(in[0], in[1]), a, b);
   * Tuple grads = r.pullback().apply(Ops.onesLike(r.out().asTensor()));   // (b, a)
   * }</pre>
   *
   * @param out f(primals)
   * @param pullback the cotangent map of f at primals
   */
  public record Vjp(Value out, Pullback pullback) {}

  /**
   * Maps a cotangent of f's output (shaped like it) to the cotangents of f's inputs, one per primal, as a
   * Tuple; each call runs a compiled gradient graph.
   *
   * <pre>{@code
   * Autodiff.Vjp r = Autodiff.vjp(in -> Ops.sin(in[0]), x);
   * Tensor dx = r.pullback().apply(Ops.onesLike(x)).tensor(0);   // cos(x)
   * }</pre>
   */
  @FunctionalInterface
  public interface Pullback {
    /** The input cotangents for {@code cotangent}, one per primal, in order. */
    Tuple apply(Value cotangent);
  }

  /**
   * Runs f at {@code primals} and returns its output with the pullback, JAX's {@code vjp}: the pullback
   * reuses one compiled gradient cell for every cotangent.
   */
  public static Vjp vjp(Cell.Fn f, Tensor... primals) {
    if (primals == null) throw new AdjointException("vjp: primals are null");
    Cell net = Cell.of(primals.length, f);
    Value out = net.call(primals);
    Cell g = GradOperation.builder().getAll(true).sensParam(true).build().of(net);
    Tensor[] p = primals.clone();
    return new Vjp(
        out,
        ct -> {
          Value[] args = Arrays.copyOf(p, p.length + 1, Value[].class);
          args[p.length] = ct;
          return g.call(args).asTuple();
        });
  }

  /** Forward mode: {@code Tuple(f(primals), J(primals) . tangents)}, from each op's own JVP rule. */
  public static Tuple jvp(Cell.Fn f, Tensor[] primals, Tensor[] tangents) {
    if (primals.length != tangents.length)
      throw new AdjointException("jvp: " + primals.length + " primals but " + tangents.length + " tangents");
    Tensor[] args = Arrays.copyOf(primals, primals.length * 2);
    System.arraycopy(tangents, 0, args, primals.length, tangents.length);
    return new JvpFn(f, primals.length).call(args).asTuple();
  }

  /** Jacobian of f with respect to argument {@code argnum}, by reverse mode: shape out.shape ++ in.shape. */
  public static Cell.Fn jacobian(Cell.Fn f, int argnum) {
    return jacobian(f, argnum, false);
  }

  /** Jacobian by forward mode (one JVP per input element) or reverse mode (one VJP per output element). */
  public static Cell.Fn jacobian(Cell.Fn f, int argnum, boolean forward) {
    Cell c = new JacobianFn(f, argnum, forward);
    return c::call;
  }

  /** Hessian of a scalar-valued f: forward over reverse. */
  public static Cell.Fn hessian(Cell.Fn f) {
    return hessian(f, 0);
  }

  /**
   * Hessian of a scalar-valued f with respect to argument {@code argnum} (forward over reverse): shape
   * {@code in.shape ++ in.shape}.
   */
  public static Cell.Fn hessian(Cell.Fn f, int argnum) {
    return jacobian(grad(f, false, argnum), argnum, true);
  }

  // ------------------------------------------------------------------ cells behind the functions

  private static Tensor[] aliases(Trace trace, Tensor[] in) {
    Tensor[] a = new Tensor[in.length];
    for (int i = 0; i < in.length; i++)
      a[i] = trace.record(Op.IDENTITY, new Node[] {trace.nodeOf(in[i])}, new long[0], 0).tensor();
    return a;
  }

  private static final class GradFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final boolean hasAux, withValue;
    private final int[] argnums;

    GradFn(Fn f, boolean hasAux, boolean withValue, int[] argnums) {
      this.f = f;
      this.hasAux = hasAux;
      this.withValue = withValue;
      this.argnums = argnums.length == 0 ? new int[] {0} : argnums.clone();
    }

    @Override
    public Value construct(Tensor... in) {
      Trace trace = Trace.current();
      Tensor[] a = aliases(trace, in);
      List<Node> wrt = new ArrayList<>();
      for (int k : argnums) {
        if (k < 0 || k >= in.length)
          throw new AdjointException("grad: argnum " + k + " out of range for " + in.length + " argument(s)");
        if (!in[k].dtype().isFloating())
          throw new AdjointException("grad: argument " + k + " is " + in[k].describe() + "; only Float32 and Float64 can be differentiated");
        wrt.add(trace.nodeOf(a[k]));
      }
      Value r = f.apply(a);
      Value aux = null;
      if (hasAux) {
        Tuple t = r.asTuple();
        if (t.size() != 2) throw new AdjointException("grad(hasAux): f must return Tuple(value, aux), got " + t.size() + " items");
        r = t.get(0);
        aux = t.get(1);
      }
      if (!(r instanceof Tensor out) || out.numel() != 1)
        throw new AdjointException(
            "grad: f must return a scalar (one element) tensor, got " + (r instanceof Tensor t ? t.describe() : "a Tuple")
                + "; use GradOperation or vjp for other outputs");
      Tensor[] g = Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt);
      Value grads = argnums.length == 1 ? g[0] : Tuple.of(g);
      if (withValue) return Tuple.of(hasAux ? Tuple.of(out, aux) : out, grads);
      return hasAux ? Tuple.of(grads, aux) : grads;
    }

    @Override
    public String name() {
      return withValue ? "valueAndGrad" : "grad";
    }
  }

  private static final class ParamsGradFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final ParameterTuple params;

    ParamsGradFn(Fn f, ParameterTuple params) {
      if (f == null) throw new AdjointException("valueAndGrad: f is null");
      if (params == null) throw new AdjointException("valueAndGrad: params are null");
      for (Parameter p : params)
        if (!p.dtype().isFloating())
          throw new AdjointException(
              "valueAndGrad: parameter '" + p.name() + "' is " + p.dtype() + "; only Float32 and Float64 can be differentiated");
      this.f = f;
      this.params = params;
    }

    @Override
    public Value construct(Tensor... in) {
      Trace trace = Trace.current();
      List<Node> wrt = new ArrayList<>();
      for (Parameter p : params) wrt.add(trace.nodeOf(p));
      Value r = f.apply(in);
      if (!(r instanceof Tensor out) || out.numel() != 1)
        throw new AdjointException(
            "valueAndGrad: f must return a scalar (one element) tensor, got " + (r instanceof Tensor t ? t.describe() : "a Tuple"));
      Tensor[] g = Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt);
      return Tuple.of(out, Tuple.of(g));
    }

    @Override
    public String name() {
      return "valueAndGrad";
    }
  }

  private static final class JvpFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final int n;

    JvpFn(Fn f, int n) {
      this.f = f;
      this.n = n;
    }

    @Override
    public Value construct(Tensor... in) {
      for (int i = 0; i < n; i++)
        if (!in[i].dtype().isFloating())
          throw new AdjointException(
              "jvp: primal " + i + " is " + in[i].describe() + "; only Float32 and Float64 can be differentiated");
      Trace trace = Trace.current();
      Tensor[] primals = aliases(trace, Arrays.copyOf(in, n));
      List<Node> wrt = new ArrayList<>();
      for (Tensor p : primals) wrt.add(trace.nodeOf(p));
      Value out = f.apply(primals);
      List<Tensor> leaves = out.leaves();
      Tensor[] t = Forward.jvp(trace, wrt, Arrays.asList(Arrays.copyOfRange(in, n, 2 * n)), leaves);
      return Tuple.of(out, Structure.unflatten(out, Arrays.asList(t).iterator()));
    }

    @Override
    public String name() {
      return "jvp";
    }
  }

  /**
   * J[i..., j...] = d out[i...] / d in[j...], built inside the trace (so it can be differentiated and
   * nested): one VJP per output element, or one JVP per input element, each placed with a one-hot mask.
   * Each column's JVP walks only the ancestors of {@code out} that depend on x, never the nodes that
   * earlier columns recorded (Note [forward mode visits only the dependent subgraph] in Forward), so the
   * trace grows by one column's subgraph per column.
   */
  private static final class JacobianFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final int argnum;
    private final boolean forward;

    JacobianFn(Fn f, int argnum, boolean forward) {
      this.f = f;
      this.argnum = argnum;
      this.forward = forward;
    }

    @Override
    public Value construct(Tensor... in) {
      if (argnum < 0 || argnum >= in.length)
        throw new AdjointException("jacobian: argnum " + argnum + " out of range for " + in.length + " argument(s)");
      if (!in[argnum].dtype().isFloating())
        throw new AdjointException(
            "jacobian: argument " + argnum + " is " + in[argnum].describe()
                + "; only Float32 and Float64 can be differentiated");
      Trace trace = Trace.current();
      Tensor[] a = aliases(trace, in);
      Tensor x = a[argnum];
      Value r = f.apply(a);
      if (!(r instanceof Tensor out)) throw new AdjointException("jacobian: f must return one Tensor");
      long m = out.numel(), n = x.numel();
      if (m * n > 1 << 20) throw new AdjointException("jacobian: " + m + " x " + n + " is too large to build densely");
      long[] jshape = concat(out.shape(), x.shape());
      Tensor j = null;
      long count = forward ? n : m;
      for (long k = 0; k < count; k++) {
        Tensor piece;
        Tensor placed;
        if (forward) {
          Tensor e = oneHot(x.dtype(), x.shape(), k);
          piece = Forward.jvp(trace, List.of(trace.nodeOf(x)), List.of(e), List.of(out))[0]; // column k, shaped like out
          placed = Ops.mul(Ops.reshape(piece, concat(out.shape(), ones(x.rank()))), Ops.reshape(e, concat(ones(out.rank()), x.shape())));
        } else {
          Tensor e = oneHot(out.dtype(), out.shape(), k);
          piece = Backward.grad(trace, List.of(out), List.of(e), List.of(trace.nodeOf(x)))[0]; // row k, shaped like x
          placed = Ops.mul(Ops.reshape(e, concat(out.shape(), ones(x.rank()))), Ops.reshape(piece, concat(ones(out.rank()), x.shape())));
        }
        placed = Ops.broadcastTo(placed, jshape);
        j = j == null ? placed : Ops.add(j, placed);
      }
      return j == null ? Ops.fill(out.dtype(), 0, jshape) : j;
    }

    private static Tensor oneHot(DType dtype, long[] shape, long k) {
      int n = Math.toIntExact(Shapes.numel("jacobian", shape));
      if (dtype == DType.FLOAT64) {
        double[] v = new double[n];
        v[(int) k] = 1;
        return Tensor.of(v, shape);
      }
      float[] v = new float[n];
      v[(int) k] = 1;
      return Tensor.of(v, shape);
    }

    private static long[] ones(int rank) {
      long[] o = new long[rank];
      Arrays.fill(o, 1);
      return o;
    }

    private static long[] concat(long[] a, long[] b) {
      long[] c = Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, c, a.length, b.length);
      return c;
    }

    @Override
    public String name() {
      return forward ? "jacobian(forward)" : "jacobian(reverse)";
    }
  }
}
