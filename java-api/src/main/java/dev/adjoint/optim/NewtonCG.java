package dev.adjoint.optim;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import java.util.ArrayList;
import java.util.List;

/**
 * Truncated Newton (Newton-CG, Nocedal and Wright, Algorithm 7.1) for a smooth scalar function of one
 * float64 tensor: each iteration solves H p = −g by conjugate gradients, where every H·v is one
 * {@link Autodiff#hvp} (forward over reverse, the Hessian never formed), stopping at the forcing term
 * η = min(0.5, ‖g‖) (so convergence is quadratic near a minimum) or at negative curvature, then
 * backtracks from the full step until the Armijo condition holds. Written against the public API only.
 *
 * <pre>{@code
 * Cell.Fn rosen = in -> ...;                                  // scalar f(x), x float64 [n]
 * NewtonCG.Result r = NewtonCG.minimize(rosen, x0, 50, 1e-10);
 * System.out.println(r.gradNorms());                          // ‖g‖ per iteration
 * }</pre>
 */
public final class NewtonCG {
  private NewtonCG() {}

  /**
   * The minimiser found, ‖∇f‖ and f at every iterate (the start included), and the H·v products used.
   *
   * <pre>{@code
   * NewtonCG.Result r = NewtonCG.minimize(f, x0, 50, 1e-10);
   * System.out.println(r.x()[0] + " after " + r.gradNorms().size() + " iterates");
   * }</pre>
   */
  public record Result(double[] x, List<Double> gradNorms, List<Double> values, int hessianVectorProducts) {
    /** The iterations taken. */
    public int iterations() {
      return gradNorms.size() - 1;
    }
  }

  /** Minimises f from x0 until ‖∇f‖ ≤ tol or maxIter iterations; f must return a scalar. */
  public static Result minimize(Cell.Fn f, Tensor x0, int maxIter, double tol) {
    if (f == null || x0 == null) throw new AdjointException("NewtonCG: f or x0 is null");
    if (x0.dtype() != DType.FLOAT64) throw new AdjointException("NewtonCG: x0 must be Float64, got " + x0.describe());
    if (maxIter < 0 || !(tol >= 0)) throw new AdjointException("NewtonCG: maxIter must be >= 0 and tol >= 0");
    long[] shape = x0.shape();
    Cell.Fn vg = Autodiff.valueAndGrad(f);
    double[] x = x0.toDoubleArray();
    int n = x.length, hvps = 0;
    List<Double> norms = new ArrayList<>(), values = new ArrayList<>();
    double[] fg = evaluate(vg, x, shape);
    double fx = fg[0];
    double[] g = java.util.Arrays.copyOfRange(fg, 1, n + 1);
    for (int it = 0; ; it++) {
      double gn = norm(g);
      norms.add(gn);
      values.add(fx);
      if (gn <= tol || it >= maxIter) break;
      Tensor xt = Tensor.of(x, shape);
      // CG on H p = -g from p = 0.
      double eta = Math.min(0.5, gn);
      double[] p = new double[n], r = new double[n], d = new double[n];
      for (int i = 0; i < n; i++) {
        r[i] = -g[i];
        d[i] = r[i];
      }
      double rr = dot(r, r);
      for (int k = 0; k < Math.max(2 * n, 10); k++) {
        double[] hd = Autodiff.hvp(f, xt, Tensor.of(d, shape)).toDoubleArray();
        hvps++;
        double curv = dot(d, hd);
        if (curv <= 0) {
          if (k == 0) p = r.clone(); // negative curvature at once: steepest descent
          break;
        }
        double alpha = rr / curv;
        for (int i = 0; i < n; i++) {
          p[i] += alpha * d[i];
          r[i] -= alpha * hd[i];
        }
        double rr2 = dot(r, r);
        if (Math.sqrt(rr2) <= eta * gn) break;
        double beta = rr2 / rr;
        for (int i = 0; i < n; i++) d[i] = r[i] + beta * d[i];
        rr = rr2;
      }
      // Armijo backtracking from the Newton step.
      double slope = dot(g, p), step = 1;
      double[] xn = new double[n], next = null;
      // Near the minimum the decrease falls below f's rounding and Armijo can no longer tell: then the
      // full Newton step is taken (it is the step that converges quadratically there).
      double noise = 1e-14 * Math.max(1, Math.abs(fx));
      for (int ls = 0; ls < 60; ls++) {
        for (int i = 0; i < n; i++) xn[i] = x[i] + step * p[i];
        next = evaluate(vg, xn, shape);
        if (next[0] <= fx + 1e-4 * step * slope || !(slope < 0)) break;
        if (step == 1 && Math.abs(next[0] - fx) <= noise && norm(java.util.Arrays.copyOfRange(next, 1, n + 1)) < gn) break;
        step *= 0.5;
      }
      x = xn.clone();
      fx = next[0];
      g = java.util.Arrays.copyOfRange(next, 1, n + 1);
    }
    return new Result(x, norms, values, hvps);
  }

  /**
   * The observed order of convergence of a sequence of errors, log(e₂/e₁) / log(e₁/e₀) for the last three
   * of its strictly decreasing run above {@code floor} (a stall at the rounding floor ends the run).
   */
  public static double observedOrder(List<Double> errors, double floor) {
    List<Double> e = new ArrayList<>();
    for (double v : errors) {
      if (!(v > floor) || (!e.isEmpty() && !(v < e.get(e.size() - 1)))) break;
      e.add(v);
    }
    if (e.size() < 3) throw new AdjointException("observedOrder: fewer than three errors above " + floor + " in " + errors);
    int k = e.size() - 1;
    return Math.log(e.get(k) / e.get(k - 1)) / Math.log(e.get(k - 1) / e.get(k - 2));
  }

  private static double[] evaluate(Cell.Fn vg, double[] x, long[] shape) {
    Tuple t = vg.apply(Tensor.of(x, shape)).asTuple();
    double[] g = t.tensor(1).toDoubleArray();
    double[] out = new double[g.length + 1];
    out[0] = t.tensor(0).item();
    System.arraycopy(g, 0, out, 1, g.length);
    return out;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  private static double norm(double[] a) {
    return Math.sqrt(dot(a, a));
  }
}
