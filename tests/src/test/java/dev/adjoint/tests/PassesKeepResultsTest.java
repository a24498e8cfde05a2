package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's rewriting passes (CSE, simplification, constant folding, fusion) change how a graph runs,
 * not what it computes: the same random graphs, their gradients and second derivatives, compiled with
 * the passes on and off. Elementwise-only float32 graphs must agree bit for bit (fusion reorders
 * nothing); graphs with matmul and reductions within float64 rounding.
 */
class PassesKeepResultsTest {
  @AfterEach
  void restore() {
    Adjoint.setOptimize(true);
  }

  static List<Tensor> both(Supplier<Value> run, boolean optimize) {
    Adjoint.setOptimize(optimize);
    return run.get().leaves();
  }

  /** Value, gradient and second derivative of f at in, each compiled afresh. */
  static Value derivatives(Cell.Fn f, Tensor... in) {
    Cell.Fn scalar = a -> Ops.sum(f.apply(a).asTensor());
    Cell.Fn g = Autodiff.grad(scalar, false, 0);
    Cell.Fn h = Autodiff.grad(a -> Ops.sum(Ops.mul(g.apply(a).asTensor(), Ops.cos(a[0]))), false, 0);
    return dev.adjoint.Tuple.of(Cell.of(in.length, f).call(in), Cell.of(in.length, g).call(in), Cell.of(in.length, h).call(in));
  }

  static Tensor elementwise(Random r, Tensor[] in, int depth) {
    if (depth == 0 || r.nextInt(6) == 0) return in[r.nextInt(in.length)];
    Tensor a = elementwise(r, in, depth - 1);
    switch (r.nextInt(7)) {
      case 0: return Ops.sin(a);
      case 1: return Ops.cos(a);
      case 2: return Ops.tanh(a);
      case 3: return Ops.mul(a, elementwise(r, in, depth - 1));
      case 4: return Ops.add(a, Ops.mul(elementwise(r, in, depth - 1), 0.5));
      case 5: return Ops.sub(Ops.neg(a), Ops.mul(a, 1.0));
      default: return Ops.exp(Ops.mul(Ops.tanh(a), 0.25));
    }
  }

  @Test
  void switchingThePassesOffChangesThePlan() {
    Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
    Cell.Fn f = in -> Ops.mul(Ops.sin(Ops.cos(in[0])), Ops.onesLike(in[0]));
    String on = Cell.of(f).explain(x);
    Adjoint.setOptimize(false);
    String off = Cell.of(f).explain(x);
    assertTrue(off.lines().count() > on.lines().count(), "passes on:\n" + on + "\npasses off:\n" + off);
  }

  @Test
  void elementwiseFloat32BitForBit() {
    for (int seed = 0; seed < 20; seed++) {
      long graphSeed = new Random(seed).nextLong();
      Random rnd = new Random(seed);
      Tensor x = Tensor.uniform(rnd, DType.FLOAT32, -2, 2, 257, 33);
      Tensor y = Tensor.uniform(rnd, DType.FLOAT32, -2, 2, 257, 33);
      Cell.Fn f = in -> elementwise(new Random(graphSeed), in, 5);
      List<Tensor> on = both(() -> derivatives(f, x, y), true);
      List<Tensor> off = both(() -> derivatives(f, x, y), false);
      for (int k = 0; k < on.size(); k++)
        assertArrayEquals(off.get(k).toFloatArray(), on.get(k).toFloatArray(), "graph " + seed + " output " + k);
    }
  }

  @Test
  void generalGraphsFloat64() {
    for (int seed = 0; seed < 20; seed++) {
      long graphSeed = new Random(seed).nextLong();
      Random rnd = new Random(seed);
      Tensor x = GradcheckTest.rand(rnd, -1, 1, RandomGraphPropertyTest.N, RandomGraphPropertyTest.N);
      Tensor y = GradcheckTest.rand(rnd, -1, 1, RandomGraphPropertyTest.N, RandomGraphPropertyTest.N);
      Cell.Fn f = in -> RandomGraphPropertyTest.expr(new Random(graphSeed), in, 4);
      List<Tensor> on = both(() -> derivatives(f, x, y), true);
      List<Tensor> off = both(() -> derivatives(f, x, y), false);
      for (int k = 0; k < on.size(); k++) {
        double[] a = off.get(k).toDoubleArray(), b = on.get(k).toDoubleArray();
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++)
          assertEquals(a[i], b[i], 1e-12 * Math.max(1, Math.abs(a[i])), "graph " + seed + " output " + k + " element " + i);
      }
    }
  }
}
