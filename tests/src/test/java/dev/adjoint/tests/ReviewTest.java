package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** Regression tests from the API review: each pins a bug that was found and fixed, or a contract. */
class ReviewTest {
  static Tensor d(double... v) {
    return Tensor.of(v, v.length);
  }

  // ------------------------------------------------------------------ trace state after failures

  /** An Error (not a RuntimeException) thrown inside construct must not leave the thread tracing. */
  @Test
  void errorInsideConstructDoesNotLeaveThreadTracing() {
    Tensor x = d(0.5, 1.5);
    Cell bad =
        Cell.of(
            in -> {
              Ops.sin(in[0]);
              throw new AssertionError("boom");
            });
    assertThrows(AssertionError.class, () -> bad.call(x));
    Tensor y = Ops.sin(x);
    assertFalse(y.isSymbolic(), "an eager op after a failed trace must run eagerly");
    close(y, 1e-12, Math.sin(0.5), Math.sin(1.5));
    // and the next trace on this thread starts clean
    close(Cell.of(in -> Ops.cos(in[0])).call(x), 1e-12, Math.cos(0.5), Math.cos(1.5));
  }

  @Test
  void errorInsideGradOperationDoesNotLeaveThreadTracing() {
    Tensor x = d(0.5, 1.5);
    Cell bad =
        new GradOperation()
            .of(
                Cell.of(
                    in -> {
                      throw new StackOverflowError("deep");
                    }));
    // A stack overflow while tracing becomes an AdjointException naming the cell, the cause kept.
    assertTrue(assertThrows(dev.adjoint.AdjointException.class, () -> bad.call(x)).getCause() instanceof StackOverflowError);
    assertFalse(Ops.sin(x).isSymbolic());
  }

  // ------------------------------------------------------------------ forward mode

  /** f returns a tensor captured from outside (a constant): its tangent is zeros, not a crash. */
  @Test
  void jvpOfConstantOutputIsZeros() {
    Tensor c = d(3, 4);
    Tensor x = d(1, 2);
    Tuple r = Autodiff.jvp(in -> c, new Tensor[] {x}, new Tensor[] {d(1, 1)});
    close(r.get(0), 1e-12, 3, 4);
    close(r.get(1), 1e-12, 0, 0);
  }

  /** f returns a parameter it did not otherwise use, next to a real output. */
  @Test
  void jvpOfParameterOutput() {
    Parameter p = new Parameter("p", d(7));
    Tensor x = d(1, 2);
    Tuple r =
        Autodiff.jvp(
            in -> Tuple.of(Ops.mul(in[0], in[0]), p), new Tensor[] {x}, new Tensor[] {d(1, 1)});
    close(r.get(1).asTuple().get(0), 1e-12, 2, 4);
    close(r.get(1).asTuple().get(1), 1e-12, 0);
  }

  @Test
  void forwardJacobianOfConstantFunction() {
    Tensor c = d(3, 4, 5);
    Value j = Autodiff.jacobian(in -> c, 0, true).apply(d(1, 2));
    close(j, shape(3, 2), 1e-12, 0, 0, 0, 0, 0, 0);
  }

  @Test
  void jvpWithBroadcasting() {
    // f(x, y) = x * y + x, x [3], y [2, 3]
    Tensor x = d(1, 2, 3), y = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor tx = d(1, 0, 2), ty = Tensor.of(new double[] {0, 1, 0, 1, 0, 1}, 2, 3);
    Tuple r =
        Autodiff.jvp(
            in -> Ops.add(Ops.mul(in[0], in[1]), in[0]), new Tensor[] {x, y}, new Tensor[] {tx, ty});
    // tangent = tx*y + x*ty + tx
    double[] xv = {1, 2, 3}, txv = {1, 0, 2};
    double[] yv = {1, 2, 3, 4, 5, 6}, tyv = {0, 1, 0, 1, 0, 1};
    double[] want = new double[6];
    for (int i = 0; i < 6; i++) want[i] = txv[i % 3] * yv[i] + xv[i % 3] * tyv[i] + txv[i % 3];
    close(r.get(1), shape(2, 3), 1e-12, want);
  }

  // ------------------------------------------------------------------ outputs

  /** The same tensor returned twice in a tuple: two independent, correct outputs. */
  @Test
  void sameTensorReturnedTwice() {
    Tensor x = d(0.5, 1.5);
    Tuple t =
        Cell.of(
                in -> {
                  Tensor s = Ops.sin(in[0]);
                  return Tuple.of(s, s);
                })
            .call(x)
            .asTuple();
    close(t.get(0), 1e-12, Math.sin(0.5), Math.sin(1.5));
    close(t.get(1), 1e-12, Math.sin(0.5), Math.sin(1.5));
    t.tensor(0).close();
    close(t.get(1), 1e-12, Math.sin(0.5), Math.sin(1.5));
  }

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

  // ------------------------------------------------------------------ GradOperation structure

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

  // ------------------------------------------------------------------ custom bprop

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

  // ------------------------------------------------------------------ nested GradOperation

  /** Inner cell with a parameter and a sens; outer differentiates w.r.t. that parameter. */
  @Test
  void gradOfSensGradWithParameters() {
    Lin net = new Lin(); // f = x w + b
    Cell square = new Cell() {
      final Lin lin = net;

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

  // ------------------------------------------------------------------ jacobian / hessian shapes

  @Test
  void jacobianOfMatrixFunction() {
    // f(X) = X @ A, X [2, 3], A [3, 2]: J[i, k, j, l] = delta_ij A[l, k]
    double[] a = {1, 2, 3, 4, 5, 6};
    Tensor A = Tensor.of(a, 3, 2);
    Tensor X = Tensor.of(new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, 2, 3);
    double[] want = new double[2 * 2 * 2 * 3];
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
          for (int l = 0; l < 3; l++) want[((i * 2 + k) * 2 + j) * 3 + l] = i == j ? a[l * 2 + k] : 0;
    for (boolean fwd : new boolean[] {false, true}) {
      Value j = Autodiff.jacobian(in -> Ops.matmul(in[0], A), 0, fwd).apply(X);
      close(j, shape(2, 2, 2, 3), 1e-12, want);
    }
    // Hessian of sum(X^3): diag(6 X), shape [2, 3, 2, 3]
    Value h = Autodiff.hessian(in -> Ops.sum(Ops.mul(in[0], Ops.square(in[0])))).apply(X);
    double[] xv = X.toDoubleArray();
    double[] hw = new double[36];
    for (int i = 0; i < 6; i++) hw[i * 6 + i] = 6 * xv[i];
    close(h, shape(2, 3, 2, 3), 1e-12, hw);
  }

  // ------------------------------------------------------------------ caching

  @Test
  void cacheKeyedByDtype() {
    Cell net = Cell.of(in -> Ops.sin(in[0]));
    Tensor f = net.apply(Tensor.of(new float[] {0.5f}));
    Tensor g = net.apply(d(0.5));
    assertEquals(DType.FLOAT32, f.dtype());
    assertEquals(DType.FLOAT64, g.dtype());
    assertEquals(2, net.compiledSignatures());
  }

  @Test
  void sensStructureChangesRecompile() {
    Cell net = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])));
    Cell g = GradOperation.builder().sensParam(true).build().of(net);
    Tensor x = d(0.5);
    close(g.call(x, Tuple.of(d(1), d(0))), 1e-12, Math.cos(0.5));
    assertThrows(AdjointException.class, () -> g.call(x, d(1)));
    assertThrows(AdjointException.class, () -> g.call(x, Tuple.of(Tuple.of(d(1)), d(0))));
  }

  // ------------------------------------------------------------------ leaked symbolic tensors

  @Test
  void leakedSymbolicTensorIsAClearError() {
    Tensor[] leak = new Tensor[1];
    Cell net =
        Cell.of(
            in -> {
              leak[0] = Ops.sin(in[0]);
              return leak[0];
            });
    net.call(d(1));
    Tensor s = leak[0];
    assertTrue(s.isSymbolic());
    assertThrows(AdjointException.class, () -> Ops.cos(s));
    assertThrows(AdjointException.class, () -> Ops.add(d(1), s));
    assertThrows(AdjointException.class, s::toDoubleArray);
    assertThrows(AdjointException.class, s::item);
    assertThrows(AdjointException.class, () -> s.to(dev.adjoint.Device.CPU));
    assertThrows(AdjointException.class, () -> new Parameter("p", s));
    assertThrows(AdjointException.class, () -> new Parameter("p", d(1)).assign(s));
    assertThrows(AdjointException.class, () -> Cell.of(in -> Ops.add(in[0], s)).call(d(1)));
    assertThrows(AdjointException.class, () -> new GradOperation().of(Cell.of(in -> Ops.sin(in[0]))).call(s));
    assertThrows(AdjointException.class, () -> Autodiff.grad(in -> Ops.sum(Ops.mul(in[0], s))).apply(d(1)));
    assertFalse(Ops.sin(d(1)).isSymbolic());
  }

  // ------------------------------------------------------------------ integer inputs

  @Test
  void integerInputsAreClearErrors() {
    Tensor i = Tensor.of(new int[] {1, 2});
    Cell net = Cell.of(in -> Ops.sin(in[0]));
    AdjointException e = assertThrows(AdjointException.class, () -> new GradOperation().of(net).call(i));
    assertTrue(e.getMessage().contains("Int32"), e.getMessage());
    AdjointException j =
        assertThrows(AdjointException.class, () -> Autodiff.jacobian(in -> in[0], 0).apply(i));
    assertTrue(j.getMessage().contains("Int32"), j.getMessage());
    AdjointException k =
        assertThrows(AdjointException.class, () -> Autodiff.jacobian(in -> in[0], 0, true).apply(i));
    assertTrue(k.getMessage().contains("Int32"), k.getMessage());
  }

  // ------------------------------------------------------------------ batch 2

  @Test
  void closedParameterNamesIt() {
    Lin net = new Lin();
    Tensor x = d(1, 3);
    net.apply(x);
    net.b.close();
    RuntimeException e = assertThrows(RuntimeException.class, () -> net.apply(x));
    assertTrue(e.getMessage().contains("'b'"), e.getMessage());
  }

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

  @Test
  void sameParameterTwiceInList() {
    Lin net = new Lin();
    Tuple g = GradOperation.builder().getByList(true).build().of(net, ParameterTuple.of(net.w, net.w)).call(d(1, 3)).asTuple();
    close(g.get(0), 1e-12, 4);
    close(g.get(1), 1e-12, 4);
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
    HigherOrderTest.Scaled net = new HigherOrderTest.Scaled();
    Cell c = net;
    for (int i = 0; i < 3; i++) c = GradOperation.builder().getByList(true).build().of(c, net.w);
    double w = 0.7, x = 0.4;
    // d3/dw3 sin(x w) = -x^3 cos(x w)
    close(c.call(d(x)), 1e-12, -x * x * x * Math.cos(x * w));
  }

  @Test
  void hostCallbackWithIntInput() {
    Tensor i = Tensor.of(new int[] {1, 2, 3});
    Tensor out =
        Cell.of(in -> Ops.hostCall("twice", (a, o) -> { for (int k = 0; k < o.length; k++) o[k] = 2 * a[0][k]; }, DType.FLOAT64, new long[] {3}, in[0]))
            .apply(i);
    close(out, 1e-12, 2, 4, 6);
    Tensor io =
        Cell.of(in -> Ops.hostCall("inc", (a, o) -> { for (int k = 0; k < o.length; k++) o[k] = a[0][k] + 1; }, DType.INT32, new long[] {3}, in[0]))
            .apply(i);
    assertEquals(java.util.Arrays.toString(new int[] {2, 3, 4}), java.util.Arrays.toString(io.toIntArray()));
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
