package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Gemm;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.engine.AdjointEngine;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The GEMM library (Note [GEMM library]): oneDNN comes with adjoint-native's dependencies and runs float32
 * matmuls of at least 32^3; each library's first and second derivatives of a float32 network agree with the
 * float64 computation (which always runs on OpenBLAS) to float32 rounding, and with each other.
 */
class GemmLibraryTest {
  @AfterEach
  void auto() {
    Adjoint.setGemm(Gemm.AUTO);
  }

  @Test
  void infoNamesOneDnn() {
    String info = Adjoint.info();
    assertTrue(info.contains("GEMM:    oneDNN 3."), info);
    assertTrue(info.contains("m*n*k >= 32768"), info);
    assertEquals(1, AdjointEngine.gemmLibraryFor(96, 64, 80, 0)); // the float32 products below: oneDNN
    assertEquals(0, AdjointEngine.gemmLibraryFor(96, 64, 80, 1)); // float64: OpenBLAS
    assertEquals(Gemm.AUTO, Adjoint.gemm());
    Adjoint.setGemm(Gemm.OPENBLAS);
    assertEquals(Gemm.OPENBLAS, Adjoint.gemm());
    assertTrue(Adjoint.info().contains("GEMM:    OpenBLAS for every gemm"), Adjoint.info());
    assertThrows(AdjointException.class, () -> Adjoint.setGemm(null));
  }

  /** loss = sum(tanh(x W1) W2)^2 / n; gradients in x, W1, W2, and the gradient of <grad_x, v> (second order). */
  private static List<double[]> derivatives(DType dtype) {
    Tensor x = values(11, dtype, 1, 96, 80);
    Tensor w1 = values(12, dtype, 0.3, 80, 64);
    Tensor w2 = values(13, dtype, 0.3, 64, 48);
    Tensor v = values(14, dtype, 1, 96, 80);
    Cell.Fn loss = in -> Ops.mean(Ops.square(Ops.matmul(Ops.tanh(Ops.matmul(in[0], in[1])), in[2])));
    Value g = Autodiff.grad(loss, false, 0, 1, 2).apply(x, w1, w2);
    // d/dW1 <d loss/dx, v>: a matmul-heavy second-order graph (the transposed products of the backward pass).
    Cell.Fn inner = in -> Ops.sum(Ops.mul(Autodiff.grad(loss, false, 0).apply(in[0], in[1], in[2]).asTensor(), in[3]));
    Value h = Autodiff.grad(inner, false, 1).apply(x, w1, w2, v);
    List<Tensor> leaves = g.leaves();
    return List.of(
        leaves.get(0).toDoubleArray(), leaves.get(1).toDoubleArray(), leaves.get(2).toDoubleArray(), h.asTensor().toDoubleArray());
  }

  /** The same values (float32-representable) in either dtype. */
  private static Tensor values(long seed, DType dtype, double scale, long rows, long cols) {
    java.util.Random r = new java.util.Random(seed);
    double[] d = new double[(int) (rows * cols)];
    for (int i = 0; i < d.length; i++) d[i] = (float) (scale * (2 * r.nextDouble() - 1));
    if (dtype == DType.FLOAT64) return Tensor.of(d, rows, cols);
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
    return Tensor.of(f, rows, cols);
  }

  private static void assertClose(String what, double[] ref, double[] got) {
    double scale = 0, worst = 0;
    for (double r : ref) scale = Math.max(scale, Math.abs(r));
    for (int i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - got[i]));
    assertTrue(worst <= 1e-4 * scale + 1e-7, what + ": max |diff| " + worst + " against max |ref| " + scale);
  }

  @Test
  void float32DerivativesAgreeWithFloat64OnEitherLibrary() {
    List<double[]> ref = derivatives(DType.FLOAT64);
    String[] names = {"d/dx", "d/dW1", "d/dW2", "d/dW1 <d/dx, v>"};
    for (Gemm g : Gemm.values()) {
      Adjoint.setGemm(g);
      List<double[]> got = derivatives(DType.FLOAT32);
      for (int i = 0; i < names.length; i++) assertClose(g + " " + names[i], ref.get(i), got.get(i));
    }
  }
}
