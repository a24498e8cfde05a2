package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The functional API: grad, valueAndGrad, hasAux, vjp, jvp, jacobian, hessian. */
class AutodiffTest {
  final Tensor x = Tensor.of(new double[] {0.4, -0.9, 1.7}, 3);
  final Tensor y = Tensor.of(new double[] {1.1, 0.3, -0.6}, 3);
  final Cell.Fn f = in -> Ops.sum(Ops.mul(Ops.sin(in[0]), in[1]));

  @Test
  void gradAndValueAndGradAndAux() {
    close(Autodiff.grad(f).apply(x, y), 1e-12, Math.cos(0.4) * 1.1, Math.cos(-0.9) * 0.3, Math.cos(1.7) * -0.6);
    Tuple both = Autodiff.grad(f, false, 0, 1).apply(x, y).asTuple();
    close(both.get(1), 1e-12, Math.sin(0.4), Math.sin(-0.9), Math.sin(1.7));
    Tuple vg = Autodiff.valueAndGrad(f).apply(x, y).asTuple();
    close(vg.get(0), 1e-12, Math.sin(0.4) * 1.1 + Math.sin(-0.9) * 0.3 + Math.sin(1.7) * -0.6);
    Tuple aux = Autodiff.grad(in -> Tuple.of(f.apply(in), Ops.cos(in[0])), true, 0).apply(x, y).asTuple();
    close(aux.get(1), 1e-12, Math.cos(0.4), Math.cos(-0.9), Math.cos(1.7));
    assertThrows(AdjointException.class, () -> Autodiff.grad(in -> Ops.sin(in[0])).apply(x));
  }

  /** valueAndGrad with respect to parameters (the loss-and-gradients step optimizers share). */
  @Test
  void valueAndGradWithRespectToParameters() {
    OptimizerTest.Quadratic q = new OptimizerTest.Quadratic();
    Parameter unused = new Parameter("unused", Tensor.of(new double[] {5}, 1));
    Tuple vg =
        Autodiff.valueAndGrad(in -> q.call(in[0]), ParameterTuple.of(q.w, unused)).apply(OptimizerTest.TARGET).asTuple();
    close(vg.get(0), 1e-12, 4 + 6.25);
    close(vg.get(1).asTuple().get(0), 1e-12, -4, -5); // 2 (w - target)
    close(vg.get(1).asTuple().get(1), 1e-12, 0);
    assertThrows(AdjointException.class, () -> Autodiff.valueAndGrad(in -> Ops.sin(in[0]), ParameterTuple.of()).apply(x));
  }

  @Test
  void gradOfGrad() {
    Cell.Fn df = Autodiff.grad(in -> Ops.sum(Ops.sin(in[0])));
    Cell.Fn d2f = Autodiff.grad(in -> Ops.sum(df.apply(in).asTensor()));
    close(d2f.apply(x), 1e-12, -Math.sin(0.4), -Math.sin(-0.9), -Math.sin(1.7));
  }

  @Test
  void vjpAndJvpAgree() {
    Random rnd = new Random(3);
    Cell.Fn g = in -> Ops.matmul(Ops.tanh(in[0]), Ops.exp(in[1]), false, true);
    Tensor a = GradcheckTest.rand(rnd, -1, 1, 2, 3), b = GradcheckTest.rand(rnd, -1, 1, 4, 3);
    Tensor va = GradcheckTest.rand(rnd, -1, 1, 2, 3), vb = GradcheckTest.rand(rnd, -1, 1, 4, 3);
    Tensor u = GradcheckTest.rand(rnd, -1, 1, 2, 4);
    Tuple jvp = Autodiff.jvp(g, new Tensor[] {a, b}, new Tensor[] {va, vb});
    Autodiff.Vjp vjp = Autodiff.vjp(g, a, b);
    Tuple ct = vjp.pullback().apply(u);
    // <u, J v> computed both ways
    double left = dot(u, jvp.tensor(1));
    double right = dot(ct.tensor(0), va) + dot(ct.tensor(1), vb);
    assertEquals(left, right, 1e-10 * Math.max(1, Math.abs(left)));
    close(jvp.get(0), 1e-12, vjp.out().asTensor().toDoubleArray());
  }

  static double dot(Tensor p, Tensor q) {
    double[] a = p.toDoubleArray(), b = q.toDoubleArray();
    double s = 0;
    for (int i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  @Test
  void jacobianForwardEqualsReverseAndHessian() {
    Cell.Fn g = in -> Ops.mul(Ops.sin(in[0]), Ops.sum(in[0]));
    Tensor jr = Autodiff.jacobian(g, 0, false).apply(x).asTensor();
    Tensor jf = Autodiff.jacobian(g, 0, true).apply(x).asTensor();
    close(jf, shape(3, 3), 1e-12, jr.toDoubleArray());
    double s = 0.4 - 0.9 + 1.7;
    double[] xv = {0.4, -0.9, 1.7};
    double[] expect = new double[9];
    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) expect[i * 3 + j] = (i == j ? Math.cos(xv[i]) * s : 0) + Math.sin(xv[i]);
    close(jr, shape(3, 3), 1e-12, expect);
    // hessian of sum(sin x) = diag(-sin x)
    Tensor h = Autodiff.hessian(in -> Ops.sum(Ops.sin(in[0]))).apply(x).asTensor();
    close(h, shape(3, 3), 1e-12, -Math.sin(0.4), 0, 0, 0, -Math.sin(-0.9), 0, 0, 0, -Math.sin(1.7));
  }

  // ------------------------------------------------------------------ forward mode and jacobians: constants, parameters, broadcasting, shapes

  /** f returns a tensor captured from outside (a constant): its tangent is zeros, not a crash. */
  @Test
  void jvpOfConstantOutputIsZeros() {
    Tensor c = d(3, 4);
    Tensor x = d(1, 2);
    Tuple r = Autodiff.jvp(in -> c, new Tensor[] {x}, new Tensor[] {d(1, 1)});
    close(r.get(0), 1e-12, 3, 4);
    close(r.get(1), 1e-12, 0, 0);
  }

  /** f returns a parameter it did not otherwise use, next to a real output. */
  @Test
  void jvpOfParameterOutput() {
    Parameter p = new Parameter("p", d(7));
    Tensor x = d(1, 2);
    Tuple r =
        Autodiff.jvp(
            in -> Tuple.of(Ops.mul(in[0], in[0]), p), new Tensor[] {x}, new Tensor[] {d(1, 1)});
    close(r.get(1).asTuple().get(0), 1e-12, 2, 4);
    close(r.get(1).asTuple().get(1), 1e-12, 0);
  }

  @Test
  void forwardJacobianOfConstantFunction() {
    Tensor c = d(3, 4, 5);
    Value j = Autodiff.jacobian(in -> c, 0, true).apply(d(1, 2));
    close(j, shape(3, 2), 1e-12, 0, 0, 0, 0, 0, 0);
  }

  @Test
  void jvpWithBroadcasting() {
    // f(x, y) = x * y + x, x [3], y [2, 3]
    Tensor x = d(1, 2, 3), y = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor tx = d(1, 0, 2), ty = Tensor.of(new double[] {0, 1, 0, 1, 0, 1}, 2, 3);
    Tuple r =
        Autodiff.jvp(
            in -> Ops.add(Ops.mul(in[0], in[1]), in[0]), new Tensor[] {x, y}, new Tensor[] {tx, ty});
    // tangent = tx*y + x*ty + tx
    double[] xv = {1, 2, 3}, txv = {1, 0, 2};
    double[] yv = {1, 2, 3, 4, 5, 6}, tyv = {0, 1, 0, 1, 0, 1};
    double[] want = new double[6];
    for (int i = 0; i < 6; i++) want[i] = txv[i % 3] * yv[i] + xv[i % 3] * tyv[i] + txv[i % 3];
    close(r.get(1), shape(2, 3), 1e-12, want);
  }

  @Test
  void jacobianOfMatrixFunction() {
    // f(X) = X @ A, X [2, 3], A [3, 2]: J[i, k, j, l] = delta_ij A[l, k]
    double[] a = {1, 2, 3, 4, 5, 6};
    Tensor A = Tensor.of(a, 3, 2);
    Tensor X = Tensor.of(new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, 2, 3);
    double[] want = new double[2 * 2 * 2 * 3];
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
          for (int l = 0; l < 3; l++) want[((i * 2 + k) * 2 + j) * 3 + l] = i == j ? a[l * 2 + k] : 0;
    for (boolean fwd : new boolean[] {false, true}) {
      Value j = Autodiff.jacobian(in -> Ops.matmul(in[0], A), 0, fwd).apply(X);
      close(j, shape(2, 2, 2, 3), 1e-12, want);
    }
    // Hessian of sum(X^3): diag(6 X), shape [2, 3, 2, 3]
    Value h = Autodiff.hessian(in -> Ops.sum(Ops.mul(in[0], Ops.square(in[0])))).apply(X);
    double[] xv = X.toDoubleArray();
    double[] hw = new double[36];
    for (int i = 0; i < 6; i++) hw[i * 6 + i] = 6 * xv[i];
    close(h, shape(2, 3, 2, 3), 1e-12, hw);
  }
}
