package dev.adjoint.internal;

import static dev.adjoint.Ops.add;
import static dev.adjoint.Ops.broadcastTo;
import static dev.adjoint.Ops.cos;
import static dev.adjoint.Ops.div;
import static dev.adjoint.Ops.exp;
import static dev.adjoint.Ops.mul;
import static dev.adjoint.Ops.neg;
import static dev.adjoint.Ops.reshape;
import static dev.adjoint.Ops.sigmoid;
import static dev.adjoint.Ops.sin;
import static dev.adjoint.Ops.square;
import static dev.adjoint.Ops.step;
import static dev.adjoint.Ops.sub;
import static dev.adjoint.Ops.sumToShape;
import static dev.adjoint.Ops.transpose;
import static dev.adjoint.internal.Rules.CONSTANT;
import static dev.adjoint.internal.Rules.NOT_DIFFERENTIABLE;
import static dev.adjoint.internal.Rules.ZERO;
import static dev.adjoint.internal.Rules.bilinear;
import static dev.adjoint.internal.Rules.elementwiseLinear;
import static dev.adjoint.internal.Rules.linear;
import static dev.adjoint.internal.Rules.of;
import static dev.adjoint.internal.Rules.over;
import static dev.adjoint.internal.Rules.rules;
import static dev.adjoint.internal.Rules.times;

import dev.adjoint.AdjointException;
import dev.adjoint.Tensor;
import dev.adjoint.engine.AdjointEngine;
import dev.adjoint.internal.Rules.Ctx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The op table: one entry per primitive, followed by the Java-only markers that lower to
 * {@code identity}.
 *
 * <p>Note [Kernel ids by name]: Java and the engine share op names, not an order. Each entry carries its
 * engine name; when this class is initialised every entry looks its kernel id up among the engine's
 * {@code opName(i)}, {@code i < opCount()}, and a name the engine does not know is an error naming it.
 * So the engine may list, add or regroup its ops (ops.def) in any order.
 *
 * <p>Each entry carries its name, arity and derivative, written in ops so that derivatives can be
 * differentiated again, and each written once (JAX's ad.deflinear/defbilinear): an elementwise unary op
 * declares its derivative factor f′ ({@code times}, or {@code over} where f′ = 1/d; VJP = g·f′,
 * JVP = t·f′); a linear op declares its
 * transpose ({@code linear}, {@code elementwiseLinear}), and its JVP is the op applied to the tangent; a
 * bilinear op declares its two transposes ({@code bilinear}), and its JVP is f(ta, b) + f(a, tb). Only
 * div, minimum/maximum, host callbacks, the markers and the indexing ops concat (variadic), gather and
 * scatterAdd (no derivative to their Int32 indices) write both rules. Shape and dtype rules are the engine's
 * (engine.h, {@code Graph::addNode}): the tracer adds each node to the native graph as it is recorded
 * and reads the inferred shape back, so Java and C++ can never disagree. Reducing a broadcast cotangent
 * to its input's shape, zero cotangents, accumulation and stopGradient are handled once, in
 * {@link Backward} and {@link Forward}, not in the rules.
 *
 * <pre>{@code
 * // d/dx sin(x) = cos(x): the factor; VJP g * cos(x) and JVP t * cos(x) follow
 * SIN("sin", 1, times(c -> cos(c.in(0))))
 * // matmul is bilinear: its transposes give the VJP, f(ta, b) + f(a, tb) the JVP
 * MATMUL("matmul", 2, bilinear(Rules::matmulTransposes))
 * }</pre>
 */
public enum Op {
  // ---- kernels (the engine's names) ----
  IDENTITY("identity", 1, elementwiseLinear(v -> v)),
  FILL("fill", 0, CONSTANT),
  ONES_LIKE("onesLike", 1, CONSTANT),
  ZEROS_LIKE("zerosLike", 1, CONSTANT),
  NEG("neg", 1, elementwiseLinear(v -> neg(v))),
  SIN("sin", 1, times(c -> cos(c.in(0)))),
  COS("cos", 1, times(c -> neg(sin(c.in(0))))),
  EXP("exp", 1, times(Ctx::out)),
  LOG("log", 1, over(c -> c.in(0))),
  TANH("tanh", 1, times(c -> sub(c.one(), square(c.out())))),
  /** 1 / (1 + e^-x); f' = f (1 - f). */
  SIGMOID("sigmoid", 1, times(c -> mul(c.out(), sub(c.one(), c.out())))),
  /** |x|; f' = sign(x) = step(x) - step(-x), 0 at x = 0 (a subgradient; PyTorch's choice too). */
  ABS("abs", 1, times(c -> sub(step(c.in(0)), step(neg(c.in(0)))))),
  /** log(1 + e^x); f' = sigmoid(x). */
  SOFTPLUS("softplus", 1, times(c -> sigmoid(c.in(0)))),
  /** log(1 + x); f' = 1 / (1 + x). */
  LOG1P("log1p", 1, over(c -> add(c.in(0), c.one()))),
  /** e^x - 1; f' = e^x. */
  EXPM1("expm1", 1, times(c -> exp(c.in(0)))),
  RELU("relu", 1, times(c -> step(c.in(0)))),
  /** Heaviside step; its derivative is zero almost everywhere. */
  STEP("step", 1, ZERO),
  SQUARE("square", 1, times(c -> mul(c.in(0), c.two()))),
  SQRT("sqrt", 1, over(c -> mul(c.out(), c.two()))),
  ADD("add", 2, elementwiseLinear(v -> v, v -> v)),
  SUB("sub", 2, elementwiseLinear(v -> v, v -> neg(v))),
  MUL("mul", 2, bilinear(c -> of(mul(c.g(), c.in(1)), mul(c.in(0), c.g())))),
  /** Linear in a, not in b: both rules written. */
  DIV(
      "div",
      2,
      rules(
          c -> of(div(c.g(), c.in(1)), neg(div(mul(c.g(), c.out()), c.in(1)))),
          c ->
              Rules.sumTangents(
                  c.t(0) == null ? null : div(c.t(0), c.in(1)),
                  c.t(1) == null ? null : div(mul(c.out(), c.t(1)), c.in(1)),
                  true,
                  c))),
  /** The gradient goes to the selected input; a on a tie (op_math.h). */
  MINIMUM("minimum", 2, rules(c -> Rules.selectVjp(c, false), c -> Rules.selectJvp(c, false))),
  MAXIMUM("maximum", 2, rules(c -> Rules.selectVjp(c, true), c -> Rules.selectJvp(c, true))),
  /** Comparison masks (1 / 0); piecewise constant, so their derivative is zero, like step's. */
  LT("lt", 2, Rules.ZERO2),
  LE("le", 2, Rules.ZERO2),
  GT("gt", 2, Rules.ZERO2),
  GE("ge", 2, Rules.ZERO2),
  EQ("eq", 2, Rules.ZERO2),
  /**
   * C's pow(a, b); d/da = b a^(b-1), d/db = a^b log a, and 0 where a <= 0 (Rules.powVjp: masks on the
   * operands, so no 0 * inf reaches a gradient).
   */
  POW("pow", 2, rules(Rules::powVjp, Rules::powJvp)),
  /** attrs [dtype, key, dims...]: Philox values of (key, counter, index); constant in the counter. */
  RANDOM_UNIFORM("randomUniform", 1, ZERO),
  /** attrs [transposeA, transposeB]; bilinear, so only its two transpose rules are written. */
  MATMUL("matmul", 2, bilinear(Rules::matmulTransposes)),
  /** attrs [keepdims, axis...]. */
  SUM("sum", 1, linear(c -> of(Rules.unreduce(c, c.g())))),
  MEAN("mean", 1, linear(c -> of(Rules.unreduce(c, div(c.g(), c.scalar(Rules.reducedCount(c))))))),
  /** Not differentiable: use it under stopGradient (e.g. the shift of a stable log-sum-exp). */
  MAX("max", 1, NOT_DIFFERENTIABLE),
  SUM_TO_SHAPE("sumToShape", 1, linear(c -> of(broadcastTo(c.g(), c.in(0).shape())))),
  RESHAPE("reshape", 1, linear(c -> of(reshape(c.g(), c.in(0).shape())))),
  TRANSPOSE("transpose", 1, linear(c -> of(transpose(c.g(), Rules.inversePerm(c))))),
  BROADCAST_TO("broadcastTo", 1, linear(c -> of(sumToShape(c.g(), c.in(0).shape())))),
  // ---- indexing (ops.def); axes normalised by dev.adjoint.Ops ----
  /** attrs [axis, start, stop, step]; linear, its transpose is sliceGrad (zeros with g at the slice). */
  SLICE("slice", 1, linear(Rules::sliceVjp)),
  /** attrs [axis, start, stop, step, dim]; linear, its transpose is slice, so second order works. */
  SLICE_GRAD("sliceGrad", 1, linear(Rules::sliceGradVjp)),
  /** attrs [axis]; linear in every input: the VJP slices g apart, the JVP concatenates the tangents. */
  CONCAT("concat", -1, rules(Rules::concatVjp, Rules::concatJvp)),
  /** attrs [axis]; linear in x (VJP a scatterAdd), no derivative to the Int32 indices. */
  GATHER("gather", 2, rules(Rules::gatherVjp, Rules::indexedJvp)),
  /** attrs [axis, dim]; linear in g (VJP a gather), no derivative to the Int32 indices. */
  SCATTER_ADD("scatterAdd", 2, rules(Rules::scatterAddVjp, Rules::indexedJvp)),
  /** attrs [depth, dtype]; its input is Int32 indices, so nothing flows through it. */
  ONE_HOT("oneHot", 1, CONSTANT),
  /** attrs [axis, keepdims]; an Int32 position, piecewise constant: no derivative flows through it. */
  ARGMAX("argmax", 1, CONSTANT),
  /** A Java function on host arrays; differentiable only through a bprop of its own. */
  CALLBACK("callback", -1, rules(Rules::callbackVjp, Rules::callbackJvp)),

  // ---- Java-only markers, lowered to identity ----
  /** A graph input: an argument, a parameter, or a captured constant. */
  INPUT("input", "identity", 0, CONSTANT),
  /** Blocks every derivative through it. */
  STOP_GRADIENT("stopGradient", "identity", 1, ZERO),
  /** One output leaf of a Cell with a custom bprop; the bprop gives its inputs' cotangents. */
  CUSTOM_VJP("customVjp", "identity", 1, rules(null, c -> c.t(0)));

  /** The op's name; for a kernel, the engine's (ops.def), the same in Java, C++, kernels, tests and benchmarks. */
  public final String opName;

  /** The engine kernel it runs as: its own name, or {@code identity} for a Java-only marker. */
  public final String kernelName;

  /** Number of inputs, or -1 for variadic. */
  public final int arity;

  final Rules.Vjp vjp;
  final Rules.Jvp jvp;
  /** An elementwise unary op's derivative factor f′ (from {@code times}/{@code over}); null otherwise. */
  final Rules.Of factor;

  /** The engine's id of {@link #kernelName}, looked up by name when the class is initialised. */
  private int kernelId = -1;

  Op(String opName, int arity, Rules.Derivative d) {
    this(opName, opName, arity, d);
  }

  Op(String opName, String kernelName, int arity, Rules.Derivative d) {
    this.opName = opName;
    this.kernelName = kernelName;
    this.arity = arity;
    this.vjp = d.vjp();
    this.jvp = d.jvp();
    this.factor = d.factor();
  }

  /** The engine's kernel ids by name, read once from its op table. */
  private static final class Kernels {
    static final Map<String, Integer> IDS = new HashMap<>();

    static {
      Engine.init();
      for (int i = 0, n = AdjointEngine.opCount(); i < n; i++) IDS.put(AdjointEngine.opName(i), i);
    }
  }

  static {
    List<String> unknown = new ArrayList<>();
    for (Op op : values()) {
      Integer id = Kernels.IDS.get(op.kernelName);
      if (id == null) unknown.add(op.kernelName);
      else op.kernelId = id;
    }
    if (!unknown.isEmpty()) throw unknownKernels(unknown);
  }

  /** The engine's id of the kernel named {@code name}; an AdjointException naming it if there is none. */
  public static int kernelIdOf(String name) {
    Integer id = Kernels.IDS.get(name);
    if (id == null) throw unknownKernels(List.of(name));
    return id;
  }

  private static AdjointException unknownKernels(List<String> names) {
    return new AdjointException(
        "the engine (" + AdjointEngine.version() + ") has no kernel named " + String.join(", ", names)
            + " (the Java op table, Op.java, and the engine's ops do not agree)");
  }

  /** Whether this entry is an engine kernel of its own (not a Java-only marker). */
  public boolean isKernel() {
    return kernelName.equals(opName);
  }

  /** The engine's id of the kernel this op runs as (Note [Kernel ids by name]). */
  public int kernelId() {
    return kernelId;
  }

  public boolean isDifferentiable() {
    return vjp != null && this != MAX;
  }

  /**
   * Records this primitive (inside a trace) or runs it (outside, as a cached one-op graph): what every
   * function of {@code Ops} comes down to.
   */
  public Tensor apply(long[] attrs, double scalar, Tensor... in) {
    if (in == null) throw new AdjointException(opName + ": inputs are null");
    for (int i = 0; i < in.length; i++)
      if (in[i] == null) throw new AdjointException(opName + ": input " + i + " is null");
    Trace trace = Trace.current();
    if (trace == null) return Eager.run(this, attrs, scalar, in);
    Node[] nodes = new Node[in.length];
    for (int i = 0; i < in.length; i++) nodes[i] = trace.nodeOf(in[i]);
    return trace.record(this, nodes, attrs, scalar).tensor();
  }

  @Override
  public String toString() {
    return opName;
  }
}
