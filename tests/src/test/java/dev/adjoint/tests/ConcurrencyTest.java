package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.GradOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Several Java threads trace, compile and run at once (shared cells, their own cells, eager ops, large
 * tensors that make the engine split work across its pool): results equal the single-threaded ones.
 */
class ConcurrencyTest {
  @Test
  void manyThreadsSameAndDifferentCells() throws Exception {
    Random rnd = new Random(3);
    Tensor big = Tensor.uniform(rnd, DType.FLOAT32, -2, 2, 512, 1024);
    Tensor a = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, 64, 96), b = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, 96, 32);
    Cell shared = new GradOperation().of(new GradOperation().of(Cell.of(in -> Ops.sum(Ops.sin(in[0])))));
    Cell mm = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sum(Ops.tanh(Ops.matmul(in[0], in[1])))));
    float[] sharedRef = shared.call(big).asTensor().toFloatArray();
    float[] mmRef = mm.call(a, b).asTuple().tensor(0).toFloatArray();
    float[] eagerRef = Ops.cos(big).toFloatArray();

    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<?>> jobs = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        final int kind = t % 3;
        jobs.add(pool.submit(() -> {
          for (int i = 0; i < 30; i++) {
            switch (kind) {
              case 0 -> {
                try (Tensor r = shared.call(big).asTensor()) {
                  assertArrayEquals(sharedRef, r.toFloatArray());
                }
              }
              case 1 -> {
                Cell own = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sum(Ops.tanh(Ops.matmul(in[0], in[1])))));
                assertArrayEquals(mmRef, own.call(a, b).asTuple().tensor(0).toFloatArray());
                assertArrayEquals(mmRef, mm.call(a, b).asTuple().tensor(0).toFloatArray());
              }
              default -> {
                try (Tensor r = Ops.cos(big)) {
                  assertArrayEquals(eagerRef, r.toFloatArray());
                }
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : jobs) f.get();
    } finally {
      pool.shutdownNow();
    }
  }
}
