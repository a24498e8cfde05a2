package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.engine.AdjointEngine;
import org.junit.jupiter.api.Test;

/** Bad input is a Java exception naming the problem; the JVM and the engine keep working. */
class ErrorsTest {
  static void mentions(Throwable e, String... parts) {
    for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
  }

  @Test
  void matmulDimensionMismatch() {
    Tensor a = Tensor.of(new float[6], 2, 3), b = Tensor.of(new float[20], 4, 5);
    AdjointException e = assertThrows(AdjointException.class, () -> Ops.matmul(a, b));
    mentions(e, "matmul", "[2, 3]", "[4, 5]");
    AdjointException traced = assertThrows(AdjointException.class, () -> Cell.of(in -> Ops.matmul(in[0], in[1])).call(a, b));
    mentions(traced, "matmul", "[2, 3]", "[4, 5]");
  }

  @Test
  void badBroadcast() {
    AdjointException e = assertThrows(AdjointException.class, () -> Ops.add(Tensor.of(new float[6], 2, 3), Tensor.of(new float[4], 4)));
    mentions(e, "add", "[2, 3]", "[4]");
  }

  @Test
  void wrongDtype() {
    AdjointException e = assertThrows(AdjointException.class, () -> Ops.mul(Tensor.of(new float[3], 3), Tensor.of(new double[3], 3)));
    mentions(e, "mul", "Float32", "Float64");
    AdjointException i = assertThrows(AdjointException.class, () -> Ops.sin(Tensor.of(new int[] {1, 2}, 2)));
    mentions(i, "sin", "Int32");
  }

  @Test
  void closedTensor() {
    Tensor t = Tensor.of(new float[] {1, 2}, 2);
    t.close();
    t.close(); // idempotent
    AdjointException e = assertThrows(AdjointException.class, () -> Ops.sin(t));
    mentions(e, "was closed");
    assertThrows(AdjointException.class, t::toFloatArray);
  }

  @Test
  void wrongNumberOfInputsAtRunAndWrongBuffers() {
    try (AdjointEngine.Graph g = new AdjointEngine.Graph()) {
      int a = g.addInput(0, new long[] {2}, 1);
      int b = g.addInput(0, new long[] {2}, 1);
      int s = g.addNode(opId("add"), new int[] {a, b}, 2, new long[0], 0, 0);
      g.addOutput(s);
      try (AdjointEngine.Executable exe = new AdjointEngine.Executable(g, 0)) {
        AdjointEngine.Buffer x = AdjointEngine.newBuffer(0, 0, new long[] {2}, 1);
        AdjointEngine.Buffer wrong = AdjointEngine.newBuffer(0, 1, new long[] {2}, 1);
        try {
          exe.setInput(0, x);
          RuntimeException notSet = assertThrows(RuntimeException.class, exe::run);
          mentions(notSet, "input 1");
          RuntimeException range = assertThrows(RuntimeException.class, () -> exe.setInput(2, x));
          mentions(range, "2");
          exe.setInput(1, wrong);
          RuntimeException dtype = assertThrows(RuntimeException.class, exe::run);
          mentions(dtype, "input 1", "Float32", "Float64");
          exe.setInput(1, x);
          exe.run(); // the executable is still usable
          AdjointEngine.freeBuffer(exe.takeOutput(0));
        } finally {
          AdjointEngine.freeBuffer(x);
          AdjointEngine.freeBuffer(wrong);
        }
      }
    }
  }

  static int opId(String name) {
    for (int i = 0; i < AdjointEngine.opCount(); i++) if (AdjointEngine.opName(i).equals(name)) return i;
    throw new AssertionError("no op " + name);
  }

  @Test
  void engineRejectsBadGraphs() {
    try (AdjointEngine.Graph g = new AdjointEngine.Graph()) {
      int a = g.addInput(0, new long[] {2}, 1);
      mentions(assertThrows(RuntimeException.class, () -> g.addNode(9999, new int[] {a}, 1, new long[0], 0, 0)), "9999");
      mentions(assertThrows(RuntimeException.class, () -> g.addNode(opId("sin"), new int[] {77}, 1, new long[0], 0, 0)), "77");
      mentions(assertThrows(RuntimeException.class, () -> g.addNode(opId("sum"), new int[] {a}, 1, new long[] {0, 5}, 2, 0)), "axis");
    }
  }

  @Test
  void jvmKeepsRunningAfterErrors() {
    for (int i = 0; i < 100; i++)
      assertThrows(AdjointException.class, () -> Ops.matmul(Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3)));
    assertEquals(2.0, Ops.add(Tensor.scalar(1f), Tensor.scalar(1f)).item());
  }

  // ------------------------------------------------------------------ trace state after failures, leaked and closed tensors, integer inputs

  /** An Error (not a RuntimeException) thrown inside construct must not leave the thread tracing. */
  @Test
  void errorInsideConstructDoesNotLeaveThreadTracing() {
    Tensor x = d(0.5, 1.5);
    Cell bad =
        Cell.of(
            in -> {
              Ops.sin(in[0]);
              throw new AssertionError("boom");
            });
    assertThrows(AssertionError.class, () -> bad.call(x));
    Tensor y = Ops.sin(x);
    assertFalse(y.isSymbolic(), "an eager op after a failed trace must run eagerly");
    close(y, 1e-12, Math.sin(0.5), Math.sin(1.5));
    // and the next trace on this thread starts clean
    close(Cell.of(in -> Ops.cos(in[0])).call(x), 1e-12, Math.cos(0.5), Math.cos(1.5));
  }

  @Test
  void errorInsideGradOperationDoesNotLeaveThreadTracing() {
    Tensor x = d(0.5, 1.5);
    Cell bad =
        new GradOperation()
            .of(
                Cell.of(
                    in -> {
                      throw new StackOverflowError("deep");
                    }));
    // A stack overflow while tracing becomes an AdjointException naming the cell, the cause kept.
    assertTrue(assertThrows(dev.adjoint.AdjointException.class, () -> bad.call(x)).getCause() instanceof StackOverflowError);
    assertFalse(Ops.sin(x).isSymbolic());
  }

  @Test
  void leakedSymbolicTensorIsAClearError() {
    Tensor[] leak = new Tensor[1];
    Cell net =
        Cell.of(
            in -> {
              leak[0] = Ops.sin(in[0]);
              return leak[0];
            });
    net.call(d(1));
    Tensor s = leak[0];
    assertTrue(s.isSymbolic());
    assertThrows(AdjointException.class, () -> Ops.cos(s));
    assertThrows(AdjointException.class, () -> Ops.add(d(1), s));
    assertThrows(AdjointException.class, s::toDoubleArray);
    assertThrows(AdjointException.class, s::item);
    assertThrows(AdjointException.class, () -> s.to(dev.adjoint.Device.CPU));
    assertThrows(AdjointException.class, () -> new Parameter("p", s));
    assertThrows(AdjointException.class, () -> new Parameter("p", d(1)).assign(s));
    assertThrows(AdjointException.class, () -> Cell.of(in -> Ops.add(in[0], s)).call(d(1)));
    assertThrows(AdjointException.class, () -> new GradOperation().of(Cell.of(in -> Ops.sin(in[0]))).call(s));
    assertThrows(AdjointException.class, () -> Autodiff.grad(in -> Ops.sum(Ops.mul(in[0], s))).apply(d(1)));
    assertFalse(Ops.sin(d(1)).isSymbolic());
  }

  @Test
  void integerInputsAreClearErrors() {
    Tensor i = Tensor.of(new int[] {1, 2});
    Cell net = Cell.of(in -> Ops.sin(in[0]));
    AdjointException e = assertThrows(AdjointException.class, () -> new GradOperation().of(net).call(i));
    assertTrue(e.getMessage().contains("Int32"), e.getMessage());
    AdjointException j =
        assertThrows(AdjointException.class, () -> Autodiff.jacobian(in -> in[0], 0).apply(i));
    assertTrue(j.getMessage().contains("Int32"), j.getMessage());
    AdjointException k =
        assertThrows(AdjointException.class, () -> Autodiff.jacobian(in -> in[0], 0, true).apply(i));
    assertTrue(k.getMessage().contains("Int32"), k.getMessage());
  }

  @Test
  void closedParameterNamesIt() {
    GradOperationSemanticsTest.Lin net = new GradOperationSemanticsTest.Lin();
    Tensor x = d(1, 3);
    net.apply(x);
    net.b.close();
    RuntimeException e = assertThrows(RuntimeException.class, () -> net.apply(x));
    assertTrue(e.getMessage().contains("'b'"), e.getMessage());
  }
}
