package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import java.util.List;

/**
 * Cells applied one after another: {@code new Sequential(new Linear(...), Activation.tanh(), new Linear(...))}.
 * Its parameters are those of its layers, named {@code layers.<i>.<name>} (layers.0.weight, ...).
 */
public class Sequential extends Cell {
  public final List<Cell> layers;

  public Sequential(Cell... layers) {
    if (layers == null || layers.length == 0) throw new AdjointException("Sequential: needs at least one layer");
    for (int i = 0; i < layers.length; i++) if (layers[i] == null) throw new AdjointException("Sequential: layer " + i + " is null");
    this.layers = List.of(layers);
  }

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
