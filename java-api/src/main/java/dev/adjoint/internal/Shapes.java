package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;

/**
 * Checked shape arithmetic: every element count and byte size in the Java API goes through here, so a
 * negative dimension or a product that overflows is an {@link AdjointException} naming the op and the
 * shape, never a wrapped-around number handed to the engine.
 */
public final class Shapes {
  private Shapes() {}

  /** Element count of {@code shape}; throws naming {@code op} for a negative dim or an overflow. */
  public static long numel(String op, long[] shape) {
    if (shape == null) throw new AdjointException(op + ": shape is null");
    long n = 1;
    for (int i = 0; i < shape.length; i++) {
      long d = shape[i];
      if (d < 0)
        throw new AdjointException(op + ": dimension " + i + " of shape " + Format.shape(shape) + " is negative");
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new AdjointException(
            op + ": shape " + Format.shape(shape) + " has more elements than a 64-bit count can hold");
      }
    }
    return n;
  }

  /** Bytes of a {@code dtype} tensor of {@code shape}; throws naming {@code op} on overflow. */
  public static long byteSize(String op, DType dtype, long[] shape) {
    long n = numel(op, shape);
    try {
      return Math.multiplyExact(n, (long) dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new AdjointException(
          op + ": " + dtype + " " + Format.shape(shape) + " needs more bytes than a 64-bit size can hold");
    }
  }

  /** Element count that must fit a Java array (toFloatArray, host callbacks, uniform). */
  public static int arrayLength(String op, DType dtype, long[] shape) {
    long n = numel(op, shape);
    if (n > Integer.MAX_VALUE - 8)
      throw new AdjointException(
          op + ": " + dtype + " " + Format.shape(shape) + " has " + n
              + " elements, more than a Java array can hold (2^31 - 9)");
    return (int) n;
  }
}
