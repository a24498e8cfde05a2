package dev.adjoint.bench.peers;

import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.rand;
import static org.bytedeco.pytorch.global.torch.set_num_threads;

import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Helpers for the libtorch peers (JavaCPP's PyTorch preset, eager autograd). Each timed call runs in a
 * PointerScope, so every tensor it makes is freed at its end, as Adjoint's results are closed.
 */
final class Torch {
  private Torch() {}

  static void threads(int n) {
    set_num_threads(n);
    manual_seed(42);
    System.err.println("# adjoint-bench peers: libtorch intra-op threads " + get_num_threads());
  }

  /** Uniform in [lo, hi), float32. */
  static Tensor uniform(double lo, double hi, long... shape) {
    return rand(shape).mul(new Scalar(hi - lo)).add(new Scalar(lo));
  }

  static Tensor leaf(Tensor t) {
    return t.detach().set_requires_grad(true);
  }

  static TensorVector vec(Tensor... ts) {
    return new TensorVector(ts);
  }

  /** torch::autograd::grad(outputs, inputs, grad_outputs, retain_graph = create_graph, create_graph). */
  static TensorVector grad(TensorVector outputs, TensorVector inputs, TensorVector sens, boolean createGraph) {
    return torch.grad(outputs, inputs, sens, new BoolOptional(), createGraph, true);
  }
}
