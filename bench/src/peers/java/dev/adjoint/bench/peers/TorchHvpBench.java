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

/**
 * W8 on libtorch: H v of the W6 PINN loss over all weights by double backward (grad with create_graph,
 * then the gradient of <g, v>), against the plain gradient of the same loss.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TorchHvpBench {
  @Param({"1"})
  public int threads;

  private TorchPhysics.Mlp u;
  private Tensor interior, rhs, boundary;
  private Tensor[] v;

  @Setup
  public void setup() {
    Torch.threads(threads);
    u = new TorchPhysics.Mlp(2, 64, 64, 64, 1);
    TorchPhysics.PinnPoints points = new TorchPhysics.PinnPoints();
    interior = points.interior;
    rhs = points.rhs;
    boundary = points.boundary;
    TensorVector p = u.params();
    v = new Tensor[(int) p.size()];
    for (int i = 0; i < v.length; i++) v[i] = Torch.uniform(-1, 1, p.get(i).sizes().vec().get());
  }

  @Benchmark
  @Against("dev.adjoint.bench.HvpBench.hvpOfLoss")
  public float hvpOfLoss() {
    try (PointerScope scope = new PointerScope()) {
      Tensor loss = TorchPhysics.pinnLoss(u, interior, rhs, boundary);
      TensorVector g = Torch.grad(Torch.vec(loss), u.params(), new TensorVector(), true);
      Tensor dot = null;
      for (int i = 0; i < v.length; i++) {
        Tensor term = g.get(i).mul(v[i]).sum();
        dot = dot == null ? term : dot.add(term);
      }
      TensorVector hv = Torch.grad(Torch.vec(dot), u.params(), new TensorVector(), false);
      return hv.get(0).sum().item_float();
    }
  }

  @Benchmark
  @Against("dev.adjoint.bench.HvpBench.gradient")
  public float gradient() {
    try (PointerScope scope = new PointerScope()) {
      Tensor loss = TorchPhysics.pinnLoss(u, interior, rhs, boundary);
      TensorVector g = Torch.grad(Torch.vec(loss), u.params(), new TensorVector(), false);
      return g.get(0).sum().item_float();
    }
  }
}
