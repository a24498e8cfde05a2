package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Parameters that share hyperparameters inside one optimizer (PyTorch's param groups): a setting made
 * here overrides the optimizer's own for these parameters; one left unset inherits it. Each optimizer
 * accepts the settings it has (SGD: lr, weightDecay, momentum, nesterov; Adam and AdamW: lr,
 * weightDecay, betas, eps; RMSprop: lr, weightDecay, alpha, eps) and refuses the others by name. The
 * optimizer copies the group when it is built, so later changes to this object do not reach it.
 *
 * <pre>{@code
 * Adam adam = new Adam(List.of(
 *     ParamGroup.of(net.body.trainableParams()).lr(1e-3),
 *     ParamGroup.of(net.head.trainableParams()).lr(1e-2).weightDecay(0)), 1e-3);
 * Cell step = adam.step(loss);   // both groups in one compiled step
 * }</pre>
 *
 * With a {@link LrSchedule}, a group's rate at step k is {@code schedule(k) * groupLr / lr}: the
 * schedule scales every group alike (as PyTorch's LambdaLR scales each group's initial rate).
 */
public final class ParamGroup {
  private final ParameterTuple params;
  private final Map<String, Object> settings = new LinkedHashMap<>();

  private ParamGroup(ParameterTuple params) {
    this.params = params;
  }

  /** A group of these parameters, with no settings of its own yet. */
  public static ParamGroup of(ParameterTuple params) {
    if (params == null) throw new AdjointException("ParamGroup.of: params are null");
    return new ParamGroup(params);
  }

  /** A group of these parameters, with no settings of its own yet. */
  public static ParamGroup of(Parameter... params) {
    if (params == null) throw new AdjointException("ParamGroup.of: params are null");
    return new ParamGroup(new ParameterTuple(java.util.Arrays.asList(params)));
  }

  /** The parameters of this group, in order. */
  public ParameterTuple params() {
    return params;
  }

  /** The learning rate of this group (> 0, finite). */
  public ParamGroup lr(double lr) {
    if (!(lr > 0) || Double.isInfinite(lr)) throw new AdjointException("ParamGroup.lr: learning rate must be > 0 and finite, got " + lr);
    return put("lr", lr);
  }

  /** The weight decay of this group (>= 0). */
  public ParamGroup weightDecay(double wd) {
    if (!(wd >= 0) || Double.isInfinite(wd)) throw new AdjointException("ParamGroup.weightDecay: must be >= 0 and finite, got " + wd);
    return put("weightDecay", wd);
  }

  /** SGD's momentum of this group, in [0, 1). */
  public ParamGroup momentum(double momentum) {
    if (!(momentum >= 0 && momentum < 1)) throw new AdjointException("ParamGroup.momentum: must be in [0, 1), got " + momentum);
    return put("momentum", momentum);
  }

  /** SGD's Nesterov flag of this group. */
  public ParamGroup nesterov(boolean nesterov) {
    return put("nesterov", nesterov);
  }

  /** Adam's betas of this group, each in [0, 1). */
  public ParamGroup betas(double beta1, double beta2) {
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
      throw new AdjointException("ParamGroup.betas: must be in [0, 1), got " + beta1 + ", " + beta2);
    put("beta1", beta1);
    return put("beta2", beta2);
  }

  /** The eps (Adam, RMSprop) of this group (> 0). */
  public ParamGroup eps(double eps) {
    if (!(eps > 0) || Double.isInfinite(eps)) throw new AdjointException("ParamGroup.eps: must be > 0 and finite, got " + eps);
    return put("eps", eps);
  }

  /** RMSprop's smoothing constant alpha of this group, in [0, 1). */
  public ParamGroup alpha(double alpha) {
    if (!(alpha >= 0 && alpha < 1)) throw new AdjointException("ParamGroup.alpha: must be in [0, 1), got " + alpha);
    return put("alpha", alpha);
  }

  /** The learning rate set on this group, if any. */
  public OptionalDouble lr() {
    return number("lr");
  }

  /** The weight decay set on this group, if any. */
  public OptionalDouble weightDecay() {
    return number("weightDecay");
  }

  /** The momentum set on this group, if any. */
  public OptionalDouble momentum() {
    return number("momentum");
  }

  /** The Nesterov flag set on this group, if any. */
  public Optional<Boolean> nesterov() {
    return Optional.ofNullable((Boolean) settings.get("nesterov"));
  }

  /** The first beta set on this group, if any. */
  public OptionalDouble beta1() {
    return number("beta1");
  }

  /** The second beta set on this group, if any. */
  public OptionalDouble beta2() {
    return number("beta2");
  }

  /** The eps set on this group, if any. */
  public OptionalDouble eps() {
    return number("eps");
  }

  /** The alpha set on this group, if any. */
  public OptionalDouble alpha() {
    return number("alpha");
  }

  /** The names of the settings made on this group (lr, weightDecay, momentum, nesterov, beta1, beta2, eps, alpha). */
  public Set<String> settings() {
    return Collections.unmodifiableSet(settings.keySet());
  }

  /** A copy with the same parameters and settings (what an optimizer keeps). */
  ParamGroup copy() {
    ParamGroup g = new ParamGroup(params);
    g.settings.putAll(settings);
    return g;
  }

  private ParamGroup put(String key, Object value) {
    settings.put(key, value);
    return this;
  }

  private OptionalDouble number(String key) {
    Object v = settings.get(key);
    return v == null ? OptionalDouble.empty() : OptionalDouble.of((Double) v);
  }

  @Override
  public String toString() {
    return "ParamGroup(" + params.size() + " parameters, " + settings + ")";
  }
}
