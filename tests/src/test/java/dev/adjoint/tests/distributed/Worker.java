package dev.adjoint.tests.distributed;

import dev.adjoint.Cell;
import dev.adjoint.Communicator;
import dev.adjoint.DType;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.data.DataLoader;
import dev.adjoint.data.Dataset;
import dev.adjoint.data.DistributedSampler;
import dev.adjoint.distributed.DataParallel;
import dev.adjoint.distributed.ProcessGroup;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.Optimizer;
import dev.adjoint.optim.SGD;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * One rank of the distributed tests (DistributedTest starts 2 or 4 of these JVMs with ADJOINT_* set):
 * {@code collectives} checks every collective's values against what the ranks' inputs determine;
 * {@code train <sgd|adam> <f32|f64> <steps> <out> [hidden]} trains data-parallel and writes this rank's
 * parameters to {@code out/rank<r>.txt}; {@code forever} trains until killed.
 */
public final class Worker {
  static final int SAMPLES = 64, GLOBAL_BATCH = 16, IN = 5, OUT = 3;
  static DataParallel lastRun;

  public static void main(String[] args) throws Exception {
    try (ProcessGroup group = ProcessGroup.fromEnvironment()) {
      switch (args[0]) {
        case "collectives" -> collectives(group.communicator());
        case "train" -> {
          List<double[]> params = train(group, args[1], args[2].equals("f64") ? DType.FLOAT64 : DType.FLOAT32,
              Integer.parseInt(args[3]), args.length > 5 ? Integer.parseInt(args[5]) : 8, false);
          write(Path.of(args[4]).resolve("rank" + group.rank() + ".txt"), params);
          // Only rank 0 writes checkpoints: each rank names its own file here, so the test can see who wrote.
          lastRun.save(Path.of(args[4]).resolve("checkpoint-by-rank" + group.rank() + ".safetensors"));
        }
        case "forever" -> train(group, "sgd", DType.FLOAT64, Integer.MAX_VALUE, 8, true);
        default -> throw new IllegalArgumentException("unknown mode " + args[0]);
      }
    }
    System.out.println("worker done");
  }

  static void collectives(Communicator c) {
    int r = c.rank(), n = c.worldSize();
    double[] d = {r + 1, -2.0 * r, 0.25};
    c.allReduce(d, Communicator.Reduce.SUM);
    expect("allReduce sum f64", d, new double[] {n * (n + 1) / 2.0, -(double) n * (n - 1), 0.25 * n});
    float[] f = {r + 1, 3};
    c.allReduce(f, Communicator.Reduce.MEAN);
    expect("allReduce mean f32", toD(f), new double[] {(n + 1) / 2.0, 3});
    double[] big = new double[1 << 18];
    for (int i = 0; i < big.length; i++) big[i] = i * (r + 1);
    c.allReduce(big, Communicator.Reduce.MEAN);
    for (int i = 0; i < big.length; i += 4097) if (big[i] != i * (n + 1) / 2.0) fail("allReduce mean f64 (2 MiB) at " + i + ": " + big[i]);
    double[] b = {r, 10 * r};
    c.broadcast(b, n - 1);
    expect("broadcast f64 from the last rank", b, new double[] {n - 1, 10 * (n - 1)});
    float[] bf = {r * 0.5f};
    c.broadcast(bf, 0);
    expect("broadcast f32 from rank 0", toD(bf), new double[] {0});
    double[] g = c.allGather(new double[] {r, -r});
    double[] want = new double[2 * n];
    for (int k = 0; k < n; k++) {
      want[2 * k] = k;
      want[2 * k + 1] = -k;
    }
    expect("allGather f64", g, want);
    float[] gf = c.allGather(new float[] {r * 2f});
    double[] wf = new double[n];
    for (int k = 0; k < n; k++) wf[k] = 2 * k;
    expect("allGather f32", toD(gf), wf);
    try (Tensor t = Tensor.of(new float[] {r, 1}, 2); Tensor s = c.allReduce(t, Communicator.Reduce.SUM); Tensor a = c.allGather(t)) {
      expect("allReduce tensor", toD(s.toFloatArray()), new double[] {n * (n - 1) / 2.0, n});
      if (!Arrays.equals(a.shape(), new long[] {n, 2})) fail("allGather tensor shape " + Arrays.toString(a.shape()));
    }
    // The packed all-reduce of several tensors: eagerly, and as nodes of a traced cell run twice.
    try (Tensor pa = Tensor.of(new double[] {r, 1, 2}, 3); Tensor pb = Tensor.of(new double[] {10.0 * r, -r, 4, 5}, 2, 2)) {
      Tensor[] m = c.allReduce(Communicator.Reduce.MEAN, null, pa, pb);
      expect("packed allReduce mean, part 0", m[0].toDoubleArray(), new double[] {(n - 1) / 2.0, 1, 2});
      expect("packed allReduce mean, part 1", m[1].toDoubleArray(), new double[] {5.0 * (n - 1), -(n - 1) / 2.0, 4, 5});
      Cell sumOfParts = Cell.of(2, in -> {
        Tensor[] s = c.allReduce(Communicator.Reduce.SUM, null, dev.adjoint.Ops.mul(in[0], 2), in[1]);
        return dev.adjoint.Ops.add(dev.adjoint.Ops.sum(s[0]), dev.adjoint.Ops.sum(s[1]));
      });
      // Two packed all-reduces of one signature in one graph, the second ordered after the first's leader:
      // each keeps its own packed result for its parts.
      Cell twice = Cell.of(2, in -> {
        Tensor[] s1 = c.allReduce(Communicator.Reduce.SUM, null, in[0], in[1]);
        Tensor[] s2 = c.allReduce(Communicator.Reduce.SUM, s1[0], dev.adjoint.Ops.mul(in[0], 3), dev.adjoint.Ops.mul(in[1], 3));
        return dev.adjoint.Ops.add(dev.adjoint.Ops.sum(s1[1]), dev.adjoint.Ops.mul(dev.adjoint.Ops.sum(s2[1]), 10));
      });
      try (Tensor v = twice.apply(pa, pb)) {
        double sb = 10.0 * n * (n - 1) / 2.0 - n * (n - 1) / 2.0 + 9 * n;
        expect("two packed all-reduces of one signature", new double[] {v.item()}, new double[] {sb + 30 * sb});
      }
      for (int run = 0; run < 2; run++) {
        double total = 2 * (n * (n - 1) / 2.0 + 3 * n) + (10.0 * n * (n - 1) / 2.0 - n * (n - 1) / 2.0 + 9 * n);
        try (Tensor v = sumOfParts.apply(pa, pb)) {
          expect("packed allReduce sum in a traced cell, run " + run, new double[] {v.item()}, new double[] {total});
        }
      }
    }
    // Barrier: rank 0 arrives last; nobody may leave before it has arrived.
    long before = System.nanoTime();
    if (r == 0) sleep(300);
    c.barrier();
    if (r != 0 && System.nanoTime() - before < 250_000_000L) fail("barrier returned before rank 0 arrived");
    System.out.println("collectives ok rank " + r + " of " + n + ": " + c.describe());
  }

  /** The data of every run: SAMPLES rows of IN inputs and OUT targets, seeded. */
  static Dataset data(DType dtype) {
    Random rnd = new Random(7);
    double[] x = new double[SAMPLES * IN], y = new double[SAMPLES * OUT];
    for (int i = 0; i < x.length; i++) x[i] = rnd.nextGaussian();
    for (int i = 0; i < y.length; i++) y[i] = Math.sin(i * 0.37) + 0.1 * rnd.nextGaussian();
    if (dtype == DType.FLOAT64) return Dataset.builder().column(x, IN).column(y, OUT).build();
    return Dataset.builder().column(toF(x), IN).column(toF(y), OUT).build();
  }

  /**
   * Trains an IN-hidden-hidden-OUT tanh MLP for {@code steps} steps on batches of GLOBAL_BATCH samples (split
   * over the ranks) and returns its parameters. With a local group this is the single-process full-batch run.
   */
  static List<double[]> train(ProcessGroup group, String opt, DType dtype, int steps, int hidden, boolean slow) {
    Sequential net = Mlp.builder(IN).hidden(hidden, hidden).out(OUT).activation("tanh").dtype(dtype).seed(11 + group.rank()).build();
    Optimizer o = opt.equals("adam") ? new Adam(net.trainableParams(), 1e-2) : new SGD(net.trainableParams(), 0.1);
    // A small bucket size, so that the 6 parameters make 3 buckets (bucketing is what is tested):
    // [b2, W2, b1], [W1, b0], [W0] for hidden 8.
    DataParallel dp = lastRun = DataParallel.builder(group, net, o).bucketBytes(10L * hidden * (dtype == DType.FLOAT64 ? 8 : 4)).build();
    if (group.worldSize() > 1 && hidden == 8 && dp.buckets().size() != 3) throw new AssertionError("buckets: " + dp.buckets());
    Cell step = dp.step(Cell.of(in -> Losses.mse(net.call(in[0]).asTensor(), in[1])));
    DataLoader loader = DataLoader.builder(data(dtype)).batchSize(GLOBAL_BATCH / group.worldSize()).shuffle(3)
        .sampler(new DistributedSampler(group.rank(), group.worldSize())).build();
    int done = 0;
    for (int epoch = 0; done < steps; epoch++)
      for (DataLoader.Batch b : loader.epoch(epoch)) {
        if (done >= steps) break;
        try (b; Tensor loss = step.apply(b.get(0), b.get(1))) {
          if (slow) {
            System.out.println("step " + done + " loss " + loss.item());
            sleep(50);
          }
        }
        done++;
      }
    List<double[]> out = new ArrayList<>();
    for (Parameter p : net.namedParameters().values()) out.add(p.toDoubleArray());
    return out;
  }

  static void write(Path file, List<double[]> params) throws IOException {
    StringBuilder s = new StringBuilder();
    for (double[] p : params) {
      for (double v : p) s.append(Double.toString(v)).append(' ');
      s.append('\n');
    }
    Files.writeString(file, s.toString());
  }

  static List<double[]> read(Path file) throws IOException {
    List<double[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(file))
      if (!line.isBlank()) out.add(Arrays.stream(line.trim().split(" ")).mapToDouble(Double::parseDouble).toArray());
    return out;
  }

  private static void expect(String what, double[] got, double[] want) {
    if (!Arrays.equals(got, want)) fail(what + ": got " + Arrays.toString(got) + ", want " + Arrays.toString(want));
  }

  private static void fail(String why) {
    throw new AssertionError(why);
  }

  private static double[] toD(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) d[i] = f[i];
    return d;
  }

  private static float[] toF(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
    return f;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
