package dev.adjoint.internal;

import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.Tensor;
import dev.adjoint.Value;

/**
 * Note [Access to the public classes]: the internals need a few members of {@code dev.adjoint}'s public
 * classes that are not public API (a tensor's node or storage, a dtype's engine code, a cell's body). Java
 * has no friend packages, so {@code dev.adjoint} implements {@link Bridge} in a package-private class and
 * registers it here once, as the JDK's {@code jdk.internal.access.SharedSecrets} does. This package is
 * not exported by module-info, so only Adjoint's own packages reach the bridge; the public signatures
 * never mention an internal type.
 */
public final class Access {
  private Access() {}

  /** What the internals may do with the public classes, beyond their public API. */
  public interface Bridge {
    /** The symbolic tensor that stands for {@code node} of an open trace. */
    Tensor symbolic(Node node);

    /** A concrete tensor owning {@code storage}. */
    Tensor concrete(Storage storage);

    /** The node of a symbolic tensor, or null for a concrete one. */
    Node node(Tensor t);

    /** The storage of a concrete tensor; throws naming the tensor when it is symbolic. */
    Storage storage(Tensor t);

    int code(DType dtype);

    DType dtype(int code);

    int code(Device device);

    Device device(int code);

    /** Calls the cell's construct on traced arguments (no bprop marker, no arity check). */
    Value construct(Cell cell, Value[] args);

    /** The arity the cell declares, or -1. */
    int arity(Cell cell);
  }

  private static Bridge registered;

  /** Called once, by {@code dev.adjoint}'s bridge class as it is initialised. */
  public static synchronized void register(Bridge bridge) {
    if (registered != null) throw new IllegalStateException("the access bridge is registered already");
    registered = bridge;
  }

  private static final class Holder {
    static final Bridge BRIDGE = load();

    private static Bridge load() {
      try {
        Class.forName("dev.adjoint.AccessBridge", true, Access.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("dev.adjoint.AccessBridge is missing", e);
      }
      synchronized (Access.class) {
        return registered;
      }
    }
  }

  public static Bridge bridge() {
    return Holder.BRIDGE;
  }

  public static Tensor symbolic(Node node) {
    return Holder.BRIDGE.symbolic(node);
  }

  public static Tensor concrete(Storage storage) {
    return Holder.BRIDGE.concrete(storage);
  }

  public static Node node(Tensor t) {
    return Holder.BRIDGE.node(t);
  }

  public static Storage storage(Tensor t) {
    return Holder.BRIDGE.storage(t);
  }

  public static int code(DType dtype) {
    return Holder.BRIDGE.code(dtype);
  }

  public static DType dtype(int code) {
    return Holder.BRIDGE.dtype(code);
  }

  public static int code(Device device) {
    return Holder.BRIDGE.code(device);
  }

  public static Device device(int code) {
    return Holder.BRIDGE.device(code);
  }
}
