package dev.adjoint.examples;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.autodiff.GradOperation;
import dev.adjoint.data.DataLoader;
import dev.adjoint.data.Dataset;
import dev.adjoint.data.DistributedSampler;
import dev.adjoint.distributed.DataParallel;
import dev.adjoint.distributed.ProcessGroup;
import dev.adjoint.io.Checkpoint;
import dev.adjoint.nn.Mlp;
import dev.adjoint.nn.Sequential;
import dev.adjoint.nn.loss.Losses;
import dev.adjoint.optim.Adam;
import dev.adjoint.optim.LrSchedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./adjoint train}: a real task trained end to end through the toolkit (nn, init, loss, optim with a
 * schedule, data, io): a two-spiral classifier (default) or a 1-D PINN, with a progress line (step, loss,
 * steps/s, ETA), a CSV and a PNG loss plot, a checkpoint at the end and {@code --resume} to continue.
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a spiral classifier or a 1-D PINN through the toolkit.")
final class TrainCommand implements Callable<Integer> {
  enum Task { spiral, pinn, w4 }

  @Option(names = "--task", defaultValue = "spiral", description = "spiral, pinn, or w4 (the 784-512-512-10 SGD benchmark network on synthetic data) (default ${DEFAULT-VALUE})")
  Task task;

  @Option(names = "--steps", defaultValue = "2000", description = "optimizer steps (default ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--lr", defaultValue = "0.01", description = "peak learning rate (default ${DEFAULT-VALUE})")
  double lr;

  @Option(names = "--seed", defaultValue = "42", description = "seed of data and weights (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--out", defaultValue = "examples/target/train", description = "folder for the CSV, PNG and checkpoint")
  Path out;

  @Option(names = "--resume", description = "continue from the checkpoint in --out")
  boolean resume;

  @Option(names = "--distributed", description = "train data-parallel in the process group of ADJOINT_RANK, ADJOINT_WORLD_SIZE, ... (./adjoint launch sets them; implied when ADJOINT_WORLD_SIZE > 1); --task spiral")
  boolean distributed;

  private boolean distributed() {
    String n = System.getenv("ADJOINT_WORLD_SIZE");
    return distributed || (n != null && !n.trim().equals("1"));
  }

  @Override
  public Integer call() throws IOException {
    if (steps < 1) throw new AdjointException("--steps must be >= 1, got " + steps);
    if (!(lr > 0)) throw new AdjointException("--lr must be > 0, got " + lr);
    Files.createDirectories(out);
    Path ckpt = out.resolve(task + ".safetensors");
    if (distributed() && task != Task.spiral)
      throw new AdjointException("data-parallel training (--distributed, or under ./adjoint launch) is done for --task spiral; got --task " + task);
    if (task == Task.w4) {
      Train.main(new String[] {"train", Integer.toString(steps)});
      return 0;
    }
    return task == Task.spiral ? spiral(ckpt) : pinn(ckpt);
  }

  private int spiral(Path ckpt) throws IOException {
    int n = 500;
    float[] xs = new float[4 * n];
    int[] ys = new int[2 * n];
    Random r = new Random(seed);
    for (int cls = 0; cls < 2; cls++)
      for (int i = 0; i < n; i++) {
        double t = 0.25 + 3 * Math.PI * i / n, rad = t / (3 * Math.PI), a = t + cls * Math.PI;
        int k = cls * n + i;
        xs[2 * k] = (float) (rad * Math.cos(a) + 0.01 * r.nextGaussian());
        xs[2 * k + 1] = (float) (rad * Math.sin(a) + 0.01 * r.nextGaussian());
        ys[k] = cls;
      }
    float[] onehot = Losses.oneHot(ys, 2, DType.FLOAT32).toFloatArray();
    Dataset ds = Dataset.builder().column(xs, 2).column(onehot, 2).build();
    // Data parallel: the global batch of 200 is split over the ranks (DistributedSampler), the gradients are
    // averaged inside the step (DataParallel), so N ranks follow the single-process run; rank 0 writes.
    try (ProcessGroup group = distributed() ? ProcessGroup.fromEnvironment() : ProcessGroup.local()) {
      int w = group.worldSize();
      if (200 % w != 0) throw new AdjointException("the global batch of 200 does not split over " + w + " ranks");
      DataLoader loader = DataLoader.builder(ds).batchSize(200 / w).shuffle(seed).lastBatch(DataLoader.LastBatch.DROP).prefetch(2)
          .sampler(new DistributedSampler(group.rank(), w, true)).build();
      Sequential net = Mlp.builder(2).hidden(64, 64).out(2).activation("tanh").seed(seed).build();
      Adam adam = new Adam(net.trainableParams(), lr);
      adam.schedule(LrSchedule.warmup(50, LrSchedule.cosine(lr, steps, lr / 20)));
      if (resume) resume(ckpt, net, adam);
      DataParallel dp = DataParallel.builder(group, net, adam).build();
      Cell step = dp.step(Cell.of(in -> Losses.softmaxCrossEntropy(net.call(in[0]).asTensor(), in[1])));
      long t0 = System.nanoTime();
      List<double[]> curve = loop(step, adam, loader, steps, group.isMaster());
      double sec = (System.nanoTime() - t0) / 1e9, rate = (double) steps * (200 / w) / sec;
      if (w > 1) {
        System.out.printf("rank %d: %d steps of %d samples in %.2f s, %.0f samples/s (first step includes compilation)%n",
            group.rank(), steps, 200 / w, sec, rate);
        double total = 0;
        for (double v : group.communicator().allGather(new double[] {rate})) total += v;
        if (group.isMaster()) System.out.printf("total: %.0f samples/s over %d ranks (global batch 200)%n", total, w);
      }
      if (group.isMaster()) {
        try (Tensor x = Tensor.of(xs, 2 * n, 2)) {
          float[] logits = net.apply(x).toFloatArray();
          int correct = 0;
          for (int k = 0; k < 2 * n; k++) if ((logits[2 * k + 1] > logits[2 * k] ? 1 : 0) == ys[k]) correct++;
          System.out.printf("training accuracy: %.2f %%%n", 100.0 * correct / (2 * n));
        }
        finish(ckpt, net, adam, curve, "spiral classifier, softmax cross-entropy" + (w > 1 ? ", " + w + " ranks" : ""));
      }
      group.communicator().barrier(); // the others wait for rank 0's files
    }
    return 0;
  }

  private int pinn(Path ckpt) throws IOException {
    int m = 64;
    double[] xc = new double[m], f = new double[m];
    for (int i = 0; i < m; i++) {
      xc[i] = (i + 0.5) / m;
      f[i] = -Math.PI * Math.PI * Math.sin(Math.PI * xc[i]);
    }
    Tensor x = Tensor.of(xc, m, 1), rhs = Tensor.of(f, m, 1), bc = Tensor.of(new double[] {0, 1}, 2, 1);
    Sequential u = Mlp.builder(1).hidden(32, 32).out(1).activation("tanh").seed(seed).dtype(DType.FLOAT64).build();
    GradOperation grad = new GradOperation();
    Cell du = grad.of(Cell.of(in -> Ops.sum(u.call(in[0]).asTensor())));
    Cell d2u = grad.of(Cell.of(in -> Ops.sum(du.call(in[0]).asTensor())));
    Cell loss = Cell.of(in -> Ops.add(Losses.mse(d2u.call(in[0]).asTensor(), in[1]), Ops.mul(Ops.mean(Ops.square(u.call(in[2]).asTensor())), 10)));
    Adam adam = new Adam(u.trainableParams(), lr);
    adam.schedule(LrSchedule.exponential(lr, Math.pow(0.05, 1.0 / steps)));
    if (resume) resume(ckpt, u, adam);
    Cell step = adam.step(loss);
    List<double[]> curve = new ArrayList<>();
    Progress bar = new Progress(steps);
    for (int i = 0; i < steps; i++) {
      try (Tensor l = step.apply(x, rhs, bc)) {
        double v = l.item();
        curve.add(new double[] {adam.steps(), v});
        bar.update(i + 1, v);
      }
    }
    bar.done();
    double[] grid = new double[101];
    for (int i = 0; i <= 100; i++) grid[i] = i / 100.0;
    double[] pred = u.apply(Tensor.of(grid, 101, 1)).toDoubleArray();
    double err = 0;
    for (int i = 0; i <= 100; i++) err = Math.max(err, Math.abs(pred[i] - Math.sin(Math.PI * grid[i])));
    System.out.printf("max error against sin(pi x): %.2e%n", err);
    finish(ckpt, u, adam, curve, "1-D PINN, u'' = -pi^2 sin(pi x)");
    return 0;
  }

  private void resume(Path ckpt, Cell model, Adam adam) {
    if (!Files.exists(ckpt)) throw new AdjointException("--resume: no checkpoint at " + ckpt + " (train once without --resume first)");
    Checkpoint.load(ckpt, model, adam);
    System.out.println("resumed from " + ckpt + " at step " + adam.steps());
  }

  private static List<double[]> loop(Cell step, Adam adam, DataLoader loader, int steps, boolean show) {
    List<double[]> curve = new ArrayList<>();
    Progress bar = new Progress(show ? steps : 0);
    int done = 0;
    for (int epoch = 0; done < steps; epoch++)
      for (DataLoader.Batch b : loader.epoch(epoch)) {
        try (b; Tensor l = step.apply(b.get(0), b.get(1))) {
          double v = l.item();
          curve.add(new double[] {adam.steps(), v});
          bar.update(++done, v);
        }
        if (done >= steps) break;
      }
    bar.done();
    return curve;
  }

  private void finish(Path ckpt, Cell model, Adam adam, List<double[]> curve, String title) throws IOException {
    Checkpoint.save(ckpt, model, adam);
    Path csv = out.resolve(task + "-loss.csv"), png = out.resolve(task + "-loss.png");
    StringBuilder sb = new StringBuilder("step,loss\n");
    for (double[] p : curve) sb.append((long) p[0]).append(',').append(p[1]).append('\n');
    Files.writeString(csv, sb);
    System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle("loss").build();
    chart.getStyler().setLegendVisible(false).setMarkerSize(0);
    chart.getStyler().setYAxisLogarithmic(curve.stream().allMatch(p -> p[1] > 0));
    double[] xsd = curve.stream().mapToDouble(p -> p[0]).toArray(), ysd = curve.stream().mapToDouble(p -> p[1]).toArray();
    chart.addSeries("loss", xsd, ysd).setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println("checkpoint " + ckpt + " (step " + adam.steps() + "), loss curve " + csv + " and " + png);
  }

  /** One line on stderr, rewritten in place: step, loss, steps/s, ETA. */
  static final class Progress {
    private final int total;
    private final long t0 = System.nanoTime();
    private long last;

    Progress(int total) {
      this.total = total;
    }

    void update(int done, double loss) {
      if (total == 0) return; // a rank other than 0: no progress line
      long now = System.nanoTime();
      if (now - last < 100_000_000L && done < total) return;
      last = now;
      double sec = (now - t0) / 1e9, rate = done / Math.max(sec, 1e-9);
      int width = 30, filled = (int) ((long) width * done / total);
      System.err.printf("\r[%s%s] %d/%d  loss %.4e  %.0f steps/s  ETA %.0f s   ",
          "#".repeat(filled), " ".repeat(width - filled), done, total, loss, rate, (total - done) / Math.max(rate, 1e-9));
    }

    void done() {
      if (total > 0) System.err.println();
    }
  }
}
