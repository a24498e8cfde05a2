package dev.adjoint.data;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import java.nio.Buffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * In-memory samples as columns (features, labels, ...): each column is one flat array of {@code size}
 * samples of the same per-sample shape, in float32, float64 or int32, from Java arrays or NIO buffers.
 *
 * <pre>{@code
 * Dataset ds = Dataset.builder()
 *     .column(features, 2)        // float[] of n*2 values: samples of shape [2]
 *     .column(labels)             // int[] of n labels: samples of shape []
 *     .build();
 * }</pre>
 */
public final class Dataset {
  /** One column: a flat buffer of samples of {@code sampleShape}. */
  record Column(DType dtype, long[] sampleShape, int sampleNumel, Buffer data) {}

  final List<Column> columns;
  private final int size;

  private Dataset(List<Column> columns, int size) {
    this.columns = List.copyOf(columns);
    this.size = size;
  }

  /** Number of samples. */
  public int size() {
    return size;
  }

  /** Number of columns. */
  public int columns() {
    return columns.size();
  }

  /** The dtype of column {@code c}. */
  public DType dtype(int c) {
    return columns.get(c).dtype;
  }

  /** The shape of one sample of column {@code c}. */
  public long[] sampleShape(int c) {
    return columns.get(c).sampleShape.clone();
  }

  /** A builder to which columns are added in order ({@code get(0)}, {@code get(1)}, ... of a batch). */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Collects columns; every column must hold the same number of samples, or {@link #column} is an
   * {@link AdjointException} naming both counts.
   *
   * <pre>{@code
   * Dataset ds = Dataset.builder().column(new float[] {0, 1, 2, 3}, 2).column(new int[] {0, 1}).build();   // 2 samples
   * }</pre>
   */
  public static final class Builder {
    private final List<Column> columns = new ArrayList<>();
    private int size = -1;

    /**
     * A Float32 column over {@code data} (not copied) holding {@code data.length / prod(sampleShape)} samples of
     * {@code sampleShape}; no shape means scalar samples.
     */
    public Builder column(float[] data, long... sampleShape) {
      return add(DType.FLOAT32, sampleShape, data == null ? null : FloatBuffer.wrap(data), data == null ? -1 : data.length);
    }

    /** A Float64 column over {@code data} (not copied), samples of {@code sampleShape}. */
    public Builder column(double[] data, long... sampleShape) {
      return add(DType.FLOAT64, sampleShape, data == null ? null : DoubleBuffer.wrap(data), data == null ? -1 : data.length);
    }

    /** An Int32 column over {@code data} (not copied), samples of {@code sampleShape}: class labels or indices. */
    public Builder column(int[] data, long... sampleShape) {
      return add(DType.INT32, sampleShape, data == null ? null : IntBuffer.wrap(data), data == null ? -1 : data.length);
    }

    /** A column over an NIO buffer (heap or direct), from its position to its limit; not copied. */
    public Builder column(FloatBuffer data, long... sampleShape) {
      return add(DType.FLOAT32, sampleShape, data == null ? null : data.slice(), data == null ? -1 : data.remaining());
    }

    /** A Float64 column over an NIO buffer (heap or direct), from its position to its limit; not copied. */
    public Builder column(DoubleBuffer data, long... sampleShape) {
      return add(DType.FLOAT64, sampleShape, data == null ? null : data.slice(), data == null ? -1 : data.remaining());
    }

    /** An Int32 column over an NIO buffer (heap or direct), from its position to its limit; not copied. */
    public Builder column(IntBuffer data, long... sampleShape) {
      return add(DType.INT32, sampleShape, data == null ? null : data.slice(), data == null ? -1 : data.remaining());
    }

    private Builder add(DType dtype, long[] sampleShape, Buffer data, int length) {
      int c = columns.size();
      if (data == null) throw new AdjointException("Dataset column " + c + ": data is null");
      if (sampleShape == null) throw new AdjointException("Dataset column " + c + ": sample shape is null");
      long per = 1;
      for (long d : sampleShape) {
        if (d <= 0) throw new AdjointException("Dataset column " + c + ": sample shape " + Arrays.toString(sampleShape) + " must be positive");
        per = Math.multiplyExact(per, d);
      }
      if (per > Integer.MAX_VALUE || length % per != 0)
        throw new AdjointException(
            "Dataset column " + c + ": " + length + " values are not a whole number of samples of shape " + Arrays.toString(sampleShape));
      int n = (int) (length / per);
      if (size >= 0 && n != size)
        throw new AdjointException("Dataset column " + c + " has " + n + " samples, column 0 has " + size);
      size = n;
      columns.add(new Column(dtype, sampleShape.clone(), (int) per, data));
      return this;
    }

    /** The dataset; an {@link AdjointException} if no column was added. */
    public Dataset build() {
      if (columns.isEmpty()) throw new AdjointException("Dataset: no columns");
      return new Dataset(columns, size);
    }
  }
}
