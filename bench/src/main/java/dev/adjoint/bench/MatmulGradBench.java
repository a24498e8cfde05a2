package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
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
 * W2: gradients of c = a @ b, n x n. With a sens g the gradients are two GEMMs, g @ b^T and a^T @ g;
 * the forward product is not needed for them (matmul is bilinear), so the ideal is those two GEMMs on
 * raw OpenBLAS, not three. DESIGN's "3 x sgemm" (forward + 2 adjoints) is the looser bound.
 *
 * <ul>
 *   <li>{@code gradBoth}: getAll + sensParam, (g @ b^T, a^T @ g); ideal {@code idealBoth} (2 sgemm).
 *   <li>{@code gradOne}: sensParam, w.r.t. a only, g @ b^T; ideal {@code idealOne} (1 sgemm).
 *   <li>{@code gradSumBoth}: getAll of sum(a @ b) (sens of ones made inside the graph); ideal
 *       {@code idealBoth} (2 sgemm).
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MatmulGradBench {
  @Param({"256", "1024", "2048"})
  public int n;

  @Param({"1"})
  public int threads;

  private Tensor a, b, g;
  private Cell gradBoth, gradOne, gradSumBoth;
  private FloatPointer ra, rb, rg, rda, rdb;

  @Setup
  public void setup() {
    Threads.use(threads);
    Random rnd = new Random(7);
    a = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, n, n);
    b = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, n, n);
    g = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, n, n);
    Cell matmul = Cell.of(in -> Ops.matmul(in[0], in[1]));
    Cell sumMatmul = Cell.of(in -> Ops.sum(Ops.matmul(in[0], in[1])));
    gradBoth = GradOperation.builder().getAll(true).sensParam(true).build().of(matmul);
    gradOne = GradOperation.builder().sensParam(true).build().of(matmul);
    gradSumBoth = GradOperation.builder().getAll(true).build().of(sumMatmul);
    // First calls compile; keep that out of the warmup.
    Values.close(gradBoth.call(a, b, g));
    Values.close(gradOne.call(a, b, g));
    Values.close(gradSumBoth.call(a, b));

    long nn = (long) n * n;
    ra = Blas.uniform(rnd, nn);
    rb = Blas.uniform(rnd, nn);
    rg = Blas.uniform(rnd, nn);
    rda = Blas.zeros(nn);
    rdb = Blas.zeros(nn);
  }

  @TearDown
  public void tearDown() {
    for (Tensor t : new Tensor[] {a, b, g}) t.close();
    Blas.free(ra, rb, rg, rda, rdb);
  }

  @Benchmark
  @Against("idealBothOneDnn")
  public void gradBoth() {
    Values.close(gradBoth.call(a, b, g));
  }

  @Benchmark
  @Against("idealOneOneDnn")
  public void gradOne() {
    Values.close(gradOne.call(a, b, g));
  }

  @Benchmark
  @Against("idealBothOneDnn")
  public void gradSumBoth() {
    Value v = gradSumBoth.call(a, b);
    Values.close(v);
  }

  /** da = g @ b^T and db = a^T @ g: the two GEMMs a matmul's VJP needs, on OpenBLAS. */
  @Benchmark
  public void idealBoth() {
    Blas.sgemm(false, true, n, n, n, rg, rb, rda);
    Blas.sgemm(true, false, n, n, n, ra, rg, rdb);
  }

  /** The same on oneDNN, the library the engine runs these float32 shapes on (the ratio's ideal). */
  @Benchmark
  public void idealBothOneDnn() {
    Blas.sgemmOneDnn(false, true, n, n, n, rg, rb, rda);
    Blas.sgemmOneDnn(true, false, n, n, n, ra, rg, rdb);
  }

  /** da = g @ b^T, on OpenBLAS. */
  @Benchmark
  public void idealOne() {
    Blas.sgemm(false, true, n, n, n, rg, rb, rda);
  }

  /** da = g @ b^T, on oneDNN. */
  @Benchmark
  public void idealOneOneDnn() {
    Blas.sgemmOneDnn(false, true, n, n, n, rg, rb, rda);
  }
}
