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
 * Tensor hv = Autodiff.hvp(f, x, v);                                    // -sin(x) * v
 * Cell.Fn lap = Autodiff.laplacian(in -> u.call(in[0]));              // points [N, d] -> Δu [N, 1]
 * }</pre>
 *
 * <p>Note [Compiled once per function]: {@link #jvp}, {@link #hvp} and their parameter forms called on
 * concrete tensors keep their cell in a bounded cache keyed by the function (and the parameters), by
 * identity, so calling them again with the same {@code f} and the same shapes runs the graph compiled
 * the first time (as JAX's {@code jit} caches by function). A lambda written inside a loop that
 * captures variables is a new function each time round; hoist it out. {@link #releaseCompiled} frees
 * the cache. Inside a trace they are inlined, as every cell is.
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

  /**
   * Forward mode: {@code Tuple(f(primals), J(primals) . tangents)}, from each op's own JVP rule; compiled
   * once per signature for the same {@code f} (Note [Compiled once per function]).
   */
  public static Tuple jvp(Cell.Fn f, Tensor[] primals, Tensor[] tangents) {
    return forward("jvp", f, primals, tangents, false);
  }

  /**
   * Forward mode with respect to parameters that f reads: {@code Tuple(f(args), Σ_p ∂f/∂p . tangent_p)},
   * one tangent per parameter (in the order of {@code params}, each shaped like its parameter), the
   * arguments held fixed. Compiled once per signature for the same f and parameters.
   *
   * <pre>{@code
   * Tuple r = Autodiff.jvp(in -> net.call(in[0]), net.trainableParams(), directions, x);
   * }</pre>
   */
  public static Tuple jvp(Cell.Fn f, ParameterTuple params, Tensor[] tangents, Tensor... args) {
    checkParamTangents("jvp", f, params, tangents);
    return cached("jvpParams", f, -1, params, () -> new ParamsForwardFn(f, params, false))
        .call(concat(tangents, args))
        .asTuple();
  }

  /**
   * Hessian-vector product H(x) v of a scalar-valued f of one argument, forward over reverse (a JVP
   * of the gradient graph): about the cost of two gradients, never the Hessian. Compiled once per
   * signature for the same f.
   */
  public static Tensor hvp(Cell.Fn f, Tensor x, Tensor v) {
    return hvp(f, new Tensor[] {x}, new Tensor[] {v}).tensor(0);
  }

  /**
   * Hessian-vector product with respect to all arguments of a scalar-valued f: with g = ∇f, the tuple
   * {@code (Σ_j ∂g_i/∂x_j . v_j)_i}, one entry per argument, each shaped like it.
   */
  public static Tuple hvp(Cell.Fn f, Tensor[] primals, Tensor[] tangents) {
    return forward("hvp", f, primals, tangents, true);
  }

  private static Tuple forward(String what, Cell.Fn f, Tensor[] primals, Tensor[] tangents, boolean hessian) {
    if (f == null) throw new AdjointException(what + ": f is null");
    if (primals == null || tangents == null) throw new AdjointException(what + ": primals or tangents are null");
    if (primals.length != tangents.length)
      throw new AdjointException(what + ": " + primals.length + " primals but " + tangents.length + " tangents");
    int n = primals.length;
    return cached(what, f, n, null, () -> new ForwardFn(f, n, hessian)).call(concat(primals, tangents)).asTuple();
  }

  /**
   * Hessian-vector product of a scalar-valued f (a loss) with respect to the parameters it reads: H v
   * with H the Hessian over all of {@code params} together and v given per parameter; one entry per
   * parameter, shaped like it. The arguments are data, held fixed. This is what Newton-CG and
   * curvature probes need, with no rewrite of the network as a function of its weights.
   *
   * <pre>{@code
   * Tuple hv = Autodiff.hvp(in -> loss(net.call(in[0]), in[1]), net.trainableParams(), v, x, t);
   * }</pre>
   */
  public static Tuple hvp(Cell.Fn f, ParameterTuple params, Tensor[] tangents, Tensor... args) {
    checkParamTangents("hvp", f, params, tangents);
    return cached("hvpParams", f, -1, params, () -> new ParamsForwardFn(f, params, true))
        .call(concat(tangents, args))
        .asTuple();
  }

  /**
   * Δu of a per-point scalar field: {@code laplacian(f).apply(x, rest...)} with x the points [N, d] and
   * f(x, rest...) one value per point ([N] or [N, 1]) gives Σ_i ∂²u/∂x_i² per point, shaped like u. It is
   * computed in one forward pass that carries value, gradient and Laplacian through the ops (the
   * forward Laplacian), not by d second-order reverse passes, and is differentiable again (a PINN loss
   * on it trains). f must treat the points independently (an MLP does); an op that mixes them, or has
   * no second-order rule, is an error naming it.
   *
   * <pre>{@code
   * Cell.Fn lap = Autodiff.laplacian(in -> u.call(in[0]));
   * Tensor residual = Ops.sub(lap.apply(x).asTensor(), rhs);        // Δu − f
   * }</pre>
   */
  public static Cell.Fn laplacian(Cell.Fn f) {
    Cell c = new LaplacianFn(f, LaplacianFn.Kind.LAPLACIAN);
    return c::call;
  }

  /**
   * The Hessian diagonal ∂²u/∂x_i² of a per-point scalar field, in the same one forward pass as
   * {@link #laplacian}: shape u.shape ++ [d] (e.g. [N, 1, 2] for u [N, 1] over 2-D points).
   */
  public static Cell.Fn hessianDiagonal(Cell.Fn f) {
    Cell c = new LaplacianFn(f, LaplacianFn.Kind.DIAGONAL);
    return c::call;
  }

  /**
   * Value, gradient and Laplacian of a per-point scalar field in one forward pass:
   * {@code Tuple(u, ∇u, Δu)} with ∇u of shape u.shape ++ [d] (the gradient with respect to each point's
   * own coordinates) and Δu shaped like u.
   */
  public static Cell.Fn valueGradLaplacian(Cell.Fn f) {
    Cell c = new LaplacianFn(f, LaplacianFn.Kind.ALL);
    return c::call;
  }

  /** Frees the cells (and their compiled graphs) that jvp and hvp keep (Note [Compiled once per function]). */
  public static void releaseCompiled() {
    List<Cell> all;
    synchronized (CELLS) {
      all = new ArrayList<>(CELLS.values());
      CELLS.clear();
    }
    for (Cell c : all) c.close();
  }

  private static final int CELL_CACHE = 64;

  /** Key of a cached cell: kind, the function and the parameters by identity, the arity. */
  private record Key(String kind, Cell.Fn f, int n, List<Parameter> params) {
    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Key k) || k.f != f || k.n != n || !k.kind.equals(kind)) return false;
      if (params == null || k.params == null) return params == k.params;
      if (params.size() != k.params.size()) return false;
      for (int i = 0; i < params.size(); i++) if (params.get(i) != k.params.get(i)) return false;
      return true;
    }

    @Override
    public int hashCode() {
      int h = kind.hashCode() * 31 + System.identityHashCode(f);
      h = h * 31 + n;
      if (params != null) for (Parameter p : params) h = h * 31 + System.identityHashCode(p);
      return h;
    }
  }

  private static final java.util.LinkedHashMap<Key, Cell> CELLS =
      new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Key, Cell> eldest) {
          if (size() <= CELL_CACHE) return false;
          eldest.getValue().close(); // runs in flight finish first (Note [Eviction] in CompileCache)
          return true;
        }
      };

  private static Cell cached(String kind, Cell.Fn f, int n, ParameterTuple params, java.util.function.Supplier<Cell> make) {
    Key k = new Key(kind, f, n, params == null ? null : params.asList());
    synchronized (CELLS) {
      return CELLS.computeIfAbsent(k, key -> make.get());
    }
  }

  private static void checkParamTangents(String what, Cell.Fn f, ParameterTuple params, Tensor[] tangents) {
    if (f == null) throw new AdjointException(what + ": f is null");
    if (params == null || tangents == null) throw new AdjointException(what + ": params or tangents are null");
    if (params.size() != tangents.length)
      throw new AdjointException(what + ": " + params.size() + " parameters but " + tangents.length + " tangents");
    for (int i = 0; i < tangents.length; i++) {
      Parameter p = params.get(i);
      Tensor t = tangents[i];
      if (!p.dtype().isFloating())
        throw new AdjointException(
            what + ": parameter '" + p.name() + "' is " + p.dtype() + "; only Float32 and Float64 can be differentiated");
      if (t == null) throw new AdjointException(what + ": the tangent of parameter '" + p.name() + "' is null");
      if (!Arrays.equals(t.shape(), p.shape()) || t.dtype() != p.dtype())
        throw new AdjointException(
            what + ": the tangent of parameter '" + p.name() + "' is " + t.describe() + " but the parameter is " + p.describe());
    }
  }

  private static Tensor[] concat(Tensor[] a, Tensor[] b) {
    if (b == null) throw new AdjointException("arguments are null");
    Tensor[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
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
      Tensor out = scalar("valueAndGrad", f.apply(in));
      Tensor[] g = Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt);
      return Tuple.of(out, Tuple.of(g));
    }

    @Override
    public String name() {
      return "valueAndGrad";
    }
  }

  /**
   * jvp (hessian false: Tuple(f, J.v)) or hvp (true: Tuple(H v)) with respect to the arguments; in =
   * primals ++ tangents.
   */
  private static final class ForwardFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final int n;
    private final boolean hessian;

    ForwardFn(Fn f, int n, boolean hessian) {
      this.f = f;
      this.n = n;
      this.hessian = hessian;
    }

    @Override
    public Value construct(Tensor... in) {
      String what = name();
      for (int i = 0; i < n; i++)
        if (!in[i].dtype().isFloating())
          throw new AdjointException(
              what + ": primal " + i + " is " + in[i].describe() + "; only Float32 and Float64 can be differentiated");
      Trace trace = Trace.current();
      Tensor[] primals = aliases(trace, Arrays.copyOf(in, n));
      List<Node> wrt = new ArrayList<>();
      for (Tensor p : primals) wrt.add(trace.nodeOf(p));
      List<Tensor> tangents = Arrays.asList(Arrays.copyOfRange(in, n, 2 * n));
      Value r = f.apply(primals);
      if (!hessian) {
        Tensor[] t = Forward.jvp(trace, wrt, tangents, r.leaves());
        return Tuple.of(r, Structure.unflatten(r, Arrays.asList(t).iterator()));
      }
      Tensor out = scalar(what, r);
      Tensor[] g = Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt);
      return Tuple.of(Forward.jvp(trace, wrt, tangents, Arrays.asList(g)));
    }

    @Override
    public String name() {
      return hessian ? "hvp" : "jvp";
    }
  }

  private static Tensor scalar(String what, Value r) {
    if (!(r instanceof Tensor out) || out.numel() != 1)
      throw new AdjointException(
          what + ": f must return a scalar (one element) tensor, got " + (r instanceof Tensor t ? t.describe() : "a Tuple"));
    return out;
  }

  /**
   * jvp (hessian false: Tuple(f, J.v)) or hvp (true: Tuple(H v)) with respect to parameters; in =
   * tangents (one per parameter) ++ the arguments of f.
   */
  private static final class ParamsForwardFn extends Cell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final List<Parameter> params;
    private final boolean hessian;

    ParamsForwardFn(Fn f, ParameterTuple params, boolean hessian) {
      this.f = f;
      this.params = params.asList();
      this.hessian = hessian;
    }

    @Override
    public Value construct(Tensor... in) {
      int k = params.size();
      Trace trace = Trace.current();
      List<Node> wrt = new ArrayList<>();
      for (Parameter p : params) wrt.add(trace.nodeOf(p));
      List<Tensor> tangents = Arrays.asList(Arrays.copyOf(in, k));
      Value r = f.apply(Arrays.copyOfRange(in, k, in.length));
      if (!hessian) {
        Tensor[] t = Forward.jvp(trace, wrt, tangents, r.leaves());
        return Tuple.of(r, Structure.unflatten(r, Arrays.asList(t).iterator()));
      }
      Tensor out = scalar("hvp", r);
      Tensor[] g = Backward.grad(trace, List.of(out), List.of(Ops.onesLike(out)), wrt);
      return Tuple.of(Forward.jvp(trace, wrt, tangents, Arrays.asList(g)));
    }

    @Override
    public String name() {
      return hessian ? "hvp(params)" : "jvp(params)";
    }
  }

  /** The forward Laplacian of a per-point field: points first, then f's other arguments. */
  private static final class LaplacianFn extends Cell {
    enum Kind { LAPLACIAN, DIAGONAL, ALL }

    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Fn f;
    private final Kind kind;

    LaplacianFn(Fn f, Kind kind) {
      if (f == null) throw new AdjointException(kind.name().toLowerCase() + ": f is null");
      this.f = f;
      this.kind = kind;
    }

    @Override
    public Value construct(Tensor... in) {
      String what = name();
      if (in.length < 1) throw new AdjointException(what + ": needs the points [N, d] as argument 0");
      if (!in[0].dtype().isFloating())
        throw new AdjointException(what + ": the points are " + in[0].describe() + "; only Float32 and Float64 can be differentiated");
      if (in[0].rank() != 2) throw new AdjointException(what + ": the points must be a [N, d] tensor, got " + in[0].describe());
      Trace trace = Trace.current();
      Tensor[] a = aliases(trace, in);
      Value r = f.apply(a);
      if (!(r instanceof Tensor u)) throw new AdjointException(what + ": f must return one Tensor, got a Tuple");
      Tensor[] ts = dev.adjoint.internal.ForwardLaplacian.of(what, trace, a[0], u, kind == Kind.DIAGONAL);
      if (kind == Kind.LAPLACIAN) return ts[1];
      if (kind == Kind.DIAGONAL) return directionLast(ts[1]);
      return Tuple.of(u, directionLast(ts[0]), ts[1]);
    }

    /** [d, ...S] to [...S, d]. */
    private static Tensor directionLast(Tensor t) {
      int r = t.rank();
      long[] perm = new long[r];
      for (int i = 0; i < r - 1; i++) perm[i] = i + 1;
      perm[r - 1] = 0;
      return Ops.transpose(t, perm);
    }

    @Override
    public String name() {
      return switch (kind) {
        case LAPLACIAN -> "laplacian";
        case DIAGONAL -> "hessianDiagonal";
        case ALL -> "valueGradLaplacian";
      };
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
