package dev.adjoint;

/**
 * Element types. Only {@link #FLOAT32} and {@link #FLOAT64} are differentiated; {@link #INT32} tensors
 * can be stored, copied and printed, and asking for their gradient is an error.
 *
 * <pre>{@code Tensor t = Tensor.of(new double[] {1, 2}, 2);  // t.dtype() == DType.FLOAT64}</pre>
 */
public enum DType {
  FLOAT32("Float32", 0, 4),
  FLOAT64("Float64", 1, 8),
  INT32("Int32", 2, 4);

  private final String display;
  final int code;
  final int bytes;

  DType(String display, int code, int bytes) {
    this.display = display;
    this.code = code;
    this.bytes = bytes;
  }

  public boolean isFloating() {
    return this != INT32;
  }

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
