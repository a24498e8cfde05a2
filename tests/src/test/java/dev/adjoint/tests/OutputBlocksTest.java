package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Note [Output blocks] (internal Storage): small outputs of a compiled graph live in pooled native blocks
 * that a closed tensor hands to the graph's next run. Reuse must never be visible: every result right,
 * a closed tensor closed for good, blocks of dropped tensors freed by the GC, blocks freed with their graph.
 */
class OutputBlocksTest {
  private static Tensor vec(float... v) {
    return Tensor.of(v);
  }

  @Test
  void reusedBlocksGiveEveryCallItsOwnResult() {
    Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
    try (Tensor warm = twice.apply(vec(0, 0, 0))) {
      assertArrayEquals(new float[] {0, 0, 0}, warm.toFloatArray());
    }
    long live = Adjoint.liveBuffers(), bytes = Adjoint.nativeBytes();
    for (int i = 0; i < 2000; i++) {
      try (Tensor x = vec(i, i + 1, i + 2); Tensor y = twice.apply(x)) {
        assertArrayEquals(new float[] {2 * i, 2 * i + 2, 2 * i + 4}, y.toFloatArray());
      }
    }
    assertTrue(Adjoint.liveBuffers() <= live, "live buffers grew: " + Adjoint.liveBuffers() + " > " + live);
    assertTrue(Adjoint.nativeBytes() <= bytes, "native bytes grew: " + Adjoint.nativeBytes() + " > " + bytes);
  }

  @Test
  void aClosedResultStaysClosedWhenItsBlockIsReused() {
    Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
    try (Tensor a = vec(1, 2); Tensor b = vec(10, 20)) {
      Tensor first = twice.apply(a);
      first.close();
      Tensor second = twice.apply(b); // written into the block the first result gave back
      assertTrue(first.isClosed());
      assertFalse(second.isClosed());
      mentions(assertThrows(AdjointException.class, first::toFloatArray), "was closed");
      mentions(assertThrows(AdjointException.class, () -> twice.apply(first)), "was closed");
      first.close(); // idempotent: must not close or free the block the second result now uses
      assertArrayEquals(new float[] {20, 40}, second.toFloatArray());
      Tensor third = twice.apply(a); // the block is taken: a fresh one
      assertArrayEquals(new float[] {2, 4}, third.toFloatArray());
      assertArrayEquals(new float[] {20, 40}, second.toFloatArray());
      second.close();
      third.close();
    }
  }

  @Test
  void tupleOutputsAndGradientsReuseBlocks() {
    Cell mimo = new Cell() {
      @Override
      public dev.adjoint.Value construct(Tensor... in) {
        return Tuple.of(Ops.mul(in[0], in[1]), Ops.add(in[0], in[1]));
      }
    };
    Cell g = GradOperation.builder().getAll(true).sensParam(true).build().of(mimo);
    try (Tensor one = vec(1); Tensor zero = vec(0)) {
      for (int i = 1; i < 200; i++) {
        try (Tensor a = vec(i); Tensor b = vec(3 * i)) {
          Tuple r = g.call(a, b, Tuple.of(one, zero)).asTuple(); // d(ab) = (b, a)
          assertArrayEquals(new float[] {3 * i}, r.tensor(0).toFloatArray());
          assertArrayEquals(new float[] {i}, r.tensor(1).toFloatArray());
          r.tensor(0).close();
          r.tensor(1).close();
        }
      }
    }
  }

  @Test
  void blocksOfDroppedResultsAreFreedByTheGc() throws InterruptedException {
    Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
    try (Tensor x = vec(1, 2, 3, 4)) {
      twice.apply(x).close();
      long live = Adjoint.liveBuffers(), freedByGc = Adjoint.buffersFreedByGc();
      for (int i = 0; i < 5000; i++) twice.apply(x); // dropped without close
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (Adjoint.liveBuffers() > live + 100 && System.nanoTime() < deadline) {
        System.gc();
        Thread.sleep(20);
      }
      assertTrue(Adjoint.liveBuffers() <= live + 100, "dropped results still live: " + (Adjoint.liveBuffers() - live));
      assertTrue(Adjoint.buffersFreedByGc() >= freedByGc + 4900, "freed by the GC: " + (Adjoint.buffersFreedByGc() - freedByGc));
      try (Tensor y = twice.apply(x)) {
        assertArrayEquals(new float[] {2, 4, 6, 8}, y.toFloatArray());
      }
    }
  }

  // Native bytes only fall behind our back (the Cleaner frees other tests' dropped tensors), so each
  // check is an upper bound: a leak makes it fail, a concurrent free cannot.
  @Test
  void closingTheCellFreesItsIdleBlocksAndLaterClosesFreeTheRest() {
    try (Tensor x = vec(new float[1000])) {
      Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
      Tensor kept = twice.apply(x);
      twice.apply(x).close(); // a second block, now idle in the pool
      long before = Adjoint.nativeBytes();
      twice.close(); // frees the idle block; the kept result's block is still in use
      assertTrue(Adjoint.nativeBytes() <= before - 4000, "idle block not freed: " + (before - Adjoint.nativeBytes()));
      assertArrayEquals(new float[1000], kept.toFloatArray());
      before = Adjoint.nativeBytes();
      kept.close(); // its graph is gone: the block is freed, not pooled
      assertTrue(Adjoint.nativeBytes() <= before - 4000, "closed block not freed: " + (before - Adjoint.nativeBytes()));
    }
  }

  /** Results made on some threads and closed on others: blocks cross threads, every value stays right. */
  @Test
  void resultsClosedOnOtherThreads() throws Exception {
    Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
    java.util.concurrent.BlockingQueue<Object[]> queue = new java.util.concurrent.ArrayBlockingQueue<>(64);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      java.util.List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
      for (int p = 0; p < 2; p++) {
        final int base = 1000 * p;
        fs.add(pool.submit(() -> {
          for (int i = 0; i < 3000; i++)
            try (Tensor x = vec(base + i, -(base + i))) {
              queue.put(new Object[] {twice.apply(x), (float) (base + i)});
            }
          return null;
        }));
      }
      for (int c = 0; c < 2; c++)
        fs.add(pool.submit(() -> {
          for (int i = 0; i < 3000; i++) {
            Object[] item = queue.take();
            try (Tensor y = (Tensor) item[0]) {
              float v = (Float) item[1];
              float[] got = y.toFloatArray();
              if (got[0] != 2 * v || got[1] != -2 * v)
                throw new AssertionError("got " + java.util.Arrays.toString(got) + " for " + v);
            }
          }
          return null;
        }));
      for (java.util.concurrent.Future<?> f : fs) f.get(120, java.util.concurrent.TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aFailedRunGivesItsBlocksBack() {
    AtomicBoolean fail = new AtomicBoolean();
    Cell f = Cell.of(1, in -> Ops.mul(Ops.hostCall("maybeFail", (i, o) -> {
      if (fail.get()) throw new IllegalStateException("asked to fail");
      for (int k = 0; k < o.length; k++) o[k] = i[0][k] + 1;
    }, DType.FLOAT32, in[0].shape(), in[0]), 3));
    try (Tensor x = vec(1, 2)) {
      f.apply(x).close();
      long live = Adjoint.liveBuffers(), bytes = Adjoint.nativeBytes();
      fail.set(true);
      for (int i = 0; i < 50; i++) mentions(assertThrows(AdjointException.class, () -> f.apply(x)), "asked to fail");
      assertTrue(Adjoint.liveBuffers() <= live, "live buffers grew: " + (Adjoint.liveBuffers() - live));
      assertTrue(Adjoint.nativeBytes() <= bytes, "a failed run leaked a block: " + (Adjoint.nativeBytes() - bytes));
      fail.set(false);
      try (Tensor y = f.apply(x)) {
        assertArrayEquals(new float[] {6, 9}, y.toFloatArray());
      }
    }
  }

  @Test
  void aResultClosedDuringTheRunThatReadsItIsPooledOnlyAfterThatRun() {
    Cell twice = Cell.of(1, in -> Ops.mul(in[0], 2));
    Tensor[] victim = new Tensor[1];
    Cell reader = Cell.of(1, in -> Ops.mul(Ops.hostCall("closer", (i, o) -> {
      victim[0].close(); // the run's own input, a pooled result: freed (pooled) only when the run ends
      try (Tensor in2 = vec(100, 200); Tensor other = twice.apply(in2)) { // may not take the block the run still reads
        if (other.toFloatArray()[0] != 200) throw new IllegalStateException("wrong nested result");
      }
      for (int k = 0; k < o.length; k++) o[k] = i[0][k] + 1;
    }, DType.FLOAT32, in[0].shape(), in[0]), 10));
    try (Tensor x = vec(1, 2)) {
      twice.apply(x).close();
      for (int r = 0; r < 20; r++) {
        victim[0] = twice.apply(x); // (2, 4), in a reused block
        try (Tensor y = reader.apply(victim[0])) {
          assertArrayEquals(new float[] {30, 50}, y.toFloatArray());
        }
        assertTrue(victim[0].isClosed());
      }
    }
  }
}
