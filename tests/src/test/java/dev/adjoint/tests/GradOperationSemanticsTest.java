package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import org.junit.jupiter.api.Test;

/** Each rule of DESIGN.md's "Semantics to match", with values worked out by hand. */
class GradOperationSemanticsTest {
  final Tensor x = Tensor.of(new double[] {0.5, -1.0, 2.0}, 3);
  final Tensor y = Tensor.of(new double[] {1.5, 0.25, -3.0}, 3);

  /** f(x, y) = sum(x * y * w) + sum(u * 0) for parameters w = [2], u unused. */
  static final class Net extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {2}, 1));
    final Parameter unused = parameter("unused", Tensor.of(new double[] {1, 1}, 2));

    @Override
    public Value construct(Tensor... in) {
      return Ops.mul(Ops.mul(in[0], in[1]), w);
    }
  }

  @Test
  void firstInputIsBareTensor() {
    Value g = new GradOperation().of(new Net()).call(x, y);
    assertInstanceOf(Tensor.class, g);
    close(g, shape(3), 1e-12, 3.0, 0.5, -6.0);
  }

  @Test
  void getAllAlwaysTuple() {
    Value g = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sin(in[0]))).call(x);
    assertInstanceOf(Tuple.class, g);
    assertEquals(1, g.asTuple().size());
    close(g.asTuple().get(0), shape(3), 1e-12, Math.cos(0.5), Math.cos(-1.0), Math.cos(2.0));
  }

  @Test
  void getByListTupleAndSingleParameter() {
    Net net = new Net();
    ParameterTuple params = net.trainableParams();
    assertEquals(2, params.size());
    assertEquals("w", params.get(0).name());
    Tuple g = GradOperation.builder().getByList(true).build().of(net, params).call(x, y).asTuple();
    // d/dw sum(x*y*w) = sum(x*y) = 0.75 - 0.25 - 6
    close(g.get(0), shape(1), 1e-12, -5.5);
    close(g.get(1), shape(2), 0, 0, 0); // unused parameter: zeros of its shape
    Value single = GradOperation.builder().getByList(true).build().of(net, net.w).call(x, y);
    assertInstanceOf(Tensor.class, single);
    close(single, shape(1), 1e-12, -5.5);
  }

  @Test
  void getAllAndGetByList() {
    Net net = new Net();
    Tuple g =
        GradOperation.builder().getAll(true).getByList(true).build()
            .of(net, ParameterTuple.of(net.w)).call(x, y).asTuple();
    assertEquals(2, g.size());
    Tuple inputs = g.get(0).asTuple(), params = g.get(1).asTuple();
    close(inputs.get(0), shape(3), 1e-12, 3.0, 0.5, -6.0);
    close(inputs.get(1), shape(3), 1e-12, 1.0, -2.0, 4.0);
    close(params.get(0), shape(1), 1e-12, -5.5);
  }

  @Test
  void tupleOutputSummedAndTupleSens() {
    Cell sc = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])));
    close(new GradOperation().of(sc).call(x), 1e-12,
        Math.cos(0.5) - Math.sin(0.5), Math.cos(-1.0) - Math.sin(-1.0), Math.cos(2.0) - Math.sin(2.0));
    Tensor s1 = Tensor.of(new double[] {1, 0, 2}, 3), s2 = Tensor.of(new double[] {0, 1, 1}, 3);
    Value g = GradOperation.builder().sensParam(true).build().of(sc).call(x, Tuple.of(s1, s2));
    close(g, 1e-12, Math.cos(0.5), -Math.sin(-1.0), 2 * Math.cos(2.0) - Math.sin(2.0));
  }

  @Test
  void sensMismatchNamesLeafAndShapes() {
    Cell sc = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])));
    Cell g = GradOperation.builder().sensParam(true).build().of(sc);
    AdjointException e =
        assertThrows(AdjointException.class, () -> g.call(x, Tuple.of(Tensor.of(new double[] {1, 1, 1}, 3), Tensor.of(new double[] {1, 1}, 2))));
    assertTrue(e.getMessage().contains("sens leaf 1") && e.getMessage().contains("[2]") && e.getMessage().contains("[3]"), e.getMessage());
    AdjointException s = assertThrows(AdjointException.class, () -> g.call(x, Tensor.of(new double[] {1, 1, 1}, 3)));
    assertTrue(s.getMessage().contains("structure"), s.getMessage());
  }

  @Test
  void unusedInputGetsZeros() {
    Value g = GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sin(in[0]))).call(x, Tensor.of(new double[] {1, 2, 3, 4}, 2, 2));
    close(g.asTuple().get(1), shape(2, 2), 0, 0, 0, 0, 0);
  }

  static final class ReturnsParam extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {1, 2}, 2));

    @Override
    public Value construct(Tensor... in) {
      return Tuple.of(w, Ops.mul(in[0], w));
    }
  }

  @Test
  void parameterReturnedAsIsHasGradientOne() {
    ReturnsParam net = new ReturnsParam();
    Value g = GradOperation.builder().getByList(true).build().of(net, net.w).call(Tensor.of(new double[] {3, 4}, 2));
    close(g, shape(2), 1e-12, 1 + 3, 1 + 4);
  }

  @Test
  void sameTensorPassedTwiceHasTwoGradients() {
    Cell mul = Cell.of(in -> Ops.mul(in[0], in[1]));
    Tuple g = GradOperation.builder().getAll(true).build().of(mul).call(x, x).asTuple();
    close(g.get(0), 1e-12, 0.5, -1.0, 2.0);
    close(g.get(1), 1e-12, 0.5, -1.0, 2.0);
  }

  @Test
  void stopGradientOnInputIntermediateOneUseAndOneOutput() {
    // on an input: f = stop(x) * y
    Cell onInput = Cell.of(in -> Ops.mul(Ops.stopGradient(in[0]), in[1]));
    Tuple g = GradOperation.builder().getAll(true).build().of(onInput).call(x, y).asTuple();
    close(g.get(0), 1e-12, 0, 0, 0);
    close(g.get(1), 1e-12, 0.5, -1.0, 2.0);
    // on an intermediate: f = sin(x) + stop(sin(x) * 3)
    Cell inter = Cell.of(in -> Ops.add(Ops.sin(in[0]), Ops.stopGradient(Ops.mul(Ops.sin(in[0]), 3))));
    close(new GradOperation().of(inter).call(x), 1e-12, Math.cos(0.5), Math.cos(-1.0), Math.cos(2.0));
    // one use of a value used twice: f = stop(x) * x  => df/dx = x
    Cell oneUse = Cell.of(in -> Ops.mul(Ops.stopGradient(in[0]), in[0]));
    close(new GradOperation().of(oneUse).call(x), 1e-12, 0.5, -1.0, 2.0);
    // one output of a multi-output cell: (sin x, stop(cos x)) => cos x
    Cell multi = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.stopGradient(Ops.cos(in[0]))));
    close(new GradOperation().of(multi).call(x), 1e-12, Math.cos(0.5), Math.cos(-1.0), Math.cos(2.0));
  }

  @Test
  void broadcastingGradientsReduceToInputShape() {
    Tensor m = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor b = Tensor.of(new double[] {10, 20, 30}, 3);
    Cell f = Cell.of(in -> Ops.sum(Ops.mul(in[0], in[1])));
    Tuple g = GradOperation.builder().getAll(true).build().of(f).call(m, b).asTuple();
    close(g.get(0), shape(2, 3), 1e-12, 10, 20, 30, 10, 20, 30);
    close(g.get(1), shape(3), 1e-12, 5, 7, 9);
  }

  @Test
  void errorsNameTheProblem() {
    Cell sin = Cell.of(in -> Ops.sin(in[0]));
    AdjointException intInput =
        assertThrows(AdjointException.class, () -> new GradOperation().of(Cell.of(in -> in[0])).call(Tensor.of(new int[] {1, 2}, 2)));
    assertTrue(intInput.getMessage().contains("Int32"), intInput.getMessage());

    AdjointException noSens = assertThrows(AdjointException.class, () -> GradOperation.builder().sensParam(true).build().of(sin).call(x));
    assertTrue(noSens.getMessage().contains("sens"), noSens.getMessage());

    AdjointException arity = assertThrows(AdjointException.class, () -> new GradOperation().of(new Net()).call(x));
    assertTrue(arity.getMessage().contains("argument"), arity.getMessage());

    Net other = new Net();
    AdjointException notOwned =
        assertThrows(AdjointException.class, () -> GradOperation.builder().getByList(true).build().of(new Net(), ParameterTuple.of(other.w)));
    assertTrue(notOwned.getMessage().contains("not a parameter"), notOwned.getMessage());

    AdjointException noList = assertThrows(AdjointException.class, () -> GradOperation.builder().getByList(true).build().of(sin));
    assertTrue(noList.getMessage().contains("getByList"), noList.getMessage());
  }

  // ------------------------------------------------------------------ result structure, unused inputs, nested sens, repeated parameters

  /** Two unused inputs of the same shape each get their own zeros. */
  @Test
  void twoUnusedInputsGetZeros() {
    Tensor x = d(0.5, 1.5), y = d(1, 2), z = d(3, 4);
    Tuple g =
        GradOperation.builder().getAll(true).build().of(Cell.of(in -> Ops.sin(in[0]))).call(x, y, z).asTuple();
    close(g.get(0), 1e-12, Math.cos(0.5), Math.cos(1.5));
    close(g.get(1), 1e-12, 0, 0);
    g.tensor(1).close();
    close(g.get(2), 1e-12, 0, 0);
  }

  static final class Lin extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {2}, 1));
    final Parameter b = parameter("b", Tensor.of(new double[] {5}, 1));

    @Override
    public Value construct(Tensor... in) {
      return Ops.add(Ops.mul(in[0], w), b);
    }
  }

  @Test
  void resultStructureForEveryFlagCombination() {
    Lin net = new Lin();
    Tensor x = d(1, 3);
    ParameterTuple ps = net.trainableParams();
    // one input, getAll: (dx,)
    Tuple all = GradOperation.builder().getAll(true).build().of(net).call(x).asTuple();
    assertEquals(1, all.size());
    close(all.get(0), 1e-12, 2, 2);
    // getByList with a single Parameter: bare tensor
    Value dw = GradOperation.builder().getByList(true).build().of(net, net.w).call(x);
    close(dw, 1e-12, 4);
    // getAll + single Parameter: ((dx,), dw)
    Tuple both = GradOperation.builder().getAll(true).getByList(true).build().of(net, net.w).call(x).asTuple();
    assertEquals(2, both.size());
    assertEquals(1, both.get(0).asTuple().size());
    close(both.get(1), 1e-12, 4);
    // getAll + ParameterTuple + sens: ((dx,), (dw, db))
    Tuple s =
        GradOperation.builder().getAll(true).getByList(true).sensParam(true).build().of(net, ps)
            .call(x, d(1, 2))
            .asTuple();
    close(s.get(0).asTuple().get(0), 1e-12, 2, 4);
    close(s.get(1).asTuple().get(0), 1e-12, 1 + 6);
    close(s.get(1).asTuple().get(1), 1e-12, 3);
    // getByList + ParameterTuple of one: (dw,)
    Tuple one = GradOperation.builder().getByList(true).build().of(net, ParameterTuple.of(net.b)).call(x).asTuple();
    assertEquals(1, one.size());
    close(one.get(0), 1e-12, 2);
  }

  /** Nested tuple output ((a, b), c) with a nested sens. */
  @Test
  void nestedTupleSens() {
    Tensor x = d(0.5, 1.5);
    Cell net = Cell.of(in -> Tuple.of(Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])), Ops.square(in[0])));
    Value g =
        GradOperation.builder().sensParam(true).build().of(net)
            .call(x, Tuple.of(Tuple.of(d(1, 0), d(0, 1)), d(1, 1)));
    close(g, 1e-12, Math.cos(0.5) + 1.0, -Math.sin(1.5) + 3.0);
    AdjointException e =
        assertThrows(
            AdjointException.class,
            () -> GradOperation.builder().sensParam(true).build().of(net).call(x, Tuple.of(d(1, 0), d(0, 1), d(1, 1))));
    assertTrue(e.getMessage().contains("structure"), e.getMessage());
  }

  @Test
  void sameParameterTwiceInList() {
    Lin net = new Lin();
    Tuple g = GradOperation.builder().getByList(true).build().of(net, ParameterTuple.of(net.w, net.w)).call(d(1, 3)).asTuple();
    close(g.get(0), 1e-12, 4);
    close(g.get(1), 1e-12, 4);
  }
}
