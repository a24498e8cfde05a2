package dev.adjoint;

/**
 * Element types. Only {@link #FLOAT32} and {@link #FLOAT64} are differentiated; {@link #INT32} tensors
 * can be stored, copied and printed, and asking for their gradient is an error.
 *
 * <pre>{@code Tensor t = Tensor.of(new double[] {1, 2}, 2);  // t.dtype() == DType.FLOAT64}</pre>
 */
public enum DType {
  /** 32-bit IEEE float, Java {@code float}: the default for models and what {@code Tensor.of(float[])} makes. */
  FLOAT32("Float32", 0, 4),
  /** 64-bit IEEE float, Java {@code double}: what gradient checks and high-accuracy work (PINNs) use. */
  FLOAT64("Float64", 1, 8),
  /** 32-bit signed integer, Java {@code int}: labels and indices; stored and copied but never differentiated. */
  INT32("Int32", 2, 4);

  private final String display;
  final int code;
  final int bytes;

  DType(String display, int code, int bytes) {
    this.display = display;
    this.code = code;
    this.bytes = bytes;
  }

  /** Whether this is Float32 or Float64, the dtypes that can be differentiated and trained. */
  public boolean isFloating() {
    return this != INT32;
  }

  /** Bytes per element: 4 for Float32 and Int32, 8 for Float64. */
  public int byteSize() {
    return bytes;
  }

  static DType ofCode(int code) {
    for (DType d : values()) if (d.code == code) return d;
    throw new AdjointException("unknown dtype code " + code);
  }

  /** MindSpore's spelling: {@code Float32}. */
  @Override
  public String toString() {
    return display;
  }
}
