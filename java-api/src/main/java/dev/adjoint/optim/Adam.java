package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import java.util.List;

/**
 * Adam (Kingma and Ba), compiled into the step like {@link SGD}: forward, backward, the moment updates and
 * the parameter update run as one native graph per call, every state tensor updated in place. With
 * {@code weightDecay}, L2 regularisation added to the gradient (torch.optim.Adam); {@link AdamW} decouples it.
 * Parameter groups ({@link ParamGroup}) may set lr, weightDecay, betas and eps.
 *
 * <pre>{@code
 * Adam adam = new Adam(net.trainableParams(), 1e-3);
 * Cell step = adam.step(lossCell);
 * for (...) { Tensor loss = step.apply(x, t); }
 * }</pre>
 *
 * State (first and second moments, the step count) lives in non-trainable parameters owned by this
 * optimizer; the bias corrections {@code 1 - beta^t} are computed in the graph as
 * {@code 1 - exp(t * ln beta)} from the step count, so the compiled step is reused for every t.
 */
public class Adam extends Optimizer {
  private final double[] beta1, beta2, eps, weightDecay;
  private final boolean decoupled;
  private final Parameter[] m, v;
  private final Parameter t;

  /**
   * Adam over {@code params} with rate {@code lr} and PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8, no weight decay.
   */
  public Adam(ParameterTuple params, double lr) {
    this(params, lr, 0.9, 0.999, 1e-8);
  }

  /**
   * Adam with the moment decay rates {@code beta1}, {@code beta2} (each in [0, 1)) and {@code eps} (&gt; 0)
   * added to the root of the second moment.
   */
  public Adam(ParameterTuple params, double lr, double beta1, double beta2, double eps) {
    this(params, lr, beta1, beta2, eps, 0, false);
  }

  /**
   * Adam with L2 weight decay: {@code weightDecay * p} is added to each gradient before the moments
   * (torch.optim.Adam's {@code weight_decay}).
   */
  public Adam(ParameterTuple params, double lr, double beta1, double beta2, double eps, double weightDecay) {
    this(params, lr, beta1, beta2, eps, weightDecay, false);
  }

  /** Adam over parameter groups with the default betas (0.9, 0.999) and eps 1e-8 for groups that set none. */
  public Adam(List<ParamGroup> groups, double lr) {
    this(groups, lr, 0.9, 0.999, 1e-8, 0, false);
  }

  /** Adam over parameter groups; the values given here are those of groups that set none. */
  public Adam(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay) {
    this(groups, lr, beta1, beta2, eps, weightDecay, false);
  }

  Adam(ParameterTuple params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
    this(List.of(ParamGroup.of(params)), lr, beta1, beta2, eps, weightDecay, decoupled);
  }

  Adam(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
    super(groups, lr);
    acceptSettings("lr", "weightDecay", "beta1", "beta2", "eps");
    ParameterTuple params = params();
    int n = params.size();
    this.beta1 = new double[n];
    this.beta2 = new double[n];
    this.eps = new double[n];
    this.weightDecay = new double[n];
    this.decoupled = decoupled;
    this.m = new Parameter[n];
    this.v = new Parameter[n];
    for (int i = 0; i < n; i++) {
      ParamGroup g = groupOf(i);
      double b1 = g.beta1().orElse(beta1), b2 = g.beta2().orElse(beta2), e = g.eps().orElse(eps), wd = g.weightDecay().orElse(weightDecay);
      if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
        throw new AdjointException(name() + ": betas must be in [0, 1), got " + b1 + ", " + b2);
      if (!(e > 0)) throw new AdjointException(name() + ": eps must be > 0, got " + e);
      if (!(wd >= 0)) throw new AdjointException(name() + ": weight decay must be >= 0, got " + wd);
      this.beta1[i] = b1;
      this.beta2[i] = b2;
      this.eps[i] = e;
      this.weightDecay[i] = wd;
    }
    if (n == 0) { // the checks above run per parameter; an empty optimizer still checks its own values
      if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
        throw new AdjointException(name() + ": betas must be in [0, 1), got " + beta1 + ", " + beta2);
      if (!(eps > 0)) throw new AdjointException(name() + ": eps must be > 0, got " + eps);
      if (!(weightDecay >= 0)) throw new AdjointException(name() + ": weight decay must be >= 0, got " + weightDecay);
    }
    DType dtype = n == 0 ? DType.FLOAT32 : params.get(0).dtype();
    Device device = n == 0 ? Device.CPU : params.get(0).device();
    for (int i = 0; i < n; i++) {
      Parameter p = params.get(i);
      m[i] = zerosLike("params." + i + ".adam_m", p);
      v[i] = zerosLike("params." + i + ".adam_v", p);
    }
    t = state("adam_t", Tensor.zeros(dtype), dtype, device);
  }

  /** Updates taken so far, as counted in the graph. */
  public long updates() {
    return Math.round(t.item());
  }

  /** One Adam update of every parameter and of the moments and the step count. */
  @Override
  protected void update(Tensor[] g) {
    ParameterTuple params = params();
    Tensor t1 = Ops.add(t, 1);
    Ops.assign(t, t1);
    for (int i = 0; i < g.length; i++) {
      Parameter p = params.get(i);
      if (p.dtype() != t.dtype())
        throw new AdjointException(name() + ": parameter '" + p.name() + "' is " + p.dtype() + " but the first is " + t.dtype());
      Tensor gi = g[i];
      double wd = weightDecay[i];
      if (wd > 0 && !decoupled) gi = Ops.add(gi, Ops.mul(p, wd));
      Tensor mi = Ops.add(Ops.mul(m[i], beta1[i]), Ops.mul(gi, 1 - beta1[i]));
      Tensor vi = Ops.add(Ops.mul(v[i], beta2[i]), Ops.mul(Ops.square(gi), 1 - beta2[i]));
      // 1 - beta^t = 1 - exp(t ln beta)
      Tensor c1 = Ops.sub(Ops.scalarLike(1, p.dtype()), Ops.exp(Ops.mul(t1, Math.log(beta1[i]))));
      Tensor c2 = Ops.sub(Ops.scalarLike(1, p.dtype()), Ops.exp(Ops.mul(t1, Math.log(beta2[i]))));
      Tensor mhat = Ops.div(mi, c1), vhat = Ops.div(vi, c2);
      Ops.assign(m[i], mi);
      Ops.assign(v[i], vi);
      Tensor lr = lr(p);
      Tensor base = wd > 0 && decoupled ? Ops.sub(p, Ops.mul(Ops.mul(p, lr), wd)) : p;
      Ops.assign(p, Ops.sub(base, Ops.mul(Ops.div(mhat, Ops.add(Ops.sqrt(vhat), eps[i])), lr)));
    }
  }
}
