package dev.adjoint.bench.peers;

import dev.adjoint.bench.Against;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
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

/** W4 on libtorch: the same 784-512-512-10 step, autograd then p -= lr * grad in place, no_grad. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TorchTrainStepBench {
  static final int BATCH = 128, IN = 784, HIDDEN = 512, OUT = 10;

  @Param({"1"})
  public int threads;

  private Tensor x, t, w1, w2, w3;
  private Scalar lr, batch;

  @Setup
  public void setup() {
    Torch.threads(threads);
    w1 = Torch.leaf(init(IN, HIDDEN));
    w2 = Torch.leaf(init(HIDDEN, HIDDEN));
    w3 = Torch.leaf(init(HIDDEN, OUT));
    x = Torch.uniform(-1, 1, BATCH, IN);
    t = x.matmul(Torch.uniform(-0.1, 0.1, IN, OUT)).tanh().detach();
    lr = new Scalar(0.01);
    batch = new Scalar((double) BATCH);
  }

  static Tensor init(int fanIn, int fanOut) {
    double bound = 1 / Math.sqrt(fanIn);
    return Torch.uniform(-bound, bound, fanIn, fanOut);
  }

  @Benchmark
  @Against("dev.adjoint.bench.TrainStepBench.step")
  public float step() {
    try (PointerScope scope = new PointerScope()) {
      Tensor h1 = x.matmul(w1).sin();
      Tensor h2 = h1.matmul(w2).sin();
      Tensor loss = h2.matmul(w3).sub(t).square().sum().div(batch);
      TensorVector g = Torch.grad(Torch.vec(loss), Torch.vec(w1, w2, w3), new TensorVector(), false);
      try (NoGradGuard guard = new NoGradGuard()) {
        w1.sub_(g.get(0).mul(lr));
        w2.sub_(g.get(1).mul(lr));
        w3.sub_(g.get(2).mul(lr));
      }
      return loss.item_float();
    }
  }
}
