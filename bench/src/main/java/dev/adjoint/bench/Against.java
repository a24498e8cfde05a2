package dev.adjoint.bench;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names the ideal a workload is held against: another {@code @Benchmark} method of the same class,
 * measured in the same run with the same parameters. {@link Report} reads it to print the ratio.
 *
 * <pre>{@code
 * @Benchmark @Against("idealBoth") public void gradBoth() { ... }
 * }</pre>
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Against {
  /** The ideal's method name in the same class. */
  String value();

  /** An absolute per-call target in microseconds, or 0 for none. */
  double targetMicros() default 0;
}
