package dev.adjoint.distributed;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Communicator;
import dev.adjoint.DType;
import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.io.Checkpoint;
import dev.adjoint.optim.Optimizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Data-parallel training: every process holds the whole model and trains on its own shard of each batch
 * (a {@link dev.adjoint.data.DistributedSampler}); the compiled train step averages the gradients over the
 * processes between the backward pass and the update, so every rank applies the same update and the
 * parameters stay equal on all ranks, equal to a single process training on the full batch.
 *
 * <p>At {@link Builder#build()} the ranks check that they hold the same model (parameter names, shapes and
 * dtypes, and the bucket size; a mismatch is an error naming the rank) and rank 0's parameters are broadcast
 * to all. The gradients are reduced in buckets of about {@link Builder#bucketBytes} bytes (default 25 MiB,
 * PyTorch DDP's default), the last layers first (the order in which the backward pass produces them): one
 * packed all-reduce per bucket ({@link Communicator#allReduce(Communicator.Reduce, Tensor, Tensor...)}, host
 * callback nodes of the compiled step), chained after the previous bucket's so that every rank issues them
 * in the same order. The engine runs host callbacks on
 * the thread that runs the step, one at a time, so communication does not yet overlap the rest of the
 * backward pass.
 *
 * <pre>{@code
 * try (ProcessGroup group = ProcessGroup.fromEnvironment()) {
 *   DataParallel dp = DataParallel.builder(group, net, sgd).build();     // checks models, broadcasts rank 0's
 *   Cell step = dp.step(Cell.of(in -> Losses.mse(net.call(in[0]).asTensor(), in[1])));
 *   for (DataLoader.Batch b : loader.epoch(e)) try (b; Tensor loss = step.apply(b.get(0), b.get(1))) {}
 *   dp.save(Path.of("run.safetensors"));                                 // rank 0 writes, all wait
 * }
 * }</pre>
 */
public final class DataParallel {
  /** The default bucket size, 25 MiB. */
  public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

  private final ProcessGroup group;
  private final Cell model;
  private final Optimizer optimizer;
  private final long bucketBytes;
  private final List<int[]> buckets = new ArrayList<>();

  private DataParallel(Builder b) {
    this.group = b.group;
    this.model = b.model;
    this.optimizer = b.optimizer;
    this.bucketBytes = b.bucketBytes;
    planBuckets();
    checkSameModel();
    broadcastParameters();
    optimizer.gradientHook(this::reduce);
  }

  /** Settings for wrapping {@code model} (whose parameters {@code optimizer} trains) in {@code group}. */
  public static Builder builder(ProcessGroup group, Cell model, Optimizer optimizer) {
    return new Builder(group, model, optimizer);
  }

  /** The compiled train step of {@code loss}: forward, backward, gradient all-reduce (mean) and update. */
  public Cell step(Cell loss) {
    return optimizer.step(loss);
  }

  /** The process group. */
  public ProcessGroup group() {
    return group;
  }

  /** The buckets: the parameter names of each, in the order they are reduced. */
  public List<List<String>> buckets() {
    List<List<String>> out = new ArrayList<>();
    ParameterTuple ps = optimizer.params();
    for (int[] b : buckets) {
      List<String> names = new ArrayList<>();
      for (int i : b) names.add(ps.get(i).name());
      out.add(Collections.unmodifiableList(names));
    }
    return Collections.unmodifiableList(out);
  }

  /** The bucket size in bytes. */
  public long bucketBytes() {
    return bucketBytes;
  }

  /** Rank 0 writes a checkpoint of the model and the optimizer; every rank waits until it is written. */
  public void save(Path file) {
    if (group.isMaster()) Checkpoint.save(file, model, optimizer);
    group.communicator().barrier();
  }

  // ------------------------------------------------------------------ start

  /** Buckets in reverse parameter order (last layers first), split at the byte size and at dtype changes. */
  private void planBuckets() {
    ParameterTuple ps = optimizer.params();
    List<Integer> cur = new ArrayList<>();
    long bytes = 0;
    DType dtype = null;
    for (int i = ps.size() - 1; i >= 0; i--) {
      Parameter p = ps.get(i);
      long b = p.numel() * (p.dtype() == DType.FLOAT64 ? 8 : 4);
      if (!cur.isEmpty() && (p.dtype() != dtype || bytes + b > bucketBytes)) {
        buckets.add(cur.stream().mapToInt(Integer::intValue).toArray());
        cur.clear();
        bytes = 0;
      }
      cur.add(i);
      bytes += b;
      dtype = p.dtype();
    }
    if (!cur.isEmpty()) buckets.add(cur.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Note [Same model]: every rank's (names, shapes, dtypes, bucket size) fingerprint is gathered and compared. */
  private void checkSameModel() {
    StringBuilder sig = new StringBuilder("bucketBytes=" + bucketBytes + ";");
    long elements = 0;
    for (Parameter p : optimizer.params()) {
      sig.append(p.name()).append(':').append(p.dtype()).append(Arrays.toString(p.shape())).append(';');
      elements += p.numel();
    }
    for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet())
      sig.append(e.getKey()).append('=').append(e.getValue().dtype()).append(Arrays.toString(e.getValue().shape())).append(';');
    CRC32 crc = new CRC32();
    crc.update(sig.toString().getBytes(StandardCharsets.UTF_8));
    double[] mine = {optimizer.params().size(), elements, crc.getValue(), bucketBytes};
    double[] all = group.communicator().allGather(mine);
    for (int r = 0; r < group.worldSize(); r++) {
      double[] theirs = Arrays.copyOfRange(all, 4 * r, 4 * r + 4);
      if (!Arrays.equals(theirs, mine))
        throw new AdjointException(
            "DataParallel: rank " + r + " holds a different model than rank " + group.rank() + ": "
                + (long) theirs[0] + " trained parameters of " + (long) theirs[1] + " elements, bucket size " + (long) theirs[3]
                + (theirs[2] != mine[2] ? ", other names/shapes/dtypes" : "") + ", against " + (long) mine[0]
                + " parameters of " + (long) mine[1] + " elements, bucket size " + (long) mine[3]
                + " here (every rank must build the same model and DataParallel settings)");
    }
  }

  /** Rank 0's parameters (every parameter of the model, trained or not) become every rank's. */
  private void broadcastParameters() {
    Communicator c = group.communicator();
    if (group.worldSize() == 1) return;
    for (Parameter p : model.namedParameters().values())
      try (Tensor v = c.broadcast(p, 0)) {
        p.assign(v);
      }
  }

  // ------------------------------------------------------------------ in the step

  private Tensor[] reduce(Tensor[] g) {
    if (group.worldSize() == 1) return g;
    Tensor[] out = g.clone();
    Tensor previous = null;
    for (int[] b : buckets) {
      Tensor[] in = new Tensor[b.length];
      for (int j = 0; j < b.length; j++) in[j] = g[b[j]];
      // One packed all-reduce per bucket, ordered after the previous bucket's (Communicator.allReduce).
      Tensor[] mean = group.communicator().allReduce(Communicator.Reduce.MEAN, previous, in);
      for (int j = 0; j < b.length; j++) out[b[j]] = mean[j];
      previous = mean[0];
    }
    return out;
  }

  /**
   * Settings of {@link DataParallel}.
   *
   * <pre>{@code
   * DataParallel dp = DataParallel.builder(group, net, adam).bucketBytes(4 << 20).build();
   * }</pre>
   */
  public static final class Builder {
    private final ProcessGroup group;
    private final Cell model;
    private final Optimizer optimizer;
    private long bucketBytes = DEFAULT_BUCKET_BYTES;

    private Builder(ProcessGroup group, Cell model, Optimizer optimizer) {
      if (group == null) throw new AdjointException("DataParallel: process group is null");
      if (model == null) throw new AdjointException("DataParallel: model is null");
      if (optimizer == null) throw new AdjointException("DataParallel: optimizer is null");
      this.group = group;
      this.model = model;
      this.optimizer = optimizer;
    }

    /** Bytes of gradients per all-reduce (default {@link #DEFAULT_BUCKET_BYTES}); a larger parameter gets a bucket of its own. */
    public Builder bucketBytes(long bytes) {
      if (bytes < 1) throw new AdjointException("DataParallel: bucket size must be >= 1 byte, got " + bytes);
      bucketBytes = bytes;
      return this;
    }

    /** Checks that all ranks hold the same model, broadcasts rank 0's parameters and installs the gradient all-reduce. */
    public DataParallel build() {
      return new DataParallel(this);
    }
  }
}
