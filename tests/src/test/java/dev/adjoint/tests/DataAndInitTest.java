package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.data.DataLoader;
import dev.adjoint.data.DataLoader.Batch;
import dev.adjoint.data.DataLoader.LastBatch;
import dev.adjoint.data.Dataset;
import dev.adjoint.nn.init.Init;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** DataLoader batching, shuffling, last-batch policies and prefetch; initializers against their definitions. */
class DataAndInitTest {
  static Dataset tenSamples() {
    float[] x = new float[20];
    int[] y = new int[10];
    for (int i = 0; i < 10; i++) {
      x[2 * i] = i;
      x[2 * i + 1] = -i;
      y[i] = i;
    }
    return Dataset.builder().column(x, 2).column(y).build();
  }

  static List<int[]> labels(DataLoader l, int epoch) {
    List<int[]> out = new ArrayList<>();
    for (Batch b : l.epoch(epoch))
      try (b) {
        int[] y = b.get(1).toIntArray();
        float[] x = b.get(0).toFloatArray();
        for (int i = 0; i < y.length; i++) assertEquals(y[i], x[2 * i], 0, "features follow their label");
        out.add(y);
      }
    return out;
  }

  @Test
  void batchesShuffleAndLastBatchPolicies() {
    Dataset ds = tenSamples();
    DataLoader keep = DataLoader.builder(ds).batchSize(4).shuffle(7).build();
    List<int[]> e0 = labels(keep, 0);
    assertEquals(3, e0.size());
    assertEquals(2, e0.get(2).length);
    int[] all = e0.stream().flatMapToInt(Arrays::stream).sorted().toArray();
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, all, "every sample once per epoch");
    assertEquals(Arrays.deepToString(e0.toArray()), Arrays.deepToString(labels(keep, 0).toArray()), "same seed, same epoch: same order");
    assertNotEquals(Arrays.deepToString(e0.toArray()), Arrays.deepToString(labels(keep, 1).toArray()), "epochs differ");
    assertEquals(2, labels(DataLoader.builder(ds).batchSize(4).lastBatch(LastBatch.DROP).build(), 0).size());
    List<int[]> padded = labels(DataLoader.builder(ds).batchSize(4).lastBatch(LastBatch.PAD).build(), 0);
    assertArrayEquals(new int[] {8, 9, 0, 1}, padded.get(2), "padding repeats the epoch's first samples");
    List<int[]> plain = labels(DataLoader.builder(ds).batchSize(3).build(), 0);
    assertArrayEquals(new int[] {0, 1, 2}, plain.get(0), "no shuffle: in order");
  }

  @Test
  void prefetchGivesTheSameBatchesAndCompilesOncePerShape() {
    Dataset ds = tenSamples();
    DataLoader pre = DataLoader.builder(ds).batchSize(4).shuffle(3).prefetch(2).build();
    DataLoader direct = DataLoader.builder(ds).batchSize(4).shuffle(3).build();
    for (int e = 0; e < 3; e++)
      assertEquals(Arrays.deepToString(labels(direct, e).toArray()), Arrays.deepToString(labels(pre, e).toArray()));
    Cell step = Cell.of(in -> Ops.sum(Ops.mul(in[0], in[0])));
    long c0 = Adjoint.compilations();
    for (int e = 0; e < 5; e++) for (Batch b : pre.epoch(e)) try (b) { step.apply(b.get(0)).close(); }
    assertTrue(Adjoint.compilations() - c0 <= 2, "full and last batch: two signatures, compiled once each");
  }

  @Test
  void badDatasetsAreErrors() {
    mentions(assertThrows(AdjointException.class, () -> Dataset.builder().column(new float[5], 2).build()), "column 0", "5 values");
    mentions(assertThrows(AdjointException.class, () -> Dataset.builder().column(new float[4], 2).column(new int[3]).build()), "column 1", "3 samples");
    mentions(assertThrows(AdjointException.class, () -> DataLoader.builder(tenSamples()).build()), "batchSize");
  }

  // ------------------------------------------------------------------ initializers

  static double[] stats(Tensor t) {
    double[] v = t.toDoubleArray();
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= v.length;
    for (double x : v) s += (x - m) * (x - m);
    return new double[] {m, s / v.length};
  }

  @Test
  void initializerStatisticsMatchTheirDefinitions() {
    Random r = new Random(5);
    long in = 400, out = 300;
    double gTanh = Init.gain("tanh");
    assertEquals(5.0 / 3, gTanh, 0);
    assertEquals(Math.sqrt(2), Init.gain("relu"), 0);
    // variance of U(-a, a) is a^2 / 3
    double a = gTanh * Math.sqrt(6.0 / (in + out));
    double[] xu = stats(Init.xavierUniform(r, DType.FLOAT64, gTanh, in, out));
    assertEquals(0, xu[0], 3e-3);
    assertEquals(a * a / 3, xu[1], 0.02 * a * a / 3);
    double[] xn = stats(Init.xavierNormal(r, DType.FLOAT64, 1, in, out));
    assertEquals(2.0 / (in + out), xn[1], 0.02 * 2.0 / (in + out));
    double[] ku = stats(Init.kaimingUniform(r, DType.FLOAT32, Init.gain("relu"), Init.FanMode.FAN_IN, in, out));
    assertEquals(2.0 / in, ku[1], 0.02 * 2.0 / in);
    double[] kn = stats(Init.kaimingNormal(r, DType.FLOAT64, Init.gain("relu"), Init.FanMode.FAN_OUT, in, out));
    assertEquals(2.0 / out, kn[1], 0.02 * 2.0 / out);
    double[] nn = stats(Init.normal(r, DType.FLOAT64, 1.5, 0.5, 100_000));
    assertEquals(1.5, nn[0], 0.01);
    assertEquals(0.25, nn[1], 0.01);
    assertEquals(3 * 16, Init.fanIn(8, 3, 4, 4));
    assertEquals(8 * 16, Init.fanOut(8, 3, 4, 4));
    assertArrayEquals(Init.xavierUniform(new Random(9), DType.FLOAT32, 1, 3, 4).toFloatArray(),
        Init.xavierUniform(new Random(9), DType.FLOAT32, 1, 3, 4).toFloatArray(), "seeded: reproducible");
  }

  @Test
  void orthogonalIsOrthonormal() {
    for (long[] shape : new long[][] {{6, 4}, {4, 6}, {5, 5}, {3, 2, 2}}) {
      double gain = 1.5;
      double[] q = Init.orthogonal(new Random(1), DType.FLOAT64, gain, shape).toDoubleArray();
      int rows = (int) shape[0], cols = q.length / rows;
      boolean wide = rows < cols;
      int k = wide ? rows : cols, m = wide ? cols : rows;
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          double dot = 0;
          for (int p = 0; p < m; p++) dot += wide ? q[i * cols + p] * q[j * cols + p] : q[p * cols + i] * q[p * cols + j];
          assertEquals(i == j ? gain * gain : 0, dot, 1e-12, Arrays.toString(shape) + " " + i + "," + j);
        }
    }
  }
}
