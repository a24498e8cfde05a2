package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.io.Checkpoint;
import dev.adjoint.nn.Activation;
import dev.adjoint.nn.Linear;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.AdamW;
import dev.adjoint.optim.LrSchedule;
import dev.adjoint.optim.Optimizer;
import dev.adjoint.optim.RMSprop;
import dev.adjoint.optim.SGD;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training toolkit through the public API: names, optimizers, schedules, clipping, checkpoints, real tasks. */
class ToolkitTest {
  @TempDir Path dir;

  // ------------------------------------------------------------------ parameter names and discovery

  @Test
  void hierarchicalNamesAndDiscovery() {
    Sequential net = Mlp.builder(3).hidden(4).out(2).seed(1).dtype(DType.FLOAT64).build();
    assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"), List.copyOf(net.namedParameters().keySet()));
    // a model captured by a lambda is found, for getByList and for optimizers alike
    Cell loss = Cell.of(in -> Losses.mse(net.call(in[0]).asTensor(), in[1]));
    assertEquals(4, loss.trainableParams().size());
    Tensor x = Tensor.of(new double[] {1, 2, 3}, 1, 3), t = Tensor.of(new double[] {0, 1}, 1, 2);
    Value g = GradOperation.builder().getByList(true).build().of(loss, net.trainableParams()).call(x, t);
    assertEquals(4, g.asTuple().size());
    new Adam(net.trainableParams(), 1e-3).step(loss).apply(x, t);
    // a parameter the loss does not hold is an error at the optimizer
    Parameter stray = new Parameter("stray", Tensor.of(new double[] {1}, 1));
    mentions(assertThrows(AdjointException.class, () -> new SGD(ParameterTuple.of(stray), 0.1).step(loss)), "stray", "not a parameter of");
    // two different parameters with one name
    class Twice extends Cell {
      final Parameter a = new Parameter("w", Tensor.of(new double[] {1}, 1)), b = new Parameter("w", Tensor.of(new double[] {2}, 1));

      @Override
      public Value construct(Tensor... in) {
        return Ops.add(Ops.mul(in[0], a), b);
      }
    }
    mentions(assertThrows(AdjointException.class, () -> new Twice().namedParameters()), "'w'");
  }

  // ------------------------------------------------------------------ optimizers against hand-computed updates

  /** loss = 0.5 * sum(c * p^2): gradient c * p. */
  static final class Quadratic extends Cell {
    final Parameter p = parameter("p", Tensor.of(new double[] {1.0, -2.0}, 2));
    final Tensor c = Tensor.of(new double[] {1.0, 3.0}, 2);

    @Override
    public Value construct(Tensor... in) {
      return Ops.mul(Ops.sum(Ops.mul(Ops.square(p), c)), 0.5);
    }

    @Override
    protected int arity() {
      return 0;
    }
  }

  static double[] run(java.util.function.Function<ParameterTuple, Optimizer> make, int steps) {
    Quadratic q = new Quadratic();
    try (Optimizer opt = make.apply(q.trainableParams())) {
      Cell step = opt.step(q);
      for (int i = 0; i < steps; i++) step.call().asTensor().close();
      return q.p.toDoubleArray();
    }
  }

  @Test
  void optimizersMatchHandComputedUpdates() {
    double[] c = {1, 3};
    // SGD, momentum 0.9, Nesterov, weight decay 0.1, lr 0.1, two steps
    double[] p = {1, -2}, b = {0, 0};
    for (int s = 0; s < 2; s++)
      for (int i = 0; i < 2; i++) {
        double g = c[i] * p[i] + 0.1 * p[i];
        b[i] = 0.9 * b[i] + g;
        p[i] -= 0.1 * (g + 0.9 * b[i]);
      }
    assertArrayEquals(p, run(ps -> new SGD(ps, 0.1, 0.9, true, 0.1), 2), 1e-14);
    // AdamW lr 0.1, wd 0.05, two steps
    p = new double[] {1, -2};
    double[] m = {0, 0}, v = {0, 0};
    for (int s = 1; s <= 2; s++)
      for (int i = 0; i < 2; i++) {
        double g = c[i] * p[i];
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        double mh = m[i] / (1 - Math.pow(0.9, s)), vh = v[i] / (1 - Math.pow(0.999, s));
        p[i] = p[i] - 0.1 * 0.05 * p[i] - 0.1 * mh / (Math.sqrt(vh) + 1e-8);
      }
    assertArrayEquals(p, run(ps -> new AdamW(ps, 0.1, 0.05), 2), 1e-12);
    // RMSprop lr 0.01, alpha 0.99, two steps
    p = new double[] {1, -2};
    double[] sq = {0, 0};
    for (int s = 0; s < 2; s++)
      for (int i = 0; i < 2; i++) {
        double g = c[i] * p[i];
        sq[i] = 0.99 * sq[i] + 0.01 * g * g;
        p[i] -= 0.01 * g / (Math.sqrt(sq[i]) + 1e-8);
      }
    assertArrayEquals(p, run(ps -> new RMSprop(ps, 0.01), 2), 1e-13);
  }

  @Test
  void clippingByNormAndByValue() {
    // gradient at p = (1, -2) is (1, -6), norm sqrt(37); clip to norm 1 then plain SGD lr 1
    double n = Math.sqrt(37);
    assertArrayEquals(new double[] {1 - 1 / n, -2 + 6 / n}, run(ps -> new SGD(ps, 1).clipGradNorm(1), 1), 1e-6);
    assertArrayEquals(new double[] {1 - 0.5, -2 + 0.5}, run(ps -> new SGD(ps, 1).clipGradValue(0.5), 1), 1e-14);
  }

  @Test
  void scheduleChangesTheRateEveryStepWithoutRecompiling() {
    // loss = sum(p * k): gradient k, so p_T = p_0 - k * sum of the rates
    class Linear1 extends Cell {
      final Parameter p = parameter("p", Tensor.of(new double[] {0}, 1));

      @Override
      public Value construct(Tensor... in) {
        return Ops.sum(Ops.mul(p, 2));
      }

      @Override
      protected int arity() {
        return 0;
      }
    }
    Linear1 model = new Linear1();
    LrSchedule sched = LrSchedule.warmup(10, LrSchedule.cosine(0.01, 1000, 0.001));
    SGD sgd = new SGD(model.trainableParams(), 0.01);
    sgd.schedule(sched);
    Cell step = sgd.step(model);
    long c0 = Adjoint.compilations();
    double sum = 0;
    for (int k = 0; k < 1000; k++) {
      step.call().asTensor().close();
      sum += sched.applyAsDouble(k);
    }
    assertEquals(1, Adjoint.compilations() - c0, "one compile for 1,000 steps with a changing rate");
    assertEquals(-2 * sum, model.p.item(), 1e-12);
    assertEquals(1000, sgd.steps());
  }

  // ------------------------------------------------------------------ checkpoints

  static Sequential smallNet(long seed) {
    return Mlp.builder(2).hidden(8).out(1).seed(seed).dtype(DType.FLOAT64).build();
  }

  @Test
  void resumingFromACheckpointEqualsNotStopping() {
    Random r = new Random(4);
    Tensor x = Tensor.uniform(r, DType.FLOAT64, -1, 1, 32, 2), y = Tensor.uniform(r, DType.FLOAT64, -1, 1, 32, 1);
    // uninterrupted: 10 steps
    Sequential a = smallNet(7);
    Adam adamA = new Adam(a.trainableParams(), 1e-2);
    adamA.schedule(LrSchedule.exponential(1e-2, 0.9));
    Cell stepA = adamA.step(Cell.of(in -> Losses.mse(a.call(in[0]).asTensor(), in[1])));
    for (int i = 0; i < 10; i++) stepA.apply(x, y).close();
    // interrupted after 5, saved, restored into fresh objects, 5 more
    Sequential b = smallNet(7);
    Adam adamB = new Adam(b.trainableParams(), 1e-2);
    adamB.schedule(LrSchedule.exponential(1e-2, 0.9));
    Cell stepB = adamB.step(Cell.of(in -> Losses.mse(b.call(in[0]).asTensor(), in[1])));
    for (int i = 0; i < 5; i++) stepB.apply(x, y).close();
    Path f = dir.resolve("run.safetensors");
    Checkpoint.save(f, b, adamB);
    Sequential c = smallNet(99); // different initial values: everything must come from the file
    Adam adamC = new Adam(c.trainableParams(), 1e-2);
    adamC.schedule(LrSchedule.exponential(1e-2, 0.9));
    Checkpoint.load(f, c, adamC);
    assertEquals(5, adamC.steps());
    Cell stepC = adamC.step(Cell.of(in -> Losses.mse(c.call(in[0]).asTensor(), in[1])));
    for (int i = 0; i < 5; i++) stepC.apply(x, y).close();
    Map<String, Parameter> pa = a.namedParameters(), pc = c.namedParameters();
    for (String k : pa.keySet()) assertArrayEquals(pa.get(k).toDoubleArray(), pc.get(k).toDoubleArray(), 0, k + " bit for bit");
    adamA.close();
    adamB.close();
    adamC.close();
  }

  @Test
  void mismatchedOrCorruptCheckpointsAreErrors() throws Exception {
    Path f = dir.resolve("m.safetensors");
    Checkpoint.save(f, smallNet(1));
    Sequential wider = Mlp.builder(2).hidden(9).out(1).seed(1).dtype(DType.FLOAT64).build();
    double[] before = wider.namedParameters().get("layers.0.weight").toDoubleArray();
    AdjointException e = assertThrows(AdjointException.class, () -> Checkpoint.load(f, wider));
    mentions(e, "model.layers.0.weight", "[2, 9]", "[2, 8]");
    assertArrayEquals(before, wider.namedParameters().get("layers.0.weight").toDoubleArray(), 0, "nothing assigned");
    mentions(assertThrows(AdjointException.class, () -> Checkpoint.load(f, new Sequential(new Linear(2, 1, false, new Random(1), DType.FLOAT64)))), "unexpected model.layers.0.bias", "[2, 8]");
    byte[] bytes = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 3));
    mentions(assertThrows(AdjointException.class, () -> Checkpoint.load(f, smallNet(1))), "m.safetensors");
  }

  // ------------------------------------------------------------------ real tasks

  /** Two interleaved spirals, 2-64-64-2 tanh, Adam: at least 99 % training accuracy. */
  @Test
  void spiralClassifierReaches99Percent() {
    int n = 200;
    float[] xs = new float[4 * n];
    int[] ys = new int[2 * n];
    Random r = new Random(0);
    for (int cls = 0; cls < 2; cls++)
      for (int i = 0; i < n; i++) {
        double t = 0.25 + 3.0 * Math.PI * i / n, rad = t / (3 * Math.PI);
        double a = t + cls * Math.PI;
        int k = cls * n + i;
        xs[2 * k] = (float) (rad * Math.cos(a) + 0.01 * r.nextGaussian());
        xs[2 * k + 1] = (float) (rad * Math.sin(a) + 0.01 * r.nextGaussian());
        ys[k] = cls;
      }
    Tensor x = Tensor.of(xs, 2 * n, 2), labels = Losses.oneHot(ys, 2, DType.FLOAT32);
    Sequential net = Mlp.builder(2).hidden(64, 64).out(2).activation("tanh").seed(3).build();
    Adam adam = new Adam(net.trainableParams(), 1e-2);
    Cell step = adam.step(Cell.of(in -> Losses.softmaxCrossEntropy(net.call(in[0]).asTensor(), in[1])));
    for (int i = 0; i < 1500; i++) step.apply(x, labels).close();
    float[] logits = net.apply(x).toFloatArray();
    int correct = 0;
    for (int k = 0; k < 2 * n; k++) if ((logits[2 * k + 1] > logits[2 * k] ? 1 : 0) == ys[k]) correct++;
    double acc = correct / (2.0 * n);
    assertTrue(acc >= 0.99, "spiral accuracy " + acc);
  }

  /** u'' = -pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0: a 1-D PINN reaches max error < 1e-3 against sin(pi x). */
  @Test
  void oneDimensionalPinnReachesMaxErrorBelow1e3() {
    int m = 64;
    double[] xc = new double[m], f = new double[m];
    for (int i = 0; i < m; i++) {
      xc[i] = (i + 0.5) / m;
      f[i] = -Math.PI * Math.PI * Math.sin(Math.PI * xc[i]);
    }
    Tensor x = Tensor.of(xc, m, 1), rhs = Tensor.of(f, m, 1), bc = Tensor.of(new double[] {0, 1}, 2, 1);
    Sequential u = Mlp.builder(1).hidden(32, 32).out(1).activation("tanh").seed(5).dtype(DType.FLOAT64).build();
    // points are independent, so d/dx sum(u) is u' at each point, and again for u''
    GradOperation grad = new GradOperation();
    Cell du = grad.of(Cell.of(in -> Ops.sum(u.call(in[0]).asTensor())));
    Cell d2u = grad.of(Cell.of(in -> Ops.sum(du.call(in[0]).asTensor())));
    Cell loss = Cell.of(in -> Ops.add(
        Losses.mse(d2u.call(in[0]).asTensor(), in[1]),
        Ops.mul(Ops.mean(Ops.square(u.call(in[2]).asTensor())), 10)));
    Adam adam = new Adam(u.trainableParams(), 1e-2);
    adam.schedule(LrSchedule.exponential(1e-2, Math.pow(0.05, 1.0 / 4000)));
    Cell step = adam.step(loss);
    for (int i = 0; i < 4000; i++) step.apply(x, rhs, bc).close();
    double[] grid = new double[101];
    for (int i = 0; i <= 100; i++) grid[i] = i / 100.0;
    double[] pred = u.apply(Tensor.of(grid, 101, 1)).toDoubleArray();
    double err = 0;
    for (int i = 0; i <= 100; i++) err = Math.max(err, Math.abs(pred[i] - Math.sin(Math.PI * grid[i])));
    assertTrue(err < 1e-3, "PINN max error " + err);
  }
}
