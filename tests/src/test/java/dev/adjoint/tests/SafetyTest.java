package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The safety issue's classes of defect, one test (at least) each: what used to crash the JVM, return a
 * wrong number, hang or grow without bound must now be right or an AdjointException naming the problem.
 */
class SafetyTest {

  // ------------------------------------------------------------------ 1. sizes

  @Test
  void absurdAndOverflowingShapesAreErrors() {
    mentions(assertThrows(AdjointException.class, () -> Tensor.zeros(DType.FLOAT32, 1L << 31, 1L << 31)), "fill", "[2147483648, 2147483648]");
    mentions(assertThrows(AdjointException.class, () -> Tensor.of(new float[0], 1L << 62, 4)), "[4611686018427387904, 4]");
    mentions(assertThrows(AdjointException.class, () -> Tensor.of(new float[0], -1, 0)), "negative");
    mentions(assertThrows(AdjointException.class, () -> Tensor.zeros(DType.FLOAT64, 3, -2)), "negative");
    mentions(assertThrows(AdjointException.class, () -> Tensor.uniform(new Random(1), DType.FLOAT32, 0, 1, 1L << 40)), "uniform", "[1099511627776]");
    Tensor four = Tensor.of(new float[] {1, 2, 3, 4}, 4);
    mentions(assertThrows(AdjointException.class, () -> Ops.reshape(four, (1L << 62) + 1, 4)), "reshape");
    mentions(assertThrows(AdjointException.class, () -> Ops.broadcastTo(four, 1L << 62, 1L << 62, 4)), "broadcastTo");
    // Traced, the engine's shape rules check the same things.
    mentions(assertThrows(AdjointException.class, () -> Cell.of(in -> Ops.sum(Ops.reshape(in[0], (1L << 62) + 1, 4))).call(four)), "reshape");
    // Representable but more than the machine can give: an out-of-memory error, not a crash.
    mentions(assertThrows(AdjointException.class, () -> Tensor.zeros(DType.FLOAT32, 1L << 20, 1L << 20)), "out of memory allocating");
    assertEquals(10.0, Ops.sum(four).item(), 0); // still usable
  }

  // ------------------------------------------------------------------ 2. GC during a run

  /** Temporaries handed straight to a call while another thread forces collections: always right. */
  @Test
  void temporaryArgumentsSurviveGcDuringTheRun() throws Exception {
    Cell cell = Cell.of(in -> Ops.sum(Ops.mul(Ops.sin(in[0]), in[1])));
    AtomicBoolean stop = new AtomicBoolean();
    Thread gc = new Thread(() -> {
      while (!stop.get()) System.gc();
    });
    gc.setDaemon(true);
    gc.start();
    try {
      int n = 4096;
      float[] a = new float[n], b = new float[n];
      for (int i = 0; i < n; i++) {
        a[i] = (float) Math.sin(i);
        b[i] = 1 + (i % 7);
      }
      double expected = 0;
      for (int i = 0; i < n; i++) expected += (double) (float) Math.sin(a[i]) * b[i];
      for (int k = 0; k < 3000; k++) {
        double got = cell.apply(Tensor.of(a), Tensor.of(b)).item();
        assertEquals(expected, got, 1e-2 * Math.abs(expected) + 1e-2, "call " + k);
        if (k % 3 == 0) assertEquals(Math.sin(0.5), Tensor.of(new float[] {0.5f}).sin().item(), 1e-6);
      }
    } finally {
      stop.set(true);
      gc.join();
    }
  }

  // ------------------------------------------------------------------ 3. close during a run

  /** A tensor closed while a run reads it (here from inside the run) is freed when the run ends. */
  @Test
  void closeDuringARunIsDeferredToItsEnd() {
    Tensor x = Tensor.of(new double[] {1, 2, 3}, 3);
    Tensor[] victim = {x};
    Cell cell = Cell.of(in -> Ops.mul(Ops.hostCall("closer", (i, o) -> {
      victim[0].close(); // closes the run's own input
      for (int k = 0; k < o.length; k++) o[k] = i[0][k] * 2;
    }, DType.FLOAT64, in[0].shape(), in[0]), in[0]));
    assertArrayEquals(new double[] {2, 8, 18}, cell.apply(x).toDoubleArray(), 0);
    assertTrue(x.isClosed());
    mentions(assertThrows(AdjointException.class, () -> cell.apply(x)), "was closed");
    mentions(assertThrows(AdjointException.class, x::toDoubleArray), "was closed");
  }

  /** Other threads close the tensors runs are using: every call is right or a clean "was closed". */
  @Test
  void closeFromAnotherThreadDuringRuns() throws Exception {
    Cell cell = Cell.of(in -> Ops.sum(Ops.exp(in[0])));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int k = 0; k < 2000; k++) {
        Tensor x = Tensor.of(new float[20000], 20000);
        Future<?> closer = pool.submit(x::close);
        try {
          assertEquals(20000.0, cell.apply(x).item(), 0);
        } catch (AdjointException e) {
          mentions(e, "was closed");
        }
        closer.get();
        assertTrue(x.isClosed());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ 4. re-entrant runs

  /** A host callback that calls its own compiled cell gets its own engine instance. */
  @Test
  void reentrantRunOfTheSameCell() {
    AtomicInteger depth = new AtomicInteger();
    Cell[] self = new Cell[1];
    self[0] = Cell.of(in -> Ops.hostCall("recurse", (i, o) -> {
      double inner = 0;
      if (depth.incrementAndGet() < 3) inner = self[0].apply(Tensor.of(new double[] {i[0][0] + 1}, 1)).item();
      depth.decrementAndGet();
      o[0] = i[0][0] + inner;
    }, DType.FLOAT64, in[0].shape(), in[0]));
    // 1 + (2 + 3): three nested runs of one compiled graph
    assertEquals(6.0, self[0].apply(Tensor.of(new double[] {1}, 1)).item(), 0);
    assertEquals(6.0, self[0].apply(Tensor.of(new double[] {1}, 1)).item(), 0);
    assertEquals(1, self[0].compiledSignatures());
  }

  // ------------------------------------------------------------------ 5. torn parameters

  /** Three threads: one assigns whole new values, two read; no run ever sees a mix of two values. */
  @Test
  void runsSeeAConsistentParameterSnapshot() throws Exception {
    int n = 1 << 16;
    class Net extends Cell {
      final Parameter p = parameter("p", Tensor.of(new float[n], n));

      @Override
      public Value construct(Tensor... in) {
        return Ops.add(Ops.mul(p, 1), in[0]); // a copy of p, read across the whole run
      }
    }
    Net net = new Net();
    Tensor zero = Tensor.of(new float[n], n);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<String> torn = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      float[] v = new float[n];
      for (int k = 1; !stop.get(); k++) {
        java.util.Arrays.fill(v, k);
        try (Tensor t = Tensor.of(v, n)) {
          net.p.assign(t);
        }
      }
    });
    Runnable reader = () -> {
      for (int k = 0; k < 400 && torn.get() == null; k++) {
        try (Tensor out = net.apply(zero)) {
          float[] v = out.toFloatArray();
          for (float f : v)
            if (f != v[0]) {
              torn.set("call " + k + " saw " + v[0] + " and " + f);
              break;
            }
        }
        float[] direct = net.p.toFloatArray();
        for (float f : direct) if (f != direct[0]) torn.set("toFloatArray saw " + direct[0] + " and " + f);
      }
    };
    Thread r1 = new Thread(reader), r2 = new Thread(reader);
    writer.start();
    r1.start();
    r2.start();
    r1.join();
    r2.join();
    stop.set(true);
    writer.join();
    assertEquals(null, torn.get());
  }

  /** Updating parameters from a callback inside a run that reads them is refused, not a deadlock. */
  @Test
  void parameterUpdateInsideAReadingRunIsRefused() {
    Parameter p = new Parameter("w", Tensor.of(new double[] {1}, 1));
    Cell cell = Cell.of(in -> Ops.hostCall("update", (i, o) -> {
      p.assign(Tensor.of(new double[] {5}, 1));
      o[0] = i[0][0];
    }, DType.FLOAT64, p.shape(), Ops.mul(p, in[0])));
    AdjointException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
        () -> assertThrows(AdjointException.class, () -> cell.apply(Tensor.of(new double[] {2}, 1))));
    mentions(e, "update", "parameter 'w'");
    assertEquals(1.0, p.item(), 0);
  }

  // ------------------------------------------------------------------ 6. host callback conversions

  @Test
  void int32CallbackOutputsOutOfRangeAreErrors() {
    Tensor x = Tensor.of(new double[] {1}, 1);
    for (double bad : new double[] {1e20, Double.NaN, Double.POSITIVE_INFINITY, -3e9}) {
      AdjointException e = assertThrows(AdjointException.class,
          () -> Ops.hostCall("toInt", (i, o) -> o[0] = bad, DType.INT32, new long[] {1}, x));
      mentions(e, "toInt", "Int32");
    }
    assertArrayEquals(new int[] {-2}, Ops.hostCall("round", (i, o) -> o[0] = -2.4, DType.INT32, new long[] {1}, x).toIntArray());
    mentions(assertThrows(AdjointException.class, () -> Ops.hostCall("n", null, DType.FLOAT64, new long[] {1}, x)), "kernel is null");
  }

  // ------------------------------------------------------------------ 8. long chains compile in proportion

  /** 40,000 chained small matmuls trace, compile (near-linear planning) and run right. */
  @Test
  void fortyThousandStepChain() {
    Tensor swap = Tensor.of(new double[] {0, 1, 1, 0}, 2, 2); // a permutation: x @ swap swaps columns
    Cell chain = Cell.of(in -> {
      Tensor x = in[0];
      for (int i = 0; i < 40_001; i++) x = Ops.matmul(x, swap);
      return x;
    });
    // an odd number of swaps: the columns end swapped
    assertArrayEquals(new double[] {2, 1, 4, 3}, chain.apply(Tensor.of(new double[] {1, 2, 3, 4}, 2, 2)).toDoubleArray(), 0);
    chain.close();
  }

  // ------------------------------------------------------------------ 9. native memory pressure

  /** 1 MiB results left to the GC: native memory stays under the budget, no call fails. */
  @Test
  void resultsLeftToTheGcStayWithinTheBudget() {
    long before = Adjoint.nativeMemoryLimit();
    Adjoint.setNativeMemoryLimit(64L << 20);
    try {
      Cell cell = Cell.of(in -> Ops.mul(in[0], 2));
      Tensor x = Tensor.of(new float[1 << 18], 1 << 18); // 1 MiB
      long maxSeen = 0;
      for (int k = 0; k < 3000; k++) {
        cell.apply(x); // left to the GC
        maxSeen = Math.max(maxSeen, Adjoint.nativeBytes());
      }
      assertTrue(maxSeen <= (64L << 20) + (1 << 20), "native bytes reached " + maxSeen);
      assertTrue(Adjoint.buffersFreedByGc() > 0);
    } finally {
      Adjoint.setNativeMemoryLimit(before);
    }
  }

  @Test
  void allocationBeyondTheBudgetNamesTheFix() {
    long before = Adjoint.nativeMemoryLimit();
    Adjoint.setNativeMemoryLimit(16L << 20);
    List<Tensor> kept = new ArrayList<>();
    try {
      AdjointException e = assertThrows(AdjointException.class, () -> {
        for (int k = 0; k < 100; k++) kept.add(Tensor.zeros(DType.FLOAT32, 1 << 18));
      });
      mentions(e, "out of memory allocating", "close()");
    } finally {
      kept.forEach(Tensor::close);
      Adjoint.setNativeMemoryLimit(before);
    }
  }

  // ------------------------------------------------------------------ 10. bounded caches

  @Test
  void compileCachesAreBoundedAndCellsClose() {
    long live0 = Adjoint.liveExecutables();
    Cell cell = Cell.of(in -> Ops.sin(in[0]));
    for (int n = 1; n <= 300; n++) cell.apply(Tensor.of(new float[n], n)).close();
    assertTrue(cell.compiledSignatures() <= Adjoint.cellCacheCapacity(), "" + cell.compiledSignatures());
    for (int n = 1; n <= 600; n++) Ops.cos(Tensor.of(new float[n], n)).close(); // eager cache
    assertTrue(Adjoint.liveExecutables() - live0 <= Adjoint.cellCacheCapacity() + Adjoint.eagerCacheCapacity() + 8,
        "live executables grew by " + (Adjoint.liveExecutables() - live0));
    long beforeClose = Adjoint.liveExecutables();
    cell.close();
    assertEquals(0, cell.compiledSignatures());
    assertTrue(Adjoint.liveExecutables() <= beforeClose - Math.min(64, Adjoint.cellCacheCapacity()) + 1);
    assertEquals(0.0, cell.apply(Tensor.of(new float[] {0}, 1)).item(), 0); // usable after close
  }

  @Test
  void eightThreadsMissingOneSignatureCompileItOnce() throws Exception {
    Cell cell = Cell.of(in -> Ops.tanh(Ops.mul(in[0], in[0])));
    long c0 = Adjoint.compilations();
    int threads = 8;
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Double>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++)
        results.add(pool.submit(() -> {
          start.await();
          return cell.apply(Tensor.of(new double[] {0.5, 1}, 2)).sum().item();
        }));
      for (Future<Double> f : results) assertEquals(Math.tanh(0.25) + Math.tanh(1), f.get(), 1e-12);
    } finally {
      pool.shutdownNow();
    }
    // One compile of the cell; the eager sum of the results may add one more one-op graph.
    assertTrue(Adjoint.compilations() - c0 <= 2, "compiled " + (Adjoint.compilations() - c0) + " times");
    assertEquals(1, cell.compiledSignatures());
  }

  // ------------------------------------------------------------------ 11. printing large tensors

  @Test
  void largeTensorsPrintSummarised() {
    try (Tensor big = Tensor.zeros(DType.FLOAT32, 2000, 2000)) {
      String s = big.toString();
      assertTrue(s.length() < 400, s);
      assertTrue(s.contains("[[0. 0. 0. ... 0. 0. 0.]\n [0. 0. 0. ... 0. 0. 0.]\n [0. 0. 0. ... 0. 0. 0.]\n ...\n"), s);
      assertTrue(big.repr().contains("0.00000000e+00, ..., "), big.repr());
    }
    try (Tensor r = Tensor.of(new float[1001], 1001)) {
      assertTrue(r.valueString().startsWith("[0. 0. 0. ... 0. 0. 0.]"), r.valueString());
    }
    try (Tensor small = Tensor.of(new float[1000], 1000)) {
      assertTrue(!small.valueString().contains("..."));
    }
  }

  // ------------------------------------------------------------------ 12. no deadlock

  /** Two callbacks calling each other's cells, from two threads at once: both finish. */
  @Test
  void crossCallingCallbacksDoNotDeadlock() {
    CountDownLatch bothInside = new CountDownLatch(2);
    Cell[] cells = new Cell[2];
    for (int c = 0; c < 2; c++) {
      final int other = 1 - c;
      cells[c] = Cell.of(in -> Ops.hostCall("cross" + other, (i, o) -> {
        if (i[0][0] > 0) {
          bothInside.countDown();
          try {
            bothInside.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            throw new RuntimeException(e);
          }
          o[0] = 1 + cells[other].apply(Tensor.of(new double[] {0}, 1)).item();
        } else {
          o[0] = 10;
        }
      }, DType.FLOAT64, in[0].shape(), in[0]));
    }
    for (Cell c : cells) c.apply(Tensor.of(new double[] {0}, 1)); // compile both first
    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<Double> a = pool.submit(() -> cells[0].apply(Tensor.of(new double[] {1}, 1)).item());
        Future<Double> b = pool.submit(() -> cells[1].apply(Tensor.of(new double[] {1}, 1)).item());
        assertEquals(11.0, a.get(), 0);
        assertEquals(11.0, b.get(), 0);
      } finally {
        pool.shutdownNow();
      }
    });
  }

  // ------------------------------------------------------------------ errors that name the problem

  @Test
  void errorsNameTheProblem() {
    Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    mentions(assertThrows(AdjointException.class, () -> Ops.mean(x, false, 2)), "mean", "axis 2", "[2, 3]");
    mentions(assertThrows(AdjointException.class, () -> Ops.sum(x, false, -3)), "sum", "axis -3");
    mentions(assertThrows(AdjointException.class, () -> Ops.fill(DType.INT32, 1, 2)), "fill", "Int32");
    mentions(assertThrows(AdjointException.class, () -> Ops.softmaxCrossEntropy(x, Tensor.of(new float[2], 2))), "labels", "[2]", "[2, 3]");
    mentions(assertThrows(AdjointException.class, () -> Cell.of(in -> Ops.sin(in[0])).call(x, x)), "argument 1", "never used");
    Cell[] loop = new Cell[1];
    loop[0] = Cell.of(in -> loop[0].call(in).asTensor());
    mentions(assertThrows(AdjointException.class, () -> loop[0].call(x)), "call itself");
    mentions(assertThrows(AdjointException.class, () -> Ops.sin(null)), "sin", "null");
  }
}
