package dev.adjoint;

/**
 * Every error Adjoint reports: bad shapes, dtypes, arity, a wrong bprop, engine failures. It is unchecked,
 * and its message names the op or argument and the shapes and dtypes involved.
 *
 * <pre>{@code
 * try {
 *   Ops.matmul(Tensor.zeros(DType.FLOAT32, 2, 3), Tensor.zeros(DType.FLOAT32, 2, 3));
 * } catch (AdjointException e) {
 *   System.err.println(e.getMessage());   // names matmul and both shapes
 * }
 * }</pre>
 */
public class AdjointException extends RuntimeException {
  /** An error with {@code message}, which names the op, argument, shapes or dtypes involved. */
  public AdjointException(String message) {
    super(message);
  }

  /**
   * An error with {@code message} caused by {@code cause} (an engine or I/O failure, an exception thrown by user code while tracing).
   */
  public AdjointException(String message, Throwable cause) {
    super(message, cause);
  }
}
