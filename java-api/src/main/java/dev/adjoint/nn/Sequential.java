package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import java.util.List;

/**
 * Cells applied one after another: {@code new Sequential(new Linear(...), Activation.tanh(), new Linear(...))}.
 * Its parameters are those of its layers, named {@code layers.<i>.<name>} (layers.0.weight, ...).
 *
 * <pre>{@code
 * Random rng = new Random(0);
 * Sequential net = new Sequential(new Linear(2, 32, true, rng, DType.FLOAT32), Activation.tanh(),
 *                                 new Linear(32, 2, true, rng, DType.FLOAT32));
 * Tensor logits = net.apply(x);       // x: [batch, 2] -> [batch, 2]
 * }</pre>
 */
public class Sequential extends Cell {
  /** The layers, in call order (unmodifiable). */
  public final List<Cell> layers;

  /** The layers in call order; none, or a null one, is an {@link AdjointException}. */
  public Sequential(Cell... layers) {
    if (layers == null || layers.length == 0) throw new AdjointException("Sequential: needs at least one layer");
    for (int i = 0; i < layers.length; i++) if (layers[i] == null) throw new AdjointException("Sequential: layer " + i + " is null");
    this.layers = List.of(layers);
  }

  /** The layers of the list in order (copied); an empty list or a null layer is an {@link AdjointException}. */
  public Sequential(List<? extends Cell> layers) {
    this(layers == null ? null : layers.toArray(new Cell[0]));
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... in) {
    Value v = in[0];
    for (Cell layer : layers) v = layer.call(v);
    return v;
  }

  @Override
  public String name() {
    return "Sequential(" + layers.size() + " layers)";
  }
}
