package dev.adjoint.autodiff;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.internal.Access;
import dev.adjoint.internal.Backward;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.Op;
import dev.adjoint.internal.Structure;
import dev.adjoint.internal.Trace;
import dev.adjoint.internal.ValueCell;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MindSpore's {@code GradOperation}: turns a Cell into a Cell that returns gradients of the sum of its
 * outputs (or of the outputs weighted by a sens). The gradient cell is itself a Cell, so it can be
 * differentiated again, to any order.
 *
 * <pre>{@code
 * Value dx    = new GradOperation().of(net).call(x, y);                                  // Tensor
 * Value all   = GradOperation.builder().getAll(true).build().of(net).call(x, y);         // (dx, dy)
 * Value dz    = GradOperation.builder().getByList(true).build().of(net, net.trainableParams()).call(x, y);
 * Value dsens = GradOperation.builder().sensParam(true).build().of(net).call(x, y, sens);
 * Cell second = new GradOperation().of(new GradOperation().of(sinNet));                 // sin'' = -sin
 * }</pre>
 *
 * Results: getAll=false gives the gradient of the first input as a bare Tensor; getAll=true always a
 * Tuple, one per input. getByList=true gives the parameters' gradients (a Tuple for a ParameterTuple, a
 * bare Tensor for one Parameter); with both, {@code Tuple(inputGrads, paramGrads)}. An input or parameter
 * the output does not depend on gets zeros of its shape.
 */
public final class GradOperation {
  private final boolean getAll;
  private final boolean getByList;
  private final boolean sensParam;

  /**
   * The default options (getAll, getByList and sensParam false): {@code of(net)} gives the gradient of the
   * sum of net's outputs with respect to its first input, as a bare Tensor.
   */
  public GradOperation() {
    this(false, false, false);
  }

  private GradOperation(boolean getAll, boolean getByList, boolean sensParam) {
    this.getAll = getAll;
    this.getByList = getByList;
    this.sensParam = sensParam;
  }

  /** A builder for the options, all false until set. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Options, all false by default.
   *
   * <pre>{@code
   * Cell grads = GradOperation.builder().getAll(true).sensParam(true).build().of(net);
   * Tuple g = grads.call(x, y, sens).asTuple();   // (dx, dy), of sum(sens * net(x, y))
   * }</pre>
   */
  public static final class Builder {
    private boolean getAll, getByList, sensParam;

    /** Gradients with respect to every input, as a Tuple, rather than the first one alone. */
    public Builder getAll(boolean v) {
      getAll = v;
      return this;
    }

    /** Gradients with respect to the parameters given to {@link GradOperation#of(Cell, ParameterTuple)}. */
    public Builder getByList(boolean v) {
      getByList = v;
      return this;
    }

    /**
     * The gradient cell takes one extra, last argument: the sens (output cotangent, shaped like net's
     * output) that weights the outputs instead of summing them.
     */
    public Builder sensParam(boolean v) {
      sensParam = v;
      return this;
    }

    /** The GradOperation with these options. */
    public GradOperation build() {
      return new GradOperation(getAll, getByList, sensParam);
    }
  }

  /** The gradient cell of {@code net} with respect to its inputs. */
  public Cell of(Cell net) {
    if (getByList)
      throw new AdjointException(
          "GradOperation(getByList=true) needs the parameters: use of(cell, cell.trainableParams())");
    return new GradCell(net, null, false);
  }

  /** The gradient cell of {@code net}; with getByList, with respect to {@code params} (in order). */
  public Cell of(Cell net, ParameterTuple params) {
    return new GradCell(net, checkOwned(net, params.asList()), true);
  }

  /** As {@link #of(Cell, ParameterTuple)} for one parameter: its gradient comes back as a bare Tensor. */
  public Cell of(Cell net, Parameter param) {
    return new GradCell(net, checkOwned(net, List.of(param)), false);
  }

  private List<Parameter> checkOwned(Cell net, List<Parameter> params) {
    if (!getByList) return null;
    List<Parameter> own = net.parameters().asList();
    for (Parameter p : params) {
      boolean found = false;
      for (Parameter q : own) found |= q == p;
      if (!found) throw new AdjointException("parameter '" + p.name() + "' is not a parameter of " + net.name());
      if (!p.dtype().isFloating())
        throw new AdjointException(
            "parameter '" + p.name() + "' is " + p.dtype() + "; only Float32 and Float64 can be differentiated");
    }
    return params;
  }

  @Override
  public String toString() {
    return "GradOperation(getAll=" + getAll + ", getByList=" + getByList + ", sensParam=" + sensParam + ")";
  }

  /** The Cell that {@code of} returns. */
  private final class GradCell extends ValueCell {
    @Override
    protected boolean checksUnusedArguments() {
      return false;
    }

    private final Cell net;
    private final List<Parameter> params;
    private final boolean paramsAsTuple;

    GradCell(Cell net, List<Parameter> params, boolean paramsAsTuple) {
      this.net = net;
      this.params = params;
      this.paramsAsTuple = paramsAsTuple;
    }

    @Override
    protected int arity() {
      int a = Access.bridge().arity(net);
      return a < 0 ? -1 : a + (sensParam ? 1 : 0);
    }

    @Override
    public String name() {
      return "GradOperation(" + net.name() + ")";
    }

    @Override
    public Value constructValues(Value[] args) {
      int numInputs = sensParam ? args.length - 1 : args.length;
      if (numInputs < 1)
        throw new AdjointException(
            name() + ": needs at least one input" + (sensParam ? " and the sens as the last argument" : "")
                + ", got " + args.length + " argument(s)");
      Trace trace = Trace.current();
      boolean wantInputs = getAll || !getByList;
      Tensor[] inputs = new Tensor[numInputs];
      List<Node> wrt = new ArrayList<>();
      for (int i = 0; i < numInputs; i++) {
        if (!(args[i] instanceof Tensor t))
          throw new AdjointException(name() + ": input " + i + " is a Tuple; inputs must be tensors");
        if (wantInputs && (getAll || i == 0) && !t.dtype().isFloating())
          throw new AdjointException(
              name() + ": input " + i + " is " + t.describe()
                  + "; only Float32 and Float64 tensors can be differentiated");
        // A fresh node per argument: f(x, x) still has two inputs with a gradient each.
        Node alias = trace.record(Op.IDENTITY, new Node[] {trace.nodeOf(t)}, new long[0], 0);
        inputs[i] = alias.tensor();
        if (wantInputs && (getAll || i == 0)) wrt.add(alias);
      }
      if (params != null) for (Parameter p : params) wrt.add(trace.nodeOf(p));

      Value out = net.call(inputs);
      List<Tensor> outLeaves = out.leaves();
      List<Tensor> sens = sensParam ? checkSens(out, args[args.length - 1]) : ones(outLeaves);
      Tensor[] grads = Backward.grad(trace, outLeaves, sens, wrt);

      int k = 0;
      Value inputGrads = null;
      if (wantInputs) {
        if (getAll) {
          Value[] g = new Value[numInputs];
          for (int i = 0; i < numInputs; i++) g[i] = grads[k++];
          inputGrads = Tuple.of(g);
        } else {
          inputGrads = grads[k++];
        }
      }
      if (!getByList) return inputGrads;
      Value paramGrads =
          paramsAsTuple ? Tuple.of(Arrays.copyOfRange(grads, k, grads.length)) : grads[k];
      return getAll ? Tuple.of(inputGrads, paramGrads) : paramGrads;
    }

    private List<Tensor> ones(List<Tensor> leaves) {
      List<Tensor> s = new ArrayList<>();
      for (Tensor t : leaves) s.add(Ops.onesLike(t));
      return s;
    }

    private List<Tensor> checkSens(Value out, Value sens) {
      String have = Structure.of(sens), want = Structure.of(out);
      if (!have.equals(want))
        throw new AdjointException(
            name() + ": sens has structure " + have + " but the output has structure " + want);
      List<Tensor> s = sens.leaves(), o = out.leaves();
      for (int i = 0; i < s.size(); i++) {
        if (!Arrays.equals(s.get(i).shape(), o.get(i).shape()) || s.get(i).dtype() != o.get(i).dtype())
          throw new AdjointException(
              name() + ": sens leaf " + i + " is " + s.get(i).describe() + " but output leaf " + i + " is "
                  + o.get(i).describe());
      }
      return s;
    }
  }
}
