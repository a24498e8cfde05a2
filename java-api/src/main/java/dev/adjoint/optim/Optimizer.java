package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntToDoubleFunction;

/**
 * An optimizer compiled into the training step: {@link #step} returns a cell whose every call runs the
 * forward pass, the backward pass, gradient clipping and the in-place update of the parameters as one
 * native graph, and returns the loss. Written against the public API only, so a new optimizer is written
 * the same way: implement {@link #update}, which is traced into the step, with {@link Ops#assign}.
 *
 * <pre>{@code
 * final class PlainSgd extends Optimizer {
 *   PlainSgd(ParameterTuple params, double lr) { super(params, lr); }
 *   @Override protected void update(Tensor[] grads) {
 *     for (int i = 0; i < grads.length; i++) {
 *       Parameter p = params().get(i);
 *       Ops.assign(p, Ops.sub(p, Ops.mul(grads[i], lr(p))));
 *     }
 *   }
 * }
 * Cell step = new PlainSgd(net.trainableParams(), 0.01).step(lossCell);
 * for (...) { Tensor loss = step.apply(x, t); }
 * }</pre>
 *
 * <p>Note [Learning rate]: without a {@link #schedule} the rate is a constant of the compiled step (which
 * lets the CPU engine fold SGD's update into its gradient GEMM). With one, set before {@link #step}, the
 * rate is a runtime scalar input: before every call the step writes {@code schedule(k)} for its k-th call,
 * so the rate changes every step without recompiling. State (moments, step counts) lives in non-trainable
 * parameters made with {@link #state}; {@link #close()} frees them. {@link #steps()} and the state are what a
 * checkpoint saves ({@code dev.adjoint.io.Checkpoint}).
 *
 * <p>Parameter groups ({@link ParamGroup}): an optimizer built from groups gives each parameter its group's
 * hyperparameters; {@link #lr(Tensor)} is already the parameter's group rate, {@link #groupOf(int)} gives the
 * group of parameter i for the others, and {@link #acceptSettings} refuses settings an optimizer does not
 * have. A user-written optimizer takes groups the same way: {@code super(groups, lr)}.
 */
public abstract class Optimizer implements AutoCloseable {
  private final ParameterTuple params;
  private final double baseLr;
  private final List<ParamGroup> groups;
  /** The group of each parameter, by its index in {@link #params}. */
  private final int[] groupOf;
  private final Map<Parameter, Integer> indexOf = new IdentityHashMap<>();
  private final Map<String, Parameter> state = new LinkedHashMap<>();
  private IntToDoubleFunction schedule;
  private Parameter lrInput;
  private long steps;
  private double clipNorm = Double.NaN, clipValue = Double.NaN;
  private java.util.function.UnaryOperator<Tensor[]> gradientHook;
  private boolean closed;

  /**
   * An optimizer of {@code params} with base rate {@code lr} (&gt; 0, finite): a null, repeated or Int32
   * parameter is an {@link AdjointException} naming it.
   */
  protected Optimizer(ParameterTuple params, double lr) {
    this(List.of(ParamGroup.of(checkParams(params))), lr);
  }

  /**
   * An optimizer over parameter groups, each with its own hyperparameters ({@link ParamGroup}); {@code lr}
   * is the rate of groups that set none. {@link #params()} is every group's parameters, in group order.
   */
  protected Optimizer(List<ParamGroup> groups, double lr) {
    String me = getClass().getSimpleName();
    if (groups == null) throw new AdjointException(me + ": groups are null");
    if (!(lr > 0) || Double.isInfinite(lr)) throw new AdjointException(me + ": learning rate must be > 0 and finite, got " + lr);
    List<ParamGroup> copies = new ArrayList<>();
    List<Parameter> all = new ArrayList<>();
    List<Integer> owner = new ArrayList<>();
    for (int gi = 0; gi < groups.size(); gi++) {
      ParamGroup g = groups.get(gi);
      if (g == null) throw new AdjointException(me + ": group " + gi + " is null");
      copies.add(g.copy());
      for (Parameter p : g.params()) {
        if (p == null) throw new AdjointException(me + ": a parameter of group " + gi + " is null");
        Integer before = indexOf.putIfAbsent(p, all.size());
        if (before != null)
          throw new AdjointException(
              me + ": parameter '" + p.name() + "' is given twice"
                  + (owner.get(before) == gi ? "" : " (in groups " + owner.get(before) + " and " + gi + ")"));
        if (!p.dtype().isFloating()) throw new AdjointException(me + ": parameter '" + p.name() + "' is " + p.describe() + "; only Float32 and Float64 are trained");
        all.add(p);
        owner.add(gi);
      }
    }
    this.params = new ParameterTuple(all);
    this.baseLr = lr;
    this.groups = Collections.unmodifiableList(copies);
    this.groupOf = new int[all.size()];
    for (int i = 0; i < groupOf.length; i++) groupOf[i] = owner.get(i);
  }

  private static ParameterTuple checkParams(ParameterTuple params) {
    if (params == null) throw new AdjointException("optimizer: params are null");
    return params;
  }

  /** The parameter groups (copies of those given; one group without settings for a plain tuple). */
  public final List<ParamGroup> groups() {
    return groups;
  }

  /** The group of parameter {@code i} of {@link #params()}. */
  public final ParamGroup groupOf(int i) {
    if (i < 0 || i >= groupOf.length) throw new AdjointException(name() + ": no parameter " + i + " (it has " + groupOf.length + ")");
    return groups.get(groupOf[i]);
  }

  /**
   * Refuses a group setting this optimizer does not have (an error naming the group and the setting),
   * so that {@code momentum} on an Adam group is never silently ignored. Subclass constructors call it.
   */
  protected final void acceptSettings(String... names) {
    Set<String> ok = new java.util.HashSet<>(java.util.Arrays.asList(names));
    for (int gi = 0; gi < groups.size(); gi++)
      for (String key : groups.get(gi).settings())
        if (!ok.contains(key))
          throw new AdjointException(name() + ": group " + gi + " sets " + key + ", which " + name() + " does not have (it takes " + String.join(", ", names) + ")");
  }

  /** The learning rate of group {@code g} before any schedule: its own, or the optimizer's. */
  public final double groupLr(int g) {
    return groups.get(g).lr().orElse(baseLr);
  }

  /** @deprecated give the learning rate: {@code super(params, lr)}. Kept for optimizers without one. */
  @Deprecated
  protected Optimizer(ParameterTuple params) {
    this(params, 1);
  }

  /** The parameters this optimizer updates, in the order of the gradients {@link #update} receives. */
  public final ParameterTuple params() {
    return params;
  }

  /** Steps taken so far (calls of the step cell): the schedule's position. */
  public final long steps() {
    return steps;
  }

  /** Sets the step count (a checkpoint restores it so a schedule resumes where it stopped). */
  public final void setSteps(long n) {
    if (n < 0) throw new AdjointException(name() + ": steps must be >= 0, got " + n);
    steps = n;
  }

  /** The learning rate of step k: the schedule's, or the constant one. */
  public final double learningRate(long k) {
    return schedule == null ? baseLr : schedule.applyAsDouble((int) Math.min(k, Integer.MAX_VALUE));
  }

  /** Varies the rate per step without recompiling (Note [Learning rate]); call before {@link #step}. */
  public final Optimizer schedule(IntToDoubleFunction schedule) {
    if (schedule == null) throw new AdjointException(name() + ".schedule: schedule is null");
    if (lrInput == null) {
      DType dtype = params.size() == 0 ? DType.FLOAT32 : params.get(0).dtype();
      Device device = params.size() == 0 ? Device.CPU : params.get(0).device();
      lrInput = state("lr", Tensor.scalar(0.0), dtype, device);
    }
    this.schedule = schedule;
    return this;
  }

  /** Rescales all gradients together so their global L2 norm is at most {@code maxNorm}. */
  public final Optimizer clipGradNorm(double maxNorm) {
    if (!(maxNorm > 0)) throw new AdjointException(name() + ".clipGradNorm: max norm must be > 0, got " + maxNorm);
    clipNorm = maxNorm;
    return this;
  }

  /** Clamps every gradient element to [-value, value]. */
  public final Optimizer clipGradValue(double value) {
    if (!(value > 0)) throw new AdjointException(name() + ".clipGradValue: value must be > 0, got " + value);
    clipValue = value;
    return this;
  }

  /**
   * Transforms the gradients inside the compiled step, after the backward pass and before clipping and
   * the update: {@code hook} is traced into the step (write it with {@link Ops}, as {@link #update} is) and
   * returns one tensor per parameter, of the same shape and dtype. Data-parallel training uses it to
   * average the gradients over processes ({@code dev.adjoint.distributed.DataParallel}). Set it before
   * {@link #step}; a second hook is an error.
   *
   * <pre>{@code
   * sgd.gradientHook(g -> { Tensor[] h = g.clone(); for (int i = 0; i < h.length; i++) h[i] = Ops.mul(h[i], 0.5); return h; });
   * }</pre>
   */
  public final Optimizer gradientHook(java.util.function.UnaryOperator<Tensor[]> hook) {
    if (hook == null) throw new AdjointException(name() + ".gradientHook: hook is null");
    if (gradientHook != null) throw new AdjointException(name() + ".gradientHook: a gradient hook is set already");
    gradientHook = hook;
    return this;
  }

  /**
   * A cell that returns the loss and updates the parameters in place: {@code loss.call(args)} must return
   * a scalar; the step is compiled once per argument signature, like any cell.
   */
  public final Cell step(Cell loss) {
    if (loss == null) throw new AdjointException(name() + ".step: loss is null");
    requireOpen();
    // A parameter the loss cell cannot be seen to hold is almost always a model the loss does not reach
    // (Note [Parameter discovery] in Cell): an error naming it, never a silent zero gradient.
    Set<Parameter> reachable = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Parameter p : loss.parameters()) reachable.add(p);
    for (Parameter p : params)
      if (!reachable.contains(p))
        throw new AdjointException(
            name() + ": parameter '" + p.name() + "' " + p.describe() + " is not a parameter of " + loss.name()
                + " (hold the model in a field of the loss cell, capture it in the lambda, or register it)");
    return new TrainStep(this, loss);
  }

  /**
   * Records one update while the step is being traced: {@code grads[i]} is the gradient of the loss with
   * respect to {@code params().get(i)}, already clipped. Write each new value with {@link Ops#assign}.
   */
  protected abstract void update(Tensor[] grads);

  /**
   * The learning rate inside {@link #update} for parameter {@code p} (one of {@link #params()}), in its
   * dtype: its group's constant rate, or, with a schedule, the runtime input times groupLr / lr.
   */
  protected final Tensor lr(Tensor p) {
    Integer i = p instanceof Parameter q ? indexOf.get(q) : null;
    double rate = i == null ? baseLr : groupLr(groupOf[i]);
    if (lrInput == null) return Ops.scalarLike(rate, p.dtype());
    if (lrInput.dtype() != p.dtype())
      throw new AdjointException(name() + ": parameter is " + p.dtype() + " but the scheduled rate is " + lrInput.dtype() + " (one dtype per optimizer)");
    return rate == baseLr ? lrInput : Ops.mul(lrInput, rate / baseLr);
  }

  /**
   * A state tensor of this optimizer (named by parameter index, {@code params.<i>.<kind>}, so checkpoints
   * key on the order of {@link #params()}): a non-trainable parameter on {@code device}, initialised from
   * {@code init} (copied, then closed), saved by checkpoints under {@code name}.
   */
  protected final Parameter state(String name, Tensor init, DType dtype, Device device) {
    if (state.containsKey(name)) throw new AdjointException(name() + ": state '" + name + "' exists already");
    Tensor v = init;
    try {
      if (v.dtype() != dtype) {
        Tensor cast = dtype == DType.FLOAT64 ? Tensor.of(v.toDoubleArray(), v.shape()) : Tensor.of(toFloats(v.toDoubleArray()), v.shape());
        v.close();
        v = cast;
      }
      Parameter p;
      if (device.equals(Device.CPU)) p = new Parameter(name, v);
      else try (Tensor moved = v.to(device)) {
        p = new Parameter(name, moved);
      }
      p.requiresGrad(false);
      state.put(name, p);
      return p;
    } finally {
      v.close();
    }
  }

  /** Zeros shaped like {@code p}, on its device: the usual moment buffer. */
  protected final Parameter zerosLike(String name, Parameter p) {
    return state(name, Tensor.zeros(p.dtype(), p.shape()), p.dtype(), p.device());
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
    return f;
  }

  /** Every state tensor by name (moments, counters, the scheduled rate), in creation order. */
  public final Map<String, Parameter> state() {
    return Collections.unmodifiableMap(state);
  }

  /** The name errors and the step cell use: the class's simple name. */
  public String name() {
    return getClass().getSimpleName();
  }

  /** Frees the state tensors; the step cells of this optimizer cannot run afterwards. Idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (Parameter p : state.values()) p.close();
  }

  private void requireOpen() {
    if (closed) throw new AdjointException(name() + " was closed");
  }

  // ------------------------------------------------------------------ used by TrainStep

  /** Before each call of the step: the rate of this step into the runtime input; count the step. */
  final void beforeStep() {
    requireOpen();
    if (schedule != null) {
      double r = learningRate(steps);
      if (!(r >= 0) || Double.isInfinite(r)) throw new AdjointException(name() + ": the schedule gave learning rate " + r + " at step " + steps);
      lrInput.assign(r);
    }
    steps++;
  }

  /** Clipping, traced into the step before {@link #update}. */
  final Tensor[] hooked(Tensor[] g) {
    if (gradientHook == null) return g;
    Tensor[] out = gradientHook.apply(g.clone());
    if (out == null || out.length != g.length)
      throw new AdjointException(name() + ": the gradient hook returned " + (out == null ? "null" : out.length + " tensors")
          + " for " + g.length + " gradients");
    for (int i = 0; i < g.length; i++)
      if (out[i] == null || out[i].dtype() != g[i].dtype() || !java.util.Arrays.equals(out[i].shape(), g[i].shape()))
        throw new AdjointException(name() + ": the gradient hook changed gradient " + i + " (" + g[i].describe() + ") into "
            + (out[i] == null ? "null" : out[i].describe()));
    return out;
  }

  final Tensor[] clip(Tensor[] g) {
    Tensor[] out = g.clone();
    if (!Double.isNaN(clipValue))
      for (int i = 0; i < out.length; i++)
        out[i] = Ops.add(Ops.sub(out[i], Ops.relu(Ops.sub(out[i], clipValue))), Ops.relu(Ops.sub(Ops.neg(out[i]), clipValue)));
    if (!Double.isNaN(clipNorm) && out.length > 0) {
      Tensor sq = null;
      for (Tensor t : out) {
        Tensor s = Ops.sum(Ops.square(t));
        sq = sq == null ? s : Ops.add(sq, s);
      }
      Tensor ratio = Ops.div(Ops.scalarLike(clipNorm, sq.dtype()), Ops.add(Ops.sqrt(sq), 1e-6));
      Tensor scale = Ops.sub(ratio, Ops.relu(Ops.sub(ratio, 1))); // min(ratio, 1)
      for (int i = 0; i < out.length; i++) out[i] = Ops.mul(out[i], scale);
    }
    return out;
  }
}
