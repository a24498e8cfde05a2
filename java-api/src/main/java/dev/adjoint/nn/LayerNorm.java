package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;

/**
 * Layer normalisation over the last axis (PyTorch's {@code nn.LayerNorm(features)}): (x - mean) / sqrt(var + eps)
 * times a learned scale (ones) plus a learned shift (zeros); the variance is the biased one.
 *
 * <pre>{@code
 * LayerNorm norm = new LayerNorm(64);
 * Tensor y = norm.apply(x);          // x: [batch, 64], every row normalised, then scaled and shifted
 * }</pre>
 */
public class LayerNorm extends Cell {
  /** The learned scale (initially ones) and shift (initially zeros), each {@code [features]}. */
  public final Parameter weight, bias;
  private final int features;
  private final double eps;

  /**
   * Normalises inputs whose last axis has {@code features} elements, with {@code eps} added to the variance,
   * parameters in {@code dtype}; {@code features < 1} or {@code eps <= 0} is an {@link AdjointException}.
   */
  public LayerNorm(int features, double eps, DType dtype) {
    if (features < 1) throw new AdjointException("LayerNorm: features must be >= 1, got " + features);
    if (!(eps > 0)) throw new AdjointException("LayerNorm: eps must be > 0, got " + eps);
    this.features = features;
    this.eps = eps;
    try (Tensor one = Tensor.ones(dtype, features); Tensor zero = Tensor.zeros(dtype, features)) {
      weight = parameter("weight", one);
      bias = parameter("bias", zero);
    }
  }

  /** A Float32 LayerNorm over {@code features} with eps 1e-5 (PyTorch's defaults). */
  public LayerNorm(int features) {
    this(features, 1e-5, DType.FLOAT32);
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... in) {
    Tensor x = in[0];
    long[] s = x.shape();
    if (s.length == 0 || s[s.length - 1] != features)
      throw new AdjointException(name() + ": input " + x.describe() + " must end in " + features + " features");
    Tensor centred = Ops.sub(x, Ops.mean(x, true, -1));
    Tensor var = Ops.mean(Ops.square(centred), true, -1);
    Tensor normed = Ops.div(centred, Ops.sqrt(Ops.add(var, eps)));
    return Ops.add(Ops.mul(normed, weight), bias);
  }

  @Override
  public String name() {
    return "LayerNorm(" + features + ")";
  }
}
