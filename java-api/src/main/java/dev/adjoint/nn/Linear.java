package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.nn.init.Init;
import java.util.Random;

/**
 * {@code y = x @ weight + bias}, weight {@code [in, out]}, bias {@code [out]} (optional). Initialised as
 * PyTorch's {@code nn.Linear}: weight and bias uniform on ±1/√in (Kaiming uniform with a = √5), from the
 * given seeded generator.
 *
 * <pre>{@code
 * Linear layer = new Linear(784, 128, true, new Random(1), DType.FLOAT32);
 * Tensor y = layer.apply(x);          // x: [batch, 784] -> [batch, 128]
 * }</pre>
 */
public class Linear extends Cell {
  /**
   * The weight, {@code [in, out]} (the transpose of PyTorch's layout, since this layer computes {@code x @ weight}).
   */
  public final Parameter weight;
  /** The bias, {@code [out]}, or null for a layer made without one. */
  public final Parameter bias;
  private final int in, out;

  /**
   * A layer from {@code in} to {@code out} features, with a bias if {@code bias}, initialised from {@code rng}
   * (PyTorch's default: uniform on ±1/√in) in {@code dtype}; sizes below 1 or a null rng are an
   * {@link AdjointException}.
   */
  public Linear(int in, int out, boolean bias, Random rng, DType dtype) {
    if (in < 1 || out < 1) throw new AdjointException("Linear: sizes must be >= 1, got in=" + in + ", out=" + out);
    if (rng == null) throw new AdjointException("Linear: rng is null (initialisation is always seeded)");
    this.in = in;
    this.out = out;
    double bound = 1 / Math.sqrt(in);
    try (Tensor w = Init.uniform(rng, dtype, -bound, bound, in, out)) {
      this.weight = parameter("weight", w);
    }
    if (bias) {
      try (Tensor b = Init.uniform(rng, dtype, -bound, bound, out)) {
        this.bias = parameter("bias", b);
      }
    } else this.bias = null;
  }

  /** A Linear with given initial values (copied); {@code bias} may be null. */
  public Linear(Tensor weight, Tensor bias) {
    if (weight == null || weight.rank() != 2) throw new AdjointException("Linear: weight must be [in, out], got " + (weight == null ? "null" : weight.describe()));
    this.in = (int) weight.shape()[0];
    this.out = (int) weight.shape()[1];
    if (bias != null && (bias.rank() != 1 || bias.shape()[0] != out))
      throw new AdjointException("Linear: bias must be [" + out + "], got " + bias.describe());
    this.weight = parameter("weight", weight);
    this.bias = bias == null ? null : parameter("bias", bias);
  }

  /** The size of the input's last axis. */
  public int inFeatures() {
    return in;
  }

  /** The size of the output's last axis. */
  public int outFeatures() {
    return out;
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... x) {
    Tensor input = x[0];
    long[] s = input.shape();
    if (s.length == 0 || s[s.length - 1] != in)
      throw new AdjointException(name() + ": input " + input.describe() + " must end in " + in + " features");
    Tensor y = Ops.matmul(input.rank() == 1 ? Ops.reshape(input, 1, in) : input, weight);
    if (input.rank() == 1) y = Ops.reshape(y, out);
    return bias == null ? y : Ops.add(y, bias);
  }

  @Override
  public String name() {
    return "Linear(" + in + ", " + out + (bias == null ? ", bias=false" : "") + ")";
  }
}
