package dev.adjoint.tests;

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
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.autodiff.Gradcheck;
import dev.adjoint.nn.Activation;
import dev.adjoint.nn.Dropout;
import dev.adjoint.nn.Linear;
import dev.adjoint.nn.Sequential;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * pow (values as C's pow, derivatives to second order, the masked cases), seeded host random tensors
 * and the graph's randomUniform (the same Philox bits), dropout (a new mask per step without
 * recompiling, the gradient through the same mask), the Dropout cell with train/eval modes, and
 * forward-only calls.
 */
class PowRandomDropoutTest {
  static final double[] SPECIAL = {
    Double.NaN, 0.0, -0.0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 2.5, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e-300, 40
  };

  // ------------------------------------------------------------------ pow values

  /**
   * C99's pow (Annex F) from java.lang.Math.pow, which differs in two cases: C gives pow(+1, y) = 1 for
   * every y (NaN too) and pow(-1, +-inf) = 1, where Java gives NaN.
   */
  static double cPow(double a, double b) {
    if (a == 1) return 1;
    if (a == -1 && Double.isInfinite(b)) return 1;
    return Math.pow(a, b);
  }

  @Test
  void powFollowsCsPowOnEveryPairOfSpecialValues() {
    int m = SPECIAL.length;
    double[] a = new double[m * m], b = new double[m * m];
    for (int i = 0; i < m * m; i++) {
      a[i] = SPECIAL[i / m];
      b[i] = SPECIAL[i % m];
    }
    // Float64: C99's special cases exactly, ordinary values within 2 ulp.
    double[] got = Ops.pow(Tensor.of(a), Tensor.of(b)).toDoubleArray();
    for (int i = 0; i < got.length; i++) {
      double want = cPow(a[i], b[i]);
      String what = "pow(" + a[i] + ", " + b[i] + ") = " + got[i] + ", want " + want;
      if (Double.isNaN(want)) assertTrue(Double.isNaN(got[i]), what);
      else if (Double.isInfinite(want) || want == 0 || want == 1) assertEquals(Double.doubleToLongBits(want), Double.doubleToLongBits(got[i]), what);
      else assertTrue(Math.abs(got[i] - want) <= 2 * Math.ulp(want), what);
    }
    // Float32: against the double result rounded to float, within 2 float ulp (special values exact).
    float[] fa = new float[a.length], fb = new float[b.length];
    for (int i = 0; i < a.length; i++) {
      fa[i] = (float) a[i];
      fb[i] = (float) b[i];
    }
    float[] f = Ops.pow(Tensor.of(fa), Tensor.of(fb)).toFloatArray();
    for (int i = 0; i < f.length; i++) {
      float want = (float) cPow(fa[i], fb[i]);
      String what = "float32 pow(" + fa[i] + ", " + fb[i] + ") = " + f[i] + ", want " + want;
      if (Float.isNaN(want)) assertTrue(Float.isNaN(f[i]), what);
      else if (Float.isInfinite(want) || want == 0 || want == 1) assertEquals(want, f[i], 0, what);
      else assertTrue(Math.abs(f[i] - want) <= 2 * Math.ulp(want), what);
    }
  }

  @Test
  void powNumPySemanticsByExample() {
    Check.close(Ops.pow(Tensor.of(new double[] {-2, -2, 4, 0, 9}), Tensor.of(new double[] {3, 2, 0.5, 0, -0.5})), 1e-15, -8, 4, 2, 1, 1.0 / 3);
    assertTrue(Double.isNaN(Ops.pow(Tensor.of(new double[] {-2}), 0.5).item()), "negative base, fractional exponent");
    assertEquals(Double.POSITIVE_INFINITY, Ops.pow(Tensor.of(new double[] {0}), -1).item());
    assertEquals(Double.NEGATIVE_INFINITY, Ops.pow(Tensor.of(new double[] {-0.0}), -1).item());
    assertEquals(1.0, Ops.pow(Tensor.of(new double[] {Double.NaN}), 0).item());
    // broadcasting: a column of bases against a row of exponents
    Check.close(Ops.pow(Tensor.of(new double[] {2, 3}, 2, 1), Tensor.of(new double[] {0, 1, 2}, 3)), new long[] {2, 3}, 1e-15, 1, 2, 4, 1, 3, 9);
    AdjointException e = assertThrows(AdjointException.class, () -> Ops.pow(Tensor.of(new double[] {1, 2}), Tensor.of(new double[] {1, 2, 3})));
    assertTrue(e.getMessage().contains("pow"), e.getMessage());
  }

  // ------------------------------------------------------------------ pow derivatives

  static Tensor rand(Random r, double lo, double hi, long... shape) {
    return GradcheckTest.rand(r, lo, hi, shape);
  }

  @Test
  void powSecondOrderGradcheckInBothArguments() {
    for (int seed = 0; seed < 3; seed++) {
      Random r = new Random(seed);
      Gradcheck.check(in -> Ops.pow(in[0], in[1]), 2, 1e-6, 1e-5, r, rand(r, 0.5, 2.5, 3, 4), rand(r, -2, 2, 4));
      Gradcheck.check(in -> Ops.pow(in[0], 2.5), 2, 1e-6, 1e-5, r, rand(r, 0.5, 2.5, 2, 3));
      Gradcheck.check(in -> Ops.pow(in[0], -1.5), 2, 1e-6, 1e-5, r, rand(r, 0.5, 2.5, 5));
    }
  }

  @Test
  void integralExponentsAtANegativeBaseHaveFiniteExactGradients() {
    Random r = new Random(4);
    Tensor b = Tensor.of(new double[] {2, 3, -1, 4});
    // the base's derivatives, first and second order, at negative bases
    Gradcheck.check(in -> Ops.pow(in[0], b), 2, 1e-6, 1e-5, r, rand(r, -2.5, -0.5, 3, 4));
    Gradcheck.check(in -> Ops.pow(in[0], 3), 2, 1e-6, 1e-5, r, rand(r, -2, 2, 6));
    // d/da at a = -2: b a^(b-1) = [2 * -2, 3 * 4, -1 * 1/4, 4 * -8]; d/db = 0 where a <= 0 (Note [pow derivatives])
    Tensor a = Tensor.of(new double[] {-2, -2, -2, -2});
    Tuple g = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sum(Ops.pow(in[0], in[1])))).call(a, b).asTuple();
    Check.close(g.get(0), 1e-14, -4, 12, -0.25, -32);
    Check.close(g.get(1), 0, 0, 0, 0, 0);
  }

  @Test
  void masksKeepZeroBasesAndZeroExponentsFinite() {
    Cell f = Cell.of(in -> Ops.sum(Ops.pow(in[0], in[1])));
    Cell grads = GradOperation.builder().getAll(true).build().of(f);
    // a = 0: d/da = b 0^(b-1): 0 for b = 0 (the constant 1), 1 for b = 1, 0 for b = 2, inf for b = 0.5;
    // d/db = 0 at a = 0 (and at a < 0), never NaN from 0 * inf
    Tuple g = grads.call(Tensor.of(new double[] {0, 0, 0, 0, -3}), Tensor.of(new double[] {0, 1, 2, 0.5, 2})).asTuple();
    double[] da = g.get(0).asTensor().toDoubleArray(), db = g.get(1).asTensor().toDoubleArray();
    assertArrayEquals(new double[] {0, 1, 0, Double.POSITIVE_INFINITY, -6}, da, 0);
    assertArrayEquals(new double[] {0, 0, 0, 0, 0}, db, 0);
    // a > 0: d/db = a^b log a
    Tuple h = grads.call(Tensor.of(new double[] {2, 3}), Tensor.of(new double[] {3, 0})).asTuple();
    Check.close(h.get(1), 1e-14, 8 * Math.log(2), Math.log(3));
    Check.close(h.get(0), 1e-14, 12, 0);
  }

  @Test
  void powFloat32GradientsAgreeWithFloat64() {
    Random r = new Random(9);
    double[] a = rand(r, 0.5, 2, 8).toDoubleArray(), b = rand(r, -2, 2, 8).toDoubleArray();
    float[] fa = new float[8], fb = new float[8];
    for (int i = 0; i < 8; i++) {
      fa[i] = (float) a[i];
      fb[i] = (float) b[i];
    }
    Cell grads = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sum(Ops.pow(in[0], in[1]))));
    Tuple g64 = grads.call(Tensor.of(a), Tensor.of(b)).asTuple();
    Tuple g32 = grads.call(Tensor.of(fa), Tensor.of(fb)).asTuple();
    assertEquals(DType.FLOAT32, g32.tensor(0).dtype());
    for (int k = 0; k < 2; k++) {
      double[] want = g64.tensor(k).toDoubleArray(), got = g32.tensor(k).toDoubleArray();
      for (int i = 0; i < 8; i++) assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), "input " + k + " element " + i);
    }
  }

  @Test
  void powForwardModeMatchesReverseMode() {
    Random r = new Random(11);
    Tensor a = rand(r, 0.5, 2, 3, 2), b = rand(r, -1, 1, 2), va = rand(r, -1, 1, 3, 2), vb = rand(r, -1, 1, 2);
    Cell.Fn f = in -> Ops.pow(in[0], in[1]);
    Tuple jvp = Autodiff.jvp(f, new Tensor[] {a, b}, new Tensor[] {va, vb});
    Tensor u = rand(r, -1, 1, 3, 2);
    Tuple ct = Autodiff.vjp(f, a, b).pullback().apply(u);
    double left = AutodiffTest.dot(u, jvp.tensor(1)), right = AutodiffTest.dot(ct.tensor(0), va) + AutodiffTest.dot(ct.tensor(1), vb);
    assertEquals(left, right, 1e-12 * Math.max(1, Math.abs(left)));
  }

  // ------------------------------------------------------------------ random tensors

  static double mean(double[] v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.length;
  }

  static double variance(double[] v) {
    double m = mean(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / (v.length - 1);
  }

  @Test
  void hostRandomTensorsAreReproducibleAndHaveTheirMoments() {
    int n = 200_000;
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      double[] u = Tensor.uniform(3, dt, -2, 4, n).toDoubleArray();
      for (double x : u) assertTrue(x >= -2 && x < 4, dt + " uniform value " + x);
      assertEquals(1, mean(u), 0.02, dt + " uniform mean"); // sd of the mean 1.7/sqrt(n) = 0.004
      assertEquals(3, variance(u), 0.05, dt + " uniform variance (36/12)");
      double[] z = Tensor.normal(5, dt, 1.5, 2, n).toDoubleArray();
      assertEquals(1.5, mean(z), 0.03, dt + " normal mean");
      assertEquals(4, variance(z), 0.08, dt + " normal variance");
      double[] std = Tensor.randn(6, dt, n).toDoubleArray();
      double fourth = 0;
      for (double x : std) fourth += x * x * x * x;
      assertEquals(3, fourth / n, 0.1, dt + " normal fourth moment (a Gaussian's kurtosis)");
      // same seed, same values; another seed, other values
      assertArrayEquals(Tensor.rand(7, dt, 100).toDoubleArray(), Tensor.rand(7, dt, 100).toDoubleArray(), 0);
      assertArrayEquals(Tensor.randn(7, dt, 3, 4).toDoubleArray(), Tensor.randn(7, dt, 3, 4).toDoubleArray(), 0);
      assertNotEquals(Tensor.rand(7, dt, 1).item(), Tensor.rand(8, dt, 1).item());
      assertEquals(dt, Tensor.rand(1, dt, 2, 2).dtype());
    }
    // fixed values: the documented generator (Philox4x32-10, key = seed, counter 0), not just any one
    assertEquals(0x6627e8d5 >>> 8, (long) (Tensor.rand(0, DType.FLOAT32, 1).item() * (1 << 24)));
    assertThrows(AdjointException.class, () -> Tensor.uniform(1, DType.FLOAT32, 2, 1, 3));
    assertThrows(AdjointException.class, () -> Tensor.rand(1, DType.INT32, 3));
    assertThrows(AdjointException.class, () -> Tensor.normal(1, DType.FLOAT64, 0, -1, 3));
  }

  @Test
  void hostRandEqualsTheGraphsRandomUniformAtCounterZero() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (long seed : new long[] {0, 1, -5, 0x123456789abcdefL}) {
        double[] host = Tensor.rand(seed, dt, 1001).toDoubleArray();
        double[] graph = Ops.randomUniform(Tensor.scalar(0.0), seed, dt, 1001).toDoubleArray();
        assertArrayEquals(host, graph, 0, dt + " seed " + seed);
      }
      double[] c0 = Ops.randomUniform(Tensor.scalar(0.0), 9, dt, 64).toDoubleArray();
      double[] c1 = Ops.randomUniform(Tensor.scalar(1.0), 9, dt, 64).toDoubleArray();
      assertTrue(!java.util.Arrays.equals(c0, c1), "a new counter gives new values");
    }
    assertThrows(AdjointException.class, () -> Ops.randomUniform(Tensor.of(new double[] {1, 2}), 0, DType.FLOAT32, 3));
  }

  // ------------------------------------------------------------------ dropout

  @Test
  void dropoutMaskChangesPerStepWithoutRecompilingAndScales() {
    double p = 0.3;
    Cell f = Cell.of(in -> Ops.dropout(in[0], p, 17, in[1]));
    Tensor x = Tensor.full(DType.FLOAT32, 2, 100, 100);
    double[] first = f.apply(x, Tensor.scalar(0.0)).toDoubleArray();
    long compiled = Adjoint.compilations();
    double[] again = null, second = null;
    for (int k = 1; k <= 20; k++) {
      double[] y = f.apply(x, Tensor.scalar((double) k)).toDoubleArray();
      if (k == 1) second = y;
      int zeros = 0;
      for (double v : y) {
        if (v == 0) zeros++;
        else assertEquals(2 / (1 - p), v, 1e-6, "kept values are scaled by 1/(1-p)");
      }
      assertEquals(p, zeros / 10000.0, 0.03, "drop fraction at step " + k);
    }
    again = f.apply(x, Tensor.scalar(0.0)).toDoubleArray();
    assertEquals(compiled, Adjoint.compilations(), "a new step must not recompile");
    assertArrayEquals(first, again, 0, "the same step gives the same mask");
    assertTrue(!java.util.Arrays.equals(first, second), "another step gives another mask");
    // p = 0 is the identity, p = 1 zeros; p outside [0, 1] is an error
    Check.close(Ops.dropout(Tensor.of(new double[] {1, 2}), 0, Tensor.scalar(3.0)), 0, 1, 2);
    Check.close(Ops.dropout(Tensor.of(new double[] {1, 2}), 1, Tensor.scalar(3.0)), 0, 0, 0);
    assertThrows(AdjointException.class, () -> Ops.dropout(x, 1.5, Tensor.scalar(0.0)));
  }

  @Test
  void dropoutGradientUsesTheSameMask() {
    double p = 0.5;
    Tensor w = Tensor.of(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 3, 4);
    Cell.Fn loss = in -> {
      Tensor y = Ops.dropout(in[0], p, 3, in[1]);
      return Tuple.of(Ops.sum(Ops.mul(y, w)), y);
    };
    Cell vg = Cell.of(2, in -> Autodiff.valueAndGrad(loss, true, 0).apply(in));
    Tensor x = Tensor.full(DType.FLOAT64, 1.5, 3, 4);
    for (double step = 0; step < 4; step++) {
      Tuple out = vg.call(x, Tensor.scalar(step)).asTuple();
      double[] y = out.get(0).asTuple().get(1).asTensor().toDoubleArray();
      double[] g = out.get(1).asTensor().toDoubleArray();
      double[] wv = w.toDoubleArray();
      for (int i = 0; i < y.length; i++) assertEquals(y[i] == 0 ? 0 : wv[i] / (1 - p), g[i], 1e-12, "element " + i);
    }
    // second order through dropout: d2/dx2 of sum(dropout(x)^2 * w) = 2 m^2 w, with the mask as constant
    Random r = new Random(2);
    Tensor step = Tensor.scalar(5.0);
    Gradcheck.check(in -> Ops.mul(Ops.square(Ops.dropout(in[0], 0.4, 1, step)), w), 2, 1e-6, 1e-5, r, rand(r, -1, 1, 3, 4));
  }

  @Test
  void dropoutWithAGivenMask() {
    Tensor mask = Ops.dropoutMask(Tensor.scalar(2.0), 4, 0.25, DType.FLOAT64, 6);
    double[] m = mask.toDoubleArray();
    for (double v : m) assertTrue(v == 0 || Math.abs(v - 4.0 / 3) < 1e-15, "mask value " + v);
    Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 5, 6});
    double[] y = Ops.dropout(x, mask).toDoubleArray();
    for (int i = 0; i < 6; i++) assertEquals((i + 1) * m[i], y[i], 1e-15);
    Tensor g = new GradOperation().of(Cell.of(in -> Ops.sum(Ops.dropout(in[0], in[1])))).call(x, mask).asTensor();
    assertArrayEquals(m, g.toDoubleArray(), 0);
    // the same mask as dropout(x, p, key, step) uses
    assertArrayEquals(Ops.dropout(x, 0.25, 4, Tensor.scalar(2.0)).toDoubleArray(), y, 0);
  }

  // ------------------------------------------------------------------ the Dropout cell, modes

  @Test
  void dropoutCellAdvancesEveryCallAndIsTheIdentityInEval() {
    Dropout d = new Dropout(0.5, 11);
    Tensor x = Tensor.ones(DType.FLOAT32, 64, 64);
    double[] a = d.apply(x).toDoubleArray(), b = d.apply(x).toDoubleArray();
    assertEquals(2.0, d.step.item(), "the step advances once per call");
    assertTrue(!java.util.Arrays.equals(a, b), "each call draws a new mask");
    assertEquals(1, d.compiledSignatures());
    d.eval();
    assertTrue(!d.isTraining());
    assertArrayEquals(x.toDoubleArray(), d.apply(x).toDoubleArray(), 0, "eval: identity");
    assertEquals(2.0, d.step.item(), "eval does not advance the step");
    assertEquals(2, d.compiledSignatures(), "eval mode compiles its own graph, never the stale one");
    long compiled = Adjoint.compilations();
    d.train();
    double[] c = d.apply(x).toDoubleArray();
    assertEquals(compiled, Adjoint.compilations(), "back in training mode the first graph is reused");
    assertTrue(!java.util.Arrays.equals(a, c) && !java.util.Arrays.equals(b, c));
    // the step is the state: setting it back replays the masks
    d.step.assign(Tensor.scalar(0.0));
    assertArrayEquals(a, d.apply(x).toDoubleArray(), 0);
    assertThrows(AdjointException.class, () -> new Dropout(1.0));
    assertEquals("step", d.namedParameters().keySet().iterator().next());
    assertEquals(0, d.trainableParams().size(), "the step is not trained");
  }

  @Test
  void modesPropagateToChildCellsAndKeyTheCompiledGraphs() {
    Random rng = new Random(1);
    Dropout drop = new Dropout(0.5, 3);
    Sequential net = new Sequential(new Linear(8, 16, true, rng, DType.FLOAT64), Activation.tanh(), drop, new Linear(16, 2, true, rng, DType.FLOAT64));
    Cell lossOfNet = Cell.of(in -> Ops.sum(net.apply(in[0])));   // a lambda holding the model
    Tensor x = Tensor.rand(4, DType.FLOAT64, 5, 8);
    double t1 = lossOfNet.apply(x).item(), t2 = lossOfNet.apply(x).item();
    assertNotEquals(t1, t2, "training: dropout differs per call");
    net.eval();
    assertTrue(!drop.isTraining(), "eval() reaches the child cells");
    double e1 = lossOfNet.apply(x).item(), e2 = lossOfNet.apply(x).item();
    assertEquals(e1, e2, 0, "eval: deterministic");
    // eval equals the network with the dropout layer removed
    Sequential noDrop = new Sequential(net.layers.get(0), net.layers.get(1), net.layers.get(3));
    assertEquals(Ops.sum(noDrop.apply(x)).item(), e1, 1e-12);
    assertEquals(2, lossOfNet.compiledSignatures(), "a cell holding the model sees the mode change");
    net.train();
    assertTrue(drop.isTraining());
    assertNotEquals(e1, lossOfNet.apply(x).item());
    assertEquals(2, lossOfNet.compiledSignatures());
  }

  @Test
  void aDropoutUsedTwiceInOneGraphDrawsTwoMasksAndStepsOnce() {
    Dropout d = new Dropout(0.5, 8);
    Cell twice = Cell.of(in -> Tuple.of(d.apply(in[0]), d.apply(in[0])));
    Tensor x = Tensor.ones(DType.FLOAT64, 32, 32);
    Tuple out = twice.call(x).asTuple();
    assertTrue(!java.util.Arrays.equals(out.tensor(0).toDoubleArray(), out.tensor(1).toDoubleArray()));
    assertEquals(1.0, d.step.item());
    twice.call(x);
    assertEquals(2.0, d.step.item());
  }

  static Sequential dropoutNet() {
    Random rng = new Random(5);
    return new Sequential(new Linear(4, 16, true, rng, DType.FLOAT64), Activation.tanh(), new Dropout(0.25, 9), new Linear(16, 1, true, rng, DType.FLOAT64));
  }

  @Test
  void trainingWithDropoutCompilesOnceAndResumesBitForBit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    Tensor x = Tensor.uniform(1, DType.FLOAT64, -1, 1, 32, 4), t = Tensor.uniform(2, DType.FLOAT64, -1, 1, 32, 1);
    Sequential net = dropoutNet();
    Cell mse = Cell.of(in -> Ops.mean(Ops.square(Ops.sub(net.apply(in[0]), in[1]))));
    net.eval();   // evaluation: no dropout
    double before = mse.apply(x, t).item();
    net.train();
    dev.adjoint.optim.SGD sgd = new dev.adjoint.optim.SGD(net.trainableParams(), 0.05, 0.9, false, 0);
    Cell step = sgd.step(mse);
    step.apply(x, t).close();
    long compiled = Adjoint.compilations();
    double[] losses = new double[60];
    for (int k = 0; k < 60; k++) {
      losses[k] = step.apply(x, t).item();
      if (k == 4) dev.adjoint.io.Checkpoint.save(dir.resolve("drop.safetensors"), net, sgd);
    }
    assertEquals(compiled, Adjoint.compilations(), "the dropout step compiles once");
    Dropout d = (Dropout) net.layers.get(2);
    assertEquals(61.0, d.step.item(), "one mask per step");
    net.eval();
    double after = mse.apply(x, t).item();
    net.train();
    assertTrue(after < 0.85 * before, "training with dropout reduces the evaluation loss: " + before + " -> " + after);
    // resume from step 6 (after 1 + 5 calls): the same masks, the same parameters, bit for bit
    Sequential again = dropoutNet();
    dev.adjoint.optim.SGD sgd2 = new dev.adjoint.optim.SGD(again.trainableParams(), 0.05, 0.9, false, 0);
    dev.adjoint.io.Checkpoint.load(dir.resolve("drop.safetensors"), again, sgd2);
    assertEquals(6.0, ((Dropout) again.layers.get(2)).step.item());
    Cell step2 = sgd2.step(Cell.of(in -> Ops.mean(Ops.square(Ops.sub(again.apply(in[0]), in[1])))));
    for (int k = 5; k < 60; k++) assertEquals(losses[k], step2.apply(x, t).item(), 0, "loss of step " + k);
    for (int i = 0; i < net.trainableParams().size(); i++)
      assertArrayEquals(net.trainableParams().get(i).toDoubleArray(), again.trainableParams().get(i).toDoubleArray(), 0);
  }

  @Test
  void nestedGradientsThroughADropoutCellSeeOneMaskPerCall() {
    Dropout d = new Dropout(0.5, 21);
    // f(x) = sum(dropout(x)^3): d2f/dx2 = 6 m^3 x elementwise for the mask multipliers m (0 or 2)
    Cell f = Cell.of(in -> Ops.sum(Ops.pow(d.apply(in[0]), 3)));
    Cell second = new GradOperation().of(Cell.of(in -> Ops.sum(new GradOperation().of(f).call(in[0]).asTensor())));
    Tensor x = Tensor.uniform(3, DType.FLOAT64, 0.5, 1.5, 40);
    double[] xs = x.toDoubleArray();
    for (int call = 1; call <= 3; call++) {
      double[] h = second.apply(x).toDoubleArray();
      assertEquals(call, d.step.item(), "the nested graph advances the step once per call");
      int kept = 0;
      for (int i = 0; i < h.length; i++) {
        if (h[i] == 0) continue;
        kept++;
        assertEquals(6 * 8 * xs[i], h[i], 1e-12, "element " + i);
      }
      assertTrue(kept > 5 && kept < 35, "about half kept: " + kept);
    }
  }

  // ------------------------------------------------------------------ forward-only calls

  @Test
  void aPlainCallCompilesTheForwardGraphOnly() {
    Random rng = new Random(3);
    Sequential net = new Sequential(new Linear(16, 32, true, rng, DType.FLOAT32), Activation.tanh(), new Linear(32, 4, true, rng, DType.FLOAT32));
    Tensor x = Tensor.rand(1, DType.FLOAT32, 8, 16);
    String forward = net.explain(x);
    String withGrads = GradOperation.builder().getByList(true).build().of(Cell.of(in -> Ops.sum(net.apply(in[0]))), net.trainableParams()).explain(x);
    // The forward pass of two layers is two GEMMs; its gradient adds the weight (and input) GEMMs.
    assertEquals(2, count(forward, "matmul"), forward);
    assertTrue(count(withGrads, "matmul") >= 4, withGrads);
    // and a plain call writes nothing: the parameters are unchanged, no gradient is produced
    double[] before = ((Linear) net.layers.get(0)).weight.toDoubleArray();
    Value out = net.call(x);
    assertArrayEquals(new long[] {8, 4}, out.asTensor().shape());
    assertArrayEquals(before, ((Linear) net.layers.get(0)).weight.toDoubleArray(), 0);
  }

  static int count(String text, String word) {
    int n = 0;
    for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) n++;
    return n;
  }
}
