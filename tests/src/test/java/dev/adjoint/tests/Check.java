package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;

/** Small assertions shared by the tests. */
final class Check {
  private Check() {}

  static void close(Value v, long[] shape, double tol, double... expected) {
    Tensor t = v.asTensor();
    assertArrayEquals(shape, t.shape(), "shape");
    double[] got = t.toDoubleArray();
    assertEquals(expected.length, got.length, "element count");
    for (int i = 0; i < got.length; i++) {
      double scale = Math.max(1, Math.abs(expected[i]));
      if (Math.abs(got[i] - expected[i]) > tol * scale)
        throw new AssertionError(
            "element " + i + ": expected " + expected[i] + " got " + got[i] + " (tol " + tol + ")\n" + t);
    }
  }

  static void close(Value v, double tol, double... expected) {
    close(v, v.asTensor().shape(), tol, expected);
  }

  /** The bprop of a test cell: the Cell.bprop signature as a lambda. */
  @FunctionalInterface
  interface Bprop {
    Tuple apply(Tensor[] in, Value out, Value dout);
  }

  /** sin(x) whose derivative is replaced by {@code bprop}; {@code name} shows in error messages. */
  static Cell sinWithBprop(String name, Bprop bprop) {
    return new Cell() {
      @Override
      public Value construct(Tensor... in) {
        return Ops.sin(in[0]);
      }

      @Override
      public Tuple bprop(Tensor[] in, Value out, Value dout) {
        return bprop.apply(in, out, dout);
      }

      @Override
      public String name() {
        return name;
      }
    };
  }

  /** A float64 vector: {@code d(0.5, 1.5)}. */
  static Tensor d(double... v) {
    return Tensor.of(v, v.length);
  }

  static long[] shape(long... s) {
    return s;
  }
}
