package dev.adjoint.internal;

import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/** The tree shape of a {@link Value} (JAX's tree_util): rebuilding, mapping, and naming it. */
public final class Structure {
  private Structure() {}

  /** Rebuilds {@code structure} with its leaves replaced, in order, by {@code leaves}. */
  public static Value unflatten(Value structure, Iterator<? extends Value> leaves) {
    if (structure instanceof Tensor) return leaves.next();
    List<Value> items = ((Tuple) structure).items();
    Value[] out = new Value[items.size()];
    for (int i = 0; i < out.length; i++) out[i] = unflatten(items.get(i), leaves);
    return Tuple.of(out);
  }

  /** {@link #unflatten(Value, Iterator)} from an array of leaves (a compiled run's outputs), without copies of the structure. */
  public static Value unflatten(Value structure, Tensor[] leaves) {
    int[] next = {0};
    return unflatten(structure, leaves, next);
  }

  private static Value unflatten(Value structure, Tensor[] leaves, int[] next) {
    if (structure instanceof Tensor) return leaves[next[0]++];
    Tuple t = (Tuple) structure;
    Value[] out = new Value[t.size()];
    for (int i = 0; i < out.length; i++) out[i] = unflatten(t.get(i), leaves, next);
    return Tuple.of(out);
  }

  public static Value map(Value v, Function<Tensor, Value> f) {
    if (v instanceof Tensor t) return f.apply(t);
    List<Value> items = ((Tuple) v).items();
    Value[] out = new Value[items.size()];
    for (int i = 0; i < out.length; i++) out[i] = map(items.get(i), f);
    return Tuple.of(out);
  }

  /** Structure only: "(T, (T, T))"; used in cache keys and error messages. */
  public static String of(Value v) {
    if (v instanceof Tensor) return "T";
    StringBuilder sb = new StringBuilder("(");
    List<Value> items = ((Tuple) v).items();
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) sb.append(", ");
      sb.append(of(items.get(i)));
    }
    return sb.append(items.size() == 1 ? ",)" : ")").toString();
  }
}
