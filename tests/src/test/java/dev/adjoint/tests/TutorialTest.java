package dev.adjoint.tests;

import static dev.adjoint.tests.Check.close;
import static dev.adjoint.tests.Check.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import org.junit.jupiter.api.Test;

/**
 * Every example of MindSpore's automatic-derivation tutorial, value for value, on the tutorial's cells
 * (defined here as the tutorial defines them; {@code ./adjoint tutorial} runs the same ones from
 * dev.adjoint.examples.Tutorial, whose printed output TutorialOutputTest in examples checks).
 */
class TutorialTest {
  /** f(x, y) = (x * z) @ y with a weight z = [1]. */
  static final class Net extends Cell {
    final Parameter z = parameter("z", Tensor.of(new float[] {1f}));

    @Override
    public Value construct(Tensor... in) {
      return Ops.matmul(Ops.mul(in[0], z), in[1]);
    }
  }

  /** out1 + stopGradient(out2), where both are x @ y. */
  static final class StopNet extends Cell {
    private final boolean stop;

    StopNet(boolean stop) {
      this.stop = stop;
    }

    @Override
    public Value construct(Tensor... in) {
      Tensor out1 = Ops.matmul(in[0], in[1]);
      Tensor out2 = Ops.matmul(in[0], in[1]);
      if (stop) out2 = Ops.stopGradient(out2);
      return Ops.add(out1, out2);
    }
  }

  /** x @ y with a custom bprop returning (x + 1, y + 1). */
  static final class BpropNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.matmul(in[0], in[1]);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(Ops.add(in[0], 1), Ops.add(in[1], 1));
    }
  }

  /** (sin x - cos y, cos x - sin y). */
  static final class MimoNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      Tensor x = in[0], y = in[1];
      return Tuple.of(Ops.sub(Ops.sin(x), Ops.cos(y)), Ops.sub(Ops.cos(x), Ops.sin(y)));
    }
  }

  static final float F32 = 1e-5f;
  final Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
  final Tensor y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});

  @Test
  void inputDerivative() {
    Value dx = new GradOperation().of(new Net()).call(x, y);
    close(dx, shape(2, 3), F32, 4.51, 2.7, 3.6, 4.51, 2.7, 3.6);
    assertTrue(dx.toString().startsWith("Tensor(shape=[2, 3], dtype=Float32, value=\n[["), dx.toString());
  }

  @Test
  void allInputDerivatives() {
    Tuple g = GradOperation.builder().getAll(true).build().of(new Net()).call(x, y).asTuple();
    assertEquals(2, g.size());
    close(g.get(0), shape(2, 3), F32, 4.51, 2.7, 3.6, 4.51, 2.7, 3.6);
    // dy[i][j] = sum over rows of x[:, i]
    close(g.get(1), shape(3, 3), F32, 2.6, 2.6, 2.6, 1.9, 1.9, 1.9, 1.3, 1.3, 1.3);
  }

  @Test
  void weightDerivative() {
    Net net = new Net();
    Tuple dz = GradOperation.builder().getByList(true).build().of(net, net.trainableParams()).call(x, y).asTuple();
    assertEquals(1, dz.size());
    close(dz.get(0), shape(1), 1e-4, 21.536);
  }

  @Test
  void gradientValueScaling() {
    Tensor sens = Tensor.of(new float[][] {{0.1f, 0.6f, 0.2f}, {0.8f, 1.3f, 1.1f}});
    Value dx = GradOperation.builder().sensParam(true).build().of(new Net()).call(x, y, sens);
    close(dx, shape(2, 3), F32, 2.211, 0.51, 1.49, 5.588, 2.68, 4.07);
  }

  @Test
  void stopGradient() {
    close(new GradOperation().of(new StopNet(true)).call(x, y), shape(2, 3), F32, 4.51, 2.7, 3.6, 4.51, 2.7, 3.6);
    close(new GradOperation().of(new StopNet(false)).call(x, y), shape(2, 3), F32, 9.02, 5.4, 7.2, 9.02, 5.4, 7.2);
  }

  @Test
  void customBprop() {
    Tensor bx = Tensor.of(new float[][] {{0.5f, 0.6f, 0.4f}, {1.2f, 1.3f, 1.1f}});
    Tensor by = Tensor.of(new float[][] {{0.01f, 0.3f, 1.1f}, {0.1f, 0.2f, 1.3f}, {2.1f, 1.2f, 3.3f}});
    Tuple g = GradOperation.builder().getAll(true).build().of(new BpropNet()).call(bx, by).asTuple();
    close(g.get(0), shape(2, 3), F32, 1.5, 1.6, 1.4, 2.2, 2.3, 2.1);
    close(g.get(1), shape(3, 3), F32, 1.01, 1.3, 2.1, 1.1, 1.2, 2.3, 3.1, 2.2, 4.3);
  }

  static final Tensor PI = Tensor.of(new float[] {3.1415926f});

  @Test
  void singleInputSingleOutputSecondOrder() {
    Cell sin = Cell.of(in -> Ops.sin(in[0]));
    Value out = new GradOperation().of(new GradOperation().of(sin)).call(PI);
    close(out, shape(1), 1e-6, -Math.sin(3.1415926f));
    assertEquals("-0.0", Double.toString(Math.rint(out.asTensor().item() * 100) / 100));
  }

  @Test
  void singleInputMultiOutputSecondOrder() {
    Cell sc = Cell.of(in -> Tuple.of(Ops.sin(in[0]), Ops.cos(in[0])));
    Value out = new GradOperation().of(new GradOperation().of(sc)).call(PI);
    close(out, shape(1), 1e-5, 1.0);
  }

  @Test
  void multiInputMultiOutputSecondOrder() {
    Cell net =
        Cell.of(
            in ->
                Tuple.of(
                    Ops.sub(Ops.sin(in[0]), Ops.cos(in[1])), Ops.sub(Ops.cos(in[0]), Ops.sin(in[1]))));
    GradOperation all = GradOperation.builder().getAll(true).build();
    Tuple out = all.of(all.of(net)).call(PI, PI).asTuple();
    close(out.get(0), shape(1), 1e-5, 1.0);
    close(out.get(1), shape(1), 1e-5, -1.0);
  }
}
