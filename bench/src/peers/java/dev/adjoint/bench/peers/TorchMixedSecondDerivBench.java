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

/** W5 on libtorch: (d2f0/dx2, d2f0/dxdy) of f = (sin x - cos y, cos x - sin y) at x = y = pi. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchMixedSecondDerivBench {
  @Param({"1"})
  public int threads;

  private FloatPointer xs, ys, ones, zeros;
  private Tensor x, y, one, zero;

  @Setup
  public void setup() {
    Torch.threads(threads);
    xs = new FloatPointer((float) Math.PI);
    ys = new FloatPointer((float) Math.PI);
    ones = new FloatPointer(1f);
    zeros = new FloatPointer(0f);
    x = Torch.leaf(from_blob(xs, 1));
    y = Torch.leaf(from_blob(ys, 1));
    one = from_blob(ones, 1);
    zero = from_blob(zeros, 1);
  }

  @Benchmark
  @Against("dev.adjoint.bench.MixedSecondDerivBench.mixedSecond")
  public long mixedSecond() {
    try (PointerScope scope = new PointerScope()) {
      Tensor f0 = x.sin().sub(y.cos());
      Tensor f1 = x.cos().sub(y.sin());
      TensorVector d1 = Torch.grad(Torch.vec(f0, f1), Torch.vec(x, y), Torch.vec(one, zero), true);
      TensorVector d2 = Torch.grad(d1, Torch.vec(x, y), Torch.vec(one, zero), false);
      return d2.size();
    }
  }
}
