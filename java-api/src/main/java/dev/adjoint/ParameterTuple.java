package dev.adjoint;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * An ordered list of parameters; gradients by list come back as a Tuple in this order.
 *
 * <pre>{@code
 * ParameterTuple params = net.trainableParams();
 * Tuple dz = GradOperation.builder().getByList(true).build().of(net, params).call(x, y).asTuple();
 * }</pre>
 */
public final class ParameterTuple implements Iterable<Parameter> {
  private final List<Parameter> params;

  /** The parameters of {@code params}, in its order (copied, so later changes to the list do not show). */
  public ParameterTuple(List<Parameter> params) {
    this.params = List.copyOf(params);
  }

  /** A tuple of the given parameters, in order; null elements are refused ({@link NullPointerException}). */
  public static ParameterTuple of(Parameter... params) {
    return new ParameterTuple(List.of(params));
  }

  /** The number of parameters. */
  public int size() {
    return params.size();
  }

  /** The parameter at index {@code i}, whose gradient is element {@code i} of a getByList result. */
  public Parameter get(int i) {
    return params.get(i);
  }

  /** The parameters as an unmodifiable list, in order. */
  public List<Parameter> asList() {
    return params;
  }

  @Override
  public Iterator<Parameter> iterator() {
    return params.iterator();
  }

  List<String> names() {
    List<String> n = new ArrayList<>();
    for (Parameter p : params) n.add(p.name());
    return n;
  }

  @Override
  public String toString() {
    return "ParameterTuple" + names();
  }
}
