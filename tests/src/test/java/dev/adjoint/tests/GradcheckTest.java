package dev.adjoint.tests;

import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.Gradcheck;
import dev.adjoint.internal.Op;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Gradcheck of every differentiable op in the table, first and second order, in float64 against central
 * differences, on random shapes (with broadcasting) and values. One case per op; a new op without a case
 * fails {@link #everyOpHasACase}.
 */
class GradcheckTest {
  /** How to exercise one op: a function and random inputs in the op's valid domain. */
  record Case(Cell.Fn fn, Generator inputs) {}

  interface Generator {
    Tensor[] make(Random rnd);
  }

  static Tensor rand(Random rnd, double lo, double hi, long... shape) {
    long count = 1;
    for (long d : shape) count *= d;
    double[] v = new double[(int) count];
    for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rnd.nextDouble();
    return Tensor.of(v, shape);
  }

  /** Values away from 0 (for relu, step, div): magnitude in [0.3, 2], random sign. */
  static Tensor awayFromZero(Random rnd, long... shape) {
    long count = 1;
    for (long d : shape) count *= d;
    double[] v = new double[(int) count];
    for (int i = 0; i < v.length; i++) v[i] = (0.3 + 1.7 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
    return Tensor.of(v, shape);
  }

  static long dim(Random rnd) {
    return 1 + rnd.nextInt(4);
  }

  static final Map<Op, Case> CASES = new EnumMap<>(Op.class);

  static {
    CASES.put(Op.IDENTITY, new Case(in -> Ops.mul(Ops.stopGradient(in[0]), 0).add(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.NEG, new Case(in -> Ops.neg(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.SIN, new Case(in -> Ops.sin(in[0]), r -> new Tensor[] {rand(r, -6, 6, dim(r), dim(r))}));
    CASES.put(Op.COS, new Case(in -> Ops.cos(in[0]), r -> new Tensor[] {rand(r, -6, 6, dim(r), dim(r))}));
    CASES.put(Op.EXP, new Case(in -> Ops.exp(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.LOG, new Case(in -> Ops.log(in[0]), r -> new Tensor[] {rand(r, 0.5, 3, dim(r), dim(r))}));
    CASES.put(Op.TANH, new Case(in -> Ops.tanh(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.SIGMOID, new Case(in -> Ops.sigmoid(in[0]), r -> new Tensor[] {rand(r, -4, 4, dim(r), dim(r))}));
    CASES.put(Op.ABS, new Case(in -> Ops.abs(in[0]), r -> new Tensor[] {awayFromZero(r, dim(r), dim(r))}));
    CASES.put(Op.SOFTPLUS, new Case(in -> Ops.softplus(in[0]), r -> new Tensor[] {rand(r, -4, 4, dim(r), dim(r))}));
    CASES.put(Op.LOG1P, new Case(in -> Ops.log1p(in[0]), r -> new Tensor[] {rand(r, -0.5, 3, dim(r), dim(r))}));
    CASES.put(Op.EXPM1, new Case(in -> Ops.expm1(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.RELU, new Case(in -> Ops.mul(Ops.relu(in[0]), in[0]), r -> new Tensor[] {awayFromZero(r, dim(r), dim(r))}));
    CASES.put(Op.STEP, new Case(in -> Ops.mul(Ops.step(in[0]), Ops.sin(in[0])), r -> new Tensor[] {awayFromZero(r, dim(r), dim(r))}));
    CASES.put(Op.SQUARE, new Case(in -> Ops.square(in[0]), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.SQRT, new Case(in -> Ops.sqrt(in[0]), r -> new Tensor[] {rand(r, 0.5, 3, dim(r), dim(r))}));
    CASES.put(Op.ADD, new Case(in -> Ops.mul(Ops.add(in[0], in[1]), Ops.add(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.SUB, new Case(in -> Ops.square(Ops.sub(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.MUL, new Case(in -> Ops.mul(in[0], in[1]), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.MINIMUM, new Case(in -> Ops.mul(Ops.minimum(in[0], in[1]), in[0]), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.MAXIMUM, new Case(in -> Ops.mul(Ops.maximum(in[0], in[1]), in[1]), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.LT, new Case(in -> Ops.add(Ops.mul(Ops.lt(in[0], in[1]), Ops.sin(in[0])), Ops.mul(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.LE, new Case(in -> Ops.add(Ops.mul(Ops.le(in[0], in[1]), Ops.sin(in[0])), Ops.mul(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.GT, new Case(in -> Ops.add(Ops.mul(Ops.gt(in[0], in[1]), Ops.sin(in[0])), Ops.mul(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.GE, new Case(in -> Ops.add(Ops.mul(Ops.ge(in[0], in[1]), Ops.sin(in[0])), Ops.mul(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.EQ, new Case(in -> Ops.add(Ops.mul(Ops.eq(in[0], in[1]), Ops.sin(in[0])), Ops.mul(in[0], in[1])), r -> broadcastPair(r, -2, 2)));
    CASES.put(Op.DIV, new Case(in -> Ops.div(in[0], in[1]), r -> {
      long m = dim(r), n = dim(r);
      return new Tensor[] {rand(r, -2, 2, m, n), awayFromZero(r, n)};
    }));
    CASES.put(Op.MATMUL, new Case(in -> Ops.add(Ops.matmul(in[0], in[1]), Ops.matmul(in[0], in[1], false, false)), r -> {
      long m = dim(r), k = dim(r), n = dim(r);
      return new Tensor[] {rand(r, -2, 2, m, k), rand(r, -2, 2, k, n)};
    }));
    CASES.put(Op.SUM, new Case(in -> Ops.square(Ops.sum(in[0], false, 1)), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r), dim(r))}));
    CASES.put(Op.MEAN, new Case(in -> Ops.square(Ops.mean(in[0], true, 0, 2)), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r), dim(r))}));
    CASES.put(Op.SUM_TO_SHAPE, new Case(in -> Ops.square(Ops.sumToShape(in[0], 1, in[0].shape()[1])), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.RESHAPE, new Case(in -> Ops.mul(Ops.reshape(in[0], -1), Ops.sin(Ops.reshape(in[0], -1))), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.TRANSPOSE, new Case(in -> Ops.matmul(Ops.transpose(in[0], 1, 0, 2), Ops.transpose(in[0], 1, 2, 0)), r -> {
      long a = dim(r), b = dim(r);
      return new Tensor[] {rand(r, -2, 2, a, b, a)};
    }));
    CASES.put(Op.BROADCAST_TO, new Case(in -> Ops.mul(Ops.broadcastTo(in[0], 3, in[0].shape()[0]), Ops.broadcastTo(in[0], 3, in[0].shape()[0])), r -> new Tensor[] {rand(r, -2, 2, dim(r))}));
    CASES.put(Op.FILL, new Case(in -> Ops.mul(in[0], Ops.fill(in[0].dtype(), 1.5, in[0].shape())), r -> new Tensor[] {rand(r, -2, 2, dim(r))}));
    CASES.put(Op.ONES_LIKE, new Case(in -> Ops.mul(Ops.square(in[0]), Ops.onesLike(in[0])), r -> new Tensor[] {rand(r, -2, 2, dim(r))}));
    CASES.put(Op.ZEROS_LIKE, new Case(in -> Ops.add(Ops.sin(in[0]), Ops.zerosLike(in[0])), r -> new Tensor[] {rand(r, -2, 2, dim(r))}));
    CASES.put(Op.POW, new Case(in -> Ops.pow(in[0], in[1]), r -> {
      long m = dim(r), n = dim(r);
      return new Tensor[] {rand(r, 0.5, 2.5, m, n), rand(r, -2, 2, n)};
    }));
    // randomUniform is constant in its counter (here 0 * sum(x) + 3, so the zero rule is asked for a
    // cotangent): the gradient reaches x through sin(x) only
    CASES.put(Op.RANDOM_UNIFORM, new Case(in -> Ops.mul(Ops.sin(in[0]), Ops.randomUniform(Ops.add(Ops.mul(Ops.sum(in[0]), 0), 3), 5, in[0].dtype(), in[0].shape())), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    // indexing: index tensors are constants of the traced function, drawn in range
    CASES.put(Op.SLICE, new Case(in -> Ops.mul(Ops.slice(in[0], 1, 0, in[0].shape()[1], 2), Ops.slice(in[0], 1, 0, in[0].shape()[1], 2)), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r) + 1)}));
    CASES.put(Op.SLICE_GRAD, new Case(in -> Ops.square(Op.SLICE_GRAD.apply(new long[] {0, 1, 1 + 2 * in[0].shape()[0] - 1, 2, 2 * in[0].shape()[0] + 1}, 0, in[0])), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.CONCAT, new Case(in -> Ops.square(Ops.concat(0, in[0], in[1], in[0])), r -> {
      long n = dim(r);
      return new Tensor[] {rand(r, -2, 2, dim(r), n), rand(r, -2, 2, dim(r), n)};
    }));
    CASES.put(Op.GATHER, new Case(in -> Ops.square(Ops.take(in[0], 0, indices(in[0], new Random(in[0].numel()), in[0].shape()[0], 2, 3))), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.SCATTER_ADD, new Case(in -> Ops.square(Ops.scatterAdd(in[0], 1, indices(in[0], new Random(in[0].numel()), 3, in[0].shape()[1]), 3)), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.ONE_HOT, new Case(in -> Ops.mul(Ops.oneHot(indices(in[0], new Random(7), in[0].shape()[1], in[0].shape()[0]), in[0].shape()[1], DType.FLOAT64), Ops.sin(in[0])), r -> new Tensor[] {rand(r, -2, 2, dim(r), dim(r))}));
    CASES.put(Op.ARGMAX, new Case(in -> Ops.mul(Ops.take(in[0], 1, Ops.argmax(in[0], 1, false)), Ops.sin(in[0])), r -> {
      long n = dim(r);
      return new Tensor[] {rand(r, -2, 2, n, n)};
    }));
  }

  /** Int32 indices in [0, bound) of the given shape, on the device of {@code like} (CudaConformanceTest runs these cases on a GPU). */
  static Tensor indices(Tensor like, Random rnd, long bound, long... shape) {
    long count = 1;
    for (long d : shape) count *= d;
    int[] v = new int[(int) count];
    for (int i = 0; i < v.length; i++) v[i] = rnd.nextInt((int) bound);
    Tensor t = Tensor.of(v, shape);
    return like.device().equals(dev.adjoint.Device.CPU) ? t : t.to(like.device());
  }

  static Tensor[] broadcastPair(Random r, double lo, double hi) {
    long m = dim(r), n = dim(r);
    return switch (r.nextInt(3)) {
      case 0 -> new Tensor[] {rand(r, lo, hi, m, n), rand(r, lo, hi, m, n)};
      case 1 -> new Tensor[] {rand(r, lo, hi, m, n), rand(r, lo, hi, n)};
      default -> new Tensor[] {rand(r, lo, hi, m, 1), rand(r, lo, hi, 1, n)};
    };
  }

  /** Ops that have no derivative or none of their own, each for a stated reason. */
  static final List<Op> NOT_CHECKED =
      List.of(
          Op.MAX, // not differentiable by design: used under stopGradient (see logSoftmax)
          Op.CALLBACK, // differentiable only through a bprop: HostCallbackTest
          Op.INPUT, Op.STOP_GRADIENT, Op.CUSTOM_VJP); // markers, covered by the semantics tests

  @Test
  void everyOpHasACase() {
    List<Op> missing = new ArrayList<>();
    for (Op op : Op.values()) if (!CASES.containsKey(op) && !NOT_CHECKED.contains(op)) missing.add(op);
    assertTrue(missing.isEmpty(), "ops without a gradcheck case: " + missing);
  }

  @TestFactory
  Stream<DynamicTest> firstAndSecondOrder() {
    return CASES.entrySet().stream()
        .flatMap(
            e ->
                Stream.of(1, 2, 3)
                    .map(
                        seed ->
                            DynamicTest.dynamicTest(
                                e.getKey().opName + " seed " + seed,
                                () -> {
                                  Random rnd = new Random(seed * 31L + e.getKey().ordinal());
                                  Tensor[] in = e.getValue().inputs().make(rnd);
                                  Gradcheck.check(e.getValue().fn(), 2, 1e-6, 1e-5, rnd, in);
                                })));
  }

  /** Forward mode against reverse mode for every op: {@code <u, J v>} computed both ways. */
  @TestFactory
  Stream<DynamicTest> jvpAgreesWithVjp() {
    return CASES.entrySet().stream()
        .map(
            e ->
                DynamicTest.dynamicTest(
                    e.getKey().opName,
                    () -> {
                      Random rnd = new Random(17 + e.getKey().ordinal());
                      Tensor[] in = e.getValue().inputs().make(rnd);
                      Tensor[] v = new Tensor[in.length];
                      for (int i = 0; i < in.length; i++) v[i] = rand(rnd, -1, 1, in[i].shape());
                      Tuple jvp = Autodiff.jvp(e.getValue().fn(), in, v);
                      Tensor out = jvp.tensor(0);
                      Tensor u = rand(rnd, -1, 1, out.shape());
                      Tuple ct = Autodiff.vjp(e.getValue().fn(), in).pullback().apply(u);
                      double left = AutodiffTest.dot(u, jvp.tensor(1)), right = 0;
                      for (int i = 0; i < in.length; i++) right += AutodiffTest.dot(ct.tensor(i), v[i]);
                      assertEquals(left, right, 1e-10 * Math.max(1, Math.abs(left)), e.getKey().opName);
                    }));
  }

  @TestFactory
  Stream<DynamicTest> thirdOrderSinCosMatmul() {
    return Stream.of(Op.SIN, Op.COS, Op.MATMUL)
        .map(
            op ->
                DynamicTest.dynamicTest(
                    op.opName,
                    () -> {
                      Random rnd = new Random(op.ordinal());
                      Case c = op == Op.MATMUL
                          ? new Case(in -> Ops.sin(Ops.matmul(in[0], in[1], false, true)), r -> new Tensor[] {rand(r, -1, 1, 2, 3), rand(r, -1, 1, 4, 3)})
                          : CASES.get(op);
                      Gradcheck.check(c.fn(), 3, 1e-4, 1e-4, rnd, c.inputs().make(rnd));
                    }));
  }

  @Test
  void matmulAllTransposeCombinationsAndBatched() {
    Random rnd = new Random(5);
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        boolean a = ta == 1, b = tb == 1;
        Tensor x = a ? rand(rnd, -1, 1, 3, 2) : rand(rnd, -1, 1, 2, 3);
        Tensor y = b ? rand(rnd, -1, 1, 4, 3) : rand(rnd, -1, 1, 3, 4);
        Gradcheck.check(in -> Ops.sin(Ops.matmul(in[0], in[1], a, b)), 2, 1e-6, 1e-5, rnd, x, y);
      }
    Gradcheck.check(in -> Ops.sin(Ops.matmul(in[0], in[1])), 2, 1e-6, 1e-5, rnd, rand(rnd, -1, 1, 2, 2, 3), rand(rnd, -1, 1, 3, 4));
  }

  @Test
  void whereAndClamp() {
    Random rnd = new Random(11);
    Tensor mask = Tensor.of(new double[] {1, 0, 2, 0, -1, 0}, 2, 3);
    Gradcheck.check(in -> Ops.where(mask, in[0], in[1]), 2, 1e-6, 1e-5, rnd, rand(rnd, -2, 2, 2, 3), rand(rnd, -2, 2, 3));
    Tensor lo = Tensor.of(new double[] {-0.5}, 1), hi = Tensor.of(new double[] {0.7}, 1);
    Gradcheck.check(in -> Ops.mul(Ops.clamp(in[0], lo, hi), in[0]), 2, 1e-6, 1e-5, rnd, rand(rnd, -2, 2, 3, 4));
  }

  @Test
  void softmaxCrossEntropy() {
    Random rnd = new Random(9);
    Tensor labels = Tensor.of(new double[] {0, 1, 0, 1, 0, 0}, 2, 3);
    Gradcheck.check(in -> Ops.softmaxCrossEntropy(in[0], labels), 2, 1e-6, 1e-5, rnd, rand(rnd, -2, 2, 2, 3));
  }

  // ------------------------------------------------------------------ broadcasts that change rank

  @Test
  void rankChangingBroadcastsGradcheck() {
    java.util.Random r = new java.util.Random(3);
    java.util.function.Function<long[], Tensor> rnd =
        s -> Tensor.uniform(r, DType.FLOAT64, -1, 1, s);
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.mul(in[0], Ops.sin(in[1])), 2, rnd.apply(new long[] {}), rnd.apply(new long[] {2, 3}));
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.div(in[0], Ops.add(Ops.square(in[1]), 1.0)), 2, rnd.apply(new long[] {2, 1, 3}), rnd.apply(new long[] {4, 1}));
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.matmul(in[0], in[1]), 2, rnd.apply(new long[] {2, 3, 4}), rnd.apply(new long[] {4, 5}));
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.matmul(in[0], in[1], true, true), 2, rnd.apply(new long[] {4, 3}), rnd.apply(new long[] {2, 5, 4}));
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.sin(Ops.matmul(in[0], in[1])), 2, rnd.apply(new long[] {1, 3, 4}), rnd.apply(new long[] {2, 4, 5}));
    dev.adjoint.autodiff.Gradcheck.check(in -> Ops.sub(in[0], Ops.mean(in[1], true, -1)), 2, rnd.apply(new long[] {3}), rnd.apply(new long[] {2, 3}));
  }
}
