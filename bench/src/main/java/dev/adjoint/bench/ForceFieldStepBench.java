package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.optim.Adam;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
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
 * W7: one Adam step of a force-field model E = MLP(x) (96-128-128-1 tanh, batch 256), loss on E and
 * F = −dE/dx, so the weight gradient goes through the input gradient (the input–weight cross
 * derivative); one compiled graph. Ideal: the GEMMs of forward, input gradient (F), and the reverse
 * pass over both, on raw OpenBLAS.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ForceFieldStepBench {
  @Param({"1"})
  public int threads;

  private Physics.ForceField ff;
  private Cell step;
  private FloatPointer x, w1, w2, h, dh, gx, g1, g2;

  @Setup
  public void setup() {
    Threads.use(threads);
    ff = new Physics.ForceField();
    step = new Adam(ff.e.trainableParams(), 1e-3).step(ff.loss);
    double l = step.apply(ff.x, ff.energy, ff.force).item();
    if (!Double.isFinite(l)) throw new IllegalStateException("W7 loss is " + l);
    Random rnd = new Random(1);
    int b = Physics.FF_BATCH, n = Physics.FF_IN, k = Physics.FF_WIDTH;
    x = Blas.uniform(rnd, (long) b * n);
    w1 = Blas.uniform(rnd, (long) n * k);
    w2 = Blas.uniform(rnd, (long) k * k);
    h = Blas.zeros((long) b * k);
    dh = Blas.uniform(rnd, (long) b * k);
    gx = Blas.zeros((long) b * n);
    g1 = Blas.zeros((long) n * k);
    g2 = Blas.zeros((long) k * k);
  }

  @TearDown
  public void tearDown() {
    ff.close();
    Blas.free(x, w1, w2, h, dh, gx, g1, g2);
  }

  @Benchmark
  @Against("idealGemmsOneDnn")
  public void step() {
    step.apply(ff.x, ff.energy, ff.force).close();
  }

  /** The step's GEMMs on OpenBLAS. */
  @Benchmark
  public void idealGemms() {
    gemms(Blas.OPENBLAS);
  }

  /** The same on oneDNN, the library the engine runs these float32 shapes on (the ratio's ideal). */
  @Benchmark
  public void idealGemmsOneDnn() {
    gemms(Blas.ONEDNN);
  }

  /** Forward (2 GEMMs), dE/dx (2), and the reverse pass over both: about twice as many again (8). */
  private void gemms(Blas.Sgemm g) {
    int b = Physics.FF_BATCH, n = Physics.FF_IN, k = Physics.FF_WIDTH;
    g.run(false, false, b, k, n, x, w1, h); //   h1 = x W1
    g.run(false, false, b, k, k, h, w2, dh); //  h2 = h1 W2
    g.run(false, true, b, k, k, dh, w2, h); //   dE/dh1
    g.run(false, true, b, n, k, h, w1, gx); //   dE/dx
    for (int r = 0; r < 2; r++) { // the reverse pass over forward and dE/dx
      g.run(true, false, n, k, b, x, dh, g1);
      g.run(true, false, k, k, b, h, dh, g2);
      g.run(false, false, b, k, n, gx, w1, h);
      g.run(false, true, b, k, k, dh, w2, h);
    }
  }
}
