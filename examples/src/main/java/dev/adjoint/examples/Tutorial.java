package dev.adjoint.examples;

import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import java.io.PrintStream;

/**
 * MindSpore's "Automatic Derivation" tutorial, example by example, in its order and with its values.
 * Each section names the tutorial's heading and prints what the tutorial prints.
 */
public final class Tutorial {
  private Tutorial() {}

  static final Tensor X = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
  static final Tensor Y =
      Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});

  /** f(x, y) = (x * z) @ y with a weight z = [1]. */
  public static final class Net extends Cell {
    public final Parameter z = parameter("z", Tensor.of(new float[] {1f}));

    @Override
    public Value construct(Tensor... in) {
      return Ops.matmul(Ops.mul(in[0], z), in[1]);
    }
  }

  /** out1 + stopGradient(out2), where both are x @ y. */
  public static final class StopNet extends Cell {
    private final boolean stop;

    public StopNet(boolean stop) {
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
  public static final class BpropNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.matmul(in[0], in[1]);
    }

    @Override
    public Tuple bprop(Tensor[] in, Value out, Value dout) {
      return Tuple.of(Ops.add(in[0], 1), Ops.add(in[1], 1));
    }
  }

  public static final class SinNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Ops.sin(in[0]);
    }
  }

  public static final class SinCosNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      return Tuple.of(Ops.sin(in[0]), Ops.cos(in[0]));
    }
  }

  public static final class MimoNet extends Cell {
    @Override
    public Value construct(Tensor... in) {
      Tensor x = in[0], y = in[1];
      return Tuple.of(Ops.sub(Ops.sin(x), Ops.cos(y)), Ops.sub(Ops.cos(x), Ops.sin(y)));
    }
  }

  public static void main(String[] args) {
    run(System.out);
  }

  /**
   * Prints every example as the tutorial's {@code print} does: a tensor as its values (MindSpore's
   * {@code print(tensor)}), a tuple in MindSpore's repr layout ({@code print(tuple)}).
   */
  public static void run(PrintStream out) {
    Printer p = new Printer(out);
    p.section("First-order Derivation / Computing the Input Derivative");
    Net net = new Net();
    p.print(new GradOperation().of(net).call(X, Y));

    p.section("... with get_all=True (derivatives of x and y)");
    p.print(GradOperation.builder().getAll(true).build().of(net).call(X, Y));

    p.section("Computing the Weight Derivative");
    ParameterTuple params = net.trainableParams();
    Tuple dz = GradOperation.builder().getByList(true).build().of(net, params).call(X, Y).asTuple();
    p.print(dz.get(0));

    p.section("Gradient Value Scaling (sens_param=True)");
    Tensor sens = Tensor.of(new float[][] {{0.1f, 0.6f, 0.2f}, {0.8f, 1.3f, 1.1f}});
    p.print(GradOperation.builder().sensParam(true).build().of(net).call(X, Y, sens));

    p.section("Stopping Gradient Computation (out2 = stop_gradient(out2))");
    p.print(new GradOperation().of(new StopNet(true)).call(X, Y));

    p.section("... and without stop_gradient");
    p.print(new GradOperation().of(new StopNet(false)).call(X, Y));

    p.section("Customized Backward Propagation Function (bprop returns (x + 1, y + 1))");
    Tensor bx = Tensor.of(new float[][] {{0.5f, 0.6f, 0.4f}, {1.2f, 1.3f, 1.1f}});
    Tensor by = Tensor.of(new float[][] {{0.01f, 0.3f, 1.1f}, {0.1f, 0.2f, 1.3f}, {2.1f, 1.2f, 3.3f}});
    p.print(GradOperation.builder().getAll(true).build().of(new BpropNet()).call(bx, by));

    Tensor pi = Tensor.of(new float[] {3.1415926f});
    p.section("High-order Derivation / Single-input Single-output: sin''(x) = -sin(x)");
    Cell firstGrad = new GradOperation().of(new SinNet());
    Cell secondGrad = new GradOperation().of(firstGrad);
    out.println(aroundTwo(secondGrad.call(pi).asTensor()));

    p.section("Single-input Multi-output: (sin + cos)'' = -sin(x) - cos(x)");
    Cell secondGrad2 = new GradOperation().of(new GradOperation().of(new SinCosNet()));
    out.println(aroundTwo(secondGrad2.call(pi).asTensor()));

    p.section("Multiple-Input Multiple-Output: d2/dx2 and d2/dy2 of the summed outputs");
    GradOperation all = GradOperation.builder().getAll(true).build();
    Tuple mimo = all.of(all.of(new MimoNet())).call(pi, pi).asTuple();
    out.println(aroundTwo(mimo.tensor(0)));
    out.println(aroundTwo(mimo.tensor(1)));
  }

  /** Python's print: str of a tensor (its values), repr of the items of a tuple. */
  private record Printer(PrintStream out) {
    void section(String title) {
      out.println();
      out.println("## " + title);
    }

    void print(Value v) {
      out.println(v instanceof Tensor t ? t.valueString() : v.repr());
    }
  }

  /** np.around(v, decimals=2), printed as NumPy prints an array: "[-0.]". */
  static String aroundTwo(Tensor t) {
    float[] v = t.toFloatArray();
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < v.length; i++) {
      double r = Math.rint(v[i] * 100.0) / 100.0;
      if (i > 0) sb.append(' ');
      String s = Double.toString(r);
      if (s.endsWith(".0")) s = s.substring(0, s.length() - 1);
      sb.append(s);
    }
    return sb.append(']').toString();
  }
}
