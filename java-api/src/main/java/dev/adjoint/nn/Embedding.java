package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.nn.init.Init;
import java.util.Random;

/**
 * A lookup table (PyTorch's {@code nn.Embedding}): Int32 indices of any shape in, the rows of
 * {@code weight [numEmbeddings, dim]} out, shaped {@code indices.shape + [dim]}. The weight starts
 * normal(0, 1), as PyTorch's does, from a seeded generator. Built on {@link Ops#take}, so its gradient
 * is a scatter-add into the rows that were used (a repeated index accumulates); an index outside
 * {@code [0, numEmbeddings)} is an AdjointException.
 *
 * <pre>{@code
 * Embedding emb = new Embedding(1000, 64, 7);
 * Tensor vectors = emb.apply(Tensor.of(new int[] {3, 14, 15, 92}, 2, 2));   // [2, 2, 64]
 * }</pre>
 */
public class Embedding extends Cell {
  /** The table, [numEmbeddings, dim]: row i is the vector of index i (named {@code weight} in checkpoints). */
  public final Parameter weight;
  private final int numEmbeddings, dim;

  /** A Float32 table of {@code numEmbeddings} rows of {@code dim}, drawn normal(0, 1) with {@code seed}. */
  public Embedding(int numEmbeddings, int dim, long seed) {
    this(numEmbeddings, dim, new Random(seed), DType.FLOAT32);
  }

  /** A table in {@code dtype}, drawn normal(0, 1) from {@code rng}. */
  public Embedding(int numEmbeddings, int dim, Random rng, DType dtype) {
    if (numEmbeddings < 1 || dim < 1)
      throw new AdjointException("Embedding: sizes must be >= 1, got numEmbeddings=" + numEmbeddings + ", dim=" + dim);
    if (rng == null) throw new AdjointException("Embedding: rng is null (initialisation is always seeded)");
    if (dtype == null || !dtype.isFloating()) throw new AdjointException("Embedding: dtype " + dtype + " must be Float32 or Float64");
    this.numEmbeddings = numEmbeddings;
    this.dim = dim;
    try (Tensor w = Init.normal(rng, dtype, 0, 1, numEmbeddings, dim)) {
      this.weight = parameter("weight", w);
    }
  }

  /** An Embedding with the given table {@code [numEmbeddings, dim]} (copied). */
  public Embedding(Tensor weight) {
    if (weight == null || weight.rank() != 2 || !weight.dtype().isFloating())
      throw new AdjointException("Embedding: weight must be a float [numEmbeddings, dim] table, got " + (weight == null ? "null" : weight.describe()));
    this.numEmbeddings = (int) weight.shape()[0];
    this.dim = (int) weight.shape()[1];
    this.weight = parameter("weight", weight);
  }

  /** Rows of the table. */
  public int numEmbeddings() {
    return numEmbeddings;
  }

  /** Length of each vector. */
  public int embeddingDim() {
    return dim;
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... in) {
    Tensor idx = in[0];
    if (idx.dtype() != DType.INT32) throw new AdjointException(name() + ": indices " + idx.describe() + " must be Int32");
    return Ops.take(weight, 0, idx);
  }

  @Override
  public String name() {
    return "Embedding(" + numEmbeddings + ", " + dim + ")";
  }
}
