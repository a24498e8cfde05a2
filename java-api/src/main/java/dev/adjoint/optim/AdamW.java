package dev.adjoint.optim;

import dev.adjoint.ParameterTuple;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter; torch.optim.AdamW):
 * {@code p -= lr * wd * p} besides the Adam step, default {@code wd = 0.01}.
 *
 * <pre>{@code Cell step = new AdamW(net.trainableParams(), 1e-3, 0.01).step(loss);}</pre>
 */
public final class AdamW extends Adam {
  public AdamW(ParameterTuple params, double lr) {
    this(params, lr, 0.01);
  }

  public AdamW(ParameterTuple params, double lr, double weightDecay) {
    this(params, lr, 0.9, 0.999, 1e-8, weightDecay);
  }

  public AdamW(ParameterTuple params, double lr, double beta1, double beta2, double eps, double weightDecay) {
    super(params, lr, beta1, beta2, eps, weightDecay, true);
  }
}
