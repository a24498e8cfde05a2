package dev.adjoint.autodiff;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import java.util.List;
import java.util.Random;

/**
 * Checks derivatives against float64 central finite differences in a random direction, to any order
 * (as JAX's {@code check_grads}): first the VJP of f, then, recursively, the VJP of the scalar function
 * {@code x -> <d<u, f(x)>/dx, w>}, which exercises the derivative of the derivative.
 *
 * <pre>{@code
 * Gradcheck.check(in -> Ops.sin(in[0]), 2, Tensor.of(new double[] {0.3, 1.2}));   // throws if wrong
 * }</pre>
 *
 * Inputs must be float64; the finite differences use step 1e-6 and a relative tolerance of 1e-5 unless
 * given.
 */
public final class Gradcheck {
  private Gradcheck() {}

  /**
   * Checks the derivatives of {@code f} at the Float64 {@code inputs} up to {@code order} (1: gradients,
   * 2: also second derivatives, ...) with step 1e-6, relative tolerance 1e-5 and fixed random directions:
   * an {@link AssertionError} gives the order and the analytic and numeric directional derivatives when
   * they disagree; a non-Float64 input is an {@link AdjointException}.
   */
  public static void check(Cell.Fn f, int order, Tensor... inputs) {
    check(f, order, 1e-6, 1e-5, new Random(7), inputs);
  }

  /**
   * As {@link #check(Cell.Fn, int, Tensor...)} with finite-difference step {@code eps}, relative tolerance
   * {@code tol} and the random directions drawn from {@code rnd}.
   */
  public static void check(Cell.Fn f, int order, double eps, double tol, Random rnd, Tensor... inputs) {
    for (Tensor t : inputs)
      if (t.dtype() != DType.FLOAT64) throw new AdjointException("gradcheck needs Float64 inputs, got " + t.describe());
    Value out = Cell.of(inputs.length, f).call(inputs);
    List<Tensor> leaves = out.leaves();
    Tensor[] u = new Tensor[leaves.size()];
    for (int k = 0; k < u.length; k++) u[k] = randomLike(rnd, leaves.get(k));
    Cell.Fn scalar = in -> dot(f.apply(in).leaves(), u);

    Tensor[] v = new Tensor[inputs.length];
    for (int i = 0; i < v.length; i++) v[i] = randomLike(rnd, inputs[i]);
    // Analytic: <u, J v> = sum_i <(J^T u)_i, v_i>.
    int[] all = new int[inputs.length];
    for (int i = 0; i < all.length; i++) all[i] = i;
    Cell.Fn g = Autodiff.grad(scalar, false, all);
    Value gv = g.apply(inputs);
    List<Tensor> grads = inputs.length == 1 ? List.of(gv.asTensor()) : gv.leaves();
    double analytic = 0;
    for (int i = 0; i < inputs.length; i++) analytic += hostDot(grads.get(i), v[i]);
    // Numeric: central difference of the scalar function along v.
    double plus = Cell.of(inputs.length, scalar).call(shift(inputs, v, eps)).asTensor().item();
    double minus = Cell.of(inputs.length, scalar).call(shift(inputs, v, -eps)).asTensor().item();
    double numeric = (plus - minus) / (2 * eps);
    double scale = Math.max(1, Math.max(Math.abs(analytic), Math.abs(numeric)));
    if (Math.abs(analytic - numeric) > tol * scale)
      throw new AssertionError(
          "gradcheck failed at order " + order + ": analytic " + analytic + " vs numeric " + numeric);
    if (order > 1) {
      Tensor[] w = new Tensor[inputs.length];
      for (int i = 0; i < w.length; i++) w[i] = randomLike(rnd, inputs[i]);
      Cell.Fn next =
          in -> {
            Value gr = g.apply(in);
            List<Tensor> gl = in.length == 1 ? List.of(gr.asTensor()) : gr.leaves();
            return dot(gl, w);
          };
      check(next, order - 1, eps, tol, rnd, inputs);
    }
  }

  private static Tensor dot(List<Tensor> a, Tensor[] b) {
    Tensor s = null;
    for (int k = 0; k < a.size(); k++) {
      Tensor term = Ops.sum(Ops.mul(a.get(k), b[k]));
      s = s == null ? term : Ops.add(s, term);
    }
    return s;
  }

  private static double hostDot(Tensor a, Tensor b) {
    double[] x = a.toDoubleArray(), y = b.toDoubleArray();
    double s = 0;
    for (int i = 0; i < x.length; i++) s += x[i] * y[i];
    return s;
  }

  private static Tensor[] shift(Tensor[] x, Tensor[] v, double eps) {
    Tensor[] out = new Tensor[x.length];
    for (int i = 0; i < x.length; i++) {
      double[] a = x[i].toDoubleArray(), d = v[i].toDoubleArray();
      for (int k = 0; k < a.length; k++) a[k] += eps * d[k];
      out[i] = Tensor.of(a, x[i].shape());
    }
    return out;
  }

  private static Tensor randomLike(Random rnd, Tensor t) {
    double[] v = new double[Math.toIntExact(t.numel())];
    for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
    return Tensor.of(v, t.shape());
  }
}
