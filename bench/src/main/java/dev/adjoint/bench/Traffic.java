package dev.adjoint.bench;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Bytes a memory-bound benchmark must move per call, so {@link Report} can print its bandwidth. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Traffic {
  long bytes();
}
