package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * W6's first step on libtorch, as {@code PinnFirstStepBench} times Adjoint's: in a fresh JVM with the
 * model and points built, one PINN step (loss with Δu by double backward, gradient, Adam). One shot per
 * fork, five forks.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(5)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
public class TorchPinnFirstStepBench {
  @Param({"1"})
  public int threads;

  private TorchPhysics.Mlp u;
  private TorchPhysics.Adam adam;
  private Tensor interior, rhs, boundary;

  @Setup(Level.Iteration)
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
  @Against("dev.adjoint.bench.PinnFirstStepBench.firstStep")
  public float firstStep() {
    try (PointerScope scope = new PointerScope()) {
      Tensor loss = TorchPhysics.pinnLoss(u, interior, rhs, boundary);
      TensorVector g = Torch.grad(Torch.vec(loss), u.params(), new TensorVector(), false);
      adam.step(g);
      return loss.item_float();
    }
  }
}
