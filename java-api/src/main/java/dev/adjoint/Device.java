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
  public static final Device CPU = new Device(0);

  /** Engine device code: 0 is the CPU, 1 + k is CUDA device k. */
  final int code;

  private Device(int code) {
    this.code = code;
  }

  public static Device cuda(int ordinal) {
    if (ordinal < 0) throw new IllegalArgumentException("CUDA ordinal must be >= 0, got " + ordinal);
    return new Device(1 + ordinal);
  }

  static Device ofCode(int code) {
    return code == 0 ? CPU : new Device(code);
  }

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
