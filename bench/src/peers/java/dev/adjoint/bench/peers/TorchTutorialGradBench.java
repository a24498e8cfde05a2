package dev.adjoint.bench.peers;

import static org.bytedeco.pytorch.global.torch.from_blob;

import dev.adjoint.bench.Against;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
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
import org.openjdk.jmh.annotations.Warmup;

/** W1 on libtorch: d/dx sum((x * z) @ y), x 2x3, y 3x3, z = [1]. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchTutorialGradBench {
  @Param({"1"})
  public int threads;

  private FloatPointer xs, ys, zs;
  private Tensor x, y, z;

  @Setup
  public void setup() {
    Torch.threads(threads);
    xs = new FloatPointer(0.8f, 0.6f, 0.2f, 1.8f, 1.3f, 1.1f);
    ys = new FloatPointer(0.11f, 3.3f, 1.1f, 1.1f, 0.2f, 1.4f, 1.1f, 2.2f, 0.3f);
    zs = new FloatPointer(1f);
    x = Torch.leaf(from_blob(xs, 2, 3));
    y = from_blob(ys, 3, 3);
    z = Torch.leaf(from_blob(zs, 1));
  }

  @Benchmark
  @Against("dev.adjoint.bench.TutorialGradBench.grad")
  public long grad() {
    try (PointerScope scope = new PointerScope()) {
      Tensor out = x.mul(z).matmul(y).sum();
      TensorVector g = Torch.grad(Torch.vec(out), Torch.vec(x), new TensorVector(), false);
      return g.size();
    }
  }
}
