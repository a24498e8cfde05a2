package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static dev.adjoint.tests.GradcheckTest.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.Gradcheck;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The indexing ops (slice/narrow, concat, stack, take/gather, scatterAdd, oneHot, argmax, logSumExp):
 * values against loops written out here, gradcheck to second order in float64, float32 derivatives
 * against float64 ones, forward against reverse mode, and the errors for bad axes, shapes and indices.
 */
class IndexingOpsTest {
  final Random r = new Random(23);

  static double[] iota(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = 0.5 * i - 1.25;
    return v;
  }

  @Test
  void sliceNarrowAndStridedValues() {
    Tensor x = Tensor.of(iota(12), 3, 4);
    double[] v = x.toDoubleArray();
    Tensor s = Ops.slice(x, 1, 1, 4, 2); // x[:, 1:4:2]
    assertArrayEquals(new long[] {3, 2}, s.shape());
    assertArrayEquals(new double[] {v[1], v[3], v[5], v[7], v[9], v[11]}, s.toDoubleArray(), 0);
    assertArrayEquals(new double[] {v[8], v[9], v[10], v[11]}, Ops.slice(x, 0, -1, 3).toDoubleArray(), 0); // x[-1:]
    assertArrayEquals(new double[] {v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]}, Ops.narrow(x, 0, 1, 2).toDoubleArray(), 0);
    assertArrayEquals(new long[] {3, 0}, Ops.slice(x, -1, 2, 2).shape());
    // data movement works for Int32 too
    Tensor i = Tensor.of(new int[] {5, 6, 7, 8, 9}, 5);
    assertArrayEquals(new int[] {5, 7, 9}, Ops.slice(i, 0, 0, 5, 2).toIntArray());
  }

  @Test
  void concatAndStackValues() {
    Tensor a = Tensor.of(new double[] {1, 2, 3, 4}, 2, 2), b = Tensor.of(new double[] {5, 6}, 2, 1);
    assertArrayEquals(new double[] {1, 2, 5, 3, 4, 6}, Ops.concat(1, a, b).toDoubleArray(), 0);
    assertArrayEquals(new double[] {1, 2, 3, 4, 1, 2, 3, 4}, Ops.concat(0, a, a).toDoubleArray(), 0);
    Tensor p = Tensor.of(new double[] {1, 2, 3}, 3), q = Tensor.of(new double[] {4, 5, 6}, 3);
    Tensor s0 = Ops.stack(0, p, q), s1 = Ops.stack(-1, p, q);
    assertArrayEquals(new long[] {2, 3}, s0.shape());
    assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, s0.toDoubleArray(), 0);
    assertArrayEquals(new long[] {3, 2}, s1.shape());
    assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, s1.toDoubleArray(), 0);
  }

  @Test
  void takeScatterAddOneHotArgmaxValues() {
    Tensor table = Tensor.of(iota(15), 5, 3);
    double[] t = table.toDoubleArray();
    Tensor idx = Tensor.of(new int[] {4, 0, 4, 2}, 2, 2);
    Tensor rows = Ops.take(table, 0, idx);
    assertArrayEquals(new long[] {2, 2, 3}, rows.shape());
    double[] got = rows.toDoubleArray();
    int[] iv = {4, 0, 4, 2};
    for (int j = 0; j < 4; j++) for (int k = 0; k < 3; k++) assertEquals(t[iv[j] * 3 + k], got[j * 3 + k], 0);
    Tensor cols = Ops.gather(table, 1, Tensor.of(new int[] {2, 2, 0}, 3));
    assertArrayEquals(new long[] {5, 3}, cols.shape());
    assertEquals(t[3 * 3 + 2], cols.toDoubleArray()[3 * 3 + 1], 0);
    // scatterAdd: duplicates accumulate
    Tensor g = Tensor.of(new double[] {1, 2, 10, 20, 100, 200, 1000, 2000}, 2, 2, 2);
    double[] s = Ops.scatterAdd(g, 0, idx, 5).toDoubleArray();
    assertArrayEquals(new double[] {10, 20, 0, 0, 1000, 2000, 0, 0, 101, 202}, s, 0);
    assertArrayEquals(
        new float[] {0, 1, 0, 1, 0, 0, 0, 0, 1}, Ops.oneHot(Tensor.of(new int[] {1, 0, 2}, 3), 3, DType.FLOAT32).toFloatArray(), 0);
    Tensor m = Tensor.of(new float[] {1, 7, 7, 2, -3, Float.NaN, 4, 0}, 2, 4);
    Tensor am = Ops.argmax(m, 1, false);
    assertEquals(DType.INT32, am.dtype());
    assertArrayEquals(new int[] {1, 1}, am.toIntArray());
    assertArrayEquals(new long[] {1, 4}, Ops.argmax(m, 0, true).shape());
    assertArrayEquals(new int[] {0, 1, 0, 0}, Ops.argmax(m, 0, true).toIntArray()); // NaN beats 7
  }

  @Test
  void logSumExpAgainstFloat64ReferenceAndStable() {
    double[] v = {0.3, -2.0, 1.5, 1000.0, 999.0, -50.0};
    Tensor x = Tensor.of(v, 2, 3);
    double[] got = Ops.logSumExp(x, 1, false).toDoubleArray();
    for (int row = 0; row < 2; row++) {
      double m = Math.max(v[3 * row], Math.max(v[3 * row + 1], v[3 * row + 2])), s = 0;
      for (int c = 0; c < 3; c++) s += Math.exp(v[3 * row + c] - m);
      assertEquals(m + Math.log(s), got[row], 1e-12);
    }
    assertArrayEquals(new long[] {2, 1}, Ops.logSumExp(x, -1, true).shape());
    float ninf = Float.NEGATIVE_INFINITY;
    float[] f = Ops.logSumExp(Tensor.of(new float[] {ninf, ninf, 1, Float.POSITIVE_INFINITY}, 2, 2), 1, false).toFloatArray();
    assertEquals(ninf, f[0]);
    assertEquals(Float.POSITIVE_INFINITY, f[1]);
    assertEquals(Math.log(Math.exp(88) * 2), Ops.logSumExp(Tensor.of(new float[] {88, 88}, 2), 0, false).item(), 1e-4);
  }

  @Test
  void gradcheckFirstAndSecondOrderFloat64() {
    Tensor idx = Tensor.of(new int[] {2, 0, 2, 3, 2}, 5);
    Tensor idx2 = Tensor.of(new int[] {1, 0, 1, 1}, 2, 2);
    List<Cell.Fn> fns =
        List.of(
            in -> Ops.mul(Ops.slice(in[0], 1, 1, 5, 2), Ops.sin(Ops.slice(in[0], 1, 0, 4, 2))),
            in -> Ops.square(Ops.narrow(in[0], 0, 1, 2)),
            in -> Ops.square(Ops.concat(1, in[0], Ops.sin(in[0]), Ops.slice(in[0], 1, 2, 5))),
            in -> Ops.mul(Ops.stack(0, in[0], Ops.cos(in[0])), Ops.stack(0, in[0], in[0])),
            in -> Ops.square(Ops.take(in[0], 1, idx)),
            in -> Ops.mul(Ops.take(in[0], 0, idx2), Ops.sin(Ops.take(in[0], 0, idx2))),
            in -> Ops.square(Ops.scatterAdd(Ops.sin(in[0]), 1, idx, 4)),
            in -> Ops.logSumExp(Ops.mul(in[0], in[0]), 1, false),
            in -> Ops.mul(Ops.oneHot(idx, 5, DType.FLOAT64), Ops.sin(Ops.slice(in[0], 0, 0, 1))),
            in -> Ops.mul(Ops.take(in[0], 1, Ops.argmax(in[0], 1, false)), Ops.slice(in[0], 1, 0, 3)));
    for (int k = 0; k < fns.size(); k++) {
      Tensor x = rand(r, -2, 2, 3, 5);
      try {
        Gradcheck.check(fns.get(k), 2, 1e-6, 1e-5, r, x);
      } catch (AssertionError e) {
        throw new AssertionError("case " + k + ": " + e.getMessage(), e);
      }
    }
  }

  /** float32 first and second derivatives against the float64 ones of the same function. */
  @Test
  void float32DerivativesMatchFloat64() {
    Tensor idx = Tensor.of(new int[] {1, 1, 0, 3}, 4);
    Cell.Fn f =
        in -> {
          Tensor x = in[0];
          Tensor a = Ops.concat(1, Ops.slice(x, 1, 0, 4, 3), Ops.take(x, 1, idx)); // [2, 6]
          Tensor b = Ops.take(a, 1, Tensor.of(new int[] {0, 2, 5, 5}, 4));
          return Ops.add(Ops.sum(Ops.mul(b, Ops.sin(b))), Ops.sum(Ops.logSumExp(x, 0, false)));
        };
    Cell.Fn g1 = Autodiff.grad(f);
    Cell.Fn g2 = Autodiff.grad(in -> Ops.sum(Ops.mul(Ops.square(g1.apply(in).asTensor()), in[0])));
    Tensor x64 = rand(r, -1, 1, 2, 4);
    double[] xv = x64.toDoubleArray();
    float[] xf = new float[xv.length];
    for (int i = 0; i < xv.length; i++) xf[i] = (float) xv[i];
    Tensor x32 = Tensor.of(xf, 2, 4);
    for (Cell.Fn g : List.of(g1, g2)) {
      double[] want = g.apply(x64).asTensor().toDoubleArray();
      Tensor got = g.apply(x32).asTensor();
      assertEquals(DType.FLOAT32, got.dtype());
      double[] gv = got.toDoubleArray();
      for (int i = 0; i < want.length; i++) assertEquals(want[i], gv[i], 1e-4 * Math.max(1, Math.abs(want[i])), "element " + i);
    }
  }

  @Test
  void forwardModeAgreesWithReverseMode() {
    Tensor idx = Tensor.of(new int[] {0, 2, 2}, 3);
    List<Cell.Fn> fns =
        List.of(
            in -> Ops.sin(Ops.slice(in[0], 0, 1, 3)),
            in -> Ops.concat(0, in[0], Ops.square(in[0])),
            in -> Ops.sin(Ops.take(in[0], 1, idx)),
            in -> Ops.scatterAdd(Ops.sin(in[0]), 1, idx, 4),
            in -> Ops.logSumExp(in[0], 1, true));
    for (Cell.Fn fn : fns) {
      Tensor x = rand(r, -1, 1, 3, 3), v = rand(r, -1, 1, 3, 3);
      Tuple jvp = Autodiff.jvp(fn, new Tensor[] {x}, new Tensor[] {v});
      Tensor u = rand(r, -1, 1, jvp.tensor(0).shape());
      Tuple ct = Autodiff.vjp(fn, x).pullback().apply(u);
      assertEquals(AutodiffTest.dot(u, jvp.tensor(1)), AutodiffTest.dot(ct.tensor(0), v), 1e-10);
    }
  }

  /** Indices that are call arguments (traced): the gradient flows to the table only, and bad ones fail the run. */
  @Test
  void tracedIndicesAreCheckedByTheKernel() {
    Cell.Fn f = in -> Ops.sum(Ops.square(Ops.take(in[0], 0, in[1])));
    Cell.Fn g = Autodiff.grad(f, false, 0);
    Tensor table = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
    Value d = g.apply(table, Tensor.of(new int[] {2, 2, 0}, 3));
    assertArrayEquals(new double[] {2, 4, 0, 0, 20, 24}, d.asTensor().toDoubleArray(), 0);
    Cell cell = Cell.of(2, f);
    assertEquals(1 + 4 + 25 + 36, cell.apply(table, Tensor.of(new int[] {0, 2}, 2)).item(), 0);
    AdjointException e = assertThrows(AdjointException.class, () -> cell.apply(table, Tensor.of(new int[] {0, 3}, 2)));
    mentions(e, "gather", "index 3", "position 1", "[0, 3)");
    mentions(assertThrows(AdjointException.class, () -> g.apply(table, Tensor.of(new int[] {-2, 0}, 2))), "index -2");
    // the same cell still runs afterwards
    assertEquals(1 + 4, cell.apply(table, Tensor.of(new int[] {0}, 1)).item(), 0);
    Cell oh = Cell.of(1, in -> Ops.oneHot(in[0], 3, DType.FLOAT32));
    mentions(assertThrows(AdjointException.class, () -> oh.apply(Tensor.of(new int[] {1, 3}, 2))), "oneHot", "index 3", "depth 3");
  }

  @Test
  void errorsNameOpArgumentAndShape() {
    Tensor x = Tensor.of(iota(12), 3, 4);
    mentions(assertThrows(AdjointException.class, () -> Ops.slice(x, 2, 0, 1)), "slice", "axis 2", "[3, 4]");
    mentions(assertThrows(AdjointException.class, () -> Ops.slice(x, 1, 1, 5)), "slice", "stop 5", "<= 4");
    mentions(assertThrows(AdjointException.class, () -> Ops.slice(x, 1, 3, 1)), "slice", "start 3");
    mentions(assertThrows(AdjointException.class, () -> Ops.slice(x, 1, 0, 4, 0)), "step 0");
    mentions(assertThrows(AdjointException.class, () -> Ops.narrow(x, 0, 2, 2)), "narrow", "length 2", "size 3");
    mentions(assertThrows(AdjointException.class, () -> Ops.concat(0, x, Tensor.of(iota(3), 1, 3))), "concat", "tensor 1", "[1, 3]", "[3, 4]");
    mentions(assertThrows(AdjointException.class, () -> Ops.concat(0)), "at least one");
    mentions(assertThrows(AdjointException.class, () -> Ops.stack(3, x, x)), "stack", "axis 3");
    mentions(assertThrows(AdjointException.class, () -> Ops.stack(0, x, Ops.slice(x, 0, 0, 2))), "stack", "tensor 1");
    mentions(assertThrows(AdjointException.class, () -> Ops.take(x, 0, Tensor.of(new int[] {0, 3}, 2))), "gather", "index 3", "position 1", "[0, 3)", "axis 0");
    mentions(assertThrows(AdjointException.class, () -> Ops.take(x, 0, Tensor.of(new float[] {0}, 1))), "gather", "Int32");
    mentions(assertThrows(AdjointException.class, () -> Ops.take(x, -3, Tensor.of(new int[] {0}, 1))), "gather", "axis -3");
    mentions(assertThrows(AdjointException.class, () -> Ops.scatterAdd(x, 1, Tensor.of(new int[] {0, 1, 2}, 3), 5)), "scatterAdd", "indices' shape");
    mentions(assertThrows(AdjointException.class, () -> Ops.scatterAdd(x, 1, Tensor.of(new int[] {0, 1, 2, 5}, 4), 5)), "scatterAdd", "index 5");
    mentions(assertThrows(AdjointException.class, () -> Ops.oneHot(Tensor.of(new int[] {4}, 1), 4, DType.FLOAT32)), "oneHot", "index 4", "depth 4");
    mentions(assertThrows(AdjointException.class, () -> Ops.oneHot(Tensor.of(new int[] {0}, 1), 4, DType.INT32)), "oneHot", "Float32 or Float64");
    mentions(assertThrows(AdjointException.class, () -> Ops.argmax(Tensor.of(new float[0], 2, 0), 1, false)), "argmax", "empty");
    mentions(assertThrows(AdjointException.class, () -> Ops.logSumExp(x, 2, false)), "logSumExp", "axis 2");
    // inside a trace the same checks apply to constant indices
    Cell c = Cell.of(1, in -> Ops.take(in[0], 1, Tensor.of(new int[] {4}, 1)));
    mentions(assertThrows(AdjointException.class, () -> c.apply(x)), "gather", "index 4", "[0, 4)");
  }
}
