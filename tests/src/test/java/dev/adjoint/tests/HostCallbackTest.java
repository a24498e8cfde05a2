package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import org.junit.jupiter.api.Test;

/** Java code as a graph node, run by the engine through a FunctionPointer callback. */
class HostCallbackTest {
  final Tensor x = Tensor.of(new double[] {0.5, -1.5, 2.0}, 3);

  static Tensor cube(Tensor t) {
    return Ops.hostCall("cube", (in, out) -> {
      for (int i = 0; i < out.length; i++) out[i] = in[0][i] * in[0][i] * in[0][i];
    }, t.dtype(), t.shape(), t);
  }

  /** x^3 computed on the host, with a bprop written in ops. */
  static final class HostCube extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return cube(in[0]);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(Ops.mul(dout.asTensor(), Ops.mul(Ops.square(in[0]), 3)));
    }
  }

  @Test
  void forwardAndDerivativesThroughBprop() {
    close(cube(x), 1e-12, 0.125, -3.375, 8);
    close(new HostCube().call(x), 1e-12, 0.125, -3.375, 8);
    close(new GradOperation().of(new HostCube()).call(x), 1e-12, 0.75, 6.75, 12);
    close(new GradOperation().of(new GradOperation().of(new HostCube())).call(x), 1e-12, 3, -9, 12);
  }

  /** sin(x) whose bprop is host code: dout * cos(x) computed in Java. */
  static final class HostBprop extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.sin(in[0]);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      Tensor d = dout.asTensor();
      return Tuple.of(Ops.hostCall("dsin", (a, o) -> {
        for (int i = 0; i < o.length; i++) o[i] = a[0][i] * Math.cos(a[1][i]);
      }, d.dtype(), d.shape(), d, in[0]));
    }
  }

  @Test
  void callbackAsBprop() {
    close(new GradOperation().of(new HostBprop()).call(x), 1e-12, Math.cos(0.5), Math.cos(-1.5), Math.cos(2.0));
    AdjointException e = assertThrows(AdjointException.class, () -> new GradOperation().of(new GradOperation().of(new HostBprop())).call(x));
    assertTrue(e.getMessage().contains("dsin"), e.getMessage());
  }

  @Test
  void noDerivativeWithoutBprop() {
    AdjointException e = assertThrows(AdjointException.class, () -> new GradOperation().of(Cell.of(in -> cube(in[0]))).call(x));
    assertTrue(e.getMessage().contains("cube") && e.getMessage().contains("bprop"), e.getMessage());
  }

  @Test
  void exceptionInCallbackReachesCallerAndEngineStaysUsable() {
    Cell bad = Cell.of(in -> Ops.hostCall("boom", (i, o) -> {
      throw new IllegalArgumentException("boom from Java");
    }, in[0].dtype(), in[0].shape(), in[0]));
    AdjointException e = assertThrows(AdjointException.class, () -> bad.call(x));
    assertTrue(e.getCause() instanceof IllegalArgumentException, String.valueOf(e.getCause()));
    close(new HostCube().call(x), 1e-12, 0.125, -3.375, 8);
  }

  // ------------------------------------------------------------------ integer inputs and outputs

  @Test
  void hostCallbackWithIntInput() {
    Tensor i = Tensor.of(new int[] {1, 2, 3});
    Tensor out =
        Cell.of(in -> Ops.hostCall("twice", (a, o) -> { for (int k = 0; k < o.length; k++) o[k] = 2 * a[0][k]; }, DType.FLOAT64, new long[] {3}, in[0]))
            .apply(i);
    close(out, 1e-12, 2, 4, 6);
    Tensor io =
        Cell.of(in -> Ops.hostCall("inc", (a, o) -> { for (int k = 0; k < o.length; k++) o[k] = a[0][k] + 1; }, DType.INT32, new long[] {3}, in[0]))
            .apply(i);
    assertEquals(java.util.Arrays.toString(new int[] {2, 3, 4}), java.util.Arrays.toString(io.toIntArray()));
  }
}
