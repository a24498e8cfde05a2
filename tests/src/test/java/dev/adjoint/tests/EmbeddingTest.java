package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.nn.Embedding;
import dev.adjoint.nn.Linear;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.SGD;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** nn.Embedding on take/scatterAdd: lookup, initial statistics, its gradient, and training with optimizers. */
class EmbeddingTest {
  @Test
  void looksUpRowsForIndicesOfAnyShape() {
    Embedding emb = new Embedding(10, 4, 3);
    double[] w = emb.weight.toDoubleArray();
    Tensor out = emb.apply(Tensor.of(new int[] {7, 0, 7, 9, 1, 2}, 2, 3));
    assertArrayEquals(new long[] {2, 3, 4}, out.shape());
    int[] idx = {7, 0, 7, 9, 1, 2};
    double[] o = out.toDoubleArray();
    for (int j = 0; j < 6; j++) for (int k = 0; k < 4; k++) assertEquals(w[idx[j] * 4 + k], o[j * 4 + k], 0);
    assertArrayEquals(new long[] {4}, emb.apply(Tensor.of(new int[] {5}, new long[0])).shape());
    assertEquals("weight", emb.namedParameters().keySet().iterator().next());
    mentions(assertThrows(AdjointException.class, () -> emb.apply(Tensor.of(new int[] {10}, 1))), "index 10", "[0, 10)");
    mentions(assertThrows(AdjointException.class, () -> emb.apply(Tensor.of(new float[] {1}, 1))), "Embedding(10, 4)", "Int32");
    mentions(assertThrows(AdjointException.class, () -> new Embedding(0, 4, 1)), "numEmbeddings=0");
  }

  @Test
  void initialWeightIsStandardNormalAndSeeded() {
    Embedding a = new Embedding(200, 50, 11), b = new Embedding(200, 50, 11);
    double[] w = a.weight.toDoubleArray();
    assertArrayEquals(w, b.weight.toDoubleArray(), 0);
    double mean = 0, var = 0;
    for (double x : w) mean += x;
    mean /= w.length;
    for (double x : w) var += (x - mean) * (x - mean);
    var /= w.length;
    assertEquals(0, mean, 0.03); // 10,000 draws: standard error 0.01
    assertEquals(1, var, 0.05);
  }

  @Test
  void gradientAccumulatesRepeatedIndices() {
    Embedding emb = new Embedding(Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 3, 2));
    Tensor idx = Tensor.of(new int[] {2, 2, 0, 2}, 4);
    // d/dW sum(emb(idx)) counts how often each row is used
    Cell loss = Cell.of(1, in -> Ops.sum(emb.call(in[0]).asTensor()));
    Cell step = new SGD(emb.trainableParams(), 1.0).step(loss);
    assertEquals(3 * 11 + 3, step.apply(idx).item(), 0);
    assertArrayEquals(new double[] {0, 1, 3, 4, 2, 3}, emb.weight.toDoubleArray(), 0); // rows used 1, 0, 3 times
  }

  /** A bag-of-embeddings classifier trained with Adam and the in-graph integer-label cross-entropy. */
  @Test
  void trainsWithAnOptimizer() {
    Random rnd = new Random(5);
    Embedding emb = new Embedding(20, 8, 9);
    Linear head = new Linear(8, 4, true, rnd, DType.FLOAT32);
    // token t belongs to class t % 4; a sample is 3 tokens of one class
    int n = 32;
    int[] tokens = new int[n * 3], labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 4;
      for (int k = 0; k < 3; k++) tokens[3 * i + k] = labels[i] + 4 * rnd.nextInt(5);
    }
    Tensor x = Tensor.of(tokens, n, 3), y = Tensor.of(labels, n);
    Cell model = Cell.of(1, in -> head.call(Ops.mean(emb.call(in[0]).asTensor(), false, 1)));
    Cell lossCell = Cell.of(2, in -> Losses.softmaxCrossEntropy(model.call(in[0]).asTensor(), in[1]));
    var params = new dev.adjoint.ParameterTuple(java.util.List.of(emb.weight, head.weight, head.bias));
    try (Adam adam = new Adam(params, 0.05)) {
      Cell step = adam.step(lossCell);
      double first = step.apply(x, y).item(), last = first;
      for (int i = 0; i < 60; i++) last = step.apply(x, y).item();
      assertTrue(last < 0.1 * first, "loss went from " + first + " to " + last);
    }
    int[] predicted = Ops.argmax(model.apply(x), 1, false).toIntArray();
    assertArrayEquals(labels, predicted);
  }
}
