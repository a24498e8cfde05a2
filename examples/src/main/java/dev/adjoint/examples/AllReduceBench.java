package dev.adjoint.examples;

import dev.adjoint.Cell;
import dev.adjoint.Communicator;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.distributed.DataParallel;
import dev.adjoint.distributed.ProcessGroup;
import dev.adjoint.optim.SGD;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./adjoint launch --nproc N allreduce-bench}: all-reduce bandwidth over the process group for
 * 1-64 MiB float32 buffers (algorithm bandwidth = bytes / time, bus bandwidth = 2(N-1)/N x that, the
 * figure Gloo's and NCCL's benchmarks report), and the W4 train step (784-512-512-10, batch 128 per rank,
 * SGD) with DataParallel against the same step without it. Rank 0 prints; a measurement, not a test.
 */
@Command(name = "allreduce-bench", mixinStandardHelpOptions = true,
    description = "All-reduce bandwidth (1-64 MiB) and W4 data-parallel step overhead; run it under launch.")
final class AllReduceBench implements Callable<Integer> {
  @Option(names = "--sizes", defaultValue = "1,4,16,64", split = ",", description = "buffer sizes in MiB (default ${DEFAULT-VALUE})")
  int[] sizes;

  @Option(names = "--iters", defaultValue = "5", description = "timed all-reduces per size, after one warm-up (default ${DEFAULT-VALUE})")
  int iters;

  @Option(names = "--w4-steps", defaultValue = "20", description = "timed W4 steps, after 3 warm-up steps; 0 skips (default ${DEFAULT-VALUE})")
  int w4Steps;

  @Override
  public Integer call() {
    try (ProcessGroup group = ProcessGroup.fromEnvironment()) {
      Communicator c = group.communicator();
      int n = group.worldSize();
      if (group.isMaster()) System.out.println("all-reduce (sum, float32), " + n + " ranks: " + c.describe());
      for (int mib : sizes) {
        float[] buf = new float[mib << 18];
        c.allReduce(buf, Communicator.Reduce.SUM);
        c.barrier();
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) c.allReduce(buf, Communicator.Reduce.SUM);
        double sec = (System.nanoTime() - t0) / 1e9 / iters;
        double[] worst = c.allGather(new double[] {sec});
        double slowest = 0;
        for (double w : worst) slowest = Math.max(slowest, w);
        double algo = (mib << 20) / slowest / 1e9;
        if (group.isMaster())
          System.out.printf("  %3d MiB: %8.2f ms  algbw %6.3f GB/s  busbw %6.3f GB/s%n", mib, slowest * 1e3, algo, algo * 2.0 * (n - 1) / n);
      }
      if (w4Steps > 0) {
        double plain = w4(group, false), dp = w4(group, true);
        if (group.isMaster())
          System.out.printf("W4 step (batch 128 per rank): %.2f ms without DataParallel, %.2f ms with it over %d ranks (+%.2f ms per step)%n",
              plain, dp, n, dp - plain);
      }
    }
    return 0;
  }

  /** Mean ms per W4 step, slowest rank. */
  private double w4(ProcessGroup group, boolean parallel) {
    Random rnd = new Random(42);
    Train.Mlp net = new Train.Mlp(rnd);
    SGD sgd = new SGD(net.trainableParams(), 0.01);
    Cell step = parallel ? DataParallel.builder(group, net, sgd).build().step(new Train.SquaredLoss(net)) : sgd.step(new Train.SquaredLoss(net));
    Tensor x = Tensor.uniform(rnd, DType.FLOAT32, -1, 1, 128, 784);
    Tensor t = Ops.tanh(Ops.matmul(x, Tensor.uniform(rnd, DType.FLOAT32, -0.1, 0.1, 784, 10)));
    for (int i = 0; i < 3; i++) step.apply(x, t).close();
    group.communicator().barrier();
    long t0 = System.nanoTime();
    for (int i = 0; i < w4Steps; i++) step.apply(x, t).close();
    double ms = (System.nanoTime() - t0) / 1e6 / w4Steps;
    double worst = 0;
    for (double v : group.communicator().allGather(new double[] {ms})) worst = Math.max(worst, v);
    return worst;
  }
}
