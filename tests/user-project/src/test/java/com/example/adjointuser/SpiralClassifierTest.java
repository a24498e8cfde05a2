package com.example.adjointuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import dev.adjoint.data.DataLoader;
import dev.adjoint.data.Dataset;
import dev.adjoint.io.Checkpoint;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An MLP classifier on two interleaved spirals, written as a new user would: Mlp, Losses, Adam, a
 * DataLoader over float[] and int[] columns, and a checkpoint saved and loaded into a fresh model. The
 * block between the README markers is the README's "Use it from your own project" example, word for word
 * (ReadmeExampleTest checks that).
 */
class SpiralClassifierTest {
  @TempDir Path dir;

  /** {@code n} points per class of two spirals, noise 0.01: x as [2n, 2] row-major, labels 0 and 1. */
  static float[] spiral(int n, long seed, double offset, int[] labels) {
    Random r = new Random(seed);
    float[] xs = new float[4 * n];
    for (int cls = 0; cls < 2; cls++)
      for (int i = 0; i < n; i++) {
        double t = 0.25 + 3.0 * Math.PI * (i + offset) / n, rad = t / (3 * Math.PI), a = t + cls * Math.PI;
        int k = cls * n + i;
        xs[2 * k] = (float) (rad * Math.cos(a) + 0.01 * r.nextGaussian());
        xs[2 * k + 1] = (float) (rad * Math.sin(a) + 0.01 * r.nextGaussian());
        labels[k] = cls;
      }
    return xs;
  }

  /** Accuracy of {@code net} on a held-out set, batched by a DataLoader over its float[] and int[] columns. */
  static double accuracy(Sequential net, float[] xs, int[] ys) {
    Dataset test = Dataset.builder().column(xs, 2).column(ys).build();
    int correct = 0;
    for (DataLoader.Batch b : DataLoader.builder(test).batchSize(128).build().epoch(0))
      try (b; Tensor logits = net.apply(b.get(0))) {
        float[] l = logits.toFloatArray();
        int[] y = b.get(1).toIntArray();
        for (int i = 0; i < y.length; i++) if ((l[2 * i + 1] > l[2 * i] ? 1 : 0) == y[i]) correct++;
      }
    return correct / (double) ys.length;
  }

  @Test
  void trainsToAtLeast99PercentAndRoundTripsACheckpoint() throws Exception {
    int[] labels = new int[400], testLabels = new int[400];
    float[] features = spiral(200, 0, 0, labels);
    float[] testFeatures = spiral(200, 1, 0.5, testLabels); // other noise, points between the training ones
    Path checkpoint = dir.resolve("spiral.safetensors");

    // README:begin
    // features: float[n * 2] of 2-D points, labels: int[n] of classes 0 and 1, checkpoint: a Path
    Dataset data = Dataset.builder()
        .column(features, 2)
        .column(Losses.oneHot(labels, 2, DType.FLOAT32).toFloatArray(), 2)
        .build();
    DataLoader loader = DataLoader.builder(data).batchSize(64).shuffle(42).build();

    Sequential net = Mlp.builder(2).hidden(64, 64).out(2).activation("tanh").seed(3).build();
    Cell loss = Cell.of(in -> Losses.softmaxCrossEntropy(net.call(in[0]).asTensor(), in[1]));
    try (Adam adam = new Adam(net.trainableParams(), 1e-2)) {
      Cell step = adam.step(loss); // forward, backward and update: one compiled graph
      for (int epoch = 0; epoch < 200; epoch++)
        for (DataLoader.Batch batch : loader.epoch(epoch))
          try (batch) {
            step.apply(batch.get(0), batch.get(1)).close(); // the batch's loss
          }
      Checkpoint.save(checkpoint, net, adam); // parameters, moments, step count
    }
    // README:end

    double acc = accuracy(net, testFeatures, testLabels);
    System.out.println("spiral classifier: held-out accuracy " + acc);
    assertTrue(acc >= 0.99, "held-out spiral accuracy " + acc);
    assertTrue(Files.size(checkpoint) > 0);

    // a fresh model and optimizer, initialised differently: everything comes from the file
    Sequential restored = Mlp.builder(2).hidden(64, 64).out(2).activation("tanh").seed(99).build();
    try (Adam adam = new Adam(restored.trainableParams(), 1e-2)) {
      Checkpoint.load(checkpoint, restored, adam);
      assertEquals(200L * loader.batchesPerEpoch(), adam.steps());
    }
    try (Tensor x = Tensor.of(testFeatures, 400, 2); Tensor a = net.apply(x); Tensor b = restored.apply(x)) {
      assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 0f, "the loaded model predicts bit for bit alike");
    }
    assertEquals(acc, accuracy(restored, testFeatures, testLabels));
  }
}
