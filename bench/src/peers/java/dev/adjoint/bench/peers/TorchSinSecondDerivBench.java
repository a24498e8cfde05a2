package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
import java.util.concurrent.TimeUnit;
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

/** W3 on libtorch: d/dx and d2/dx2 of sum(sin x), 16M floats, double backward with create_graph. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchSinSecondDerivBench {
  @Param({"1"})
  public int threads;

  private Tensor x;

  @Setup
  public void setup() {
    Torch.threads(threads);
    x = Torch.leaf(Torch.uniform(-Math.PI, Math.PI, 16L << 20));
  }

  @Benchmark
  @Against("dev.adjoint.bench.SinSecondDerivBench.secondOrder")
  public long secondOrder() {
    try (PointerScope scope = new PointerScope()) {
      TensorVector d1 = Torch.grad(Torch.vec(x.sin().sum()), Torch.vec(x), new TensorVector(), true);
      TensorVector d2 = Torch.grad(Torch.vec(d1.get(0).sum()), Torch.vec(x), new TensorVector(), false);
      return d2.size();
    }
  }

  @Benchmark
  @Against("dev.adjoint.bench.SinSecondDerivBench.firstOrder")
  public long firstOrder() {
    try (PointerScope scope = new PointerScope()) {
      return Torch.grad(Torch.vec(x.sin().sum()), Torch.vec(x), new TensorVector(), false).size();
    }
  }
}
