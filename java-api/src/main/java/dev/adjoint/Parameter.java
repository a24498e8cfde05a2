package dev.adjoint;

import dev.adjoint.internal.ParameterLock;
import dev.adjoint.internal.Storage;
import java.util.Arrays;

/**
 * A named, trainable tensor held by a Cell. Compiled graphs read a parameter's current value at every
 * call, so an optimizer may update it in place ({@link #assign}) or replace it ({@link #set}).
 *
 * <pre>{@code
 * class Net extends Cell {
 *   final Parameter z = parameter("z", Tensor.of(new float[] {1f}));
 *   ...
 * }
 * }</pre>
 */
public final class Parameter extends Tensor {
  private final String name;
  private boolean requiresGrad = true;

  /**
   * A trainable parameter named {@code name} holding a copy of {@code value} (on value's device; the caller
   * keeps and may close {@code value}). Throws {@link AdjointException} for an empty name or a symbolic value.
   */
  public Parameter(String name, Tensor value) {
    super(copyOf(checkValue(name, value)));
    this.name = name;
  }

  private static Tensor checkValue(String name, Tensor value) {
    if (name == null || name.isEmpty()) throw new AdjointException("a parameter needs a non-empty name");
    if (value == null) throw new AdjointException("parameter '" + name + "': value is null");
    return value;
  }

  private static Storage copyOf(Tensor value) {
    if (value.isSymbolic()) throw new AdjointException("parameter value must be concrete, got " + value.describe());
    Storage src = value.storage();
    Storage s = Storage.allocate(src.device, src.dtype, src.shape);
    try {
      s.copyFrom(src);
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** The name given at creation; {@link Cell#namedParameters()} prefixes it with the path to the cell holding it. */
  public String name() {
    return name;
  }

  /** Whether {@link Cell#trainableParams()} includes this parameter (true unless turned off). */
  public boolean requiresGrad() {
    return requiresGrad;
  }

  /**
   * Includes this parameter in {@link Cell#trainableParams()} or not (frozen weights, optimizer state);
   * returns this parameter.
   */
  public Parameter requiresGrad(boolean value) {
    this.requiresGrad = value;
    return this;
  }

  /**
   * Copies {@code value} into this parameter's memory (same shape and dtype), in place. Atomic with
   * respect to runs (Note [Parameter consistency]): a run sees the old or the new value, never a mix.
   */
  public void assign(Tensor value) {
    if (value == null) throw new AdjointException("parameter '" + name + "': assign(null)");
    Storage src = value.storage();
    if (!Arrays.equals(src.shape, storage().shape) || src.dtype != dtype())
      throw new AdjointException(
          "parameter '" + name + "' is " + describe() + ", cannot assign " + value.describe());
    ParameterLock.write("parameter '" + name + "'.assign", () -> storage().copyFrom(src));
  }

  /** Sets every element to {@code value} (in place, atomic with respect to runs like {@link #assign(Tensor)}). */
  public void assign(double value) {
    // Written from the host (not an eager fill, whose compiled graph would be keyed on the value).
    long n = numel();
    if (n > Integer.MAX_VALUE - 8) throw new AdjointException("parameter '" + name + "': assign(double) of " + describe() + " is too large");
    Tensor host;
    if (dtype() == DType.FLOAT64) {
      double[] v = new double[(int) n];
      java.util.Arrays.fill(v, value);
      host = Tensor.of(v, shape());
    } else if (dtype() == DType.FLOAT32) {
      float[] v = new float[(int) n];
      java.util.Arrays.fill(v, (float) value);
      host = Tensor.of(v, shape());
    } else {
      int[] v = new int[(int) n];
      java.util.Arrays.fill(v, (int) Math.rint(value));
      host = Tensor.of(v, shape());
    }
    try (Tensor filled = host) {
      if (device().equals(Device.CPU)) assign(filled);
      else try (Tensor moved = filled.to(device())) {
        assign(moved);
      }
    }
  }

  /** Moves this parameter's memory to {@code device} (a copy; the old buffer is freed). */
  public void moveTo(Device device) {
    if (device == null) throw new AdjointException("parameter '" + name + "': moveTo(null)");
    ParameterLock.write(
        "parameter '" + name + "'.moveTo",
        () -> {
          Storage old = storage();
          if (old.device.equals(device)) return;
          Storage s = Storage.allocate(device, old.dtype, old.shape);
          try {
            s.copyFrom(old);
          } catch (RuntimeException e) {
            s.close();
            throw e;
          }
          storage = s;
          old.close();
        });
  }

  /** Replaces this parameter's value with a copy of {@code value}; the shape and dtype must not change. */
  public void set(Tensor value) {
    assign(value);
  }

  @Override
  public String toString() {
    return "Parameter(name=" + name + ", " + super.toString() + ")";
  }
}
