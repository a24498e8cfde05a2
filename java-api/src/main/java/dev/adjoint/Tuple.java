package dev.adjoint;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

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

  /** A tuple of {@code items} (tensors or nested tuples), in order; a null item is an {@link AdjointException}. */
  public static Tuple of(Value... items) {
    for (int i = 0; i < items.length; i++)
      if (items[i] == null) throw new AdjointException("Tuple item " + i + " is null");
    return new Tuple(items.clone());
  }

  /** A tuple of the elements of {@code items}, in list order; a null element is an {@link AdjointException}. */
  public static Tuple of(List<? extends Value> items) {
    return of(items.toArray(new Value[0]));
  }

  /** The number of items at the top level (a nested tuple counts as one). */
  public int size() {
    return items.length;
  }

  /** Item {@code i}; an index outside {@code [0, size())} is an {@link AdjointException}. */
  public Value get(int i) {
    if (i < 0 || i >= items.length)
      throw new AdjointException("Tuple index " + i + " out of range for size " + items.length);
    return items[i];
  }

  /** Item {@code i} as a Tensor; an {@link AdjointException} if it is a nested Tuple or out of range. */
  public Tensor tensor(int i) {
    return get(i).asTensor();
  }

  /** The items as an unmodifiable list. */
  public List<Value> items() {
    return List.of(items);
  }

  @Override
  public Iterator<Value> iterator() {
    return items().iterator();
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
