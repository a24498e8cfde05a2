package dev.adjoint.optim;

import dev.adjoint.ParameterTuple;
import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter; torch.optim.AdamW):
 * {@code p -= lr * wd * p} besides the Adam step, default {@code wd = 0.01}. Parameter groups
 * ({@link ParamGroup}) may set lr, weightDecay, betas and eps.
 *
 * <pre>{@code Cell step = new AdamW(net.trainableParams(), 1e-3, 0.01).step(loss);}</pre>
 */
public final class AdamW extends Adam {
  /** AdamW over {@code params} with rate {@code lr}, weight decay 0.01 and betas 0.9, 0.999, eps 1e-8. */
  public AdamW(ParameterTuple params, double lr) {
    this(params, lr, 0.01);
  }

  /** AdamW with decoupled weight decay {@code weightDecay} (&gt;= 0) and the default betas and eps. */
  public AdamW(ParameterTuple params, double lr, double weightDecay) {
    this(params, lr, 0.9, 0.999, 1e-8, weightDecay);
  }

  /** AdamW with every hyperparameter given; out-of-range values are an {@link dev.adjoint.AdjointException}. */
  public AdamW(ParameterTuple params, double lr, double beta1, double beta2, double eps, double weightDecay) {
    super(params, lr, beta1, beta2, eps, weightDecay, true);
  }

  /** AdamW over parameter groups with weight decay 0.01 for groups that set none. */
  public AdamW(List<ParamGroup> groups, double lr) {
    this(groups, lr, 0.9, 0.999, 1e-8, 0.01);
  }

  /** AdamW over parameter groups; the values given here are those of groups that set none. */
  public AdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay) {
    super(groups, lr, beta1, beta2, eps, weightDecay, true);
  }
}
