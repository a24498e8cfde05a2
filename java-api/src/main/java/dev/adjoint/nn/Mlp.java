package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A multilayer perceptron builder: Linear layers with an activation between them (none after the last).
 *
 * <pre>{@code
 * Sequential net = Mlp.builder(2).hidden(64, 64, 64).out(1).activation("tanh").seed(42).build();
 * }</pre>
 */
public final class Mlp {
  private Mlp() {}

  /** A builder of an MLP taking {@code inputs} features; {@code inputs < 1} is an {@link AdjointException}. */
  public static Builder builder(int inputs) {
    return new Builder(inputs);
  }

  /**
   * The layer sizes and options of an MLP; {@link #out} is required. Defaults: tanh, seed 0, Float32, biases.
   *
   * <pre>{@code
   * Sequential classifier = Mlp.builder(784).hidden(128).out(10).activation("relu").seed(7).build();
   * }</pre>
   */
  public static final class Builder {
    private final int inputs;
    private final List<Integer> hidden = new ArrayList<>();
    private int outputs = -1;
    private String activation = "tanh";
    private long seed = 0;
    private DType dtype = DType.FLOAT32;
    private boolean bias = true;

    Builder(int inputs) {
      if (inputs < 1) throw new AdjointException("Mlp: inputs must be >= 1, got " + inputs);
      this.inputs = inputs;
    }

    /** Appends hidden layers of these sizes (in order; may be called again to append more). */
    public Builder hidden(int... sizes) {
      for (int s : sizes) {
        if (s < 1) throw new AdjointException("Mlp: hidden sizes must be >= 1, got " + s);
        hidden.add(s);
      }
      return this;
    }

    /** The number of outputs of the last Linear layer, which has no activation after it. */
    public Builder out(int n) {
      if (n < 1) throw new AdjointException("Mlp: outputs must be >= 1, got " + n);
      outputs = n;
      return this;
    }

    /** The activation between layers by name (tanh, relu, sigmoid, sin; see {@link Activation#named}). */
    public Builder activation(String name) {
      Activation.named(name); // validates
      activation = name;
      return this;
    }

    /**
     * The seed of the {@link java.util.Random} all layers are initialised from, in order: the same seed gives the same network.
     */
    public Builder seed(long s) {
      seed = s;
      return this;
    }

    /** The parameters' dtype, Float32 (default) or Float64. */
    public Builder dtype(DType d) {
      if (d == null || !d.isFloating()) throw new AdjointException("Mlp: dtype must be Float32 or Float64");
      dtype = d;
      return this;
    }

    /** Whether the Linear layers have biases (default true). */
    public Builder bias(boolean b) {
      bias = b;
      return this;
    }

    /**
     * The network: {@code Linear, activation, ..., Linear}, parameters named {@code layers.<i>.weight} and
     * {@code layers.<i>.bias}; without {@link #out} an {@link AdjointException}.
     */
    public Sequential build() {
      if (outputs < 1) throw new AdjointException("Mlp: out(n) is required");
      Random rng = new Random(seed);
      List<Cell> layers = new ArrayList<>();
      int prev = inputs;
      for (int h : hidden) {
        layers.add(new Linear(prev, h, bias, rng, dtype));
        layers.add(Activation.named(activation));
        prev = h;
      }
      layers.add(new Linear(prev, outputs, bias, rng, dtype));
      return new Sequential(layers);
    }
  }
}
