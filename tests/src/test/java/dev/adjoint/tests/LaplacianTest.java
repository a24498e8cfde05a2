package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.Gradcheck;
import dev.adjoint.internal.Compiled;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Autodiff.laplacian, hessianDiagonal and valueGradLaplacian (the forward Laplacian): against the
 * Hessian of each point's field, against float64 central finite differences, differentiated again with
 * respect to the weights (second order), in float32, compiled once, and the per-point contract.
 */
class LaplacianTest {
  static final int N = 5, D = 3, H = 4;
  final Random rnd = new Random(11);
  final Tensor x = GradcheckTest.rand(rnd, -1, 1, N, D);
  final Tensor w1 = GradcheckTest.rand(rnd, -1, 1, D, H), b1 = GradcheckTest.rand(rnd, -0.5, 0.5, H);
  final Tensor w2 = GradcheckTest.rand(rnd, -1, 1, H, H), b2 = GradcheckTest.rand(rnd, -0.5, 0.5, H);
  final Tensor w3 = GradcheckTest.rand(rnd, -1, 1, H, 1);

  /** A 3-layer tanh MLP on the rows of in[0], weights in[1..5]: u of shape [N, 1]. */
  static Tensor mlp(Tensor... in) {
    Tensor h = Ops.tanh(Ops.add(Ops.matmul(in[0], in[1]), in[2]));
    h = Ops.tanh(Ops.add(Ops.matmul(h, in[3]), in[4]));
    return Ops.matmul(h, in[5]);
  }

  /** A field through most rules: sin, exp, sigmoid, softplus, square, sqrt, log, div, mul of two fields, sub, mean, reshape, transpose, broadcast, minimum. */
  static Tensor mixed(Tensor... in) {
    Tensor x = in[0];
    Tensor a = Ops.matmul(x, in[1]); // [N, H]
    Tensor s = Ops.sin(a), e = Ops.exp(Ops.mul(a, 0.3)), g = Ops.sigmoid(a);
    Tensor q = Ops.sqrt(Ops.add(Ops.square(a), 1.0));
    Tensor l = Ops.log(Ops.add(Ops.softplus(a), 0.5));
    Tensor r = Ops.div(Ops.mul(s, e), Ops.add(q, g)); // div and mul of two fields
    Tensor m = Ops.minimum(r, Ops.sub(l, 0.2));
    Tensor t = Ops.transpose(Ops.reshape(m, N, 2, H / 2), 0, 2, 1); // [N, H/2, 2]
    Tensor red = Ops.mean(t, true, 2); // [N, H/2, 1]
    Tensor b = Ops.broadcastTo(red, N, H / 2, 3);
    Tensor u = Ops.sub(Ops.sum(Ops.reshape(b, N, -1), false, 1), Ops.sum(Ops.mul(Ops.sin(x), 0.5), false, 1));
    return Ops.add(u, Ops.sum(Ops.mul(Ops.cos(x), x), false, 1)); // [N]
  }

  /**
   * Per point: the Hessian of u_n as a function of x_n alone (row n replaced by p, the other rows held),
   * from Autodiff.hessian (forward over reverse); the other rows' values do not depend on p.
   */
  static double[][] hessians(Cell.Fn f, Tensor x, Tensor... rest) {
    double[] xs = x.toDoubleArray();
    double[][] out = new double[N][];
    for (int n = 0; n < N; n++) {
      double[] mask = new double[N * D], held = xs.clone();
      for (int j = 0; j < D; j++) {
        mask[n * D + j] = 1;
        held[n * D + j] = 0;
      }
      Tensor m = Tensor.of(mask, N, D), k = Tensor.of(held, N, D);
      Cell.Fn ofRow = in -> {
        Tensor[] args = new Tensor[rest.length + 1];
        args[0] = Ops.add(Ops.mul(Ops.broadcastTo(Ops.reshape(in[0], 1, D), N, D), m), k);
        System.arraycopy(rest, 0, args, 1, rest.length);
        return Ops.sum(f.apply(args).asTensor());
      };
      double[] p = new double[D];
      System.arraycopy(xs, n * D, p, 0, D);
      out[n] = Autodiff.hessian(ofRow).apply(Tensor.of(p, D)).asTensor().toDoubleArray();
    }
    return out;
  }

  /** ∂²u_n/∂x_{n,i}² by central differences of u itself (float64, h = 1e-4). */
  static double[][] fdDiagonal(Cell.Fn f, Tensor x, Tensor... rest) {
    double h = 1e-4;
    double[] xs = x.toDoubleArray();
    double[] u0 = eval(f, xs, rest);
    double[][] out = new double[N][D];
    for (int i = 0; i < D; i++) {
      double[] p = xs.clone(), m = xs.clone();
      for (int n = 0; n < N; n++) {
        p[n * D + i] += h;
        m[n * D + i] -= h;
      }
      double[] up = eval(f, p, rest), um = eval(f, m, rest);
      for (int n = 0; n < N; n++) out[n][i] = (up[n] - 2 * u0[n] + um[n]) / (h * h);
    }
    return out;
  }

  static double[] eval(Cell.Fn f, double[] xs, Tensor... rest) {
    Tensor[] args = new Tensor[rest.length + 1];
    args[0] = Tensor.of(xs, N, D);
    System.arraycopy(rest, 0, args, 1, rest.length);
    return Cell.of(args.length, f).call(args).asTensor().toDoubleArray();
  }

  void checkField(Cell.Fn f, Tensor... rest) {
    Tensor[] args = new Tensor[rest.length + 1];
    args[0] = x;
    System.arraycopy(rest, 0, args, 1, rest.length);
    double[] lap = Autodiff.laplacian(f).apply(args).asTensor().toDoubleArray();
    Tensor diagT = Autodiff.hessianDiagonal(f).apply(args).asTensor();
    double[] diag = diagT.toDoubleArray();
    assertEquals(N * D, diag.length);
    assertEquals(D, diagT.shape()[diagT.rank() - 1]);
    double[][] hs = hessians(f, x, rest);
    double[][] fd = fdDiagonal(f, x, rest);
    for (int n = 0; n < N; n++) {
      double trace = 0;
      for (int i = 0; i < D; i++) {
        double hii = hs[n][i * D + i];
        trace += hii;
        assertEquals(hii, diag[n * D + i], 1e-10 * Math.max(1, Math.abs(hii)), "diag vs hessian at " + n + "," + i);
        assertEquals(fd[n][i], diag[n * D + i], 1e-5 * Math.max(1, Math.abs(hii)), "diag vs finite differences at " + n + "," + i);
      }
      assertEquals(trace, lap[n], 1e-10 * Math.max(1, Math.abs(trace)), "laplacian vs trace of hessian at " + n);
    }
  }

  @Test
  void tanhMlpMatchesHessianAndFiniteDifferences() {
    checkField(LaplacianTest::mlp, w1, b1, w2, b2, w3);
  }

  @Test
  void everyRuleMatchesHessianAndFiniteDifferences() {
    checkField(LaplacianTest::mixed, w1);
  }

  /** Value and gradient come out of the same pass: the gradient equals reverse mode's, per point. */
  @Test
  void valueGradLaplacianAgreesWithGrad() {
    Tuple vgl = Autodiff.valueGradLaplacian(LaplacianTest::mlp).apply(x, w1, b1, w2, b2, w3).asTuple();
    assertArrayEquals(new long[] {N, 1}, vgl.tensor(0).shape());
    assertArrayEquals(new long[] {N, 1, D}, vgl.tensor(1).shape());
    double[] u = Cell.of(6, LaplacianTest::mlp).call(x, w1, b1, w2, b2, w3).asTensor().toDoubleArray();
    assertArrayEquals(u, vgl.tensor(0).toDoubleArray(), 1e-14);
    double[] g = Autodiff.grad(in -> Ops.sum(mlp(in))).apply(x, w1, b1, w2, b2, w3).asTensor().toDoubleArray();
    assertArrayEquals(g, vgl.tensor(1).toDoubleArray(), 1e-12);
    double[] lap = Autodiff.laplacian(LaplacianTest::mlp).apply(x, w1, b1, w2, b2, w3).asTensor().toDoubleArray();
    assertArrayEquals(lap, vgl.tensor(2).toDoubleArray(), 1e-12);
  }

  /** A PINN-style loss on the Laplacian, differentiated with respect to the weights: first and second order against finite differences. */
  @Test
  void differentiableAgainWithRespectToWeights() {
    Cell.Fn lap = Autodiff.laplacian(LaplacianTest::mlp);
    Cell.Fn diag = Autodiff.hessianDiagonal(LaplacianTest::mlp);
    Gradcheck.check(in -> Ops.sum(Ops.square(lap.apply(x, in[0], in[1], in[2], in[3], in[4]).asTensor())), 2, w1, b1, w2, b2, w3);
    Gradcheck.check(in -> Ops.sum(Ops.mul(diag.apply(x, in[0], in[1], w2, b2, in[2]).asTensor(), x.reshape(N, 1, D))), 2, w1, b1, w3);
    // and with respect to the points (third derivatives of u)
    Gradcheck.check(in -> Ops.sum(Ops.sin(lap.apply(in[0], w1, b1, w2, b2, w3).asTensor())), 1, x);
  }

  @Test
  void float32AgreesWithFloat64() {
    Tensor[] f32 = new Tensor[6];
    Tensor[] f64 = {x, w1, b1, w2, b2, w3};
    for (int i = 0; i < 6; i++) {
      double[] a = f64[i].toDoubleArray();
      float[] b = new float[a.length];
      for (int k = 0; k < a.length; k++) b[k] = (float) a[k];
      f32[i] = Tensor.of(b, f64[i].shape());
    }
    double[] want = Autodiff.laplacian(LaplacianTest::mlp).apply(f64).asTensor().toDoubleArray();
    Tensor got = Autodiff.laplacian(LaplacianTest::mlp).apply(f32).asTensor();
    assertEquals(DType.FLOAT32, got.dtype());
    assertArrayEquals(want, got.toDoubleArray(), 1e-5);
  }

  @Test
  void compiledOncePerSignature() {
    Cell.Fn lap = Autodiff.laplacian(LaplacianTest::mlp);
    lap.apply(x, w1, b1, w2, b2, w3);
    long before = Compiled.COMPILATIONS.get();
    for (int i = 0; i < 5; i++) lap.apply(x, w1, b1, w2, b2, w3);
    assertEquals(before, Compiled.COMPILATIONS.get());
  }

  /** Note [Per-point fields]: ops that mix the points, or have no rule, are errors naming the op. */
  @Test
  void mixingPointsOrUnsupportedOpsAreNamedErrors() {
    AdjointException e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.sum(Ops.sub(in[0], Ops.mean(in[0], true, 0)), false, 1)).apply(x));
    assertTrue(e.getMessage().contains("'mean'") && e.getMessage().contains("Per-point"), e.getMessage());
    e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.sum(Ops.matmul(in[0], in[0], false, true), false, 1)).apply(x));
    assertTrue(e.getMessage().contains("'matmul'"), e.getMessage());
    Tensor w = Tensor.of(new double[N * N], N, N);
    e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.sum(Ops.matmul(in[0], in[1], true, false), false, 0)).apply(x, w));
    assertTrue(e.getMessage().contains("'matmul'"), e.getMessage());
    e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.sum(Ops.square(Ops.transpose(in[0])), false, 0)).apply(Tensor.of(new double[9], 3, 3)));
    assertTrue(e.getMessage().contains("'transpose'"), e.getMessage());
    e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.max(in[0], false, 1)).apply(x));
    assertTrue(e.getMessage().contains("max"), e.getMessage());
    e = assertThrows(AdjointException.class,
        () -> Autodiff.laplacian(in -> Ops.sum(Ops.hostCall("twice", (ins, out) -> {}, DType.FLOAT64, new long[] {N, D}, in[0]), false, 1)).apply(x));
    assertTrue(e.getMessage().contains("callback"), e.getMessage());
    e = assertThrows(AdjointException.class, () -> Autodiff.laplacian(in -> Ops.sum(in[0])).apply(x));
    assertTrue(e.getMessage().contains("one value per point"), e.getMessage());
    e = assertThrows(AdjointException.class, () -> Autodiff.laplacian(in -> Ops.sum(in[0], false, 1)).apply(Tensor.of(new double[] {1, 2}, 2)));
    assertTrue(e.getMessage().contains("[N, d]"), e.getMessage());
  }

  /** A field that does not depend on x, or only linearly: exact zeros. */
  @Test
  void linearAndConstantFieldsHaveZeroLaplacian() {
    Tensor c = Tensor.of(new double[] {0.5, -2, 3}, D, 1);
    double[] lin = Autodiff.laplacian(in -> Ops.add(Ops.matmul(in[0], in[1]), 1.0)).apply(x, c).asTensor().toDoubleArray();
    for (double v : lin) assertEquals(0, v, 0);
    double[] k = Autodiff.laplacian(in -> Ops.sum(Ops.mul(Ops.stopGradient(in[0]), 2.0), false, 1)).apply(x).asTensor().toDoubleArray();
    for (double v : k) assertEquals(0, v, 0);
  }
}
