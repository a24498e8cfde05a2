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

/** W6 on libtorch: the PINN step (2-64-64-64-1 tanh, 4096 + 512 points), Δu by double backward, Adam. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TorchPinnStepBench {
  @Param({"1"})
  public int threads;

  private TorchPhysics.Mlp u;
  private TorchPhysics.Adam adam;
  private Tensor interior, rhs, boundary;

  @Setup
  public void setup() {
    Torch.threads(threads);
    u = new TorchPhysics.Mlp(2, 64, 64, 64, 1);
    adam = new TorchPhysics.Adam(u.params(), 1e-3);
    TorchPhysics.PinnPoints points = new TorchPhysics.PinnPoints();
    interior = points.interior;
    rhs = points.rhs;
    boundary = points.boundary;
  }

  @Benchmark
  @Against("dev.adjoint.bench.PinnStepBench.step")
  public float step() {
    try (PointerScope scope = new PointerScope()) {
      Tensor loss = TorchPhysics.pinnLoss(u, interior, rhs, boundary);
      TensorVector g = Torch.grad(Torch.vec(loss), u.params(), new TensorVector(), false);
      adam.step(g);
      return loss.item_float();
    }
  }
}
