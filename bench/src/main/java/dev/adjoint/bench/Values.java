package dev.adjoint.bench;

import dev.adjoint.Tensor;
import dev.adjoint.Value;

/** Results are closed inside the timed code: freeing them is part of a call's cost. */
final class Values {
  private Values() {}

  static void close(Value v) {
    for (Tensor t : v.leaves()) t.close();
  }
}
