package dev.adjoint.nn.init;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import java.util.Arrays;
import java.util.Random;

/**
 * Initial values for weights, seeded and reproducible, with PyTorch's definitions of fan-in, fan-out and gain.
 *
 * <pre>{@code
 * Random rng = new Random(42);
 * Tensor w = Init.xavierUniform(rng, DType.FLOAT32, Init.gain("tanh"), 64, 32);   // a [64, 32] weight
 * Tensor b = Init.zeros(DType.FLOAT32, 32);
 * }</pre>
 *
 * Fans: Adjoint multiplies {@code x @ W}, so a 2-D weight is {@code [in, out]}: fan-in is {@code shape[0]} and
 * fan-out {@code shape[1]}. For more dimensions, as PyTorch's convolution weights, {@code [out, in, k...]}:
 * fan-in is {@code in * prod(k)}, fan-out {@code out * prod(k)}. A 1-D tensor has fan-in = fan-out = its length.
 */
public final class Init {
  private Init() {}

  /** The recommended gain of a nonlinearity, as torch.nn.init.calculate_gain. */
  public static double gain(String nonlinearity) {
    return gain(nonlinearity, 0.01);
  }

  /**
   * The recommended gain of {@code nonlinearity} (linear, identity, sigmoid, conv1d/2d/3d, tanh, relu,
   * leaky_relu, selu), with {@code negativeSlope} used by leaky_relu only; an unknown name is an
   * {@link AdjointException} listing the known ones.
   */
  public static double gain(String nonlinearity, double negativeSlope) {
    if (nonlinearity == null) throw new AdjointException("gain: nonlinearity is null");
    return switch (nonlinearity) {
      case "linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d" -> 1.0;
      case "tanh" -> 5.0 / 3;
      case "relu" -> Math.sqrt(2.0);
      case "leaky_relu" -> Math.sqrt(2.0 / (1 + negativeSlope * negativeSlope));
      case "selu" -> 3.0 / 4;
      default -> throw new AdjointException(
          "gain: unknown nonlinearity '" + nonlinearity + "' (linear, sigmoid, tanh, relu, leaky_relu, selu)");
    };
  }

  /** Fan-in of a weight of {@code shape} (see the class comment). */
  public static long fanIn(long... shape) {
    return fans(shape)[0];
  }

  /** Fan-out of a weight of {@code shape} (see the class comment); rank 0 is an {@link AdjointException}. */
  public static long fanOut(long... shape) {
    return fans(shape)[1];
  }

  static long[] fans(long[] shape) {
    if (shape == null || shape.length == 0)
      throw new AdjointException("fan-in and fan-out need a tensor of rank >= 1, got " + Arrays.toString(shape));
    if (shape.length == 1) return new long[] {shape[0], shape[0]};
    if (shape.length == 2) return new long[] {shape[0], shape[1]};
    long field = 1;
    for (int i = 2; i < shape.length; i++) field *= shape[i];
    return new long[] {shape[1] * field, shape[0] * field};
  }

  /** A Float32 or Float64 tensor of zeros of {@code shape} (biases, moment buffers). */
  public static Tensor zeros(DType dtype, long... shape) {
    return constant(dtype, 0, shape);
  }

  /** A Float32 or Float64 tensor of ones of {@code shape} (normalisation scales). */
  public static Tensor ones(DType dtype, long... shape) {
    return constant(dtype, 1, shape);
  }

  /** A Float32 or Float64 tensor of {@code shape} with every element {@code value}. */
  public static Tensor constant(DType dtype, double value, long... shape) {
    return Tensor.full(dtype, value, shape);
  }

  /** Uniform on [lo, hi). */
  public static Tensor uniform(Random rng, DType dtype, double lo, double hi, long... shape) {
    return Tensor.uniform(rng, dtype, lo, hi, shape);
  }

  /** Normal with {@code mean} and {@code std}. */
  public static Tensor normal(Random rng, DType dtype, double mean, double std, long... shape) {
    if (rng == null) throw new AdjointException("normal: rng is null");
    if (!(std >= 0)) throw new AdjointException("normal: std must be >= 0, got " + std);
    int n = count("normal", shape);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = mean + std * rng.nextGaussian();
    return make(dtype, v, shape);
  }

  /** Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)). */
  public static Tensor xavierUniform(Random rng, DType dtype, double gain, long... shape) {
    long[] f = fans(shape);
    double a = gain * Math.sqrt(6.0 / (f[0] + f[1]));
    return uniform(rng, dtype, -a, a, shape);
  }

  /** Glorot/Xavier normal: N(0, std), std = gain * sqrt(2 / (fanIn + fanOut)). */
  public static Tensor xavierNormal(Random rng, DType dtype, double gain, long... shape) {
    long[] f = fans(shape);
    return normal(rng, dtype, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])), shape);
  }

  /**
   * Which fan He/Kaiming scales by: fan-in preserves forward variance, fan-out backward.
   *
   * <pre>{@code
   * Tensor w = Init.kaimingNormal(new Random(1), DType.FLOAT32, Init.gain("relu"), Init.FanMode.FAN_IN, 128, 64);
   * }</pre>
   */
  public enum FanMode {
    /** Scale by the fan-in (PyTorch's default {@code mode="fan_in"}). */
    FAN_IN,
    /** Scale by the fan-out. */
    FAN_OUT
  }

  /** He/Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan). */
  public static Tensor kaimingUniform(Random rng, DType dtype, double gain, FanMode mode, long... shape) {
    long fan = fan(mode, shape);
    double b = gain * Math.sqrt(3.0 / fan);
    return uniform(rng, dtype, -b, b, shape);
  }

  /** He/Kaiming normal: N(0, gain / sqrt(fan)). */
  public static Tensor kaimingNormal(Random rng, DType dtype, double gain, FanMode mode, long... shape) {
    return normal(rng, dtype, 0, gain / Math.sqrt(fan(mode, shape)), shape);
  }

  private static long fan(FanMode mode, long[] shape) {
    long[] f = fans(shape);
    long fan = mode == FanMode.FAN_OUT ? f[1] : f[0];
    if (fan <= 0) throw new AdjointException("kaiming: fan is 0 for shape " + Arrays.toString(shape));
    return fan;
  }

  /**
   * A (semi-)orthogonal matrix times {@code gain}, as torch.nn.init.orthogonal_: the tensor is viewed as
   * {@code [shape[0], rest]}, a Gaussian matrix is QR-factorised (Householder) and Q, its columns' signs fixed
   * by R's diagonal, is the result. Rows are orthonormal when {@code rows <= cols}, columns otherwise.
   */
  public static Tensor orthogonal(Random rng, DType dtype, double gain, long... shape) {
    if (shape == null || shape.length < 2) throw new AdjointException("orthogonal: needs rank >= 2, got " + Arrays.toString(shape));
    int n = count("orthogonal", shape);
    int rows = (int) shape[0], cols = n / rows;
    boolean wide = rows < cols;
    int m = wide ? cols : rows, k = wide ? rows : cols; // factor the tall m x k matrix
    double[][] a = new double[m][k];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) {
      double g = rng.nextGaussian();
      if (wide) a[j][i] = g;
      else a[i][j] = g;
    }
    double[][] q = householderQ(a, m, k);
    double[] v = new double[n];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) v[i * cols + j] = gain * (wide ? q[j][i] : q[i][j]);
    return make(dtype, v, shape);
  }

  /** The thin Q (m x k, m >= k) of A = QR, with diag(R) made positive (sign-fixed columns). */
  static double[][] householderQ(double[][] a, int m, int k) {
    double[][] r = new double[m][];
    for (int i = 0; i < m; i++) r[i] = a[i].clone();
    double[][] vs = new double[k][];
    double[] diag = new double[k];
    for (int j = 0; j < k; j++) {
      double norm = 0;
      for (int i = j; i < m; i++) norm += r[i][j] * r[i][j];
      norm = Math.sqrt(norm);
      double alpha = r[j][j] > 0 ? -norm : norm;
      double[] v = new double[m];
      for (int i = j; i < m; i++) v[i] = r[i][j];
      v[j] -= alpha;
      double vv = 0;
      for (int i = j; i < m; i++) vv += v[i] * v[i];
      if (vv > 0)
        for (int c = j; c < k; c++) {
          double dot = 0;
          for (int i = j; i < m; i++) dot += v[i] * r[i][c];
          double f = 2 * dot / vv;
          for (int i = j; i < m; i++) r[i][c] -= f * v[i];
        }
      vs[j] = vv > 0 ? v : null;
      diag[j] = r[j][j];
    }
    double[][] q = new double[m][k];
    for (int j = 0; j < k; j++) q[j][j] = 1;
    for (int j = k - 1; j >= 0; j--) {
      double[] v = vs[j];
      if (v == null) continue;
      double vv = 0;
      for (int i = j; i < m; i++) vv += v[i] * v[i];
      for (int c = 0; c < k; c++) {
        double dot = 0;
        for (int i = j; i < m; i++) dot += v[i] * q[i][c];
        double f = 2 * dot / vv;
        for (int i = j; i < m; i++) q[i][c] -= f * v[i];
      }
    }
    for (int c = 0; c < k; c++) if (diag[c] < 0) for (int i = 0; i < m; i++) q[i][c] = -q[i][c];
    return q;
  }

  private static int count(String what, long[] shape) {
    if (shape == null) throw new AdjointException(what + ": shape is null");
    long n = 1;
    for (long d : shape) {
      if (d < 0) throw new AdjointException(what + ": negative dimension in " + Arrays.toString(shape));
      n = Math.multiplyExact(n, d);
    }
    if (n > Integer.MAX_VALUE - 8) throw new AdjointException(what + ": " + Arrays.toString(shape) + " is too large to initialise on the host");
    return (int) n;
  }

  private static Tensor make(DType dtype, double[] v, long[] shape) {
    if (dtype == DType.FLOAT64) return Tensor.of(v, shape);
    if (dtype != DType.FLOAT32) throw new AdjointException("initializers make Float32 or Float64 tensors, not " + dtype);
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
    return Tensor.of(f, shape);
  }
}
