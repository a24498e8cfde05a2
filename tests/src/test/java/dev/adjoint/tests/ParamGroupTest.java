package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.io.Checkpoint;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.AdamW;
import dev.adjoint.optim.Optimizer;
import dev.adjoint.optim.ParamGroup;
import dev.adjoint.optim.RMSprop;
import dev.adjoint.optim.SGD;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parameter groups with their own hyperparameters for SGD, Adam, AdamW and RMSprop, against updates
 * computed by hand in double; schedules scaling each group; errors; checkpoints with groups; and an
 * optimizer rule written outside the library (public API only) compiled into the step.
 */
class ParamGroupTest {
  static final double[] T1 = {3, 0.5}, T2 = {-1};

  /** loss = sum((a - T1)^2) + sum((b - T2)^2): gradients 2 (a - T1) and 2 (b - T2). */
  static final class TwoParts extends Cell {
    final Parameter a = parameter("a", Tensor.of(new double[] {1, -2}));
    final Parameter b = parameter("b", Tensor.of(new double[] {0.5}));

    @Override
    public Value construct(Tensor... in) {
      return Ops.add(Ops.sum(Ops.square(Ops.sub(a, Tensor.of(T1)))), Ops.sum(Ops.square(Ops.sub(b, Tensor.of(T2)))));
    }
  }

  static List<ParamGroup> groups(TwoParts m, UnaryOperator<ParamGroup> sa, UnaryOperator<ParamGroup> sb) {
    return List.of(sa.apply(ParamGroup.of(m.a)), sb.apply(ParamGroup.of(m.b)));
  }

  /** Runs `steps` steps and checks a and b after each against the reference. */
  static void run(TwoParts m, Optimizer opt, int steps, Reference ref) {
    Cell step = opt.step(m);
    double[][] w = {{1, -2}, {0.5}}, t = {T1, T2};
    long compiled = -1;
    for (int k = 0; k < steps; k++) {
      step.apply().close();
      if (k == 0) compiled = Adjoint.compilations();
      for (int gi = 0; gi < 2; gi++)
        for (int i = 0; i < w[gi].length; i++) ref.update(gi, i, k, w[gi], 2 * (w[gi][i] - t[gi][i]));
      Check.close(m.a, 1e-12, w[0]);
      Check.close(m.b, 1e-12, w[1]);
    }
    assertEquals(compiled, Adjoint.compilations(), "groups compile into the one step, once");
  }

  /** One element's hand-computed update: w[i] given gradient g at step k (0-based) in group gi. */
  interface Reference {
    void update(int group, int i, int k, double[] w, double g);
  }

  @Test
  void sgdGroupsWithTheirOwnRateMomentumAndWeightDecay() {
    TwoParts m = new TwoParts();
    SGD sgd = new SGD(groups(m, g -> g.lr(0.1).momentum(0.9), g -> g.lr(0.01).weightDecay(0.5)), 0.05);
    assertTrue(sgd.state().containsKey("params.0.momentum"));
    assertFalse(sgd.state().containsKey("params.1.momentum"), "group 1 has no momentum, so no buffer");
    double[] buf = new double[2];
    run(m, sgd, 3, (gi, i, k, w, g) -> {
      if (gi == 0) {
        buf[i] = 0.9 * buf[i] + g;
        w[i] -= 0.1 * buf[i];
      } else {
        w[i] -= 0.01 * (g + 0.5 * w[i]);
      }
    });
  }

  @Test
  void adamGroupsWithTheirOwnRateAndBetas() {
    TwoParts m = new TwoParts();
    Adam adam = new Adam(groups(m, g -> g.lr(0.1), g -> g.lr(0.05).betas(0.5, 0.9).eps(1e-6)), 0.1);
    double[][] mm = new double[2][2], vv = new double[2][2];
    run(m, adam, 4, (gi, i, k, w, g) -> {
      double b1 = gi == 0 ? 0.9 : 0.5, b2 = gi == 0 ? 0.999 : 0.9, lr = gi == 0 ? 0.1 : 0.05, eps = gi == 0 ? 1e-8 : 1e-6;
      mm[gi][i] = b1 * mm[gi][i] + (1 - b1) * g;
      vv[gi][i] = b2 * vv[gi][i] + (1 - b2) * g * g;
      double mhat = mm[gi][i] / (1 - Math.pow(b1, k + 1)), vhat = vv[gi][i] / (1 - Math.pow(b2, k + 1));
      w[i] -= lr * mhat / (Math.sqrt(vhat) + eps);
    });
  }

  @Test
  void adamWGroupsWithTheirOwnWeightDecay() {
    TwoParts m = new TwoParts();
    AdamW adamw = new AdamW(groups(m, g -> g.weightDecay(0.2), g -> g.weightDecay(0)), 0.05);
    double[][] mm = new double[2][2], vv = new double[2][2];
    run(m, adamw, 3, (gi, i, k, w, g) -> {
      double wd = gi == 0 ? 0.2 : 0, lr = 0.05;
      mm[gi][i] = 0.9 * mm[gi][i] + 0.1 * g;
      vv[gi][i] = 0.999 * vv[gi][i] + 0.001 * g * g;
      double mhat = mm[gi][i] / (1 - Math.pow(0.9, k + 1)), vhat = vv[gi][i] / (1 - Math.pow(0.999, k + 1));
      w[i] = w[i] - lr * wd * w[i] - lr * mhat / (Math.sqrt(vhat) + 1e-8);
    });
  }

  @Test
  void rmspropGroupsWithTheirOwnAlphaAndRate() {
    TwoParts m = new TwoParts();
    RMSprop rms = new RMSprop(groups(m, g -> g.alpha(0.9), g -> g.alpha(0.5).lr(0.02).weightDecay(0.1)), 0.01);
    double[][] sq = new double[2][2];
    run(m, rms, 3, (gi, i, k, w, g) -> {
      double alpha = gi == 0 ? 0.9 : 0.5, lr = gi == 0 ? 0.01 : 0.02, gg = gi == 0 ? g : g + 0.1 * w[i];
      sq[gi][i] = alpha * sq[gi][i] + (1 - alpha) * gg * gg;
      w[i] -= lr * gg / (Math.sqrt(sq[gi][i]) + 1e-8);
    });
  }

  @Test
  void aScheduleScalesEveryGroupAlikeWithoutRecompiling() {
    TwoParts m = new TwoParts();
    SGD sgd = new SGD(groups(m, g -> g, g -> g.lr(0.05)), 0.1);
    sgd.schedule(k -> 0.1 / (k + 1));
    run(m, sgd, 4, (gi, i, k, w, g) -> w[i] -= (0.1 / (k + 1)) * (gi == 0 ? 1 : 0.5) * g);
  }

  @Test
  void badGroupsAreErrorsNamingTheProblem() {
    TwoParts m = new TwoParts();
    AdjointException twice = assertThrows(AdjointException.class, () -> new SGD(List.of(ParamGroup.of(m.a), ParamGroup.of(m.a, m.b)), 0.1));
    assertTrue(twice.getMessage().contains("'a' is given twice (in groups 0 and 1)"), twice.getMessage());
    AdjointException foreign = assertThrows(AdjointException.class, () -> new Adam(groups(m, g -> g, g -> g.momentum(0.9)), 0.1));
    assertTrue(foreign.getMessage().contains("Adam: group 1 sets momentum"), foreign.getMessage());
    assertThrows(AdjointException.class, () -> ParamGroup.of(m.a).lr(-1));
    assertThrows(AdjointException.class, () -> new SGD(groups(m, g -> g.nesterov(true), g -> g), 0.1));   // Nesterov without momentum
    // the optimizer keeps a copy: changing the group afterwards changes nothing
    ParamGroup ga = ParamGroup.of(m.a).lr(0.1);
    SGD sgd = new SGD(List.of(ga, ParamGroup.of(m.b)), 0.2);
    ga.lr(5);
    assertEquals(0.1, sgd.groupLr(0), 0);
    assertEquals(0.2, sgd.groupLr(1), 0);
    assertEquals(2, sgd.params().size());
  }

  @Test
  void checkpointsKeepWorkingWithGroups(@TempDir Path dir) throws Exception {
    TwoParts m = new TwoParts();
    Adam adam = new Adam(groups(m, g -> g.lr(0.1), g -> g.lr(0.02).betas(0.8, 0.99)), 0.1);
    Cell step = adam.step(m);
    for (int k = 0; k < 3; k++) step.apply().close();
    Path file = dir.resolve("groups.safetensors");
    Checkpoint.save(file, m, adam);
    assertTrue(Files.size(file) > 0);
    for (int k = 0; k < 3; k++) step.apply().close();
    double[] a = m.a.toDoubleArray(), b = m.b.toDoubleArray();

    TwoParts resumed = new TwoParts();
    Adam again = new Adam(groups(resumed, g -> g.lr(0.1), g -> g.lr(0.02).betas(0.8, 0.99)), 0.1);
    Checkpoint.load(file, resumed, again);
    assertEquals(3, again.steps());
    Cell step2 = again.step(resumed);
    for (int k = 0; k < 3; k++) step2.apply().close();
    assertArrayEquals(a, resumed.a.toDoubleArray(), 0, "resume equals uninterrupted, bit for bit");
    assertArrayEquals(b, resumed.b.toDoubleArray(), 0);
  }

  // ------------------------------------------------------------------ a user-written rule

  /**
   * Sign descent with a decaying average, written as a user outside dev.adjoint.optim would (public API
   * only): state per parameter, the group's rate through lr(p), and only the settings it has.
   * {@code s = 0.5 s + sign(g); p -= lr * s}.
   */
  static final class SignMomentum extends Optimizer {
    private final Parameter[] s;

    SignMomentum(List<ParamGroup> groups, double lr) {
      super(groups, lr);
      acceptSettings("lr");
      s = new Parameter[params().size()];
      for (int i = 0; i < s.length; i++) s[i] = zerosLike("params." + i + ".sign_avg", params().get(i));
    }

    @Override
    protected void update(Tensor[] grads) {
      for (int i = 0; i < grads.length; i++) {
        Parameter p = params().get(i);
        Tensor sign = Ops.sub(Ops.step(grads[i]), Ops.step(Ops.neg(grads[i])));
        Tensor avg = Ops.add(Ops.mul(s[i], 0.5), sign);
        Ops.assign(s[i], avg);
        Ops.assign(p, Ops.sub(p, Ops.mul(avg, lr(p))));
      }
    }
  }

  @Test
  void aUserWrittenRuleCompilesIntoTheStep() {
    TwoParts m = new TwoParts();
    SignMomentum opt = new SignMomentum(groups(m, g -> g, g -> g.lr(0.01)), 0.1);
    double[][] avg = new double[2][2];
    run(m, opt, 5, (gi, i, k, w, g) -> {
      avg[gi][i] = 0.5 * avg[gi][i] + Math.signum(g);
      w[i] -= (gi == 0 ? 0.1 : 0.01) * avg[gi][i];
    });
    assertEquals(5, opt.steps());
    assertTrue(opt.state().containsKey("params.1.sign_avg"), "its state is what checkpoints save");
    assertThrows(AdjointException.class, () -> new SignMomentum(groups(m, g -> g.weightDecay(0.1), g -> g), 0.1));
  }
}
