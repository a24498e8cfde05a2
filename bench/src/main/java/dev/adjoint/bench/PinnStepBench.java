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
 * W6: one Adam step of a 2-D Poisson PINN (MLP 2-64-64-64-1 tanh, 4096 interior + 512 boundary points,
 * loss with Δu from Autodiff.laplacian, the forward Laplacian) as one compiled graph. Ideal: the GEMMs
 * the step performs, on raw OpenBLAS: per hidden layer of the forward Laplacian the value, the two
 * tangents (one GEMM of 2N rows) and the Laplacian (N rows), and the weight and input gradient of each
 * of them; plus the boundary forward and backward. The elementwise work is left out.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class PinnStepBench {
  @Param({"1"})
  public int threads;

  private Physics.Pinn pinn;
  private Cell step;
  private FloatPointer a, w, out, g;

  @Setup
  public void setup() {
    Threads.use(threads);
    pinn = new Physics.Pinn();
    step = new Adam(pinn.u.trainableParams(), 1e-3).step(pinn.loss);
    double l = step.apply(pinn.interior, pinn.rhs, pinn.boundary).item();
    if (!Double.isFinite(l)) throw new IllegalStateException("W6 loss is " + l);
    Random rnd = new Random(1);
    long rows = 4L * Physics.PINN_INTERIOR + Physics.PINN_BOUNDARY; // value, 2 tangents, Laplacian; boundary
    a = Blas.uniform(rnd, rows * Physics.PINN_WIDTH);
    w = Blas.uniform(rnd, (long) Physics.PINN_WIDTH * Physics.PINN_WIDTH);
    out = Blas.zeros(rows * Physics.PINN_WIDTH);
    g = Blas.zeros((long) Physics.PINN_WIDTH * Physics.PINN_WIDTH);
  }

  @TearDown
  public void tearDown() {
    pinn.close();
    Blas.free(a, w, out, g);
  }

  @Benchmark
  @Against("idealGemmsOneDnn")
  public void step() {
    step.apply(pinn.interior, pinn.rhs, pinn.boundary).close();
  }

  /** The 64x64 layers' GEMMs on OpenBLAS. */
  @Benchmark
  public void idealGemms() {
    gemms(Blas.OPENBLAS);
  }

  /** The same on oneDNN, the library the engine runs these float32 shapes on (the ratio's ideal). */
  @Benchmark
  public void idealGemmsOneDnn() {
    gemms(Blas.ONEDNN);
  }

  /** The 64x64 layers' GEMMs: forward (4N rows), weight gradient and input gradient of the same; boundary likewise. */
  private void gemms(Blas.Sgemm gemm) {
    int m = 4 * Physics.PINN_INTERIOR + Physics.PINN_BOUNDARY, k = Physics.PINN_WIDTH;
    for (int layer = 0; layer < 2; layer++) {
      gemm.run(false, false, m, k, k, a, w, out); //  forward, all rows
      gemm.run(true, false, k, k, m, a, out, g); //   weight gradient
      gemm.run(false, true, m, k, k, out, w, a); //   input gradient
    }
  }
}
