package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.autodiff.Gradcheck;
import dev.adjoint.Tensor;
import dev.adjoint.nn.loss.Losses;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each loss against a float64 reference written out in plain Java, and its derivatives by gradcheck. */
class LossesTest {
  final Random r = new Random(17);
  final double[] p = {0.3, -2.0, 1.5, 0.05, -0.7, 4.0}, t = {0.1, -1.0, -0.5, 0.05, 0.2, 1.0};
  final Tensor pred = Tensor.of(p, 2, 3), target = Tensor.of(t, 2, 3);

  @Test
  void valuesMatchFloat64References() {
    double mse = 0, l1 = 0, huber = 0, bce = 0, delta = 1.0;
    double[] z = {0, 1, 1, 0, 0.5, 1};
    for (int i = 0; i < p.length; i++) {
      double d = p[i] - t[i];
      mse += d * d;
      l1 += Math.abs(d);
      huber += Math.abs(d) <= delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta);
      double sig = 1 / (1 + Math.exp(-p[i]));
      bce += -(z[i] * Math.log(sig) + (1 - z[i]) * Math.log(1 - sig));
    }
    int n = p.length;
    assertEquals(mse / n, Losses.mse(pred, target).item(), 1e-14);
    assertEquals(l1 / n, Losses.l1(pred, target).item(), 1e-14);
    assertEquals(huber / n, Losses.huber(pred, target, delta).item(), 1e-14);
    assertEquals(bce / n, Losses.binaryCrossEntropyWithLogits(pred, Tensor.of(z, 2, 3)).item(), 1e-14);
    // stable for huge logits: no overflow to inf or NaN
    Tensor huge = Tensor.of(new double[] {1000, -1000}, 2);
    assertEquals(500, Losses.binaryCrossEntropyWithLogits(huge, Tensor.of(new double[] {0, 0}, 2)).item(), 1e-12);
    Tensor labels = Losses.oneHot(new int[] {2, 0}, 3, DType.FLOAT64);
    assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0}, labels.toDoubleArray(), 0);
    double ce = 0;
    for (int row = 0; row < 2; row++) {
      double m = Math.max(p[3 * row], Math.max(p[3 * row + 1], p[3 * row + 2])), s = 0;
      for (int c = 0; c < 3; c++) s += Math.exp(p[3 * row + c] - m);
      int y = row == 0 ? 2 : 0;
      ce += -(p[3 * row + y] - m - Math.log(s));
    }
    assertEquals(ce / 2, Losses.softmaxCrossEntropy(pred, labels).item(), 1e-14);
  }

  @Test
  void derivativesToSecondOrder() {
    Tensor tg = GradcheckTest.rand(r, -1, 1, 2, 3);
    Tensor z = GradcheckTest.rand(r, 0, 1, 2, 3);
    // away from the kinks of |d| and of huber's threshold
    Tensor x = Tensor.of(new double[] {0.9, -1.7, 2.4, 0.4, -0.6, 1.1}, 2, 3);
    Gradcheck.check(in -> Losses.mse(in[0], tg), 2, 1e-6, 1e-5, r, x);
    Gradcheck.check(in -> Losses.l1(in[0], tg), 2, 1e-6, 1e-5, r, x);
    Gradcheck.check(in -> Losses.huber(in[0], tg, 0.8), 2, 1e-6, 1e-5, r, x);
    Gradcheck.check(in -> Losses.binaryCrossEntropyWithLogits(in[0], z), 2, 1e-6, 1e-5, r, x);
    Tensor oh = Losses.oneHot(new int[] {1, 2}, 3, DType.FLOAT64);
    Gradcheck.check(in -> Losses.softmaxCrossEntropy(in[0], oh), 2, 1e-6, 1e-5, r, x);
  }

  @Test
  void mismatchesAreErrorsNamingTheArgument() {
    mentions(assertThrows(AdjointException.class, () -> Losses.mse(pred, Tensor.of(new double[3], 3))), "mse", "target", "[3]", "[2, 3]");
    mentions(assertThrows(AdjointException.class, () -> Losses.oneHot(new int[] {3}, 3, DType.FLOAT32)), "label 3");
    mentions(assertThrows(AdjointException.class, () -> Losses.huber(pred, target, 0)), "delta");
    // a loss traced inside a cell
    assertEquals(Losses.mse(pred, target).item(), Cell.of(in -> Losses.mse(in[0], in[1])).apply(pred, target).item(), 1e-15);
  }

  /** Int32 labels, picked in the graph: against a float64 reference and the one-hot version, to second order. */
  @Test
  void softmaxCrossEntropyWithIntegerLabels() {
    Tensor labels = Tensor.of(new int[] {2, 0}, 2);
    double ce = 0;
    for (int row = 0; row < 2; row++) {
      double m = Math.max(p[3 * row], Math.max(p[3 * row + 1], p[3 * row + 2])), s = 0;
      for (int c = 0; c < 3; c++) s += Math.exp(p[3 * row + c] - m);
      ce += -(p[3 * row + (row == 0 ? 2 : 0)] - m - Math.log(s));
    }
    assertEquals(ce / 2, Losses.sparseSoftmaxCrossEntropy(pred, labels).item(), 1e-14);
    assertEquals(ce / 2, Losses.softmaxCrossEntropy(pred, labels).item(), 1e-14);
    Tensor oh = Losses.oneHot(new int[] {2, 0}, 3, DType.FLOAT64);
    assertEquals(Losses.softmaxCrossEntropy(pred, oh).item(), Losses.softmaxCrossEntropy(pred, labels).item(), 0);
    // float32, labels as a traced argument, the gradient against the one-hot version's
    float[] pf = new float[p.length];
    for (int i = 0; i < p.length; i++) pf[i] = (float) p[i];
    Tensor pred32 = Tensor.of(pf, 2, 3);
    Cell.Fn sparse = in -> Losses.softmaxCrossEntropy(in[0], in[1]);
    Tensor g = dev.adjoint.autodiff.Autodiff.grad(sparse, false, 0).apply(pred32, labels).asTensor();
    Tensor gOh = dev.adjoint.autodiff.Autodiff.grad(in -> Losses.softmaxCrossEntropy(in[0], Losses.oneHot(new int[] {2, 0}, 3, DType.FLOAT32))).apply(pred32).asTensor();
    assertArrayEquals(gOh.toFloatArray(), g.toFloatArray(), 0);
    assertEquals(ce / 2, Cell.of(2, sparse).apply(pred32, labels).item(), 1e-6);
    Gradcheck.check(in -> Losses.sparseSoftmaxCrossEntropy(in[0], labels), 2, 1e-6, 1e-5, r, Tensor.of(new double[] {0.9, -1.7, 2.4, 0.4, -0.6, 1.1}, 2, 3));
    // batch of any rank: labels [2, 2] for logits [2, 2, 3]
    Tensor l4 = Tensor.of(new int[] {0, 1, 2, 1}, 2, 2);
    Tensor x4 = GradcheckTest.rand(r, -2, 2, 2, 2, 3);
    assertEquals(
        Losses.softmaxCrossEntropy(x4, Losses.oneHot(new int[] {0, 1, 2, 1}, 3, DType.FLOAT64).reshape(2, 2, 3)).item(),
        Losses.sparseSoftmaxCrossEntropy(x4, l4).item(), 1e-15);
    mentions(assertThrows(AdjointException.class, () -> Losses.sparseSoftmaxCrossEntropy(pred, Tensor.of(new int[] {0, 3}, 2))), "index 3", "[0, 3)");
    mentions(assertThrows(AdjointException.class, () -> Losses.sparseSoftmaxCrossEntropy(pred, Tensor.of(new int[] {0}, 1))), "labels", "[2]");
    mentions(
        assertThrows(AdjointException.class, () -> Cell.of(2, sparse).apply(pred32, Tensor.of(new int[] {-1, 0}, 2))), "oneHot", "index -1");
  }
}
