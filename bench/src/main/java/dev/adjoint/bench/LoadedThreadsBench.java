package dev.adjoint.bench;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.examples.Train;
import dev.adjoint.optim.SGD;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * W10: the W4 train step and the W6 PINN step with the default thread setting against fixed ones, on an idle machine and while
 * another process keeps {@code load} cores busy (a shell busy loop per core, started before the warm-up and
 * killed after the measurement). {@code policy}: {@code default} leaves the engine as a user gets it
 * ({@code ADJOINT_THREADS} unset: every usable CPU for the pool, BLAS threads chosen per GEMM shape by
 * measurement, Note [BLAS threads]); {@code pinnedN} is the old fixed setting, N engine and N OpenBLAS threads
 * for every GEMM ({@link Adjoint#pinBlasThreads(int)}). Report prints default / best pinned per load: the
 * target is at most 1.2.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LoadedThreadsBench {
  static final int BATCH = 128, IN = 784;

  @Param({"default", "pinned1", "pinned2"})
  public String policy;

  @Param({"0", "1"})
  public int load;

  @Param({"w4", "w6"})
  public String workload;

  private final List<Process> busy = new ArrayList<>();
  private Tensor x, t;
  private Cell step;
  private Physics.Pinn pinn;

  @Setup
  public void setup() throws IOException {
    if (policy.startsWith("pinned")) {
      int n = Integer.parseInt(policy.substring("pinned".length()));
      Adjoint.setThreads(n);
      Adjoint.pinBlasThreads(n);
    } else if (!policy.equals("default")) {
      throw new IllegalArgumentException("policy must be default or pinnedN, got " + policy);
    }
    System.err.println("# W10 " + workload + ": policy " + policy + ", load " + load + ": engine threads " + Adjoint.threads()
        + ", BLAS " + Adjoint.blasThreads());
    for (int i = 0; i < load; i++)
      busy.add(new ProcessBuilder("sh", "-c", "while :; do :; done").redirectErrorStream(true).start());
    if (workload.equals("w6")) {
      pinn = new Physics.Pinn();
      step = new dev.adjoint.optim.Adam(pinn.u.trainableParams(), 1e-3).step(pinn.loss);
      double l = step.apply(pinn.interior, pinn.rhs, pinn.boundary).item();
      if (!Double.isFinite(l)) throw new IllegalStateException("W10/W6 loss is " + l);
      return;
    }
    Random rnd = new Random(42);
    Train.Mlp net = new Train.Mlp(rnd);
    step = new SGD(net.trainableParams(), 0.01).step(new Train.SquaredLoss(net));
    x = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, BATCH, IN);
    try (Tensor teacher = Tensor.uniform(rnd, DType.FLOAT32, -0.1, 0.1, IN, 10);
        Tensor logits = Ops.matmul(x, teacher)) {
      t = Ops.tanh(logits);
    }
    try (Tensor loss = step.apply(x, t)) {
      if (!Double.isFinite(loss.item())) throw new IllegalStateException("W10 loss is " + loss.item());
    }
  }

  @TearDown
  public void tearDown() {
    for (Process p : busy) p.destroyForcibly();
    busy.clear();
    if (pinn != null) pinn.close();
    if (x != null) x.close();
    if (t != null) t.close();
  }

  @Benchmark
  public void step() {
    if (pinn != null) step.apply(pinn.interior, pinn.rhs, pinn.boundary).close();
    else step.apply(x, t).close();
  }
}
