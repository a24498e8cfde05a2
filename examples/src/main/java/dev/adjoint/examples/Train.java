package dev.adjoint.examples;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.optim.SGD;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * The benchmark's W4 network trained for real: h1 = sin(x@W1), h2 = sin(h1@W2), out = h2@W3,
 * loss = sum((out - t)^2) / batch, 784-512-512-10, batch 128, SGD lr 0.01, weights uniform
 * +-1/sqrt(fan_in). Data: a fixed random teacher labels random inputs, so the loss must fall.
 */
public final class Train {
  private Train() {}

  public static final class Mlp extends Cell {
    final Parameter w1, w2, w3;

    public Mlp(Random rnd) {
      w1 = parameter("w1", init(rnd, 784, 512));
      w2 = parameter("w2", init(rnd, 512, 512));
      w3 = parameter("w3", init(rnd, 512, 10));
    }

    static Tensor init(Random rnd, int fanIn, int fanOut) {
      double b = 1 / Math.sqrt(fanIn);
      return Tensor.uniform(rnd, DType.FLOAT32, -b, b, fanIn, fanOut);
    }

    @Override
    public Value construct(Tensor... in) {
      Tensor h1 = Ops.sin(Ops.matmul(in[0], w1));
      Tensor h2 = Ops.sin(Ops.matmul(h1, w2));
      return Ops.matmul(h2, w3);
    }
  }

  /** loss = sum((net(x) - t)^2) / batch. */
  public static final class SquaredLoss extends Cell {
    final Cell net;

    public SquaredLoss(Cell net) {
      this.net = net;
    }

    @Override
    public Value construct(Tensor... in) {
      Tensor out = net.call(in[0]).asTensor();
      Tensor d = Ops.sub(out, in[1]);
      return Ops.div(Ops.sum(Ops.square(d)), in[0].shape()[0]);
    }
  }

  public static void main(String[] args) throws IOException {
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 300;
    int batch = 128;
    Random rnd = new Random(42);
    Mlp net = new Mlp(rnd);
    Cell step = new SGD(net.trainableParams(), 0.01).step(new SquaredLoss(net));

    // Teacher: a fixed random linear map followed by tanh gives smooth, learnable targets.
    Tensor teacher = Tensor.uniform(rnd, DType.FLOAT32, -0.1, 0.1, 784, 10);
    int batches = 8;
    Tensor[] xs = new Tensor[batches], ts = new Tensor[batches];
    for (int b = 0; b < batches; b++) {
      xs[b] = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, batch, 784);
      ts[b] = Ops.tanh(Ops.matmul(xs[b], teacher));
    }

    double[] losses = new double[steps];
    long t0 = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      try (Tensor loss = step.apply(xs[s % batches], ts[s % batches])) {
        losses[s] = loss.item();
      }
      if (s % Math.max(1, steps / 10) == 0 || s == steps - 1)
        System.out.printf("step %4d  loss %.5f%n", s, losses[s]);
    }
    double ms = (System.nanoTime() - t0) / 1e6;
    System.out.printf("%d steps in %.0f ms (%.2f ms/step, first step includes compilation)%n", steps, ms, ms / steps);
    System.out.println();
    System.out.println(plot(losses, 64, 14));
    Path csv = Path.of("examples/target/train-loss.csv");
    Files.createDirectories(csv.getParent());
    StringBuilder sb = new StringBuilder("step,loss\n");
    for (int s = 0; s < steps; s++) sb.append(s).append(',').append(losses[s]).append('\n');
    Files.writeString(csv, sb);
    System.out.println("loss curve written to " + csv);
    if (!(losses[steps - 1] < losses[0])) throw new IllegalStateException("loss did not decrease");
  }

  /** A terminal plot of the loss curve. */
  static String plot(double[] y, int width, int height) {
    double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
    for (double v : y) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    char[][] grid = new char[height][width];
    for (char[] row : grid) java.util.Arrays.fill(row, ' ');
    for (int c = 0; c < width; c++) {
      int i = (int) ((long) c * (y.length - 1) / Math.max(1, width - 1));
      int r = (int) Math.round((hi - y[i]) / Math.max(1e-12, hi - lo) * (height - 1));
      grid[r][c] = '*';
    }
    StringBuilder sb = new StringBuilder("loss\n");
    for (int r = 0; r < height; r++) {
      double v = hi - (hi - lo) * r / (height - 1);
      sb.append(String.format("%9.4f |", v)).append(grid[r]).append('\n');
    }
    sb.append(" ".repeat(10)).append('+').append("-".repeat(width)).append("> step (0..").append(y.length - 1).append(")");
    return sb.toString();
  }
}
