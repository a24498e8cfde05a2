package dev.adjoint.bench;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.examples.Train;
import dev.adjoint.optim.SGD;
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
 * W4: one SGD step (forward, backward, in-place update as one compiled graph) of h1 = sin(x@W1),
 * h2 = sin(h1@W2), out = h2@W3, loss = sum((out - t)^2) / batch; 784-512-512-10, batch 128, lr 0.01.
 * Ideal: the step's eight GEMMs on raw OpenBLAS (3 forward, 3 weight gradients, 2 input gradients; the
 * first layer's input needs none), without the elementwise work or the update.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TrainStepBench {
  static final int BATCH = 128, IN = 784, HIDDEN = 512, OUT = 10;

  @Param({"1"})
  public int threads;

  private Tensor x, t;
  private Cell step;
  // Raw buffers, named as in the step: activations, their gradients, and the weight gradients.
  private FloatPointer rx, w1, w2, w3, z1, z2, out, dout, dh2, dz1, dz2, gw1, gw2, gw3;

  @Setup
  public void setup() {
    Threads.use(threads);
    Random rnd = new Random(42);
    Train.Mlp net = new Train.Mlp(rnd);
    step = new SGD(net.trainableParams(), 0.01).step(new Train.SquaredLoss(net));
    x = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, BATCH, IN);
    // Learnable targets (a fixed random teacher), so thousands of steps on one batch stay finite.
    try (Tensor teacher = Tensor.uniform(rnd, DType.FLOAT32, -0.1, 0.1, IN, OUT);
        Tensor logits = Ops.matmul(x, teacher)) {
      t = Ops.tanh(logits);
    }
    try (Tensor loss = step.apply(x, t)) {
      if (!Double.isFinite(loss.item())) throw new IllegalStateException("W4 loss is " + loss.item());
    }

    rx = Blas.uniform(rnd, (long) BATCH * IN);
    w1 = Blas.uniform(rnd, (long) IN * HIDDEN);
    w2 = Blas.uniform(rnd, (long) HIDDEN * HIDDEN);
    w3 = Blas.uniform(rnd, (long) HIDDEN * OUT);
    z1 = Blas.zeros((long) BATCH * HIDDEN);
    z2 = Blas.zeros((long) BATCH * HIDDEN);
    out = Blas.zeros((long) BATCH * OUT);
    dout = Blas.uniform(rnd, (long) BATCH * OUT);
    dh2 = Blas.zeros((long) BATCH * HIDDEN);
    dz2 = Blas.uniform(rnd, (long) BATCH * HIDDEN);
    dz1 = Blas.uniform(rnd, (long) BATCH * HIDDEN);
    gw1 = Blas.zeros((long) IN * HIDDEN);
    gw2 = Blas.zeros((long) HIDDEN * HIDDEN);
    gw3 = Blas.zeros((long) HIDDEN * OUT);
  }

  @TearDown
  public void tearDown() {
    x.close();
    t.close();
    Blas.free(rx, w1, w2, w3, z1, z2, out, dout, dh2, dz1, dz2, gw1, gw2, gw3);
  }

  @Benchmark
  @Against("idealGemmsOneDnn")
  public void step() {
    step.apply(x, t).close();
  }

  /**
   * The step's GEMMs with their shapes and transposes. The elementwise sin, its derivative and the loss
   * are left out, so z1 and z2 stand in for h1 and h2 and dz1, dz2 are fixed buffers.
   */
  @Benchmark
  public void idealGemms() {
    gemms(Blas.OPENBLAS);
  }

  /** The same on oneDNN, the library the engine runs these float32 shapes on (the ratio's ideal). */
  @Benchmark
  public void idealGemmsOneDnn() {
    gemms(Blas.ONEDNN);
  }

  private void gemms(Blas.Sgemm g) {
    g.run(false, false, BATCH, HIDDEN, IN, rx, w1, z1); //      z1 = x @ W1        128x784 . 784x512
    g.run(false, false, BATCH, HIDDEN, HIDDEN, z1, w2, z2); //  z2 = h1 @ W2       128x512 . 512x512
    g.run(false, false, BATCH, OUT, HIDDEN, z2, w3, out); //    out = h2 @ W3     128x512 . 512x10
    g.run(true, false, HIDDEN, OUT, BATCH, z2, dout, gw3); //   dW3 = h2^T @ dout 512x128 . 128x10
    g.run(false, true, BATCH, HIDDEN, OUT, dout, w3, dh2); //   dh2 = dout @ W3^T 128x10 . 10x512
    g.run(true, false, HIDDEN, HIDDEN, BATCH, z1, dz2, gw2); // dW2 = h1^T @ dz2  512x128 . 128x512
    g.run(false, true, BATCH, HIDDEN, HIDDEN, dz2, w2, dz1); // dh1 = dz2 @ W2^T  128x512 . 512x512
    g.run(true, false, IN, HIDDEN, BATCH, rx, dz1, gw1); //     dW1 = x^T @ dz1   784x128 . 128x512
  }
}
