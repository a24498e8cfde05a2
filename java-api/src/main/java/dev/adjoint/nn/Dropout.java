package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;

/**
 * Inverted dropout (PyTorch's {@code nn.Dropout(p)}): in training mode each element is zeroed with
 * probability p and the rest are scaled by 1 / (1 - p); in evaluation mode ({@link Cell#eval()}) it is
 * the identity. The gradient goes through the same mask.
 *
 * <pre>{@code
 * Sequential net = new Sequential(new Linear(784, 256, true, rng, DType.FLOAT32), Activation.relu(),
 *                                 new Dropout(0.5, 42), new Linear(256, 10, true, rng, DType.FLOAT32));
 * Cell step = adam.step(loss);       // a new mask every call, compiled once
 * net.eval();                        // evaluation: dropout off (a separate compiled graph)
 * Tensor logits = net.apply(xTest);
 * net.train();                       // back to training: the first graph is reused
 * }</pre>
 *
 * <p>Note [Dropout masks]: the mask is {@link Ops#dropoutMask} of ({@code seed}, {@code step}), where
 * {@code step} is a non-trainable scalar parameter of this cell ({@code <path>.step}) that every compiled
 * graph using the cell in training mode increments by one per run ({@link Ops#assign}): the mask
 * changes every call without recompiling, a run is reproducible from the seed and the step, and a
 * checkpoint (which saves the step with the model) resumes the same sequence of masks. Used several
 * times in one graph, each use gets its own key (seed + k * 0x9E3779B97F4A7C15 for the k-th use in
 * that graph) and the step still advances once per run.
 */
public class Dropout extends Cell {
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;
  /** The step counter: read by the masks, incremented once per run of a training graph. */
  public final Parameter step;
  private final double p;
  private final long seed;
  private final ThreadLocal<int[]> uses = ThreadLocal.withInitial(() -> new int[1]);

  /** Dropout with probability {@code p} in [0, 1), masks drawn from {@code seed}. */
  public Dropout(double p, long seed) {
    if (!(p >= 0 && p < 1)) throw new AdjointException("Dropout: p must be in [0, 1), got " + p);
    this.p = p;
    this.seed = seed;
    try (Tensor zero = Tensor.scalar(0.0)) {
      step = parameter("step", zero);
    }
    step.requiresGrad(false);
  }

  /** Dropout with probability {@code p} and seed 0. */
  public Dropout(double p) {
    this(p, 0);
  }

  /** The drop probability. */
  public double p() {
    return p;
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... in) {
    Tensor x = in[0];
    if (!isTraining() || p == 0) return x;
    int[] k = uses.get();
    if (!Ops.assigned(step)) { // the first use in this graph: advance the step once per run
      k[0] = 0;
      Ops.assign(step, Ops.add(step, 1));
    }
    long key = seed + GOLDEN * k[0]++;
    return Ops.dropout(x, p, key, step);
  }

  @Override
  public String name() {
    return "Dropout(" + p + ")";
  }
}
