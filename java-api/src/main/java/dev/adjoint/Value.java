package dev.adjoint;

import java.util.ArrayList;
import java.util.List;

/**
 * What a Cell returns and what a GradOperation gives back: a {@link Tensor} or a {@link Tuple} of values.
 *
 * <pre>{@code
 * Value all = GradOperation.builder().getAll(true).build().of(net).call(x, y);
 * Tensor dx = all.asTuple().tensor(0);
 * }</pre>
 */
public sealed interface Value permits Tensor, Tuple {

  /** This value as a Tensor; throws {@link AdjointException} if it is a Tuple. */
  default Tensor asTensor() {
    if (this instanceof Tensor t) return t;
    throw new AdjointException("expected a Tensor, got a Tuple of " + ((Tuple) this).size());
  }

  /** This value as a Tuple; throws {@link AdjointException} if it is a Tensor. */
  default Tuple asTuple() {
    if (this instanceof Tuple t) return t;
    throw new AdjointException("expected a Tuple, got a Tensor " + this.asTensor().describe());
  }

  /** MindSpore's repr layout (exponent notation, comma separated), as printing a tuple shows there. */
  String repr();

  /** The tensors of this value, depth first. */
  default List<Tensor> leaves() {
    List<Tensor> out = new ArrayList<>();
    collectLeaves(this, out);
    return out;
  }

  private static void collectLeaves(Value v, List<Tensor> out) {
    if (v instanceof Tensor t) out.add(t);
    else {
      Tuple t = (Tuple) v; // by index: items() would copy the tuple's array
      for (int i = 0; i < t.size(); i++) collectLeaves(t.get(i), out);
    }
  }
}
