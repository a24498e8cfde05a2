package dev.adjoint.internal;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.Device;
import dev.adjoint.Tensor;
import java.util.Arrays;
import java.util.Objects;

/** Ops on concrete tensors outside any trace: a one-op graph per signature, compiled once and cached. */
final class Eager {
  private Eager() {}

  private static final CompileCache<Key> CACHE = new CompileCache<>(() -> "eager", Adjoint::eagerCacheCapacity);

  private record Key(Op op, long[] attrs, double scalar, String signature) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k
          && k.op == op
          && Arrays.equals(k.attrs, attrs)
          && Double.doubleToLongBits(k.scalar) == Double.doubleToLongBits(scalar)
          && k.signature.equals(signature);
    }

    @Override
    public int hashCode() {
      return Objects.hash(op, Arrays.hashCode(attrs), scalar, signature);
    }
  }

  static Tensor run(Op op, long[] attrs, double scalar, Tensor[] in) {
    StringBuilder sig = new StringBuilder();
    Device device = Device.CPU;
    for (int i = 0; i < in.length; i++) {
      Tensor t = in[i];
      if (t == null) throw new AdjointException(op.opName + ": input " + i + " is null");
      if (t.isSymbolic())
        throw new AdjointException(
            op.opName + ": input " + i + " " + t.describe()
                + " is a traced value used after its trace ended");
      Storage s = Access.storage(t);
      if (i == 0) device = s.device;
      else if (!s.device.equals(device))
        throw new AdjointException(
            op.opName + ": input " + i + " is on " + s.device + " but input 0 is on " + device);
      sig.append(t.dtype()).append(Arrays.toString(t.shape())).append(s.device).append(';');
    }
    Key key = new Key(op, attrs.clone(), scalar, sig.toString());
    final Device d = device;
    return CACHE.acquire(key, () -> compile(op, attrs, scalar, in, d)).runEntered(in).asTensor();
  }

  private static Compiled compile(Op op, long[] attrs, double scalar, Tensor[] in, Device device) {
    Trace trace = Trace.begin(device);
    try {
      Node[] nodes = new Node[in.length];
      for (int i = 0; i < in.length; i++)
        nodes[i] = trace.input(in[i].dtype(), in[i].shape(), new Feed.Arg(i));
      Node out = trace.record(op, nodes, attrs, scalar);
      trace.close();
      return Compiled.compile(trace, out.tensor(), op.opName);
    } catch (Throwable e) {
      // Any failure (an AssertionError, a StackOverflowError or a sneaky checked exception from user
      // code included) must end the trace, or the thread would keep recording every later op into a
      // dead graph.
      trace.release();
      throw e;
    }
  }
}
