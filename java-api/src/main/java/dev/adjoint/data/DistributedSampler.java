package dev.adjoint.data;

import dev.adjoint.AdjointException;

/**
 * Shards each epoch's sample order over the ranks of a data-parallel job without overlap, as PyTorch's
 * {@code DistributedSampler} does: every rank shuffles with the same seed (so all see one order), pads the
 * order by wrapping around to a multiple of the world size (or drops the tail with {@code dropLast}), and
 * rank r takes positions r, r + n, r + 2n, ... So local batch k of every rank together is global batch k
 * of a single process whose batch is n times larger: data-parallel training with averaged gradients
 * follows the single-process run on the full batch.
 *
 * <pre>{@code
 * DataLoader loader = DataLoader.builder(data).batchSize(64).shuffle(42)
 *     .sampler(new DistributedSampler(group.rank(), group.worldSize())).build();
 * }</pre>
 */
public final class DistributedSampler {
  private final int rank, worldSize;
  private final boolean dropLast;

  /** Rank {@code rank} of {@code worldSize}, padding the last round by wrapping around. */
  public DistributedSampler(int rank, int worldSize) {
    this(rank, worldSize, false);
  }

  /** Rank {@code rank} of {@code worldSize}; with {@code dropLast} the tail that does not fill a round is dropped. */
  public DistributedSampler(int rank, int worldSize, boolean dropLast) {
    if (worldSize < 1) throw new AdjointException("DistributedSampler: world size must be >= 1, got " + worldSize);
    if (rank < 0 || rank >= worldSize)
      throw new AdjointException("DistributedSampler: rank " + rank + " is outside [0, " + worldSize + ")");
    this.rank = rank;
    this.worldSize = worldSize;
    this.dropLast = dropLast;
  }

  /** This sampler's rank. */
  public int rank() {
    return rank;
  }

  /** The number of ranks that share the data. */
  public int worldSize() {
    return worldSize;
  }

  /** Samples per rank and epoch for a dataset of {@code n}. */
  public int samplesPerRank(int n) {
    return dropLast ? n / worldSize : (n + worldSize - 1) / worldSize;
  }

  /** This rank's share of {@code order} (the whole epoch's order, the same on every rank). */
  public int[] shard(int[] order) {
    if (order == null) throw new AdjointException("DistributedSampler: order is null");
    int per = samplesPerRank(order.length);
    int[] out = new int[per];
    for (int i = 0; i < per; i++) out[i] = order[(int) ((rank + (long) i * worldSize) % order.length)];
    return out;
  }
}
