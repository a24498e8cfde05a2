package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import org.junit.jupiter.api.Test;

/**
 * A forward jacobian (and so a hessian) pushes each column's tangent through the dependent subgraph only:
 * never through the nodes that earlier columns recorded. Its trace grows linearly with the number of
 * columns (the output is n x n, but a constant number of nodes per column), where it once grew
 * exponentially (n = 20 needed more than 8 GB). Sizes are counted in traced nodes, never in time.
 */
class HessianScalingTest {
  static final Cell.Fn SUM_SIN = in -> Ops.sum(Ops.sin(in[0]));

  static double[] points(int n) {
    double[] x = new double[n];
    for (int i = 0; i < n; i++) x[i] = -3 + 6.0 * i / n + 0.01;
    return x;
  }

  static double[] diagNegSin(double[] x) {
    int n = x.length;
    double[] h = new double[n * n];
    for (int i = 0; i < n; i++) h[i * n + i] = -Math.sin(x[i]);
    return h;
  }

  /** Nodes traced (and compiled, and run) for the hessian of f at n points, checked against diag(-sin x). */
  static long tracedNodesOfHessian(int n) {
    double[] x = points(n);
    Cell.Fn h = Autodiff.hessian(SUM_SIN); // a fresh cell: traced and compiled anew
    long before = Adjoint.tracedNodes();
    Tensor out = h.apply(Tensor.of(x, n)).asTensor();
    long nodes = Adjoint.tracedNodes() - before;
    close(out, shape(n, n), 1e-12, diagNegSin(x));
    return nodes;
  }

  @Test
  void hessianOfSumSinAt64Points() {
    double[] x = points(64);
    Tensor h = Autodiff.hessian(SUM_SIN).apply(Tensor.of(x, 64)).asTensor();
    close(h, shape(64, 64), 1e-12, diagNegSin(x));
  }

  @Test
  void hessianTraceGrowsAtMostQuadratically() {
    // Small sizes first, so that a regression fails on the ratio before it runs out of memory.
    int[] sizes = {4, 8, 16, 32, 64};
    long[] nodes = new long[sizes.length];
    for (int i = 0; i < sizes.length; i++) {
      nodes[i] = tracedNodesOfHessian(sizes[i]);
      if (i == 0) continue;
      double ratio = (double) nodes[i] / nodes[i - 1];
      // Doubling n at most quadruples the trace (it is in fact about doubled: linear in n).
      assertTrue(
          ratio <= 4.0,
          "hessian of sum(sin x): n = " + sizes[i - 1] + " traced " + nodes[i - 1] + " nodes, n = " + sizes[i]
              + " traced " + nodes[i] + " (x" + ratio + ")");
    }
    // And in absolute terms: a constant number of nodes per column, far below n^2.
    assertTrue(nodes[4] <= 64L * 64, "n = 64 traced " + nodes[4] + " nodes");
  }

  /**
   * The same for general forward jacobians: a deeper graph per column, a custom bprop (whose transposed
   * bprop gives the tangents) and a stopGradient; each checked against reverse mode.
   */
  @Test
  void forwardJacobianTraceGrowsAtMostQuadratically() {
    Cell sinB = Check.sinWithBprop("sinB", (in, out, dout) -> Tuple.of(Ops.mul(dout.asTensor(), Ops.cos(in[0]))));
    Cell.Fn[] fs = {
      in -> Ops.mul(Ops.sin(Ops.mul(in[0], in[0])), Ops.sum(Ops.cos(in[0]))),
      in -> Ops.mul(sinB.call(Ops.square(in[0])).asTensor(), Ops.sum(in[0])),
      in -> Ops.mul(Ops.sin(in[0]), Ops.stopGradient(Ops.sum(Ops.exp(in[0])))),
    };
    int[] sizes = {4, 8, 16, 32};
    for (int k = 0; k < fs.length; k++) {
      long[] nodes = new long[sizes.length];
      for (int i = 0; i < sizes.length; i++) {
        int n = sizes[i];
        Cell.Fn j = Autodiff.jacobian(fs[k], 0, true);
        long before = Adjoint.tracedNodes();
        Tensor fwd = j.apply(Tensor.of(points(n), n)).asTensor();
        nodes[i] = Adjoint.tracedNodes() - before;
        Tensor rev = Autodiff.jacobian(fs[k], 0, false).apply(Tensor.of(points(n), n)).asTensor();
        close(fwd, shape(n, n), 1e-12, rev.toDoubleArray());
        if (i > 0)
          assertTrue(
              nodes[i] <= 4 * nodes[i - 1],
              "forward jacobian " + k + ": n = " + sizes[i - 1] + " traced " + nodes[i - 1] + " nodes, n = " + n
                  + " traced " + nodes[i]);
      }
    }
  }
}
