package dev.adjoint;

/** Every error Adjoint reports: bad shapes, dtypes, arity, a wrong bprop, engine failures. */
public class AdjointException extends RuntimeException {
  public AdjointException(String message) {
    super(message);
  }

  public AdjointException(String message, Throwable cause) {
    super(message, cause);
  }
}
