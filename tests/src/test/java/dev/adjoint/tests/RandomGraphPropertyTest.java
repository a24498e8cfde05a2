package dev.adjoint.tests;

import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.Gradcheck;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Random small graphs of the core ops (elementwise, broadcasting, matmul with transposes, reductions),
 * first and second order against finite differences. The engine's passes (CSE, simplification, fusion,
 * memory reuse) all run on these graphs, so this also checks that they keep results right.
 * stopGradient is left out: finite differences see through it by design.
 */
class RandomGraphPropertyTest {
  static final int N = 3; // every value is [N, N] so any two combine

  static Tensor expr(Random r, Tensor[] in, int depth) {
    if (depth == 0 || r.nextInt(5) == 0) return in[r.nextInt(in.length)];
    Tensor a = expr(r, in, depth - 1);
    switch (r.nextInt(12)) {
      case 0: return Ops.sin(a);
      case 1: return Ops.cos(a);
      case 2: return Ops.tanh(a);
      case 3: return Ops.mul(a, expr(r, in, depth - 1));
      case 4: return Ops.add(a, expr(r, in, depth - 1));
      case 5: return Ops.sub(a, Ops.sum(expr(r, in, depth - 1), true, r.nextInt(2))); // broadcast back
      case 6: return Ops.matmul(a, expr(r, in, depth - 1), r.nextBoolean(), r.nextBoolean());
      case 7: return Ops.square(Ops.mul(a, 0.5));
      case 8: return Ops.exp(Ops.mul(Ops.tanh(a), 0.5));
      case 9: return Ops.transpose(a);
      case 10: return Ops.neg(Ops.div(a, Ops.add(Ops.square(expr(r, in, depth - 1)), 1)));
      default: return Ops.mul(a, Ops.cos(expr(r, in, depth - 1)));
    }
  }

  @TestFactory
  Stream<DynamicTest> randomGraphsFirstAndSecondOrder() {
    return IntStream.range(0, 24)
        .mapToObj(
            seed ->
                DynamicTest.dynamicTest(
                    "graph " + seed,
                    () -> {
                      Random shapeOf = new Random(seed);
                      long graphSeed = shapeOf.nextLong();
                      // The same seed gives the same graph at every trace (the gradcheck traces it several times).
                      Cell.Fn f = in -> expr(new Random(graphSeed), in, 4);
                      Random rnd = new Random(seed + 1000);
                      Tensor[] in = {
                        GradcheckTest.rand(rnd, -1, 1, N, N), GradcheckTest.rand(rnd, -1, 1, N, N)
                      };
                      Gradcheck.check(f, 2, 1e-6, 1e-5, rnd, in);
                    }));
  }
}
