package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.GradOperation;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Sin and cos over tensors big enough to be streamed (16 MiB and more: Note [Streaming stores]), the
 * path W3 takes: a plain cos step (first derivative of sum(sin x)) and a fused [sin neg] step (second
 * derivative), which prefetch their input and, for float32 sin on AVX-512 with SLEEF loaded, use
 * SLEEF (Note [SLEEF]). Every element is checked against java.lang.Math within 4 ulp of the result (SLEEF
 * u35: 3.5, libmvec: 4, Math: 1 for double) plus Math's own error, whichever library is active.
 */
class LargeTranscendentalTest {
  static final int N = (16 << 20) / 4 + 4099;   // float32 elements: just over the streaming size

  public static final class SinSum extends Cell {
    @Override
    public dev.adjoint.Value construct(Tensor... in) {
      return Ops.sum(Ops.sin(in[0]));
    }
  }

  static int badFloats(float[] x, float[] got, boolean cos, boolean negate) {
    int bad = 0;
    for (int i = 0; i < x.length; i++) {
      double want = cos ? Math.cos(x[i]) : Math.sin(x[i]);
      if (negate) want = -want;
      double tol = 4 * Math.ulp((float) want) + Math.ulp(want);
      if (!(Math.abs(got[i] - want) <= tol)) bad++;
    }
    return bad;
  }

  @Test
  void infoNamesTheMathLibrary() {
    String info = Adjoint.info();
    assertTrue(info.contains("math:    ") && info.contains("libmvec"), info);
  }

  @Test
  void firstAndSecondDerivativesOfSumSinOverAStreamedFloat32Tensor() {
    try (Tensor x = Tensor.uniform(new Random(7), DType.FLOAT32, -1e4, 1e4, N)) {
      float[] xs = x.toFloatArray();
      Cell first = new GradOperation().of(new SinSum());
      Cell second = new GradOperation().of(new GradOperation().of(new SinSum()));
      try (Tensor d1 = first.call(x).asTensor(); Tensor d2 = second.call(x).asTensor()) {
        assertEquals(0, badFloats(xs, d1.toFloatArray(), true, false), "d/dx sum(sin x) = cos x");
        assertEquals(0, badFloats(xs, d2.toFloatArray(), false, true), "d2/dx2 sum(sin x) = -sin x");
      }
    }
  }

  @Test
  void streamedFloat64SinAndCosStayWithinFourUlp() {
    int n = (16 << 20) / 8 + 517;
    try (Tensor x = Tensor.uniform(new Random(8), DType.FLOAT64, -1e4, 1e4, n)) {
      double[] xs = x.toDoubleArray();
      try (Tensor s = Cell.of(in -> Ops.sin(in[0])).call(x).asTensor();
          Tensor c = Cell.of(in -> Ops.neg(Ops.cos(in[0]))).call(x).asTensor()) {
        double[] sv = s.toDoubleArray(), cv = c.toDoubleArray();
        int bad = 0;
        for (int i = 0; i < n; i++) {
          double ws = Math.sin(xs[i]), wc = -Math.cos(xs[i]);
          bad += Math.abs(sv[i] - ws) <= 5 * Math.ulp(ws) ? 0 : 1;
          bad += Math.abs(cv[i] - wc) <= 5 * Math.ulp(wc) ? 0 : 1;
        }
        assertEquals(0, bad);
      }
    }
  }
}
