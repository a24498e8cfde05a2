package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.Gradcheck;
import dev.adjoint.internal.Compiled;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Autodiff.hvp (forward over reverse) over arguments and over a model's parameters, and jvp with
 * parameter tangents: against hessian, float64 finite differences of the gradient, differentiated
 * again, and compiled once per signature when called outside a cell.
 */
class HvpTest {
  final Random rnd = new Random(5);
  final Tensor x = GradcheckTest.rand(rnd, -1, 1, 4);
  final Tensor v = GradcheckTest.rand(rnd, -1, 1, 4);
  /** A non-quadratic scalar function with a dense Hessian. */
  final Cell.Fn f = in -> Ops.add(Ops.sum(Ops.mul(Ops.sin(in[0]), Ops.sum(Ops.square(in[0])))), Ops.sum(Ops.exp(Ops.mul(in[0], 0.5))));

  @Test
  void matchesHessianTimesVector() {
    double[] h = Autodiff.hessian(f).apply(x).asTensor().toDoubleArray();
    double[] vs = v.toDoubleArray(), want = new double[4];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) want[i] += h[i * 4 + j] * vs[j];
    assertArrayEquals(want, Autodiff.hvp(f, x, v).toDoubleArray(), 1e-12);
  }

  @Test
  void matchesFiniteDifferencesOfTheGradient() {
    double eps = 1e-6;
    Cell.Fn g = Autodiff.grad(f);
    double[] xs = x.toDoubleArray(), vs = v.toDoubleArray(), p = xs.clone(), m = xs.clone();
    for (int i = 0; i < 4; i++) {
      p[i] += eps * vs[i];
      m[i] -= eps * vs[i];
    }
    double[] gp = g.apply(Tensor.of(p, 4)).asTensor().toDoubleArray(), gm = g.apply(Tensor.of(m, 4)).asTensor().toDoubleArray();
    double[] hv = Autodiff.hvp(f, x, v).toDoubleArray();
    for (int i = 0; i < 4; i++) assertEquals((gp[i] - gm[i]) / (2 * eps), hv[i], 1e-7);
  }

  /** Two arguments: the blocks of the Hessian act on both tangents. */
  @Test
  void overSeveralArguments() {
    Tensor y = GradcheckTest.rand(rnd, -1, 1, 4), w = GradcheckTest.rand(rnd, -1, 1, 4);
    Cell.Fn two = in -> Ops.sum(Ops.mul(Ops.tanh(in[0]), Ops.square(in[1])));
    Tuple hv = Autodiff.hvp(two, new Tensor[] {x, y}, new Tensor[] {v, w});
    // analytic: d/dx = tanh'(x) y^2, d/dy = 2 tanh(x) y
    double[] xs = x.toDoubleArray(), ys = y.toDoubleArray(), vs = v.toDoubleArray(), ws = w.toDoubleArray();
    for (int i = 0; i < 4; i++) {
      double t = Math.tanh(xs[i]), d1 = 1 - t * t, d2 = -2 * t * d1;
      assertEquals(d2 * ys[i] * ys[i] * vs[i] + 2 * d1 * ys[i] * ws[i], hv.tensor(0).toDoubleArray()[i], 1e-12);
      assertEquals(2 * d1 * ys[i] * vs[i] + 2 * t * ws[i], hv.tensor(1).toDoubleArray()[i], 1e-12);
    }
  }

  /** hvp is traceable: differentiated again (third derivatives) against finite differences. */
  @Test
  void differentiableAgain() {
    Gradcheck.check(in -> Autodiff.hvp(f, in[0], in[1]), 2, x, v);
  }

  /** A model's loss: hvp over its ParameterTuple, tangents per parameter, against finite differences of the parameter gradient. */
  @Test
  void overModelParameters() {
    Sequential net = Mlp.builder(3).hidden(5).out(1).activation("tanh").seed(3).dtype(DType.FLOAT64).build();
    ParameterTuple params = net.trainableParams();
    Tensor data = GradcheckTest.rand(rnd, -1, 1, 6, 3), target = GradcheckTest.rand(rnd, -1, 1, 6, 1);
    Cell.Fn loss = in -> Ops.mean(Ops.square(Ops.sub(net.call(in[0]).asTensor(), in[1])));
    Tensor[] dirs = new Tensor[params.size()];
    for (int i = 0; i < dirs.length; i++) dirs[i] = GradcheckTest.rand(rnd, -1, 1, params.get(i).shape());
    Tuple hv = Autodiff.hvp(loss, params, dirs, data, target);
    assertEquals(params.size(), hv.size());
    Cell.Fn vg = Autodiff.valueAndGrad(loss, params);
    double eps = 1e-6;
    List<double[]> plus = gradAt(vg, params, dirs, eps, data, target), minus = gradAt(vg, params, dirs, -eps, data, target);
    for (int i = 0; i < params.size(); i++) {
      double[] got = hv.tensor(i).toDoubleArray();
      assertArrayEquals(params.get(i).shape(), hv.tensor(i).shape());
      for (int k = 0; k < got.length; k++)
        assertEquals((plus.get(i)[k] - minus.get(i)[k]) / (2 * eps), got[k], 1e-7, params.get(i).name() + "[" + k + "]");
    }
    // symmetry of the Hessian: <u, H v> = <v, H u>
    Tensor[] us = new Tensor[params.size()];
    for (int i = 0; i < us.length; i++) us[i] = GradcheckTest.rand(rnd, -1, 1, params.get(i).shape());
    Tuple hu = Autodiff.hvp(loss, params, us, data, target);
    double uhv = 0, vhu = 0;
    for (int i = 0; i < us.length; i++) {
      uhv += AutodiffTest.dot(us[i], hv.tensor(i));
      vhu += AutodiffTest.dot(dirs[i], hu.tensor(i));
    }
    assertEquals(uhv, vhu, 1e-12 * Math.max(1, Math.abs(uhv)));
  }

  /** The parameter gradient at params + s * dirs (parameters restored afterwards). */
  static List<double[]> gradAt(Cell.Fn vg, ParameterTuple params, Tensor[] dirs, double s, Tensor... args) {
    Tensor[] saved = new Tensor[params.size()];
    for (int i = 0; i < saved.length; i++) {
      Parameter p = params.get(i);
      saved[i] = Tensor.of(p.toDoubleArray(), p.shape());
      double[] a = p.toDoubleArray(), d = dirs[i].toDoubleArray();
      for (int k = 0; k < a.length; k++) a[k] += s * d[k];
      p.assign(Tensor.of(a, p.shape()));
    }
    Tuple g = vg.apply(args).asTuple().get(1).asTuple();
    List<double[]> out = new java.util.ArrayList<>();
    for (int i = 0; i < g.size(); i++) out.add(g.tensor(i).toDoubleArray());
    for (int i = 0; i < saved.length; i++) params.get(i).assign(saved[i]);
    return out;
  }

  @Test
  void jvpWithParameterTangents() {
    Parameter a = new Parameter("a", GradcheckTest.rand(rnd, -1, 1, 4)), b = new Parameter("b", Tensor.of(new double[] {0.7}, 1));
    Cell.Fn g = in -> Ops.mul(Ops.sin(Ops.mul(a, in[0])), b);
    Tensor ta = GradcheckTest.rand(rnd, -1, 1, 4), tb = Tensor.of(new double[] {-0.4}, 1);
    Tuple r = Autodiff.jvp(g, ParameterTuple.of(a, b), new Tensor[] {ta, tb}, x);
    double[] as = a.toDoubleArray(), xs = x.toDoubleArray(), tas = ta.toDoubleArray();
    for (int i = 0; i < 4; i++) {
      double z = as[i] * xs[i];
      assertEquals(Math.sin(z) * 0.7, r.tensor(0).toDoubleArray()[i], 1e-14);
      assertEquals(Math.cos(z) * xs[i] * tas[i] * 0.7 + Math.sin(z) * -0.4, r.tensor(1).toDoubleArray()[i], 1e-14);
    }
    AdjointException e = assertThrows(AdjointException.class,
        () -> Autodiff.jvp(g, ParameterTuple.of(a, b), new Tensor[] {ta, ta}, x));
    assertTrue(e.getMessage().contains("'b'"), e.getMessage());
    assertThrows(AdjointException.class, () -> Autodiff.hvp(g, ParameterTuple.of(a), new Tensor[] {ta}, x)); // not a scalar
  }

  /** Outside a cell, jvp and hvp compile once per signature for the same function (they compiled on every call before). */
  @Test
  void compiledOncePerSignature() {
    Tensor t = GradcheckTest.rand(rnd, -1, 1, 4);
    Autodiff.jvp(f, new Tensor[] {x}, new Tensor[] {t});
    Autodiff.hvp(f, x, t);
    Parameter a = new Parameter("a", GradcheckTest.rand(rnd, -1, 1, 4));
    Cell.Fn g = in -> Ops.sum(Ops.square(Ops.mul(a, in[0])));
    ParameterTuple pa = ParameterTuple.of(a);
    Autodiff.hvp(g, pa, new Tensor[] {t}, x);
    Autodiff.jvp(g, ParameterTuple.of(a), new Tensor[] {t}, x);
    Tensor x22 = Tensor.of(x.toDoubleArray(), 2, 2), t22 = Tensor.of(t.toDoubleArray(), 2, 2);
    long before = Compiled.COMPILATIONS.get();
    for (int i = 0; i < 5; i++) {
      Tensor ti = GradcheckTest.rand(rnd, -1, 1, 4);
      Autodiff.jvp(f, new Tensor[] {x}, new Tensor[] {ti});
      Autodiff.hvp(f, x, ti);
      Autodiff.hvp(g, ParameterTuple.of(a), new Tensor[] {ti}, x); // a new tuple of the same parameters
      Autodiff.jvp(g, pa, new Tensor[] {ti}, x);
    }
    assertEquals(before, Compiled.COMPILATIONS.get());
    Autodiff.jvp(f, new Tensor[] {x22}, new Tensor[] {t22}); // a new signature compiles
    assertEquals(before + 1, Compiled.COMPILATIONS.get());
  }

  @Test
  void badArgumentsAreNamed() {
    assertThrows(AdjointException.class, () -> Autodiff.hvp(f, new Tensor[] {x}, new Tensor[] {}));
    AdjointException e = assertThrows(AdjointException.class, () -> Autodiff.hvp(in -> Ops.sin(in[0]), x, v));
    assertTrue(e.getMessage().contains("scalar"), e.getMessage());
    assertThrows(AdjointException.class, () -> Autodiff.hvp(f, x, v.reshape(2, 2)));
  }
}
