package dev.adjoint.nn;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import java.util.function.UnaryOperator;

/**
 * An elementwise activation as a cell, for {@link Sequential}: {@code Activation.tanh()}, {@code relu()},
 * {@code sigmoid()}, {@code sin()}, or {@code Activation.of("name", fn)}.
 *
 * <pre>{@code
 * Sequential net = new Sequential(new Linear(2, 16, true, rng, DType.FLOAT32), Activation.relu(),
 *                                 new Linear(16, 1, true, rng, DType.FLOAT32), Activation.of("Softplus", Ops::softplus));
 * }</pre>
 */
public final class Activation extends Cell {
  private final String label;
  private final UnaryOperator<Tensor> fn;

  private Activation(String label, UnaryOperator<Tensor> fn) {
    this.label = label;
    this.fn = fn;
  }

  /**
   * An activation applying {@code fn} (made of ops, so it traces and differentiates) under {@code name};
   * a null name or function is an {@link AdjointException}.
   */
  public static Activation of(String name, UnaryOperator<Tensor> fn) {
    if (name == null || fn == null) throw new AdjointException("Activation.of: name and function are required");
    return new Activation(name, fn);
  }

  /** Hyperbolic tangent, the default of {@link Mlp}. */
  public static Activation tanh() {
    return new Activation("Tanh", Ops::tanh);
  }

  /** max(x, 0). */
  public static Activation relu() {
    return new Activation("ReLU", Ops::relu);
  }

  /** 1 / (1 + e^-x). */
  public static Activation sigmoid() {
    return new Activation("Sigmoid", Ops::sigmoid);
  }

  /** sin(x) (SIREN-style networks, PINNs). */
  public static Activation sin() {
    return new Activation("Sin", Ops::sin);
  }

  /** An activation by name: tanh, relu, sigmoid, sin. */
  public static Activation named(String name) {
    return switch (name == null ? "" : name.toLowerCase(java.util.Locale.ROOT)) {
      case "tanh" -> tanh();
      case "relu" -> relu();
      case "sigmoid" -> sigmoid();
      case "sin" -> sin();
      default -> throw new AdjointException("unknown activation '" + name + "' (tanh, relu, sigmoid, sin)");
    };
  }

  @Override
  protected int arity() {
    return 1;
  }

  @Override
  public Value construct(Tensor... in) {
    return fn.apply(in[0]);
  }

  @Override
  public String name() {
    return label;
  }
}
