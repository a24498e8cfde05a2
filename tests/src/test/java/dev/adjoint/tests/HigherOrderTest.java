package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.d;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.autodiff.GradOperation;
import org.junit.jupiter.api.Test;

/** Nested GradOperation to any order, mixed partials and cross derivatives, custom bprop. */
class HigherOrderTest {
  final double[] xs = {0.3, -1.1, 2.4};
  final Tensor x = Tensor.of(xs, 3);
  final Cell sin = Cell.of(in -> Ops.sin(in[0]));

  static Cell nest(Cell c, int times) {
    for (int i = 0; i < times; i++) c = new GradOperation().of(c);
    return c;
  }

  double[] map(java.util.function.DoubleUnaryOperator f) {
    double[] r = new double[xs.length];
    for (int i = 0; i < r.length; i++) r[i] = f.applyAsDouble(xs[i]);
    return r;
  }

  @Test
  void sinDerivativesToFourthOrder() {
    close(nest(sin, 1).call(x), 1e-12, map(Math::cos));
    close(nest(sin, 2).call(x), 1e-12, map(v -> -Math.sin(v)));
    close(nest(sin, 3).call(x), 1e-12, map(v -> -Math.cos(v)));
    close(nest(sin, 4).call(x), 1e-12, map(Math::sin));
  }

  /** f(x, y) = sum(x^2 y^3): the Hessian rows selected by a sens of (1, 0) and (0, 1). */
  @Test
  void mixedPartialsWithTupleSens() {
    Tensor a = Tensor.of(new double[] {1.5}, 1), b = Tensor.of(new double[] {-0.5}, 1);
    Cell f = Cell.of(in -> Ops.sum(Ops.mul(Ops.square(in[0]), Ops.mul(in[1], Ops.square(in[1])))));
    Cell inner = GradOperation.builder().getAll(true).build().of(f);
    Cell outer = GradOperation.builder().getAll(true).sensParam(true).build().of(inner);
    Tensor one = Tensor.of(new double[] {1}, 1), zero = Tensor.of(new double[] {0}, 1);
    double x0 = 1.5, y0 = -0.5;
    Tuple row0 = outer.call(a, b, Tuple.of(one, zero)).asTuple();
    close(row0.get(0), 1e-12, 2 * y0 * y0 * y0); // d2f/dx2
    close(row0.get(1), 1e-12, 6 * x0 * y0 * y0); // d2f/dxdy
    Tuple row1 = outer.call(a, b, Tuple.of(zero, one)).asTuple();
    close(row1.get(0), 1e-12, 6 * x0 * y0 * y0); // d2f/dydx: symmetric
    close(row1.get(1), 1e-12, 6 * x0 * x0 * y0); // d2f/dy2
  }

  static final class Scaled extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {0.7}, 1));

    @Override
    public Value construct(Tensor... in) {
      return Ops.sin(Ops.mul(in[0], w));
    }
  }

  /** Inner: d/dw sum(sin(x w)) = sum(x cos(x w)); outer d/dx: cos(xw) - x w sin(xw). */
  @Test
  void weightsThenInput() {
    Scaled net = new Scaled();
    Cell dw = GradOperation.builder().getByList(true).build().of(net, net.trainableParams());
    Value dxdw = new GradOperation().of(dw).call(x);
    double w = 0.7;
    close(dxdw, 1e-12, map(v -> Math.cos(v * w) - v * w * Math.sin(v * w)));
  }

  /** Inner: d/dx = w cos(xw); outer d/dw of its sum: sum(cos(xw) - w x sin(xw)). */
  @Test
  void inputThenWeights() {
    Scaled net = new Scaled();
    Cell dx = new GradOperation().of(net);
    Value dwdx = GradOperation.builder().getByList(true).build().of(dx, net.w).call(x);
    double w = 0.7, expect = 0;
    for (double v : xs) expect += Math.cos(v * w) - w * v * Math.sin(v * w);
    close(dwdx, shape(1), 1e-12, expect);
  }

  /** x^3 with a hand-written bprop 3 x^2 dout: second order goes through the bprop. */
  static final class Cube extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.mul(in[0], Ops.square(in[0]));
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(Ops.mul(dout.asTensor(), Ops.mul(Ops.square(in[0]), 3)));
    }
  }

  /** A deliberately "wrong" bprop (always 2 dout), to prove the bprop replaces the real derivative. */
  static final class Fake extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.sin(in[0]);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(Ops.mul(dout.asTensor(), 2));
    }
  }

  @Test
  void bpropReplacesDerivativeEverywhereAndIsDifferentiable() {
    close(new GradOperation().of(new Fake()).call(x), 1e-12, 2, 2, 2);
    // inside a bigger net: d/dx exp(Fake(x)) = exp(sin x) * 2
    Fake fake = new Fake();
    Cell outer = Cell.of(in -> Ops.exp(fake.call(in[0]).asTensor()));
    close(new GradOperation().of(outer).call(x), 1e-12, map(v -> Math.exp(Math.sin(v)) * 2));
    // second and third order through the bprop: 6x, then 6
    close(nest(new Cube(), 1).call(x), 1e-12, map(v -> 3 * v * v));
    close(nest(new Cube(), 2).call(x), 1e-12, map(v -> 6 * v));
    close(nest(new Cube(), 3).call(x), 1e-12, 6, 6, 6);
  }

  @Test
  void bpropMayUseGradOperation() {
    // bprop of sin written with an inner GradOperation of sin: dout * cos(x)
    Cell viaGrad =
        new Cell() {
          final Cell dsin = new GradOperation().of(Cell.of(in -> Ops.sin(in[0])));

          @Override
          public Value construct(Tensor... in) {
            return Ops.sin(in[0]);
          }

          @Override
          public Tuple bprop(Tensor[] in, Value out, Value dout) {
            return Tuple.of(Ops.mul(dout.asTensor(), dsin.call(in[0]).asTensor()));
          }
        };
    close(new GradOperation().of(viaGrad).call(x), 1e-12, map(Math::cos));
    close(nest(viaGrad, 2).call(x), 1e-12, map(v -> -Math.sin(v)));
  }

  @Test
  void bpropIsValidated() {
    Cell wrongCount =
        new Cell() {
          @Override
          public Value construct(Tensor... in) {
            return Ops.mul(in[0], in[1]);
          }

          @Override
          public Tuple bprop(Tensor[] in, Value out, Value dout) {
            return Tuple.of(in[0]);
          }

          @Override
          public String name() {
            return "WrongCount";
          }
        };
    AdjointException e = assertThrows(AdjointException.class, () -> GradOperation.builder().getAll(true).build().of(wrongCount).call(x, x));
    assertTrue(e.getMessage().contains("WrongCount") && e.getMessage().contains("1 gradient(s) for 2 input(s)"), e.getMessage());

    Cell wrongShape = Check.sinWithBprop("WrongShape", (in, out, dout) -> Tuple.of(Ops.sum(in[0])));
    AdjointException s = assertThrows(AdjointException.class, () -> new GradOperation().of(wrongShape).call(x));
    assertTrue(s.getMessage().contains("WrongShape") && s.getMessage().contains("[3]"), s.getMessage());
  }

  static final class WithParam extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {2}, 1));

    @Override
    public Value construct(Tensor... in) {
      return Ops.mul(in[0], w);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(dout.asTensor());
    }
  }

  @Test
  void parameterGradientsCannotComeFromBprop() {
    WithParam net = new WithParam();
    AdjointException e =
        assertThrows(AdjointException.class, () -> GradOperation.builder().getByList(true).build().of(net, net.trainableParams()).call(x));
    assertTrue(e.getMessage().contains("WithParam") && e.getMessage().contains("[w]"), e.getMessage());
  }

  @Test
  void higherOrderCompiledOnceAndMemoryFlat() {
    Cell d3 = nest(sin, 3);
    d3.call(x).asTensor().close();
    long compilations = Adjoint.compilations();
    long live = Adjoint.liveBuffers();
    for (int i = 0; i < 10_000; i++) {
      try (Tensor t = d3.call(x).asTensor()) {
        if (i == 0) close(t, 1e-12, map(v -> -Math.cos(v)));
      }
    }
    assertEquals(compilations, Adjoint.compilations(), "no recompilation");
    assertEquals(1, d3.compiledSignatures());
    assertTrue(Adjoint.liveBuffers() <= live, "no buffer kept alive across calls");
  }

  @Test
  void gradOfGradOfParamsTuple() {
    Scaled net = new Scaled();
    ParameterTuple p = net.trainableParams();
    Cell g = GradOperation.builder().getByList(true).build().of(net, p);
    Cell gg = GradOperation.builder().getByList(true).build().of(g, p);
    // d2/dw2 sum(sin(xw)) = -sum(x^2 sin(xw))
    double w = 0.7, expect = 0;
    for (double v : xs) expect -= v * v * Math.sin(v * w);
    close(gg.call(x).asTuple().get(0), shape(1), 1e-12, expect);
  }

  // ------------------------------------------------------------------ custom bprop: tuple outputs, reuse, nesting, validation, forward mode; nested GradOperation with parameters

  /** A bprop cell with a tuple output: bprop sees out/dout as tuples. Scales dx by 10. */
  static final class TwoOut extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Tuple.of(Ops.sin(in[0]), Ops.mul(in[0], in[1]));
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      Tuple o = out.asTuple(), g = dout.asTuple();
      Tensor dx = Ops.add(Ops.mul(g.tensor(0), Ops.cos(in[0])), Ops.mul(g.tensor(1), in[1]));
      Tensor dy = Ops.mul(g.tensor(1), in[0]);
      assertEquals(2, o.size());
      return Tuple.of(Ops.mul(dx, 10.0), dy);
    }
  }

  @Test
  void bpropCellUsedTwiceAndWithOtherParams() {
    TwoOut two = new TwoOut();
    Tensor x = d(0.5), y = d(2);
    // used twice: f = sum of both outputs of two(x, y) and of two(y, x)
    Cell net =
        Cell.of(
            in -> {
              Tuple a = two.call(in[0], in[1]).asTuple();
              Tuple b = two.call(in[1], in[0]).asTuple();
              return Ops.add(Ops.add(a.tensor(0), a.tensor(1)), Ops.add(b.tensor(0), b.tensor(1)));
            });
    Tuple g = GradOperation.builder().getAll(true).build().of(net).call(x, y).asTuple();
    double xv = 0.5, yv = 2;
    close(g.get(0), 1e-12, 10 * (Math.cos(xv) + yv) + yv);
    close(g.get(1), 1e-12, xv + 10 * (Math.cos(yv) + xv));
  }

  static final class WithBpropInside extends Cell {
    final Parameter w = parameter("w", Tensor.of(new double[] {3}, 1));
    final TwoOut two = new TwoOut();

    @Override
    public Value construct(Tensor... in) {
      Tuple t = two.call(Ops.mul(in[0], w), in[0]).asTuple();
      return Ops.add(t.tensor(0), t.tensor(1));
    }
  }

  @Test
  void getByListOnOtherParamsThroughBpropCell() {
    WithBpropInside net = new WithBpropInside();
    Tensor x = d(0.5);
    // f = sin(xw) + xw*x; bprop scales d/d(first input) by 10: d/du = 10 (cos(u) + x), u = xw
    double xv = 0.5, w = 3, u = xv * w;
    Value dw = GradOperation.builder().getByList(true).build().of(net, net.w).call(x);
    close(dw, 1e-12, 10 * (Math.cos(u) + xv) * xv);
  }

  /** bprop that ignores dout; nested bprop cells (outer's bprop wins). */
  @Test
  void bpropIgnoringDoutAndNestedBprop() {
    Cell inner = Check.sinWithBprop("Inner", (in, out, dout) -> Tuple.of(Ops.fill(DType.FLOAT64, 7, in[0].shape())));
    Cell outer =
        new Cell() {
          @Override
          public Value construct(Tensor... in) {
            return Ops.mul(inner.call(in[0]).asTensor(), 2.0);
          }

          @Override
          public Tuple bprop(Tensor[] in, Value out, Value dout) {
            return Tuple.of(Ops.mul(dout.asTensor(), 3.0));
          }
        };
    Tensor x = d(0.5, 1);
    close(new GradOperation().of(inner).call(x), 1e-12, 7, 7);
    close(new GradOperation().of(outer).call(x), 1e-12, 3, 3);
    Cell wrap = Cell.of(in -> Ops.mul(outer.call(in[0]).asTensor(), in[0]));
    // d/dx (outer(x) * x) = 3 x + outer(x) = 3x + 2 sin x
    close(new GradOperation().of(wrap).call(x), 1e-12, 1.5 + 2 * Math.sin(0.5), 3 + 2 * Math.sin(1));
  }

  @Test
  void bpropReturningWrongThingsNamesTheCell() {
    Tensor x = d(0.5, 1);
    class BadShape extends Cell {
      @Override
      public Value construct(Tensor... in) {
        return Ops.sin(in[0]);
      }

      @Override
      public Tuple bprop(Tensor[] in, Value out, Value dout) {
        return Tuple.of(Ops.sum(dout.asTensor()));
      }
    }
    class BadDtype extends BadShape {
      @Override
      public Tuple bprop(Tensor[] in, Value out, Value dout) {
        return Tuple.of(Ops.fill(DType.FLOAT32, 1, 2));
      }
    }
    class BadCount extends BadShape {
      @Override
      public Tuple bprop(Tensor[] in, Value out, Value dout) {
        return Tuple.of(dout, dout);
      }
    }
    for (Cell c : new Cell[] {new BadShape(), new BadDtype(), new BadCount()}) {
      AdjointException e = assertThrows(AdjointException.class, () -> new GradOperation().of(c).call(x));
      assertTrue(e.getMessage().contains(c.name()), e.getMessage());
      assertFalse(Ops.sin(x).isSymbolic());
    }
  }

  /** Inner cell with a parameter and a sens; outer differentiates w.r.t. that parameter. */
  @Test
  void gradOfSensGradWithParameters() {
    GradOperationSemanticsTest.Lin net = new GradOperationSemanticsTest.Lin(); // f = x w + b
    Cell square = new Cell() {
      final GradOperationSemanticsTest.Lin lin = net;

      @Override
      public Value construct(Tensor... in) {
        return Ops.square(lin.call(in[0]).asTensor());
      }
    };
    // inner: d/dx sum(s * (xw+b)^2) = 2 s (xw+b) w
    Cell inner = GradOperation.builder().sensParam(true).build().of(square);
    Tensor x = d(1, 3), s = d(1, 2);
    close(inner.call(x, s), 1e-12, 2 * 1 * 7 * 2, 2 * 2 * 11 * 2);
    // outer: d/dw of sum(2 s (xw+b) w) = sum(2 s (2 x w + b))
    Value dw = GradOperation.builder().getByList(true).build().of(inner, net.w).call(x, s);
    close(dw, 1e-12, 2 * 1 * (2 * 1 * 2 + 5) + 2 * 2 * (2 * 3 * 2 + 5));
    // outer getAll as well: d/dx = 2 s w^2, d/ds = 2 (xw+b) w
    Tuple both = GradOperation.builder().getAll(true).getByList(true).build().of(inner, net.w).call(x, s).asTuple();
    close(both.get(0).asTuple().get(0), 1e-12, 8, 16);
    close(both.get(0).asTuple().get(1), 1e-12, 28, 44);
  }

  @Test
  void sameTensorTwiceIntoBpropCell() {
    TwoOut two = new TwoOut();
    Tensor x = d(0.5);
    Cell net = Cell.of(in -> {
      Tuple t = two.call(in[0], in[0]).asTuple();
      return Ops.add(t.tensor(0), t.tensor(1));
    });
    // bprop: dx = 10 (cos x + x), dy = x; both flow to x
    close(new GradOperation().of(net).call(x), 1e-12, 10 * (Math.cos(0.5) + 0.5) + 0.5);
    Tuple all = GradOperation.builder().getAll(true).build().of(two).call(x, x).asTuple();
    close(all.get(0), 1e-12, 10 * (Math.cos(0.5) + 0.5));
    close(all.get(1), 1e-12, 0.5);
  }

  @Test
  void thirdOrderInWeights() {
    Scaled net = new Scaled();
    Cell c = net;
    for (int i = 0; i < 3; i++) c = GradOperation.builder().getByList(true).build().of(c, net.w);
    double w = 0.7, x = 0.4;
    // d3/dw3 sin(x w) = -x^3 cos(x w)
    close(c.call(d(x)), 1e-12, -x * x * x * Math.cos(x * w));
  }

  @Test
  void forwardAndReverseJacobianAgreeForBpropCell() {
    Cell scaled = Check.sinWithBprop("Scaled", (in, out, dout) -> Tuple.of(Ops.mul(dout.asTensor(), 5.0)));
    Tensor x = d(0.5, 1);
    Value rev = Autodiff.jacobian(in -> scaled.call(in[0]), 0, false).apply(x);
    Value fwd = Autodiff.jacobian(in -> scaled.call(in[0]), 0, true).apply(x);
    close(rev, shape(2, 2), 1e-12, 5, 0, 0, 5);
    close(fwd, shape(2, 2), 1e-12, 5, 0, 0, 5);
  }

  /** jvp through a multi-output bprop cell uses the bprop: J = [[10 cos x, 0], [10 y, x]]. */
  @Test
  void jvpThroughMultiOutputBpropCell() {
    TwoOut two = new TwoOut();
    double xv = 0.5, yv = 2, vx = 0.3, vy = -1.2;
    Tuple r = Autodiff.jvp(in -> two.call(in[0], in[1]), new Tensor[] {d(xv), d(yv)}, new Tensor[] {d(vx), d(vy)});
    Tuple t = r.get(1).asTuple();
    close(t.get(0), 1e-12, 10 * Math.cos(xv) * vx);
    close(t.get(1), 1e-12, 10 * yv * vx + xv * vy);
    // tangent only on y
    Tuple r2 = Autodiff.jvp(in -> two.call(in[0], in[1]), new Tensor[] {d(xv), d(yv)}, new Tensor[] {d(0), d(vy)});
    close(r2.get(1).asTuple().get(0), 1e-12, 0);
    close(r2.get(1).asTuple().get(1), 1e-12, xv * vy);
  }
}
