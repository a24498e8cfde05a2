package dev.adjoint;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/**
 * An immutable, possibly nested, sequence of values: {@code Tuple.of(dx, dy)}.
 *
 * <pre>{@code
 * Tuple grads = GradOperation.builder().getAll(true).build().of(net).call(x, y).asTuple();
 * Tensor dy = grads.tensor(1);
 * }</pre>
 */
public final class Tuple implements Value, Iterable<Value> {
  private final Value[] items;

  private Tuple(Value[] items) {
    this.items = items;
  }

  public static Tuple of(Value... items) {
    for (int i = 0; i < items.length; i++)
      if (items[i] == null) throw new AdjointException("Tuple item " + i + " is null");
    return new Tuple(items.clone());
  }

  public static Tuple of(List<? extends Value> items) {
    return of(items.toArray(new Value[0]));
  }

  public int size() {
    return items.length;
  }

  public Value get(int i) {
    if (i < 0 || i >= items.length)
      throw new AdjointException("Tuple index " + i + " out of range for size " + items.length);
    return items[i];
  }

  public Tensor tensor(int i) {
    return get(i).asTensor();
  }

  public List<Value> items() {
    return List.of(items);
  }

  @Override
  public Iterator<Value> iterator() {
    return items().iterator();
  }

  /** Rebuilds {@code structure} with its leaves replaced, in order, by {@code leaves}. */
  static Value unflatten(Value structure, Iterator<? extends Value> leaves) {
    if (structure instanceof Tensor) return leaves.next();
    Tuple t = (Tuple) structure;
    Value[] out = new Value[t.items.length];
    for (int i = 0; i < out.length; i++) out[i] = unflatten(t.items[i], leaves);
    return new Tuple(out);
  }

  static Value map(Value v, Function<Tensor, Value> f) {
    if (v instanceof Tensor t) return f.apply(t);
    Tuple t = (Tuple) v;
    Value[] out = new Value[t.items.length];
    for (int i = 0; i < out.length; i++) out[i] = map(t.items[i], f);
    return new Tuple(out);
  }

  /** Structure only: "(T, (T, T))"; used in cache keys and error messages. */
  static String structureOf(Value v) {
    if (v instanceof Tensor) return "T";
    StringBuilder sb = new StringBuilder("(");
    Tuple t = (Tuple) v;
    for (int i = 0; i < t.items.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(structureOf(t.items[i]));
    }
    return sb.append(t.items.length == 1 ? ",)" : ")").toString();
  }

  @Override
  public String repr() {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < items.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(items[i].repr());
    }
    return sb.append(items.length == 1 ? ",)" : ")").toString();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < items.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(items[i]);
    }
    return sb.append(items.length == 1 ? ",)" : ")").toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tuple t && Arrays.equals(items, t.items);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(items);
  }
}
