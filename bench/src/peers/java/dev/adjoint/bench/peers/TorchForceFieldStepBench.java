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

/** W7 on libtorch: the force-field step (96-128-128-1 tanh, batch 256), F = −dE/dx with create_graph, Adam. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchForceFieldStepBench {
  @Param({"1"})
  public int threads;

  private TorchPhysics.Mlp e;
  private TorchPhysics.Adam adam;
  private Tensor x, energy, force;

  @Setup
  public void setup() {
    Torch.threads(threads);
    e = new TorchPhysics.Mlp(96, 128, 128, 1);
    adam = new TorchPhysics.Adam(e.params(), 1e-3);
    x = Torch.leaf(Torch.uniform(-1, 1, 256, 96));
    energy = Torch.uniform(-1, 1, 256, 1);
    force = Torch.uniform(-1, 1, 256, 96);
  }

  @Benchmark
  @Against("dev.adjoint.bench.ForceFieldStepBench.step")
  public float step() {
    try (PointerScope scope = new PointerScope()) {
      Tensor loss = TorchPhysics.forceLoss(e, x, energy, force);
      TensorVector g = Torch.grad(Torch.vec(loss), e.params(), new TensorVector(), false);
      adam.step(g);
      return loss.item_float();
    }
  }
}
