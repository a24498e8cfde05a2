package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.GradOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The per-call path (Note [Last signature] in Cell): a repeated call reuses the last call's compiled graph
 * without building its cache key. Whatever the order of signatures, closes and evictions, every call must
 * run the graph of its own signature.
 */
class CallPathTest {
  private static final Cell SQUARE_SUM = Cell.of(1, in -> Ops.sum(Ops.mul(in[0], in[0])));

  private static double sumSquares(float[] v) {
    double s = 0;
    for (float f : v) s += (double) f * f;
    return s;
  }

  @Test
  void alternatingSignaturesEachRunTheirOwnGraph() {
    Cell grad = new GradOperation().of(SQUARE_SUM);
    float[] a = {1, 2, 3}, b = {1, 2, 3, 4, 5, 6};
    try (Tensor ta = Tensor.of(a); Tensor tb = Tensor.of(b, 2, 3); Tensor tc = Tensor.of(new double[] {1, 2, 3})) {
      for (int i = 0; i < 5; i++) {
        try (Tensor g = grad.call(ta).asTensor()) {
          assertArrayEquals(new long[] {3}, g.shape());
          assertArrayEquals(new float[] {2, 4, 6}, g.toFloatArray());
        }
        try (Tensor g = grad.call(tb).asTensor()) {
          assertArrayEquals(new long[] {2, 3}, g.shape());
          assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, g.toFloatArray());
        }
        try (Tensor g = grad.call(tc).asTensor()) { // same shape as ta, other dtype
          assertEquals(DType.FLOAT64, g.dtype());
          assertArrayEquals(new double[] {2, 4, 6}, g.toDoubleArray());
        }
      }
      assertEquals(3, grad.compiledSignatures());
    }
  }

  @Test
  void aClosedCellOrAnEvictedGraphIsCompiledAgain() {
    Cell f = Cell.of(1, in -> Ops.sum(Ops.mul(in[0], in[0])));
    try (Tensor x = Tensor.of(new float[] {1, 2}); Tensor y = Tensor.of(new float[] {1, 2, 3})) {
      assertEquals(5.0, f.apply(x).item(), 0);
      f.close();
      assertEquals(0, f.compiledSignatures());
      assertEquals(5.0, f.apply(x).item(), 0); // the last call's graph was closed: the cache path compiles
      int saved = Adjoint.cellCacheCapacity();
      Adjoint.setCellCacheCapacity(1);
      try {
        for (int i = 0; i < 4; i++) {
          assertEquals(5.0, f.apply(x).item(), 0);
          assertEquals(14.0, f.apply(y).item(), 0);
          assertEquals(1, f.compiledSignatures());
        }
      } finally {
        Adjoint.setCellCacheCapacity(saved);
      }
    }
  }

  @Test
  void aClosedArgumentIsStillAnErrorOnTheFastPath() {
    Cell f = Cell.of(1, in -> Ops.sum(in[0]));
    Tensor x = Tensor.of(new float[] {1, 2});
    assertEquals(3.0, f.apply(x).item(), 0);
    x.close();
    AdjointException e = assertThrows(AdjointException.class, () -> f.apply(x));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void parametersAreReadAtEveryCall() {
    Parameter w = new Parameter("w", Tensor.of(new float[] {2, 3}));
    Cell f = new Cell() {
      @Override
      public dev.adjoint.Value construct(Tensor... in) {
        return Ops.sum(Ops.mul(Ops.add(in[0], in[1]), w));
      }
    };
    Cell g = GradOperation.builder().getByList(true).build().of(f, dev.adjoint.ParameterTuple.of(w));
    try (Tensor a = Tensor.of(new float[] {1, 1}); Tensor b = Tensor.of(new float[] {5, 7})) {
      assertEquals(36.0, f.call(a, b).asTensor().item(), 0);
      assertEquals(36.0, f.call(a, b).asTensor().item(), 0);
      assertThrows(AdjointException.class, () -> f.call(Tuple.of(a, b))); // not the fast path's business
      w.assign(Tensor.of(new float[] {1, 1}));
      assertEquals(14.0, f.call(a, b).asTensor().item(), 0); // parameters are read at each call
      assertEquals(14.0, f.call(w, b).asTensor().item(), 0); // a parameter as an argument: same signature
      assertArrayEquals(new float[] {6, 8}, g.call(a, b).asTuple().tensor(0).toFloatArray());
      assertArrayEquals(new float[] {6, 8}, g.call(b, a).asTuple().tensor(0).toFloatArray());
    }
  }

  @Test
  void tupleArgumentsMatchByStructure() {
    Cell mimo = new Cell() {
      @Override
      public dev.adjoint.Value construct(Tensor... in) {
        return Tuple.of(Ops.mul(in[0], in[1]), Ops.add(in[0], in[1]));
      }
    };
    Cell g = GradOperation.builder().getAll(true).sensParam(true).build().of(mimo);
    try (Tensor a = Tensor.of(new float[] {2}); Tensor b = Tensor.of(new float[] {3});
        Tensor one = Tensor.of(new float[] {1}); Tensor zero = Tensor.of(new float[] {0})) {
      for (int i = 0; i < 3; i++) {
        Tuple r = g.call(a, b, Tuple.of(one, zero)).asTuple(); // d(ab): (b, a)
        assertArrayEquals(new float[] {3}, r.tensor(0).toFloatArray());
        assertArrayEquals(new float[] {2}, r.tensor(1).toFloatArray());
        r = g.call(a, b, Tuple.of(zero, one)).asTuple(); // d(a+b): (1, 1)
        assertArrayEquals(new float[] {1}, r.tensor(0).toFloatArray());
        assertArrayEquals(new float[] {1}, r.tensor(1).toFloatArray());
      }
      assertEquals(1, g.compiledSignatures());
      // Same leaves, other structure: refused by the net's output structure, not mistaken for the last call.
      assertThrows(AdjointException.class, () -> g.call(a, b, Tuple.of(Tuple.of(one), zero)));
      assertThrows(AdjointException.class, () -> g.call(a, b, one, zero));
    }
  }

  @Test
  void manyThreadsOnOneSignature() throws Exception {
    Cell grad = new GradOperation().of(SQUARE_SUM);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        final int k = t;
        fs.add(pool.submit(() -> {
          float[] v = {k, k + 1, k + 2, k + 3};
          try (Tensor x = Tensor.of(v, k % 2 == 0 ? new long[] {4} : new long[] {2, 2})) {
            for (int i = 0; i < 2000; i++)
              try (Tensor g = grad.call(x).asTensor()) {
                float[] got = g.toFloatArray();
                for (int j = 0; j < 4; j++) if (got[j] != 2 * v[j]) throw new AssertionError("thread " + k + " call " + i);
              }
          }
          return null;
        }));
      }
      for (Future<?> f : fs) f.get();
    } finally {
      pool.shutdown();
    }
    assertEquals(2, grad.compiledSignatures());
    assertEquals(30.0, sumSquares(new float[] {1, 2, 3, 4}), 0);
  }
}
