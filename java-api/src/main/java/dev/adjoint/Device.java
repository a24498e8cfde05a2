package dev.adjoint;

import java.util.Objects;

/**
 * Where a tensor's memory lives and where compiled graphs run.
 *
 * <pre>{@code
 * Tensor g = x.to(Device.cuda(0));   // throws AdjointException naming the reason when no GPU is usable
 * }</pre>
 */
public final class Device {
  /** The host: the default device of every tensor, parameter and compiled graph. */
  public static final Device CPU = new Device(0);

  /** Engine device code: 0 is the CPU, 1 + k is CUDA device k. */
  final int code;

  private Device(int code) {
    this.code = code;
  }

  /**
   * CUDA device {@code ordinal} (0 is the first GPU); using it without a CUDA backend or GPU is an {@link AdjointException}, a negative ordinal an {@link IllegalArgumentException}.
   */
  public static Device cuda(int ordinal) {
    if (ordinal < 0) throw new IllegalArgumentException("CUDA ordinal must be >= 0, got " + ordinal);
    return new Device(1 + ordinal);
  }

  static Device ofCode(int code) {
    return code == 0 ? CPU : new Device(code);
  }

  /** Whether this is a CUDA device rather than the CPU. */
  public boolean isCuda() {
    return code > 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Device d && d.code == code;
  }

  @Override
  public int hashCode() {
    return Objects.hash(code);
  }

  @Override
  public String toString() {
    return code == 0 ? "CPU" : "CUDA:" + (code - 1);
  }
}
