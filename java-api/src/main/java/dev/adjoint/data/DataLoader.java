package dev.adjoint.data;

import dev.adjoint.AdjointException;
import dev.adjoint.Device;
import dev.adjoint.Tensor;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Minibatches of a {@link Dataset}: shuffled per epoch with a seed (epoch e uses {@code seed + e}, so any epoch
 * can be reproduced alone), batched, the last partial batch kept, dropped or padded (by repeating the epoch's
 * first samples, so every batch has one shape and the step compiles once), and optionally prefetched on a
 * background thread that builds the next batches (and copies them to the device) while the step runs.
 *
 * <pre>{@code
 * DataLoader loader = DataLoader.builder(ds).batchSize(64).shuffle(42).lastBatch(LastBatch.DROP).prefetch(2).build();
 * for (int epoch = 0; epoch < 10; epoch++)
 *   for (Batch b : loader.epoch(epoch))
 *     try (b) { step.apply(b.get(0), b.get(1)).close(); }
 * }</pre>
 *
 * A batch owns its tensors: close it (try-with-resources) when the step is done with it. A kept last batch
 * of a different size compiles its own signature once; cells cache it, so later epochs do not recompile.
 */
public final class DataLoader {
  /**
   * What happens to the last, partial batch of an epoch.
   *
   * <pre>{@code
   * DataLoader loader = DataLoader.builder(ds).batchSize(32).lastBatch(LastBatch.PAD).build();
   * }</pre>
   */
  public enum LastBatch {
    /** The last batch is delivered with fewer rows: that one signature is compiled once and cached. */
    KEEP,
    /** The last partial batch is skipped: every batch has {@code batchSize} rows. */
    DROP,
    /**
     * The last batch is filled up to {@code batchSize} rows with the epoch's first samples; {@link
     * Batch#samples()} tells how many rows are real.
     */
    PAD
  }

  /**
   * The columns of one batch, each with a leading batch dimension, in the order they were added to the
   * {@link Dataset}. It owns its tensors.
   *
   * <pre>{@code
   * for (Batch b : loader.epoch(0))
   *   try (b) { step.apply(b.get(0), b.get(1)).close(); }   // features, labels
   * }</pre>
   */
  public static final class Batch implements AutoCloseable {
    private final Tensor[] tensors;
    private final int real;

    Batch(Tensor[] tensors, int real) {
      this.tensors = tensors;
      this.real = real;
    }

    /** Column {@code c} of this batch. */
    public Tensor get(int c) {
      return tensors[c];
    }

    /** The number of real samples (smaller than the batch for a padded last batch). */
    public int samples() {
      return real;
    }

    /** Closes the tensors of every column of this batch. */
    @Override
    public void close() {
      for (Tensor t : tensors) t.close();
    }
  }

  private final Dataset data;
  private final int batchSize;
  private final Long seed;
  private final LastBatch last;
  private final int prefetch;
  private final Device device;
  private final DistributedSampler sampler;

  private DataLoader(Builder b) {
    this.data = b.data;
    this.batchSize = b.batchSize;
    this.seed = b.seed;
    this.last = b.last;
    this.prefetch = b.prefetch;
    this.device = b.device;
    this.sampler = b.sampler;
  }

  /** A builder of loaders over {@code data}; {@link Builder#batchSize} must be set before {@link Builder#build}. */
  public static Builder builder(Dataset data) {
    return new Builder(data);
  }

  /** Batches of one epoch. */
  public int batchesPerEpoch() {
    int n = sampler == null ? data.size() : sampler.samplesPerRank(data.size());
    int full = n / batchSize, rest = n % batchSize;
    return full + (rest > 0 && last != LastBatch.DROP ? 1 : 0);
  }

  /**
   * The sample order of epoch {@code e}: a seeded shuffle, or 0..n-1; with a {@link DistributedSampler},
   * this rank's shard of it.
   */
  public int[] order(int epoch) {
    int[] all = fullOrder(epoch);
    return sampler == null ? all : sampler.shard(all);
  }

  private int[] fullOrder(int epoch) {
    int n = data.size();
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) idx[i] = i;
    if (seed != null) {
      Random r = new Random(seed + epoch);
      for (int i = n - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
    }
    return idx;
  }

  /** The batches of epoch {@code e}, built in order (or prefetched in the background). */
  public Iterable<Batch> epoch(int epoch) {
    int[] order = order(epoch);
    int count = batchesPerEpoch();
    IntFunction<Batch> make = k -> batch(order, k);
    return () -> prefetch > 0 ? new Prefetching(make, count, prefetch) : new Iterator<>() {
      int next = 0;

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public Batch next() {
        if (next >= count) throw new NoSuchElementException();
        return make.apply(next++);
      }
    };
  }

  private Batch batch(int[] order, int k) {
    int from = k * batchSize;
    int real = Math.min(batchSize, order.length - from);
    int rows = last == LastBatch.PAD ? batchSize : real;
    Tensor[] out = new Tensor[data.columns()];
    try {
      for (int c = 0; c < out.length; c++) {
        Dataset.Column col = data.columns.get(c);
        long[] shape = new long[col.sampleShape().length + 1];
        shape[0] = rows;
        System.arraycopy(col.sampleShape(), 0, shape, 1, col.sampleShape().length);
        int per = col.sampleNumel();
        Tensor host = switch (col.dtype()) {
          case FLOAT32 -> {
            float[] v = new float[rows * per];
            FloatBuffer src = (FloatBuffer) col.data();
            for (int i = 0; i < rows; i++) src.get(order[(from + i) % order.length] * per, v, i * per, per);
            yield Tensor.of(v, shape);
          }
          case FLOAT64 -> {
            double[] v = new double[rows * per];
            DoubleBuffer src = (DoubleBuffer) col.data();
            for (int i = 0; i < rows; i++) src.get(order[(from + i) % order.length] * per, v, i * per, per);
            yield Tensor.of(v, shape);
          }
          case INT32 -> {
            int[] v = new int[rows * per];
            IntBuffer src = (IntBuffer) col.data();
            for (int i = 0; i < rows; i++) src.get(order[(from + i) % order.length] * per, v, i * per, per);
            yield Tensor.of(v, shape);
          }
        };
        if (device != null && !device.equals(Device.CPU)) {
          try (host) {
            out[c] = host.to(device);
          }
        } else out[c] = host;
      }
    } catch (RuntimeException e) {
      for (Tensor t : out) if (t != null) t.close();
      throw e;
    }
    return new Batch(out, real);
  }

  /** Builds batches on a daemon thread, at most {@code depth} ahead; failures reach the consumer. */
  private static final class Prefetching implements Iterator<Batch> {
    private static final Object END = new Object();
    private final BlockingQueue<Object> queue;
    private final Thread worker;
    private Object head;
    private volatile boolean cancelled;

    Prefetching(IntFunction<Batch> make, int count, int depth) {
      queue = new ArrayBlockingQueue<>(depth + 1);
      worker = new Thread(() -> {
        try {
          for (int k = 0; k < count && !cancelled; k++) {
            Batch b = make.apply(k);
            while (!queue.offer(b, 100, TimeUnit.MILLISECONDS))
              if (cancelled) {
                b.close();
                return;
              }
          }
          queue.put(END);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (Throwable t) {
          try {
            queue.put(t);
          } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
          }
        }
      }, "adjoint-dataloader");
      worker.setDaemon(true);
      worker.start();
    }

    @Override
    public boolean hasNext() {
      if (head == null) {
        try {
          head = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          cancelled = true;
          throw new AdjointException("DataLoader: interrupted while waiting for a batch");
        }
      }
      if (head instanceof Throwable t) {
        head = END;
        throw new AdjointException("DataLoader: building a batch failed: " + t.getMessage(), t);
      }
      return head != END;
    }

    @Override
    public Batch next() {
      if (!hasNext()) throw new NoSuchElementException();
      Batch b = (Batch) head;
      head = null;
      return b;
    }
  }

  /**
   * Settings; {@code batchSize} is required, everything else optional (no shuffling, last batch kept, no
   * prefetch, CPU).
   *
   * <pre>{@code
   * DataLoader loader = DataLoader.builder(ds).batchSize(64).shuffle(7).prefetch(2).build();
   * }</pre>
   */
  public static final class Builder {
    private final Dataset data;
    private int batchSize = -1;
    private Long seed;
    private LastBatch last = LastBatch.KEEP;
    private int prefetch;
    private Device device;
    private DistributedSampler sampler;

    Builder(Dataset data) {
      if (data == null) throw new AdjointException("DataLoader: dataset is null");
      this.data = data;
    }

    /** Samples per batch (the leading dimension of every column); {@code n < 1} is an {@link AdjointException}. */
    public Builder batchSize(int n) {
      if (n < 1) throw new AdjointException("DataLoader: batch size must be >= 1, got " + n);
      batchSize = n;
      return this;
    }

    /** Shuffles every epoch with {@code seed + epoch}. */
    public Builder shuffle(long seed) {
      this.seed = seed;
      return this;
    }

    /** What to do with the last, partial batch of an epoch; {@link LastBatch#KEEP} by default. */
    public Builder lastBatch(LastBatch policy) {
      if (policy == null) throw new AdjointException("DataLoader: last-batch policy is null");
      last = policy;
      return this;
    }

    /** Builds up to {@code depth} batches ahead on a background thread (0: none, the default). */
    public Builder prefetch(int depth) {
      if (depth < 0) throw new AdjointException("DataLoader: prefetch depth must be >= 0, got " + depth);
      prefetch = depth;
      return this;
    }

    /** Where batches are delivered (copied there by the prefetch thread); default the CPU. */
    public Builder device(Device d) {
      device = d;
      return this;
    }

    /** Gives each epoch only this rank's shard of the order (data-parallel training); default: every sample. */
    public Builder sampler(DistributedSampler s) {
      if (s == null) throw new AdjointException("DataLoader: sampler is null");
      sampler = s;
      return this;
    }

    /** The loader; an {@link AdjointException} if no batch size was given. */
    public DataLoader build() {
      if (batchSize < 1) throw new AdjointException("DataLoader: batchSize(n) is required");
      return new DataLoader(this);
    }
  }
}
