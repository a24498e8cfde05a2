package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.GradOperation;
import org.junit.jupiter.api.Test;

/** A compiled gradient is reused: 10,000 calls compile once, give identical results, keep nothing alive. */
class CacheAndMemoryTest {
  @Test
  void tenThousandCallsCompileOnce() {
    Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
    Tensor y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});
    Cell grad = new GradOperation().of(new TutorialTest.Net());
    float[] first;
    try (Tensor t = grad.call(x, y).asTensor()) {
      first = t.toFloatArray();
    }
    long compilations = Adjoint.compilations();
    long live = Adjoint.liveBuffers();
    for (int i = 0; i < 10_000; i++) {
      try (Tensor t = grad.call(x, y).asTensor()) {
        if (i % 1000 == 0) assertArrayEquals(first, t.toFloatArray());
      }
    }
    assertEquals(compilations, Adjoint.compilations());
    assertEquals(1, grad.compiledSignatures());
    assertTrue(Adjoint.liveBuffers() <= live, "no buffer kept alive: " + Adjoint.liveBuffers() + " > " + live);
    // a new shape is a new signature
    grad.call(Tensor.of(new float[3], 1, 3), y).asTensor().close();
    assertEquals(2, grad.compiledSignatures());
  }

  @Test
  void eagerOpsAreCachedPerSignature() {
    Tensor a = Tensor.of(new float[] {1, 2, 3}, 3);
    Ops.sin(a).close();
    long before = Adjoint.compilations();
    for (int i = 0; i < 1000; i++) Ops.sin(a).close();
    assertEquals(before, Adjoint.compilations());
  }

  @Test
  void parametersAreReadFreshEachCall() {
    TutorialTest.Net net = new TutorialTest.Net();
    Tensor x = Tensor.of(new float[] {1, 2}, 1, 2), y = Tensor.of(new float[] {3, 4}, 2, 1);
    assertEquals(11.0, net.call(x, y).asTensor().item(), 1e-6);
    net.z.assign(Tensor.of(new float[] {2f}));
    assertEquals(22.0, net.call(x, y).asTensor().item(), 1e-6);
  }

  // ------------------------------------------------------------------ outputs and cache keys

  /** The same tensor returned twice in a tuple: two independent, correct outputs. */
  @Test
  void sameTensorReturnedTwice() {
    Tensor x = d(0.5, 1.5);
    Tuple t =
        Cell.of(
                in -> {
                  Tensor s = Ops.sin(in[0]);
                  return Tuple.of(s, s);
                })
            .call(x)
            .asTuple();
    close(t.get(0), 1e-12, Math.sin(0.5), Math.sin(1.5));
    close(t.get(1), 1e-12, Math.sin(0.5), Math.sin(1.5));
    t.tensor(0).close();
    close(t.get(1), 1e-12, Math.sin(0.5), Math.sin(1.5));
  }

  @Test
  void cacheKeyedByDtype() {
    Cell net = Cell.of(in -> Ops.sin(in[0]));
    Tensor f = net.apply(Tensor.of(new float[] {0.5f}));
    Tensor g = net.apply(d(0.5));
    assertEquals(DType.FLOAT32, f.dtype());
    assertEquals(DType.FLOAT64, g.dtype());
    assertEquals(2, net.compiledSignatures());
  }

  @Test
  void sensStructureChangesRecompile() {
    Cell net = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])));
    Cell g = GradOperation.builder().sensParam(true).build().of(net);
    Tensor x = d(0.5);
    close(g.call(x, Tuple.of(d(1), d(0))), 1e-12, Math.cos(0.5));
    assertThrows(AdjointException.class, () -> g.call(x, d(1)));
    assertThrows(AdjointException.class, () -> g.call(x, Tuple.of(Tuple.of(d(1)), d(0))));
  }
}
