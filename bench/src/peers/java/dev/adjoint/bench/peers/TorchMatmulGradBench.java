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

/** W2 on libtorch: gradients of a @ b with a sens g, w.r.t. both inputs or a only; and of sum(a @ b). */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchMatmulGradBench {
  @Param({"256", "1024", "2048"})
  public int n;

  @Param({"1"})
  public int threads;

  private Tensor a, b, g;

  @Setup
  public void setup() {
    Torch.threads(threads);
    a = Torch.leaf(Torch.uniform(-1, 1, n, n));
    b = Torch.leaf(Torch.uniform(-1, 1, n, n));
    g = Torch.uniform(-1, 1, n, n);
  }

  @Benchmark
  @Against("dev.adjoint.bench.MatmulGradBench.gradBoth")
  public long gradBoth() {
    try (PointerScope scope = new PointerScope()) {
      TensorVector d = Torch.grad(Torch.vec(a.matmul(b)), Torch.vec(a, b), Torch.vec(g), false);
      return d.size();
    }
  }

  @Benchmark
  @Against("dev.adjoint.bench.MatmulGradBench.gradOne")
  public long gradOne() {
    try (PointerScope scope = new PointerScope()) {
      TensorVector d = Torch.grad(Torch.vec(a.matmul(b)), Torch.vec(a), Torch.vec(g), false);
      return d.size();
    }
  }

  @Benchmark
  @Against("dev.adjoint.bench.MatmulGradBench.gradSumBoth")
  public long gradSumBoth() {
    try (PointerScope scope = new PointerScope()) {
      TensorVector d = Torch.grad(Torch.vec(a.matmul(b).sum()), Torch.vec(a, b), new TensorVector(), false);
      return d.size();
    }
  }
}
