package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import java.util.function.IntToDoubleFunction;

/**
 * A learning rate per step (step 0 is the first update). Any {@code IntToDoubleFunction} is one; these are
 * the common ones. The rate is a runtime input of the compiled step, so a schedule never recompiles.
 *
 * <pre>{@code
 * adam.schedule(LrSchedule.warmup(100, LrSchedule.cosine(1e-3, 10_000, 1e-5)));
 * Cell step = adam.step(loss);
 * }</pre>
 */
@FunctionalInterface
public interface LrSchedule extends IntToDoubleFunction {
  /** Any function of the step as a schedule (a lambda {@code k -> ...} is one already). */
  static LrSchedule of(IntToDoubleFunction f) {
    if (f == null) throw new AdjointException("LrSchedule.of: function is null");
    return f::applyAsDouble;
  }

  /** The same rate {@code lr} (&gt; 0, finite) at every step. */
  static LrSchedule constant(double lr) {
    positive("constant", lr);
    return step -> lr;
  }

  /** lr * gamma^(step / every) (PyTorch's StepLR). */
  static LrSchedule step(double lr, int every, double gamma) {
    positive("step", lr);
    if (every < 1) throw new AdjointException("LrSchedule.step: every must be >= 1, got " + every);
    return step -> lr * Math.pow(gamma, step / every);
  }

  /** lr * gamma^step (ExponentialLR). */
  static LrSchedule exponential(double lr, double gamma) {
    positive("exponential", lr);
    return step -> lr * Math.pow(gamma, step);
  }

  /** Cosine from lr down to min over {@code steps} steps, then min (CosineAnnealingLR without restarts). */
  static LrSchedule cosine(double lr, int steps, double min) {
    positive("cosine", lr);
    if (steps < 1) throw new AdjointException("LrSchedule.cosine: steps must be >= 1, got " + steps);
    return step -> step >= steps ? min : min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * step / steps));
  }

  /** Linear warmup from 0 over {@code steps} steps (rate after step k: then(k) * (k + 1) / steps), then {@code then}. */
  static LrSchedule warmup(int steps, IntToDoubleFunction then) {
    if (steps < 1) throw new AdjointException("LrSchedule.warmup: steps must be >= 1, got " + steps);
    if (then == null) throw new AdjointException("LrSchedule.warmup: schedule is null");
    return step -> step < steps ? then.applyAsDouble(step) * (step + 1) / steps : then.applyAsDouble(step);
  }

  private static void positive(String what, double lr) {
    if (!(lr > 0) || Double.isInfinite(lr)) throw new AdjointException("LrSchedule." + what + ": learning rate must be > 0 and finite, got " + lr);
  }
}
